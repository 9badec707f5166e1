// Roles, groups and the default account policy through their services, against a real Gatehouse
// (PGlite + in-process store, or PostgreSQL + Redis). Effective authorization is read through
// the same cached service that token issuance and the admin API use, so each test also shows
// that a change drops the cache. The database may be shared with other test files: every name
// is unique, and the tenant-wide default policy is restored after each test that touches it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Actor } from '../../src/services/actor.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { ADMIN_API_RESOURCE } from '../../src/services/authorization.ts';
import type { GranterRights } from '../../src/services/escalation.ts';
import type { ChangeRequest, RolePermission } from '../../src/services/roles.ts';
import { adminCatalog } from '../helpers/admin-api.ts';
import { appError } from '../helpers/assertions.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { withOtherTenant } from '../helpers/other-tenant.ts';

const ACTOR: Actor = { actorType: 'user', actorId: 'test-admin' };

function rightsOf(permissions: RolePermission[]): GranterRights {
  const permissionsByResource: Record<string, string[]> = {};
  for (const p of permissions) (permissionsByResource[p.resource] ??= []).push(p.permission);
  return { permissionsByResource, dataScope: {} };
}

describe(`roles, groups and the default account policy (${storageMode})`, function () {
  let gh: TestGatehouse;
  let catalog: string[];
  let tenantId: string;
  let resource: string;
  /** A granter that holds everything these tests grant. */
  let full: ChangeRequest;
  /** The default policy as found, put back after each test that changes it. */
  let policyAtStart: { roleId: string; identityKind: string | null }[];

  const by = (granter: ChangeRequest['granter']): ChangeRequest => ({ tenantId, actor: ACTOR, granter });

  async function newIdentity(kind?: string): Promise<{ userId: string; identityId: string }> {
    const user = await gh.context.users.create({ username: uniqueName('member'), password: `pw-${randomUUID()}` }, SYSTEM_ACTOR);
    const row: { id: string } = await gh.context.knex('identities').where({ user_id: user.id }).first('id');
    if (!kind) return { userId: user.id, identityId: row.id };
    const identityId = randomUUID();
    await gh.context.knex('identities').insert({ id: identityId, tenant_id: tenantId, user_id: user.id, kind, alias: uniqueName(kind) });
    return { userId: user.id, identityId };
  }

  async function newRole(permissions: RolePermission[] = []) {
    return gh.context.roles.create({ name: uniqueName('role'), permissions }, full, catalog);
  }

  const effective = async (identityId: string) => {
    const authz = await gh.context.authorization.forIdentity(identityId);
    assert.ok(authz, 'the identity exists');
    return authz;
  };

  before(async function () {
    gh = await startTestGatehouse();
    tenantId = gh.context.tenantId;
    catalog = adminCatalog(gh);
    resource = `https://${uniqueName('bookings')}.example.test/api`;
    await gh.context.apiResources.upsert({ identifier: resource, name: 'Bookings', scopes: ['bookings:read', 'bookings:create', 'bookings:delete'] }, SYSTEM_ACTOR);
    full = by(rightsOf([...catalog.map((permission) => ({ resource: ADMIN_API_RESOURCE, permission })), ...['bookings:read', 'bookings:create', 'bookings:delete'].map((permission) => ({ resource, permission }))]));
    policyAtStart = (await gh.context.defaultPolicy.get(tenantId)).map((e) => ({ roleId: e.roleId, identityKind: e.identityKind }));
  });

  after(async function () {
    await gh?.close();
  });

  describe('roles', function () {
    it('creates a role from catalog permissions, "gatehouse" naming the admin API, and audits it', async function () {
      const name = uniqueName('Booking clerk');
      const role = await gh.context.roles.create(
        {
          name,
          description: 'Takes bookings',
          permissions: [
            { resource: 'gatehouse', permission: 'roles:list' },
            { resource, permission: 'bookings:create' },
            { resource, permission: 'bookings:create' },
          ],
        },
        full,
        catalog,
      );
      assert.equal(role.system, false);
      assert.deepEqual(
        role.permissions,
        [
          { resource, permission: 'bookings:create' },
          { resource: ADMIN_API_RESOURCE, permission: 'roles:list' },
        ].sort((a, b) => a.resource.localeCompare(b.resource)),
      );
      const listed = (await gh.context.roles.list(tenantId)).find((r) => r.id === role.id);
      assert.deepEqual(listed?.permissions, role.permissions);
      const [event] = await gh.context.audit.list(tenantId, { action: 'role.created', targetId: role.id });
      assert.ok(event, 'role.created is audited');
      assert.equal(event.actorId, 'test-admin');
      assert.deepEqual(event.details.before, null);
      assert.equal((event.details.after as { name: string }).name, name);
    });

    it('refuses permissions outside the catalogs and unknown resources', async function () {
      await assert.rejects(newRole([{ resource: 'gatehouse', permission: 'roles:fly' }]), appError('role.unknown_permission', 400));
      await assert.rejects(newRole([{ resource, permission: 'bookings:teleport' }]), appError('role.unknown_permission', 400));
      await assert.rejects(newRole([{ resource: 'https://nowhere.example.test/api', permission: 'x:y' }]), appError('role.unknown_resource', 400));
    });

    it('refuses a second role with the same name, whatever the case', async function () {
      const role = await newRole();
      await assert.rejects(gh.context.roles.create({ name: role.name.toUpperCase() }, full, catalog), appError('role.name_taken', 409));
      const other = await newRole();
      await assert.rejects(gh.context.roles.update(other.id, { name: role.name }, full), appError('role.name_taken', 409));
    });

    it('renames, re-describes, replaces permissions and deletes a custom role', async function () {
      const role = await newRole([{ resource, permission: 'bookings:read' }]);
      const renamed = await gh.context.roles.update(role.id, { name: `${role.name}-x`, description: 'changed' }, full);
      assert.equal(renamed.name, `${role.name}-x`);
      assert.equal(renamed.description, 'changed');
      const replaced = await gh.context.roles.setPermissions(role.id, [{ resource, permission: 'bookings:delete' }], full, catalog);
      assert.deepEqual(replaced.permissions, [{ resource, permission: 'bookings:delete' }]);
      await gh.context.roles.remove(role.id, full);
      await assert.rejects(gh.context.roles.get(tenantId, role.id), appError('role.not_found', 404));
      const [event] = await gh.context.audit.list(tenantId, { action: 'role.deleted', targetId: role.id });
      assert.equal((event!.details.before as { name: string }).name, `${role.name}-x`);
    });

    it('keeps system roles: listed as system, not deletable, not renamable, permissions fixed; description may change', async function () {
      const roles = await gh.context.roles.list(tenantId);
      const system = roles
        .filter((r) => r.system)
        .map((r) => r.name)
        .sort();
      assert.deepEqual(system, ['Admin', 'Auditor', 'Client', 'Supplier', 'User']);
      const admin = roles.find((r) => r.name === 'Admin')!;
      assert.deepEqual(
        admin.permissions
          .filter((p) => p.resource === ADMIN_API_RESOURCE)
          .map((p) => p.permission)
          .sort(),
        [...catalog].sort(),
        'Admin holds the whole admin catalog',
      );
      await assert.rejects(gh.context.roles.remove(admin.id, full), appError('role.system', 409));
      await assert.rejects(gh.context.roles.update(admin.id, { name: 'Superuser' }, full), appError('role.system', 409));
      await assert.rejects(gh.context.roles.setPermissions(admin.id, [], full, catalog), appError('role.system', 409));
      const described = await gh.context.roles.update(admin.id, { name: 'Admin', description: 'Administers this tenant' }, full);
      assert.equal(described.description, 'Administers this tenant');
      await gh.context.roles.update(admin.id, { description: admin.description }, full);
      assert.ok(await gh.context.roles.get(tenantId, admin.id), 'Admin is still there');
    });

    it("answers 404 for another tenant's role and identity", async function () {
      await withOtherTenant(gh, async ({ roleId, identityId: foreignIdentity }) => {
        const { identityId } = await newIdentity();
        await assert.rejects(gh.context.roles.get(tenantId, roleId), appError('role.not_found', 404));
        await assert.rejects(gh.context.roles.remove(roleId, full), appError('role.not_found', 404));
        await assert.rejects(gh.context.roles.assignToIdentity(identityId, [roleId], full), appError('role.not_found', 404));
        await assert.rejects(gh.context.roles.identityRoles(tenantId, foreignIdentity), appError('identity.not_found', 404));
        const group = await gh.context.groups.create({ name: uniqueName('group') }, full);
        await assert.rejects(gh.context.groups.addMembers(group.id, [foreignIdentity], full), appError('identity.not_found', 404));
      });
    });
  });

  describe('effective authorization', function () {
    afterEach(async function () {
      await gh.context.defaultPolicy.replace({ roles: policyAtStart }, by('system'));
    });

    it('is direct ∪ group ∪ default policy (all kinds and per kind), and each change shows on the next read', async function () {
      const kind = `k${randomUUID().slice(0, 8)}`;
      await gh.context.knex('identity_kinds').insert({ tenant_id: tenantId, kind, label: 'Test kind' });
      const { identityId } = await newIdentity();
      const { identityId: ofKind } = await newIdentity(kind);
      const direct = await newRole([{ resource, permission: 'bookings:read' }]);
      const viaGroup = await newRole([{ resource, permission: 'bookings:create' }]);
      const forKind = await newRole([{ resource, permission: 'bookings:delete' }]);
      const forAll = await newRole();

      assert.deepEqual((await effective(identityId)).roles, [], 'warm the cache: no roles yet');

      await gh.context.roles.assignToIdentity(identityId, [direct.id], full);
      let authz = await effective(identityId);
      assert.deepEqual(authz.roles, [direct.name]);
      assert.deepEqual(authz.permissionsByResource[resource], ['bookings:read']);

      const group = await gh.context.groups.create({ name: uniqueName('Operations'), type: 'department' }, full);
      await gh.context.groups.assignRoles(group.id, [viaGroup.id], full);
      assert.deepEqual(await gh.context.groups.addMembers(group.id, [identityId], full), [identityId]);
      authz = await effective(identityId);
      assert.deepEqual(authz.roles, [direct.name, viaGroup.name].sort());
      assert.deepEqual(authz.groups, [group.name]);
      assert.deepEqual(authz.permissionsByResource[resource], ['bookings:create', 'bookings:read']);

      assert.deepEqual((await effective(ofKind)).roles, [], 'warm the cache for the other kind');
      await gh.context.defaultPolicy.replace({ roles: [...policyAtStart, { roleId: forKind.id, identityKind: kind }] }, full);
      assert.ok(!(await effective(identityId)).roles.includes(forKind.name), 'a per-kind policy role skips other kinds');
      assert.deepEqual((await effective(ofKind)).roles, [forKind.name]);
      assert.deepEqual((await effective(ofKind)).permissionsByResource[resource], ['bookings:delete']);

      await gh.context.defaultPolicy.replace({ roles: [...policyAtStart, { roleId: forKind.id, identityKind: kind }, { roleId: forAll.id }] }, full);
      assert.ok((await effective(identityId)).roles.includes(forAll.name), 'a policy role for all kinds reaches every identity');
      assert.ok((await effective(ofKind)).roles.includes(forAll.name));

      const view = await gh.context.roles.identityRoles(tenantId, identityId);
      assert.deepEqual(
        view.direct.map((r) => r.id),
        [direct.id],
      );
      const sources = Object.fromEntries(view.effective.map((r) => [r.id, r.sources]));
      assert.deepEqual(sources[direct.id], [{ type: 'direct' }]);
      assert.deepEqual(sources[viaGroup.id], [{ type: 'group', groupId: group.id, groupName: group.name }]);
      assert.deepEqual(sources[forAll.id], [{ type: 'default_policy', identityKind: null }]);
      assert.equal(sources[forKind.id], undefined);

      await gh.context.defaultPolicy.replace({ roles: policyAtStart }, full);
      assert.ok(!(await effective(ofKind)).roles.includes(forKind.name), 'leaving the policy takes the role away');

      await gh.context.roles.unassignFromIdentity(identityId, direct.id, full);
      await assert.rejects(gh.context.roles.unassignFromIdentity(identityId, direct.id, full), appError('identity_role.not_assigned', 404));
      assert.deepEqual((await effective(identityId)).roles, [viaGroup.name]);
    });

    it('assigns several roles at once, idempotently', async function () {
      const { identityId } = await newIdentity();
      const a = await newRole();
      const b = await newRole();
      await gh.context.roles.assignToIdentity(identityId, [a.id], full);
      const view = await gh.context.roles.assignToIdentity(identityId, [a.id, b.id, b.id], full);
      assert.deepEqual(view.direct.map((r) => r.id).sort(), [a.id, b.id].sort());
      const events = await gh.context.audit.list(tenantId, { action: 'identity.roles_assigned', targetId: identityId });
      assert.equal(events.length, 2);
      assert.deepEqual(events[0]!.details.added, [b.id], 'the second assignment records only what it added');
    });

    it('gives group roles to members, and takes them away when the member leaves, the role is unassigned or the group goes', async function () {
      const { identityId } = await newIdentity();
      const role = await newRole([{ resource, permission: 'bookings:read' }]);
      const group = await gh.context.groups.create({ name: uniqueName('Night shift') }, full);
      assert.equal(group.type, 'team');
      await gh.context.groups.assignRoles(group.id, [role.id], full);
      await gh.context.groups.addMembers(group.id, [identityId], full);
      assert.deepEqual((await effective(identityId)).roles, [role.name]);

      await gh.context.groups.removeMember(group.id, identityId, full);
      assert.deepEqual((await effective(identityId)).roles, [], 'removed from the group: role gone');
      await assert.rejects(gh.context.groups.removeMember(group.id, identityId, full), appError('group.member_not_found', 404));

      await gh.context.groups.addMembers(group.id, [identityId], full);
      assert.deepEqual((await effective(identityId)).roles, [role.name]);
      await gh.context.groups.unassignRole(group.id, role.id, full);
      assert.deepEqual((await effective(identityId)).roles, [], 'role taken from the group: gone for the member');

      await gh.context.groups.assignRoles(group.id, [role.id], full);
      assert.deepEqual((await effective(identityId)).roles, [role.name]);
      const members = await gh.context.groups.members(tenantId, group.id);
      assert.deepEqual(
        members.map((m) => m.identityId),
        [identityId],
      );
      await gh.context.groups.remove(group.id, full);
      assert.deepEqual((await effective(identityId)).roles, [], 'group deleted: role gone');
      await assert.rejects(gh.context.groups.get(tenantId, group.id), appError('group.not_found', 404));
    });

    it('updates groups and refuses duplicate names', async function () {
      const group = await gh.context.groups.create({ name: uniqueName('Sales'), type: 'department', description: 'Sells' }, full);
      const updated = await gh.context.groups.update(group.id, { type: 'team', description: null }, full);
      assert.equal(updated.type, 'team');
      assert.equal(updated.description, null);
      assert.equal(updated.name, group.name);
      await assert.rejects(gh.context.groups.create({ name: group.name.toUpperCase() }, full), appError('group.name_taken', 409));
      const [event] = await gh.context.audit.list(tenantId, { action: 'group.updated', targetId: group.id });
      assert.deepEqual(event?.details, { before: { name: group.name, type: 'department', description: 'Sells', roles: [] }, after: { name: group.name, type: 'team', description: null, roles: [] } });
    });
  });

  describe('no privilege escalation', function () {
    afterEach(async function () {
      await gh.context.defaultPolicy.replace({ roles: policyAtStart }, by('system'));
    });

    // Holds every admin permission and bookings:read, but not bookings:delete.
    const limited = () => by(rightsOf([...catalog.map((permission) => ({ resource: ADMIN_API_RESOURCE, permission })), { resource, permission: 'bookings:read' }]));

    it('refuses to create a role, or add to one, a permission the granter lacks', async function () {
      await assert.rejects(gh.context.roles.create({ name: uniqueName('wide'), permissions: [{ resource, permission: 'bookings:delete' }] }, limited(), catalog), appError('auth.escalation', 403));
      const role = await gh.context.roles.create({ name: uniqueName('narrow'), permissions: [{ resource, permission: 'bookings:read' }] }, limited(), catalog);
      await assert.rejects(
        gh.context.roles.setPermissions(
          role.id,
          [
            { resource, permission: 'bookings:read' },
            { resource, permission: 'bookings:delete' },
          ],
          limited(),
          catalog,
        ),
        appError('auth.escalation', 403),
      );
      assert.deepEqual((await gh.context.roles.get(tenantId, role.id)).permissions, [{ resource, permission: 'bookings:read' }], 'unchanged');
    });

    it('lets a granter keep or remove permissions it lacks, since that grants nothing', async function () {
      const role = await newRole([
        { resource, permission: 'bookings:read' },
        { resource, permission: 'bookings:delete' },
      ]);
      const kept = await gh.context.roles.setPermissions(role.id, [{ resource, permission: 'bookings:delete' }], limited(), catalog);
      assert.deepEqual(kept.permissions, [{ resource, permission: 'bookings:delete' }]);
    });

    it('refuses to assign a role carrying a permission the granter lacks, directly or through a group', async function () {
      const { identityId } = await newIdentity();
      const wide = await newRole([{ resource, permission: 'bookings:delete' }]);
      const narrow = await newRole([{ resource, permission: 'bookings:read' }]);
      await assert.rejects(gh.context.roles.assignToIdentity(identityId, [narrow.id, wide.id], limited()), appError('auth.escalation', 403));
      assert.deepEqual((await gh.context.roles.identityRoles(tenantId, identityId)).direct, [], 'nothing assigned, not even the narrow role');

      const group = await gh.context.groups.create({ name: uniqueName('group') }, limited());
      await assert.rejects(gh.context.groups.assignRoles(group.id, [wide.id], limited()), appError('auth.escalation', 403));
      await gh.context.groups.assignRoles(group.id, [wide.id], full);
      await assert.rejects(gh.context.groups.addMembers(group.id, [identityId], limited()), appError('auth.escalation', 403));
      assert.deepEqual((await effective(identityId)).roles, []);

      await gh.context.roles.assignToIdentity(identityId, [narrow.id], limited());
      assert.deepEqual((await effective(identityId)).roles, [narrow.name]);
    });

    it('refuses to extend the default policy with a role the granter could not grant, but lets it keep or remove one', async function () {
      const kind = `k${randomUUID().slice(0, 8)}`;
      await gh.context.knex('identity_kinds').insert({ tenant_id: tenantId, kind, label: 'Test kind' });
      const wide = await newRole([{ resource, permission: 'bookings:delete' }]);
      await assert.rejects(gh.context.defaultPolicy.replace({ roles: [...policyAtStart, { roleId: wide.id, identityKind: kind }] }, limited()), appError('auth.escalation', 403));
      await gh.context.defaultPolicy.replace({ roles: [...policyAtStart, { roleId: wide.id, identityKind: kind }] }, full);
      // Re-sending the same policy, or narrowing it, grants nothing.
      await gh.context.defaultPolicy.replace({ roles: [...policyAtStart, { roleId: wide.id, identityKind: kind }] }, limited());
      await assert.rejects(gh.context.defaultPolicy.replace({ roles: [...policyAtStart, { roleId: wide.id, identityKind: null }] }, limited()), appError('auth.escalation', 403), 'all kinds is wider than one');
      await gh.context.defaultPolicy.replace({ roles: policyAtStart }, limited());
      await assert.rejects(gh.context.defaultPolicy.replace({ roles: [{ roleId: wide.id, identityKind: 'no-such-kind' }] }, full), appError('default_policy.unknown_kind', 400));
      await assert.rejects(gh.context.defaultPolicy.replace({ roles: [{ roleId: randomUUID() }] }, full), appError('role.not_found', 404));
      const [event] = await gh.context.audit.list(tenantId, { action: 'default_policy.replaced' });
      assert.ok(Array.isArray(event?.details.before) && Array.isArray(event?.details.after), 'audited with before and after');
    });
  });
});
