// Two Gatehouse nodes on one PostgreSQL + Redis (DESIGN.md "Scaling out"): a directory change
// made through node A's admin API reaches what node B puts in tokens at once, because each node's
// claims cache is dropped over Redis pub/sub. Runs only against the real services.
import assert from 'node:assert/strict';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';

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
