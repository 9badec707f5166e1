// First start on an empty directory: the administrator is created and its identity given the
// Admin role as any role assignment is, with the same audit event.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ensureAdministrator } from '../../src/services/bootstrap.ts';
import { startTestGatehouse, storageMode, type TestGatehouse } from '../helpers/gatehouse.ts';

describe(`first-start administrator (${storageMode})`, function () {
  let gh: TestGatehouse;
  let scratch: { url: string; drop: () => Promise<void> } | undefined;

  before(async function () {
    // The directory must be empty: on PostgreSQL, a database of this test's own.
    if (process.env.DATABASE_URL) {
      const base = await startTestGatehouse();
      const name = `gh_bootstrap_${randomBytes(4).toString('hex')}`;
      await base.context.knex.raw(`create database ${name}`);
      const url = new URL(process.env.DATABASE_URL);
      url.pathname = `/${name}`;
      scratch = {
        url: url.toString(),
        async drop() {
          await base.context.knex.raw(`drop database if exists ${name} with (force)`);
          await base.close();
        },
      };
    }
    gh = await startTestGatehouse({ GATEHOUSE_ADMIN_USERNAME: 'first-admin', ...(scratch ? { DATABASE_URL: scratch.url } : {}) });
  });
  after(async () => {
    await gh?.close();
    await scratch?.drop();
  });

  it('creates the administrator with the Admin role, audited as a role assignment by the system', async () => {
    const created = await ensureAdministrator(gh.context);
    assert.equal(created?.username, 'first-admin');
    assert.ok(created?.generatedPassword, 'a password is generated when none is configured');
    const user = await gh.context.users.findByUsername('first-admin');
    assert.ok(user);
    const [identity] = await gh.context.identities.listForUser(gh.context.tenantId, user.id);
    assert.ok(identity);
    const roles = await gh.context.roles.identityRoles(gh.context.tenantId, identity.id);
    const admin = roles.direct.find((r) => r.name === 'Admin');
    assert.ok(admin, 'the identity holds Admin directly');
    const events = await gh.context.audit.list(gh.context.tenantId, { action: 'identity.roles_assigned', targetId: identity.id });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.actorType, 'system');
    assert.deepEqual(events[0]!.details.added, [admin.id]);
    assert.deepEqual(events[0]!.details.before, { roles: [] });
    assert.equal(await ensureAdministrator(gh.context), undefined, 'a second start leaves the directory alone');
  });
});
