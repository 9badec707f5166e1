// The user-maintenance list: one API call gives, per user, the credential state, contact details,
// user type, associations, identities with their roles, and status.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';

describe(`user-maintenance list (${storageMode})`, function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let admin: ApiCaller;
  const token = randomUUID().slice(0, 8);
  const system = () => ({ tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' as const });

  before(async () => {
    gh = await startTestGatehouse({ GATEHOUSE_ARGON2_MEMORY_KIB: '1024', GATEHOUSE_ARGON2_TIME_COST: '1' });
    admin = await createApiCaller(gh, { permissions: ['user-maintenance:list'] });
    for (const key of ['client', 'supplier']) await gh.context.knex('data_scope_keys').insert({ tenant_id: gh.context.tenantId, key }).onConflict(['tenant_id', 'key']).ignore();
  });
  after(async () => gh?.close());

  it('shows each user with credential state, contact, type, associations and identities with effective roles', async () => {
    const { knex, tenantId } = gh.context;
    // Like Lucy: an internal identity (User + Admin, all clients and suppliers) and a client one.
    const lucy = await gh.context.users.create({ username: `maint-lucy-${token}`, password: `pw-${randomUUID()}`, email: `lucy-${token}@example.test`, name: 'Lucy', phone: '+44 20 7946 0001', department: 'Operations' }, SYSTEM_ACTOR);
    const lucyInternal: { id: string } = await knex('identities').where({ user_id: lucy.id }).first('id');
    const roleIds = Object.fromEntries((await knex('roles').where({ tenant_id: tenantId }).whereIn('name', ['User', 'Admin', 'Client']).select('id', 'name')).map((r: { id: string; name: string }) => [r.name, r.id]));
    await gh.context.roles.assignToIdentity(lucyInternal.id, [roleIds.User, roleIds.Admin], system());
    await gh.context.dataScopes.replace(lucyInternal.id, { client: ['*'], supplier: ['*'] }, system());
    const lucyClient = await gh.context.identities.upsert({ username: lucy.username, kind: 'client', alias: 'Lucy (client view)' }, system());
    await gh.context.roles.assignToIdentity(lucyClient.identity.id, [roleIds.Client], system());
    // Like Simon: a client only, no password yet.
    const simon = await gh.context.identities.upsert({ username: `maint-simon-${token}`, kind: 'client', alias: 'Simon' }, system());
    await gh.context.dataScopes.replace(simon.identity.id, { client: ['Pharma', 'ROOM'] }, system());
    // A group gives Simon a role: it shows among his effective roles.
    const group = await gh.context.groups.create({ name: uniqueName('Portal users') }, system());
    const viewer = await gh.context.roles.create({ name: uniqueName('Viewer'), permissions: [] }, system(), []);
    await gh.context.groups.assignRoles(group.id, [viewer.id], system());
    await gh.context.groups.addMembers(group.id, [simon.identity.id], system());
    // Lucy turns on two-step verification.
    const enrollment = await gh.context.mfa.startEnrollment(tenantId, lucy);
    await gh.context.mfa.confirmEnrollment(tenantId, lucy.id, await generate({ secret: enrollment.secret }), SYSTEM_ACTOR);

    const before = await gh.context.passwordPolicies.get(tenantId);
    await gh.context.passwordPolicies.replace(tenantId, { ...before, expiryDays: 90, reminderDays: 14 }, SYSTEM_ACTOR);
    try {
      const response = await admin.request('GET', `/user-maintenance?q=${token}`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const rows = response.body.items as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
      assert.deepEqual(
        rows.map((r) => r.username),
        [lucy.username, `maint-simon-${token}`],
      );
      const [l, s] = rows;
      assert.equal(l!.id, lucy.id);
      assert.equal(l!.status, 'active');
      assert.equal(l!.userType, 'internal');
      assert.deepEqual(l!.contact, { name: 'Lucy', email: `lucy-${token}@example.test`, phone: '+44 20 7946 0001', department: 'Operations' });
      assert.equal(l!.credentials.passwordSet, true);
      assert.equal(l!.credentials.mfaEnrolled, true);
      assert.equal(new Date(l!.credentials.passwordExpiresAt).getTime() - new Date(l!.credentials.passwordChangedAt).getTime(), 90 * 86_400_000);
      assert.deepEqual(l!.associations, { client: ['*'], supplier: ['*'] });
      assert.deepEqual(
        l!.identities.map((i: { kind: string; alias: string; isDefault: boolean; roles: string[] }) => [i.kind, i.alias, i.isDefault, i.roles]),
        [
          ['internal', lucy.username, true, ['Admin', 'User']],
          ['client', 'Lucy (client view)', false, ['Client']],
        ],
      );
      assert.equal(s!.userType, 'client');
      assert.deepEqual(s!.credentials, { passwordSet: false, passwordChangedAt: null, passwordExpiresAt: null, mfaEnrolled: false, lockedUntil: null });
      assert.deepEqual(s!.associations, { client: ['Pharma', 'ROOM'] });
      assert.deepEqual(s!.identities[0].roles, [viewer.name], 'a group role is an effective role');
      assert.deepEqual(s!.identities[0].directRoles, []);
      assert.deepEqual(s!.identities[0].groups, [group.name]);
    } finally {
      await gh.context.passwordPolicies.replace(tenantId, before, SYSTEM_ACTOR);
    }
  });

  it('shows a locked user with until when, filters like the users list, and needs its permission', async () => {
    const locked = await gh.context.users.create({ username: `maint-locked-${token}`, password: `pw-${randomUUID()}` }, SYSTEM_ACTOR);
    const until = new Date(Date.now() + 3_600_000);
    await gh.context.knex('users').where({ id: locked.id }).update({ status: 'locked', locked_until: until });
    const response = await admin.request('GET', `/user-maintenance?q=${token}&status=locked`);
    assert.equal(response.status, 200);
    assert.deepEqual(
      response.body.items.map((r: { username: string }) => r.username),
      [locked.username],
    );
    assert.equal(response.body.items[0].status, 'locked');
    assert.equal(response.body.items[0].credentials.lockedUntil, until.toISOString());
    const paged = await admin.request('GET', `/user-maintenance?q=${token}&limit=1`);
    assert.equal(paged.body.items.length, 1);
    assert.ok(paged.body.nextCursor);
    const next = await admin.request('GET', `/user-maintenance?q=${token}&limit=1&cursor=${encodeURIComponent(paged.body.nextCursor)}`);
    assert.notEqual(next.body.items[0].id, paged.body.items[0].id);
    const other = await createApiCaller(gh, { permissions: ['users:list'] });
    assert.equal((await other.request('GET', '/user-maintenance')).status, 403);
  });
});
