// The tenant's settings over the admin API (services/tenant-settings.ts): validation of the
// passkey relying party, Admin only through the administration guard, audited before and after,
// and applied at once without a restart: the default page language on the sign-in page and the
// console, the passkey ceremonies, and on a second node. The database may be shared with other
// test files: every test puts the tenant's settings back.
import assert from 'node:assert/strict';
import type * as client from 'openid-client';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import type { AuditEvent } from '../../src/queries/audit.ts';
import { loadCatalogs } from '../../src/views/i18n.ts';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, startTwoNodes, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { HttpClient, type HttpResponse } from '../helpers/http.ts';
import { discover, startAuthorization } from '../helpers/oidc.ts';

const REDIRECT_URI = 'http://localhost:8157/callback';
const catalogs = loadCatalogs();
const langOf = (page: HttpResponse) => /<html lang="([a-z]+)">/.exec(page.body)?.[1];
const heading = (page: HttpResponse) => /<h1>([^<]*)<\/h1>/.exec(page.body)?.[1];

describe(`tenant settings (${storageMode})`, function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let admin: ApiCaller;
  let config: client.Configuration;

  const reset = () => gh.context.tenantSettings.replace({}, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });

  before(async function () {
    this.timeout(300_000);
    gh = await startTestGatehouse({ GATEHOUSE_ARGON2_MEMORY_KIB: '1024', GATEHOUSE_ARGON2_TIME_COST: '1' });
    await reset();
    admin = await createApiCaller(gh, { permissions: [], roles: ['Admin'] });
    const created = await gh.context.applications.create({ name: 'Tenant Settings App', type: 'web', redirectUris: [REDIRECT_URI] }, SYSTEM_ACTOR);
    config = await discover(gh, created.application.id, created.clientSecret!);
  });
  afterEach(async () => {
    await reset();
  });
  after(async () => {
    await gh?.close();
  });

  it('reads the configuration as the defaults while the tenant has set nothing', async () => {
    const response = await admin.request('GET', '/tenant-settings');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const issuer = new URL(gh.issuer);
    assert.deepEqual(response.body.saved, {});
    assert.deepEqual(response.body.effective, { defaultLocale: 'en', passkeys: { rpId: issuer.hostname, origins: [issuer.origin], attachment: 'any', userVerification: 'required' } });
    assert.deepEqual(response.body.effective, response.body.defaults);
  });

  it('refuses a relying party that cannot serve its origins, and insecure or malformed origins, with 400 and nothing saved', async () => {
    const refused: [unknown, RegExp][] = [
      [{ passkeys: { rpId: 'other.example', origins: ['https://login.example.com'] } }, /neither the host of https:\/\/login\.example\.com nor a suffix/],
      [{ passkeys: { rpId: 'ample.com', origins: ['https://login.example.com'] } }, /neither the host/],
      [{ passkeys: { rpId: 'example.com', origins: ['https://login.example.com', 'https://example.org'] } }, /https:\/\/example\.org/],
      [{ passkeys: { rpId: 'com', origins: ['https://login.example.com'] } }, /top-level domain/],
      [{ passkeys: { rpId: '10.0.0.1', origins: ['https://10.0.0.1'] } }, /not an IP address/],
      [{ passkeys: { rpId: 'example.com', origins: ['http://login.example.com'] } }, /must use https/],
      [{ passkeys: { rpId: 'example.com', origins: ['https://login.example.com/path'] } }, /origin only/],
      [{ passkeys: { rpId: 'example.com', origins: ['not a url'] } }, /not a URL/],
      [{ passkeys: { rpId: 'example.com', origins: [] } }, /origins/],
      [{ passkeys: { rpId: 'exa mple.com' } }, /rpId/],
      [{ passkeys: { attachment: 'usb' } }, /attachment/],
      [{ defaultLocale: 'es' }, /defaultLocale/],
      [{ theme: 'dark' }, /theme|Unrecognized/i],
    ];
    for (const [body, message] of refused) {
      const response = await admin.request('PUT', '/tenant-settings', body);
      assert.equal(response.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
      assert.match(String(response.body.title), message, JSON.stringify(response.body));
    }
    assert.deepEqual((await admin.request('GET', '/tenant-settings')).body.saved, {});
  });

  it('saves a relying party for its subdomains and loopback origins over http; the passkey ceremonies use it at once', async () => {
    const saved = await admin.request('PUT', '/tenant-settings', {
      passkeys: { rpId: 'Example.COM', origins: ['https://login.example.com', 'https://example.com:8443', 'https://login.example.com'], attachment: 'cross-platform', userVerification: 'preferred' },
    });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.deepEqual(saved.body.effective.passkeys, { rpId: 'example.com', origins: ['https://login.example.com', 'https://example.com:8443'], attachment: 'cross-platform', userVerification: 'preferred' });
    const user = await gh.context.users.create({ username: uniqueName('passkey') }, SYSTEM_ACTOR);
    const options = await gh.context.passkeys.registrationOptions(gh.context.tenantId, { id: user.id, username: user.username });
    assert.equal(options.rp.id, 'example.com');
    assert.equal(options.authenticatorSelection?.authenticatorAttachment, 'cross-platform');
    assert.equal(options.authenticatorSelection?.userVerification, 'preferred');
    const loopback = await admin.request('PUT', '/tenant-settings', { passkeys: { rpId: 'localhost', origins: ['http://localhost:3000', 'http://auth.localhost:3000'] } });
    assert.equal(loopback.status, 200, JSON.stringify(loopback.body));
    assert.equal((await gh.context.passkeys.authenticationOptions(gh.context.tenantId, 'key')).rpId, 'localhost');
  });

  it('is Admin only: a caller holding every permission but not Admin is refused and nothing is saved', async () => {
    const everything = await createApiCaller(gh, { permissions: 'all', dataScope: { client: ['*'] } });
    assert.equal((await everything.request('GET', '/tenant-settings')).status, 200);
    const refused = await everything.request('PUT', '/tenant-settings', { defaultLocale: 'de' });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'auth.escalation');
    assert.deepEqual((await admin.request('GET', '/tenant-settings')).body.saved, {});
  });

  it('audits every change with the settings before and after', async () => {
    const response = await admin.request('PUT', '/tenant-settings', { defaultLocale: 'fr' });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const events: AuditEvent[] = await gh.context.audit.list(gh.context.tenantId, { action: 'tenant_settings.updated' });
    const event = events.find((e) => e.actorId === admin.userId);
    assert.ok(event, 'the change is audited under the caller');
    const details = event.details as { before: { defaultLocale: string }; after: { defaultLocale: string } };
    assert.equal(details.before.defaultLocale, 'en');
    assert.equal(details.after.defaultLocale, 'fr');
  });

  it('a new default language shows on the sign-in page and the console at once, and a browser’s own language still wins', async () => {
    const signInPage = async () => (await startAuthorization({ gatehouse: gh, config, redirectUri: REDIRECT_URI, scope: 'openid', browser: new HttpClient(gh.issuer) })).response;
    const consolePage = (headers: Record<string, string> = {}) => new HttpClient(gh.issuer).request('/console/', { headers });
    assert.equal(langOf(await signInPage()), 'en');
    assert.equal(langOf(await consolePage()), 'en');

    const changed = await admin.request('PUT', '/tenant-settings', { defaultLocale: 'de' });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const german = await signInPage();
    assert.equal(langOf(german), 'de');
    assert.equal(heading(german), catalogs.de['Sign in']);
    const console = await consolePage();
    assert.equal(console.status, 200);
    assert.equal(langOf(console), 'de');
    assert.equal(langOf(await consolePage({ 'accept-language': 'fr' })), 'fr');

    // Back to the configuration's default when the key is left out.
    assert.equal((await admin.request('PUT', '/tenant-settings', {})).status, 200);
    assert.equal(langOf(await signInPage()), 'en');
  });
});

describe('tenant settings on two nodes', function () {
  this.timeout(120_000);
  let a: TestGatehouse;
  let b: TestGatehouse | undefined;

  before(async function () {
    [a, b] = await startTwoNodes(this);
  });
  after(async () => {
    await a?.context.tenantSettings.replace({}, { tenantId: a.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    await b?.close();
    await a?.close();
  });

  it('a default language changed through node A shows on node B’s pages at once', async () => {
    const admin = await createApiCaller(a, { permissions: [], roles: ['Admin'] });
    const consoleOnB = () => new HttpClient(b!.issuer).request('/console/');
    // Node B has read (and cached) the settings before the change.
    assert.equal(langOf(await consoleOnB()), 'en');
    const changed = await admin.request('PUT', '/tenant-settings', { defaultLocale: 'fr' });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal(langOf(await consoleOnB()), 'fr');
    assert.equal(langOf(await new HttpClient(b!.issuer).request('/')), 'fr');
  });
});
