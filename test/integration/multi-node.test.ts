// Two Gatehouse nodes on one PostgreSQL + Redis (docs/operator-guide.md, "Several nodes"): a
// directory change made through node A's admin API reaches what node B puts in tokens at once,
// because each node's claims cache is dropped over Redis pub/sub; a session works, and ends, on
// either node. Runs only against the real services.
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { createApiCaller, createServiceApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, TestClock, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { HttpClient } from '../helpers/http.ts';
import { createWebClient, signIn, startAuthorization, type WebClient } from '../helpers/oidc.ts';
import { introspect, rawRefresh } from '../helpers/sessions.ts';

describe('two nodes on one PostgreSQL and Redis', function () {
  this.timeout(60_000);
  let a: TestGatehouse;
  let b: TestGatehouse | undefined;
  let admin: ApiCaller;

  before(async function () {
    if (!process.env.DATABASE_URL || !process.env.REDIS_URL) return this.skip();
    a = await startTestGatehouse();
    b = await startTestGatehouse({ GATEHOUSE_REDIS_PREFIX: a.config.redisPrefix });
    admin = await createApiCaller(a, { permissions: 'all', dataScope: { client: ['*'] } });
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('a role and a data scope changed on node A show in node B’s token claims at once', async () => {
    const created = await admin.request('POST', '/identities', { username: uniqueName('two-nodes'), kind: 'client', alias: 'Two Nodes' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const identityId: string = created.body.identity.id;

    // Node B computes (and caches) the claims before the change.
    const before = await b!.context.authorization.forIdentity(identityId);
    assert.deepEqual(before?.roles, []);
    assert.deepEqual(before?.dataScope, {});

    const roleName = uniqueName('Viewer');
    const role = await admin.request('POST', '/roles', { name: roleName, permissions: [] });
    assert.equal(role.status, 201, JSON.stringify(role.body));
    const assigned = await admin.request('POST', `/identities/${identityId}/roles`, { roleIds: [role.body.id] });
    assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
    const scoped = await admin.request('PUT', `/identities/${identityId}/data-scopes/client`, { values: ['ROOM'] });
    assert.equal(scoped.status, 200, JSON.stringify(scoped.body));

    const after = await b!.context.authorization.forIdentity(identityId);
    assert.deepEqual(after?.roles, [roleName]);
    assert.deepEqual(after?.dataScope, { client: ['ROOM'] });
  });
});

// Sessions across nodes: both nodes serve one issuer; a session is used and
// ended on whichever node a request lands on, and each node refuses an ended one at once.
describe('sessions on two nodes', function () {
  this.timeout(60_000);
  const clockA = new TestClock();
  let a: TestGatehouse;
  let b: TestGatehouse | undefined;
  let adminOnB: ApiCaller;
  let app: WebClient;
  const password = 'two nodes one session 42';

  before(async function () {
    if (!process.env.DATABASE_URL || !process.env.REDIS_URL) return this.skip();
    a = await startTestGatehouse({}, { clock: clockA });
    b = await startTestGatehouse({ GATEHOUSE_REDIS_PREFIX: a.config.redisPrefix, GATEHOUSE_ISSUER: a.issuer });
    adminOnB = await createServiceApiCaller(b, ['sessions:end', 'session-settings:read', 'session-settings:replace']);
    app = await createWebClient(a, 'Two Nodes App', 'http://localhost:8151/callback');
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  async function signInOnA() {
    const username = uniqueName('nodes');
    const user = await a.context.users.create({ username, password }, SYSTEM_ACTOR);
    const browser = new HttpClient(a.issuer);
    const { tokens } = await signIn({ gatehouse: a, config: app.config, redirectUri: 'http://localhost:8151/callback', username, password, scope: 'openid', browser });
    const [session] = (await a.context.sessions.listForUser(a.context.tenantId, user.id)).map((s) => s.id);
    return { browser, tokens, session: session! };
  }

  it('signs in on A, refreshes on B, ends the session on B, and A refuses it at once', async () => {
    const { browser, tokens, session } = await signInOnA();
    const onB = await rawRefresh(b!.url, app, tokens.refresh_token!);
    assert.equal(onB.status, 200, JSON.stringify(onB.body));
    assert.equal((await introspect(a.url, app, onB.body.access_token!)).active, true, 'a token issued by B is known to A');

    assert.equal((await adminOnB.request('DELETE', `/sessions/${session}`)).status, 204);

    assert.equal((await rawRefresh(a.url, app, onB.body.refresh_token!)).body.error, 'invalid_grant');
    assert.equal((await introspect(a.url, app, onB.body.access_token!)).active, false);
    const again = await startAuthorization({ gatehouse: a, config: app.config, redirectUri: 'http://localhost:8151/callback', scope: 'openid', browser });
    assert.equal(again.callbackUrl, undefined, 'A asks the browser to sign in again');
  });

  it('applies session settings changed on B on A at once', async () => {
    const { tokens } = await signInOnA();
    const first = await rawRefresh(a.url, app, tokens.refresh_token!);
    assert.equal(first.status, 200, 'A has read (and cached) the settings');
    const saved = await adminOnB.request('PUT', '/session-settings', { idleTimeoutSeconds: 600, absoluteLifetimeSeconds: 3600 });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    try {
      clockA.advance(601);
      assert.equal((await rawRefresh(a.url, app, first.body.refresh_token!)).body.error, 'invalid_grant', 'A enforces the idle timeout set on B');
    } finally {
      await adminOnB.request('PUT', '/session-settings', { idleTimeoutSeconds: 86_400, absoluteLifetimeSeconds: 14 * 86_400 });
    }
  });
});
