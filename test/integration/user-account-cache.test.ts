// The per-node cache of the users that token, refresh, userinfo and admin-API requests look up
// (src/services/users.ts createUserAccountCache): whoever changes a user row, with whatever
// tool, the cache lets go of it — the database's trigger announces every change (NOTIFY) and the
// services that change users drop it on their own node at once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { gatehouseForSuite, startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';

/** Polls until `check` holds; notifications arrive a moment after the commit. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe(`user account cache (${storageMode})`, function () {
  const gh = gatehouseForSuite();

  it('forgets a user changed or deleted with plain SQL, as another process or an operator would', async function () {
    const user = await gh.context.users.create({ username: uniqueName('cached'), name: 'Before' }, SYSTEM_ACTOR);
    assert.equal((await gh.context.users.findForOidc(user.id))?.name, 'Before');
    await gh.context.knex('users').where({ id: user.id }).update({ name: 'After', status: 'inactive' });
    await eventually(async () => (await gh.context.users.findForOidc(user.id))?.status === 'inactive', 'the cache sees the SQL update');
    assert.equal((await gh.context.users.findForOidc(user.id))?.name, 'After');
    await gh.context.knex('users').where({ id: user.id }).delete();
    await eventually(async () => (await gh.context.users.findForOidc(user.id)) === undefined, 'the cache sees the SQL delete');
  });

  it('refuses a user deactivated through the service on this node with no delay', async function () {
    const user = await gh.context.users.create({ username: uniqueName('deactivated') }, SYSTEM_ACTOR);
    assert.equal((await gh.context.users.findForOidc(user.id))?.status, 'active');
    await gh.context.directoryUsers.deactivate(user.id, 'left', { tenantId: 'default', actor: SYSTEM_ACTOR, granter: 'system' });
    assert.equal((await gh.context.users.findForOidc(user.id))?.status, 'inactive', 'no wait for the notification');
  });

  it('never remembers a user that does not exist (yet)', async function () {
    const id = randomUUID();
    assert.equal(await gh.context.users.findForOidc(id), undefined);
    await gh.context.knex('users').insert({ id, tenant_id: 'default', username: uniqueName('late'), status: 'active' });
    assert.equal((await gh.context.users.findForOidc(id))?.id, id);
  });
});

describe('user account cache on two nodes (postgres+redis)', function () {
  this.timeout(60_000);
  let a: TestGatehouse | undefined;
  let b: TestGatehouse | undefined;

  before(async function () {
    if (!process.env.DATABASE_URL || !process.env.REDIS_URL) return this.skip();
    a = await startTestGatehouse();
    b = await startTestGatehouse({ GATEHOUSE_REDIS_PREFIX: a.config.redisPrefix });
  });

  after(async function () {
    await b?.close();
    await a?.close();
  });

  it('reads through while it cannot hear the database, and starts afresh once it hears again', async function () {
    const user = await a!.context.users.create({ username: uniqueName('unheard') }, SYSTEM_ACTOR);
    assert.equal((await a!.context.users.findForOidc(user.id))?.status, 'active');
    // Cut this database's listening connections, as a restarted PostgreSQL or a network blip would.
    await a!.context.knex.raw("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name like 'gatehouse-%-listen'");
    await a!.context.knex('users').where({ id: user.id }).update({ status: 'inactive' });
    await eventually(async () => (await a!.context.users.findForOidc(user.id))?.status === 'inactive', 'the change is read');
    await a!.context.knex('users').where({ id: user.id }).update({ status: 'active' });
    await eventually(async () => (await a!.context.users.findForOidc(user.id))?.status === 'active', 'the change back is read');
  });

  it('a user deactivated on node A is refused by node B', async function () {
    const user = await a!.context.users.create({ username: uniqueName('two-node-user') }, SYSTEM_ACTOR);
    assert.equal((await b!.context.users.findForOidc(user.id))?.status, 'active', 'node B has it cached');
    await a!.context.directoryUsers.deactivate(user.id, 'left', { tenantId: 'default', actor: SYSTEM_ACTOR, granter: 'system' });
    await eventually(async () => (await b!.context.users.findForOidc(user.id))?.status === 'inactive', 'node B sees the deactivation');
  });
});
