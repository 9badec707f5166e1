// What src/oidc/internals.ts relies on in oidc-provider, checked in the installed library: each
// method it replaces or calls exists with the same arity and the library still calls it, each
// property it reads is still set where the internals file says. An upgrade that changes one fails
// here; re-read the files named in internals.ts and bump OIDC_PROVIDER_VERSION.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';
import { OIDC_PROVIDER_VERSION, currentContext, includeSidForEveryClient, interactionWithoutSessionCookie, logoutFormSecret, replaceClientSecretComparison, sessionDestroyed, sessionUidAsSid } from '../../src/oidc/internals.ts';

const LIB = path.dirname(fileURLToPath(import.meta.resolve('oidc-provider')));
const source = (file: string) => readFileSync(path.join(LIB, file), 'utf8');

type Proto = Record<string, unknown>;
const prototypeOf = (model: unknown) => (model as { prototype: Proto }).prototype;

/** A provider with oidc-provider's development defaults, whose start-up warnings are not test output. */
function newProvider() {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return new Provider('http://localhost:3999', {});
  } finally {
    console.warn = warn;
  }
}

describe('oidc-provider internals', () => {
  it('the installed oidc-provider is the version internals.ts was checked against', () => {
    const { version } = JSON.parse(readFileSync(path.join(LIB, '..', 'package.json'), 'utf8')) as { version: string };
    assert.equal(version, OIDC_PROVIDER_VERSION, 'oidc-provider was upgraded: re-read the files named in src/oidc/internals.ts, then bump OIDC_PROVIDER_VERSION');
  });

  it('Client#compareClientSecret(actual): exists, is called by client authentication, and is replaced', async () => {
    const provider = newProvider();
    const prototype = prototypeOf(provider.Client);
    assert.equal(typeof prototype.compareClientSecret, 'function');
    assert.equal((prototype.compareClientSecret as (...a: unknown[]) => unknown).length, 1);
    assert.match(source('shared/client_auth.js'), /ctx\.oidc\.client\.compareClientSecret\(clientSecret\)/);
    const seen: unknown[] = [];
    replaceClientSecretComparison(provider, (client, presented) => {
      seen.push([client.clientId, client.clientSecret, presented]);
      return presented === 'right';
    });
    const client = Object.assign(Object.create(prototype) as Proto, { clientId: 'app', clientSecret: 'stored' });
    assert.equal(await (client.compareClientSecret as (actual: string) => unknown)('right'), true);
    assert.equal(await (client.compareClientSecret as (actual: string) => unknown)('wrong'), false);
    assert.deepEqual(seen, [
      ['app', 'stored', 'right'],
      ['app', 'stored', 'wrong'],
    ]);
  });

  it('Client#includeSid(): exists, decides whether ID tokens carry sid, and is replaced', () => {
    const provider = newProvider();
    const prototype = prototypeOf(provider.Client);
    assert.equal(typeof prototype.includeSid, 'function');
    assert.equal((prototype.includeSid as () => unknown).length, 0);
    assert.match(source('helpers/process_response_types.js'), /ctx\.oidc\.client\.includeSid\(\)/);
    includeSidForEveryClient(provider);
    assert.equal((Object.create(prototype) as { includeSid(): boolean }).includeSid(), true);
  });

  it('Session#ensureClientContainer(clientId) and Session#sidFor(clientId, value): exist, are called for each authorization, and sid becomes the session uid', () => {
    const provider = newProvider();
    const prototype = prototypeOf(provider.Session);
    assert.equal((prototype.ensureClientContainer as () => unknown).length, 1);
    assert.equal((prototype.sidFor as () => unknown).length, 2);
    assert.match(source('actions/authorization/session.js'), /ctx\.oidc\.session\.ensureClientContainer\(/);
    sessionUidAsSid(provider);
    const session = Object.assign(Object.create(prototype) as Proto, { uid: 'session-uid' }) as unknown as { ensureClientContainer(id: string): void; sidFor(id: string, value?: string): string | undefined };
    session.ensureClientContainer('app');
    assert.equal(session.sidFor('app'), 'session-uid');
    session.sidFor('other', 'kept');
    session.ensureClientContainer('other');
    assert.equal(session.sidFor('other'), 'kept');
  });

  it('Provider.ctx: a static getter over the request context store', () => {
    const descriptor = Object.getOwnPropertyDescriptor(Provider, 'ctx');
    assert.equal(typeof descriptor?.get, 'function');
    assert.match(source('provider.js'), /static get ctx\(\) \{\s*return als\.getStore\(\);/);
    assert.equal(currentContext(), undefined, 'outside a request');
  });

  it('Session#destroy() sets destroyed', async () => {
    assert.match(source('models/session.js'), /async destroy\(\) \{\s*await super\.destroy\(\);\s*this\.destroyed = true;/);
    assert.equal(sessionDestroyed({ destroyed: true }), true);
    assert.equal(sessionDestroyed({}), false);
    assert.equal(sessionDestroyed(undefined), false);
  });

  it('the logout form secret is session.state.secret, checked against the xsrf field', () => {
    assert.match(source('shared/xsrf.js'), /ctx\.oidc\.session\.state = \{ secret \}/);
    assert.match(source('shared/xsrf.js'), /constantEquals\(ctx\.oidc\.session\.state\.secret, ctx\.oidc\.params\.xsrf/);
    assert.match(source('actions/end_session.js'), /const \{ secret \} = ctx\.oidc\.session\.state;/);
    assert.equal(logoutFormSecret({ state: { secret: 's3cret' } }), 's3cret');
    assert.equal(logoutFormSecret({}), '');
  });

  it('Client#backchannelLogout(sub, sid): exists and is what sign-out calls', () => {
    const provider = newProvider();
    const prototype = prototypeOf(provider.Client);
    assert.equal(typeof prototype.backchannelLogout, 'function');
    assert.equal((prototype.backchannelLogout as () => unknown).length, 2);
    assert.match(source('actions/end_session.js'), /client\.backchannelLogout\(accountId, sid\)/);
  });

  it('an Interaction stores the session cookie as session.cookie, which is left out of the stored copy', () => {
    assert.match(source('models/interaction.js'), /cookie: session\.jti/);
    const stored = interactionWithoutSessionCookie({ uid: 'i', session: { uid: 's', cookie: 'bearer', accountId: 'u' } } as never);
    assert.deepEqual(stored, { uid: 'i', session: { uid: 's', accountId: 'u' } });
  });
});
