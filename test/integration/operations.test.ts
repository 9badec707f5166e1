// The admin API behind the console's operations pages against a real Gatehouse (PGlite +
// in-process store, or PostgreSQL + Redis): the overview's counts, and the sessions list filtered
// by username (any case) and by the kind of the session's identity. The database may be shared
// with other test files: counts are compared before and after, names are unique.
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { HttpClient } from '../helpers/http.ts';
import { discover, signIn } from '../helpers/oidc.ts';

const CALLBACK = 'http://localhost:8141/ops/callback';
const PASSWORD = 'operations pages 1234 abc';

describe(`operations API: overview counts and session filters (${storageMode})`, function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let operator: ApiCaller;
  let app: { id: string; secret: string };

  async function newUser(): Promise<{ id: string; username: string }> {
    const username = uniqueName('ops');
    const user = await gh.context.users.create({ username, password: PASSWORD }, SYSTEM_ACTOR);
    return { id: user.id, username };
  }

  async function signInApp(username: string): Promise<string> {
    const config = await discover(gh, app.id, app.secret);
    const result = await signIn({ gatehouse: gh, config, redirectUri: CALLBACK, username, password: PASSWORD, scope: 'openid', browser: new HttpClient(gh.issuer) });
    return result.tokens.claims()!.sid as string;
  }

  before(async () => {
    gh = await startTestGatehouse();
    operator = await createApiCaller(gh, { permissions: ['overview:read', 'sessions:list'] });
    const created = await gh.context.applications.create({ name: uniqueName('Ops app'), type: 'web', redirectUris: [CALLBACK] }, SYSTEM_ACTOR);
    app = { id: created.application.id, secret: created.clientSecret! };
  });
  after(async () => {
    await gh?.close();
  });

  it('counts users, user identities, open sessions and applications', async () => {
    const before = await operator.request('get', '/overview/counts');
    assert.equal(before.status, 200, JSON.stringify(before.body));
    const user = await newUser();
    await signInApp(user.username);
    await gh.context.applications.create({ name: uniqueName('Ops other'), type: 'spa', redirectUris: [CALLBACK] }, SYSTEM_ACTOR);
    const after = await operator.request('get', '/overview/counts');
    assert.deepEqual(after.body, {
      users: before.body.users + 1,
      identities: before.body.identities + 1,
      activeSessions: before.body.activeSessions + 1,
      applications: before.body.applications + 1,
    });
    const reader = await createApiCaller(gh, { permissions: ['sessions:list'] });
    assert.equal((await reader.request('get', '/overview/counts')).status, 403);
  });

  it("filters sessions by username in any case and by the session identity's kind", async () => {
    const kim = await newUser();
    const other = await newUser();
    const sid = await signInApp(kim.username);
    await signInApp(other.username);
    const list = async (query: Record<string, string>) => {
      const response = await operator.request('get', `/sessions?${new URLSearchParams(query)}`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return (response.body.items as { id: string; username: string }[]).map((s) => s.id);
    };
    assert.deepEqual(await list({ username: kim.username.toUpperCase() }), [sid]);
    assert.deepEqual(await list({ username: kim.username, identityKind: 'internal', clientId: app.id }), [sid]);
    assert.deepEqual(await list({ username: kim.username, identityKind: 'supplier' }), []);
    assert.deepEqual(await list({ username: `${kim.username}x` }), []);
    assert.equal((await operator.request('get', `/sessions?identityKind=${'k'.repeat(65)}`)).status, 400);
  });
});
