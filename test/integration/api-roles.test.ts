// The admin API for roles, role assignment, groups, the default account policy and API
// resources, called over HTTP with real Gatehouse-issued access tokens (test/helpers/admin-api.ts).
// Checks what an administrator would notice: status codes, problem codes, bodies, that each route
// needs its one permission, that nobody grants more than they hold, and that a change to the
// caller's own roles shows on their next request. The database may be shared with other test
// files: names are unique and the tenant-wide default policy is put back as found.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { ADMIN_API_RESOURCE } from '../../src/services/authorization.ts';
import { adminCatalog, type ApiCaller, apiRequest, type ApiResponse, createApiCaller, expectProblem, routeTable } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { withOtherTenant } from '../helpers/other-tenant.ts';

/** Every route of this slice and the one permission it requires. */
const ROUTES = routeTable([
  'GET /roles roles:list',
  'GET /roles/:id roles:read',
  'POST /roles roles:create',
  'PATCH /roles/:id roles:update',
  'PUT /roles/:id/permissions roles:set-permissions',
  'DELETE /roles/:id roles:delete',
  'GET /identities/:id/roles identity-roles:list',
  'POST /identities/:id/roles identity-roles:assign',
  'DELETE /identities/:id/roles/:roleId identity-roles:unassign',
  'GET /groups groups:list',
  'GET /groups/:id groups:read',
  'POST /groups groups:create',
  'PATCH /groups/:id groups:update',
  'DELETE /groups/:id groups:delete',
  'GET /groups/:id/members group-members:list',
  'POST /groups/:id/members group-members:add',
  'DELETE /groups/:id/members/:identityId group-members:remove',
  'POST /groups/:id/roles group-roles:assign',
  'DELETE /groups/:id/roles/:roleId group-roles:unassign',
  'GET /default-policy default-policy:read',
  'PUT /default-policy default-policy:replace',
  'GET /api-resources api-resources:list',
  'PUT /api-resources api-resources:upsert',
]);

function expectOk(response: ApiResponse, status = 200): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
}

describe(`admin API: roles, groups, default policy, API resources (${storageMode})`, function () {
  let gh: TestGatehouse;
  let admin: ApiCaller;
  let resource: string;
  let bookingsRoleName: string;
  let policyAtStart: { roleId: string; identityKind: string | null }[];

  async function newIdentity(): Promise<string> {
    const user = await gh.context.users.create({ username: uniqueName('member'), password: `pw-${randomUUID()}` }, SYSTEM_ACTOR);
    const row: { id: string } = await gh.context.knex('identities').where({ user_id: user.id }).first('id');
    return row.id;
  }

  async function roleIdByName(name: string): Promise<string> {
    const roles = await gh.context.roles.list(gh.context.tenantId);
    return roles.find((r) => r.name === name)!.id;
  }

  before(async function () {
    gh = await startTestGatehouse();
    resource = `https://${uniqueName('bookings')}.example.test/api`;
    await gh.context.apiResources.upsert({ identifier: resource, name: 'Bookings', scopes: ['bookings:read', 'bookings:create'] }, SYSTEM_ACTOR);
    // The admin also holds the bookings permissions, so it may put them into roles.
    bookingsRoleName = uniqueName('bookings-all');
    await gh.context.roles.create(
      {
        name: bookingsRoleName,
        permissions: [
          { resource, permission: 'bookings:read' },
          { resource, permission: 'bookings:create' },
        ],
      },
      { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' },
      [],
    );
    admin = await createApiCaller(gh, { permissions: 'all', roles: [bookingsRoleName] });
    policyAtStart = (await gh.context.defaultPolicy.get(gh.context.tenantId)).map((e) => ({ roleId: e.roleId, identityKind: e.identityKind }));
  });

  after(async function () {
    if (policyAtStart) await gh.context.defaultPolicy.replace({ roles: policyAtStart }, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    await gh?.close();
  });

  it('lists every route of this slice, with its one permission, in the catalog and the OpenAPI document', async function () {
    const catalog = await admin.request('GET', '/permissions');
    expectOk(catalog);
    const names = (catalog.body.gatehouse as { name: string }[]).map((p) => p.name);
    for (const route of ROUTES) assert.ok(names.includes(route.permission), `${route.permission} is in the catalog`);
    assert.equal(new Set(ROUTES.map((r) => r.permission)).size, ROUTES.length, 'one distinct permission per route');
    const openapi = await apiRequest(gh, undefined, 'GET', '/openapi.json');
    for (const route of ROUTES) {
      const operation = openapi.body.paths[`/api/v1${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`]?.[route.method.toLowerCase()];
      assert.equal(operation?.['x-permission'], route.permission, `${route.method} ${route.path}`);
    }
  });

  it("answers 401 without a token and 403 without the route's permission", async function () {
    const nobody = await createApiCaller(gh, { permissions: [] });
    const id = randomUUID();
    for (const route of ROUTES) {
      const path = route.path.replace(/:[A-Za-z]+/g, id);
      const body = ['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined;
      expectProblem(await apiRequest(gh, undefined, route.method, path, body), 401, 'auth.missing_token');
      expectProblem(await nobody.request(route.method, path, body), 403, 'auth.forbidden');
    }
  });

  describe('roles', function () {
    it('creates, reads, lists, updates, re-permissions and deletes a custom role, auditing each change', async function () {
      const name = uniqueName('Front desk');
      const created = await admin.request('POST', '/roles', {
        name,
        description: 'Takes bookings',
        permissions: [
          { resource: 'gatehouse', permission: 'roles:list' },
          { resource, permission: 'bookings:read' },
        ],
      });
      expectOk(created, 201);
      assert.equal(created.body.name, name);
      assert.equal(created.body.system, false);
      assert.deepEqual(created.body.permissions, [
        { resource, permission: 'bookings:read' },
        { resource: 'gatehouse', permission: 'roles:list' },
      ]);
      const id: string = created.body.id;

      const read = await admin.request('GET', `/roles/${id}`);
      expectOk(read);
      assert.deepEqual(read.body, created.body);
      const list = await admin.request('GET', '/roles');
      expectOk(list);
      assert.ok((list.body.roles as { id: string }[]).some((r) => r.id === id));

      const patched = await admin.request('PATCH', `/roles/${id}`, { name: `${name} (day)`, description: null });
      expectOk(patched);
      assert.equal(patched.body.name, `${name} (day)`);
      assert.equal(patched.body.description, null);

      const replaced = await admin.request('PUT', `/roles/${id}/permissions`, { permissions: [{ resource, permission: 'bookings:create' }] });
      expectOk(replaced);
      assert.deepEqual(replaced.body.permissions, [{ resource, permission: 'bookings:create' }]);

      const [event] = await gh.context.audit.list(gh.context.tenantId, { action: 'role.permissions_set', targetId: id });
      assert.ok(event, 'audited');
      assert.equal(event.actorType, 'user');
      assert.equal(event.actorId, admin.userId);
      assert.deepEqual((event.details.before as { permissions: unknown }).permissions, [
        { resource, permission: 'bookings:read' },
        { resource: ADMIN_API_RESOURCE, permission: 'roles:list' },
      ]);
      assert.deepEqual((event.details.after as { permissions: unknown }).permissions, [{ resource, permission: 'bookings:create' }]);

      expectOk(await admin.request('DELETE', `/roles/${id}`), 204);
      expectProblem(await admin.request('GET', `/roles/${id}`), 404, 'role.not_found');
      expectProblem(await admin.request('DELETE', `/roles/${id}`), 404, 'role.not_found');
    });

    it('refuses bad input clearly: unknown permission or resource, duplicate name, malformed body or id', async function () {
      expectProblem(await admin.request('POST', '/roles', { name: uniqueName('r'), permissions: [{ resource: 'gatehouse', permission: 'roles:fly' }] }), 400, 'role.unknown_permission');
      expectProblem(await admin.request('POST', '/roles', { name: uniqueName('r'), permissions: [{ resource: 'https://nowhere.example.test', permission: 'a:b' }] }), 400, 'role.unknown_resource');
      const name = uniqueName('twice');
      expectOk(await admin.request('POST', '/roles', { name }), 201);
      expectProblem(await admin.request('POST', '/roles', { name: name.toUpperCase() }), 409, 'role.name_taken');
      expectProblem(await admin.request('POST', '/roles', { name: '' }), 400, 'request.invalid');
      expectProblem(await admin.request('POST', '/roles', { name: uniqueName('r'), extra: true }), 400, 'request.invalid');
      expectProblem(await admin.request('POST', '/roles', 'not json', { 'content-type': 'application/json' }), 400, 'request.malformed_json');
      expectProblem(await admin.request('GET', '/roles/not-a-uuid'), 400, 'request.invalid');
      expectProblem(await admin.request('PATCH', `/roles/${randomUUID()}`, {}), 400, 'request.invalid');
    });

    it('keeps system roles: marked, not deletable (409 role.system), not renamable, permissions fixed', async function () {
      const list = await admin.request('GET', '/roles');
      const system = (list.body.roles as { name: string; system: boolean; id: string; description: string | null }[]).filter((r) => r.system);
      assert.deepEqual(system.map((r) => r.name).sort(), ['Admin', 'Auditor', 'Client', 'Supplier', 'User']);
      const auditor = system.find((r) => r.name === 'Auditor')!;
      expectProblem(await admin.request('DELETE', `/roles/${auditor.id}`), 409, 'role.system');
      expectProblem(await admin.request('PATCH', `/roles/${auditor.id}`, { name: 'Reader' }), 409, 'role.system');
      expectProblem(await admin.request('PUT', `/roles/${auditor.id}/permissions`, { permissions: [] }), 409, 'role.system');
      const described = await admin.request('PATCH', `/roles/${auditor.id}`, { description: 'Reads everything' });
      expectOk(described);
      assert.equal(described.body.description, 'Reads everything');
      expectOk(await admin.request('PATCH', `/roles/${auditor.id}`, { description: auditor.description }));
    });

    it("answers 404 for another tenant's role", async function () {
      await withOtherTenant(gh, async ({ roleId }) => {
        expectProblem(await admin.request('GET', `/roles/${roleId}`), 404, 'role.not_found');
        expectProblem(await admin.request('PATCH', `/roles/${roleId}`, { description: 'mine now' }), 404, 'role.not_found');
        expectProblem(await admin.request('DELETE', `/roles/${roleId}`), 404, 'role.not_found');
        expectProblem(await admin.request('POST', `/identities/${await newIdentity()}/roles`, { roleIds: [roleId] }), 404, 'role.not_found');
      });
    });
  });

  describe('no privilege escalation', function () {
    it("refuses a role or permission wider than the caller's own, and allows what the caller holds", async function () {
      const clerk = await createApiCaller(gh, { permissions: ['roles:create', 'roles:set-permissions', 'identity-roles:assign', 'groups:list'] });
      expectProblem(await clerk.request('POST', '/roles', { name: uniqueName('r'), permissions: [{ resource: 'gatehouse', permission: 'roles:delete' }] }), 403, 'auth.escalation');
      expectProblem(await clerk.request('POST', '/roles', { name: uniqueName('r'), permissions: [{ resource, permission: 'bookings:read' }] }), 403, 'auth.escalation');
      const narrow = await clerk.request('POST', '/roles', { name: uniqueName('viewer'), permissions: [{ resource: 'gatehouse', permission: 'groups:list' }] });
      expectOk(narrow, 201);
      expectProblem(await clerk.request('PUT', `/roles/${narrow.body.id}/permissions`, { permissions: [{ resource: 'gatehouse', permission: 'groups:delete' }] }), 403, 'auth.escalation');

      const identityId = await newIdentity();
      expectProblem(await clerk.request('POST', `/identities/${identityId}/roles`, { roleIds: [await roleIdByName('Admin')] }), 403, 'auth.escalation');
      const assigned = await clerk.request('POST', `/identities/${identityId}/roles`, { roleIds: [narrow.body.id] });
      expectOk(assigned);
      assert.deepEqual(
        (assigned.body.direct as { id: string }[]).map((r) => r.id),
        [narrow.body.id],
      );
    });

    it("refuses to give a group, its new members, or the default policy a role wider than the caller's own", async function () {
      const lead = await createApiCaller(gh, { permissions: ['groups:create', 'group-roles:assign', 'group-members:add', 'default-policy:replace'] });
      const adminRole = await roleIdByName('Admin');
      const group = await lead.request('POST', '/groups', { name: uniqueName('Ops') });
      expectOk(group, 201);
      expectProblem(await lead.request('POST', `/groups/${group.body.id}/roles`, { roleIds: [adminRole] }), 403, 'auth.escalation');
      // Only an Admin grants Admin: every admin permission is not enough (services/administration.ts).
      expectProblem(await admin.request('POST', `/groups/${group.body.id}/roles`, { roleIds: [adminRole] }), 403, 'auth.escalation');
      const realAdmin = await createApiCaller(gh, { permissions: [], roles: ['Admin'] });
      expectOk(await realAdmin.request('POST', `/groups/${group.body.id}/roles`, { roleIds: [adminRole] }));
      expectProblem(await lead.request('POST', `/groups/${group.body.id}/members`, { identityIds: [lead.identityId] }), 403, 'auth.escalation');
      expectProblem(await lead.request('PUT', '/default-policy', { roles: [...policyAtStart, { roleId: adminRole, identityKind: null }] }), 403, 'auth.escalation');
      expectOk(await admin.request('DELETE', `/groups/${group.body.id}`), 204);
    });
  });

  describe('role assignment', function () {
    it('assigns several roles at once (idempotent), shows effective roles with their source, and unassigns', async function () {
      const identityId = await newIdentity();
      const a = await admin.request('POST', '/roles', { name: uniqueName('a') });
      const b = await admin.request('POST', '/roles', { name: uniqueName('b') });
      const viaGroup = await admin.request('POST', '/roles', { name: uniqueName('g') });
      const group = await admin.request('POST', '/groups', { name: uniqueName('Kitchen'), type: 'department' });
      expectOk(await admin.request('POST', `/groups/${group.body.id}/roles`, { roleIds: [viaGroup.body.id, a.body.id] }));
      expectOk(await admin.request('POST', `/groups/${group.body.id}/members`, { identityIds: [identityId] }));

      expectOk(await admin.request('POST', `/identities/${identityId}/roles`, { roleIds: [a.body.id] }));
      const again = await admin.request('POST', `/identities/${identityId}/roles`, { roleIds: [a.body.id, b.body.id] });
      expectOk(again);
      assert.deepEqual((again.body.direct as { id: string }[]).map((r) => r.id).sort(), [a.body.id, b.body.id].sort());

      const view = await admin.request('GET', `/identities/${identityId}/roles`);
      expectOk(view);
      assert.equal(view.body.identity.id, identityId);
      const sources = Object.fromEntries((view.body.effective as { id: string; sources: unknown[] }[]).map((r) => [r.id, r.sources]));
      assert.deepEqual(sources[a.body.id], [{ type: 'direct' }, { type: 'group', groupId: group.body.id, groupName: group.body.name }]);
      assert.deepEqual(sources[b.body.id], [{ type: 'direct' }]);
      assert.deepEqual(sources[viaGroup.body.id], [{ type: 'group', groupId: group.body.id, groupName: group.body.name }]);

      expectOk(await admin.request('DELETE', `/identities/${identityId}/roles/${b.body.id}`), 204);
      expectProblem(await admin.request('DELETE', `/identities/${identityId}/roles/${b.body.id}`), 404, 'identity_role.not_assigned');
      expectProblem(await admin.request('GET', `/identities/${randomUUID()}/roles`), 404, 'identity.not_found');
      expectProblem(await admin.request('POST', `/identities/${identityId}/roles`, { roleIds: [randomUUID()] }), 404, 'role.not_found');
    });

    it("takes effect on the caller's next request, and so does taking it away", async function () {
      const reader = await createApiCaller(gh, { permissions: [] });
      expectProblem(await reader.request('GET', '/groups'), 403, 'auth.forbidden');
      const role = await admin.request('POST', '/roles', { name: uniqueName('group-reader'), permissions: [{ resource: 'gatehouse', permission: 'groups:list' }] });
      const group = await admin.request('POST', '/groups', { name: uniqueName('Readers') });
      expectOk(await admin.request('POST', `/groups/${group.body.id}/roles`, { roleIds: [role.body.id] }));
      expectOk(await admin.request('POST', `/groups/${group.body.id}/members`, { identityIds: [reader.identityId] }));
      expectOk(await reader.request('GET', '/groups'));
      expectOk(await admin.request('DELETE', `/groups/${group.body.id}/members/${reader.identityId}`), 204);
      expectProblem(await reader.request('GET', '/groups'), 403, 'auth.forbidden');
    });
  });

  describe('groups', function () {
    it('creates, lists by type, reads, updates, manages members and roles, and deletes a group', async function () {
      const name = uniqueName('Housekeeping');
      const created = await admin.request('POST', '/groups', { name, type: 'department', description: 'Rooms' });
      expectOk(created, 201);
      assert.deepEqual(
        { name: created.body.name, type: created.body.type, description: created.body.description, roles: created.body.roles, memberCount: created.body.memberCount },
        { name, type: 'department', description: 'Rooms', roles: [], memberCount: 0 },
      );
      const id: string = created.body.id;
      expectProblem(await admin.request('POST', '/groups', { name: name.toLowerCase() }), 409, 'group.name_taken');
      expectProblem(await admin.request('POST', '/groups', { name: uniqueName('x'), type: 'squad' }), 400, 'request.invalid');

      const departments = await admin.request('GET', '/groups?type=department');
      expectOk(departments);
      assert.ok((departments.body.groups as { id: string; type: string }[]).every((g) => g.type === 'department'));
      assert.ok((departments.body.groups as { id: string }[]).some((g) => g.id === id));
      const teams = await admin.request('GET', '/groups?type=team');
      assert.ok(!(teams.body.groups as { id: string }[]).some((g) => g.id === id));

      const patched = await admin.request('PATCH', `/groups/${id}`, { type: 'team' });
      expectOk(patched);
      assert.equal(patched.body.type, 'team');

      const [first, second] = [await newIdentity(), await newIdentity()];
      const added = await admin.request('POST', `/groups/${id}/members`, { identityIds: [first, second] });
      expectOk(added);
      assert.deepEqual((added.body.added as string[]).sort(), [first, second].sort());
      const addedAgain = await admin.request('POST', `/groups/${id}/members`, { identityIds: [first] });
      assert.deepEqual(addedAgain.body.added, [], 'idempotent');
      expectProblem(await admin.request('POST', `/groups/${id}/members`, { identityIds: [randomUUID()] }), 404, 'identity.not_found');

      const members = await admin.request('GET', `/groups/${id}/members`);
      expectOk(members);
      assert.deepEqual((members.body.members as { identityId: string }[]).map((m) => m.identityId).sort(), [first, second].sort());
      assert.ok((members.body.members as { username: string | null }[]).every((m) => typeof m.username === 'string'));
      const page = await admin.request('GET', `/groups/${id}/members?limit=1&offset=1`);
      assert.equal(page.body.members.length, 1);

      const role = await admin.request('POST', '/roles', { name: uniqueName('housekeeper') });
      const withRole = await admin.request('POST', `/groups/${id}/roles`, { roleIds: [role.body.id] });
      expectOk(withRole);
      assert.deepEqual(
        (withRole.body.roles as { id: string }[]).map((r) => r.id),
        [role.body.id],
      );
      assert.equal(withRole.body.memberCount, 2);
      const firstRoles = await admin.request('GET', `/identities/${first}/roles`);
      assert.ok(
        (firstRoles.body.effective as { id: string }[]).some((r) => r.id === role.body.id),
        'the group role reaches a member',
      );

      expectOk(await admin.request('DELETE', `/groups/${id}/members/${first}`), 204);
      expectProblem(await admin.request('DELETE', `/groups/${id}/members/${first}`), 404, 'group.member_not_found');
      const afterLeaving = await admin.request('GET', `/identities/${first}/roles`);
      assert.ok(!(afterLeaving.body.effective as { id: string }[]).some((r) => r.id === role.body.id), 'and stops when it leaves');

      expectOk(await admin.request('DELETE', `/groups/${id}/roles/${role.body.id}`), 204);
      expectProblem(await admin.request('DELETE', `/groups/${id}/roles/${role.body.id}`), 404, 'group_role.not_assigned');
      const read = await admin.request('GET', `/groups/${id}`);
      assert.deepEqual(read.body.roles, []);
      assert.equal(read.body.memberCount, 1);

      expectOk(await admin.request('DELETE', `/groups/${id}`), 204);
      expectProblem(await admin.request('GET', `/groups/${id}`), 404, 'group.not_found');
      expectProblem(await admin.request('GET', `/groups/${id}/members`), 404, 'group.not_found');
      const events = await gh.context.audit.list(gh.context.tenantId, { targetId: id, limit: 20 });
      assert.deepEqual([...new Set(events.map((e) => e.action))].sort(), ['group.created', 'group.deleted', 'group.member_removed', 'group.members_added', 'group.role_unassigned', 'group.roles_assigned', 'group.updated']);
    });
  });

  describe('default account policy', function () {
    afterEach(async function () {
      await gh.context.defaultPolicy.replace({ roles: policyAtStart }, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    });

    it('reads and replaces the policy, per identity kind, and refuses unknown kinds and roles', async function () {
      const kind = `k${randomUUID().slice(0, 8)}`;
      await gh.context.knex('identity_kinds').insert({ tenant_id: gh.context.tenantId, kind, label: 'Test kind' });
      const role = await admin.request('POST', '/roles', { name: uniqueName('for-kind') });
      const replaced = await admin.request('PUT', '/default-policy', { roles: [...policyAtStart, { roleId: role.body.id, identityKind: kind }] });
      expectOk(replaced);
      assert.ok((replaced.body.roles as { roleId: string; roleName: string; identityKind: string | null }[]).some((e) => e.roleId === role.body.id && e.roleName === role.body.name && e.identityKind === kind));
      const read = await admin.request('GET', '/default-policy');
      assert.deepEqual(read.body, replaced.body);

      const identityId = randomUUID();
      await gh.context.knex('identities').insert({ id: identityId, tenant_id: gh.context.tenantId, user_id: admin.userId, kind, alias: uniqueName('alias') });
      const view = await admin.request('GET', `/identities/${identityId}/roles`);
      assert.deepEqual((view.body.effective as { id: string; sources: unknown[] }[]).find((r) => r.id === role.body.id)?.sources, [{ type: 'default_policy', identityKind: kind }]);

      expectProblem(await admin.request('PUT', '/default-policy', { roles: [{ roleId: role.body.id, identityKind: 'no-such-kind' }] }), 400, 'default_policy.unknown_kind');
      expectProblem(await admin.request('PUT', '/default-policy', { roles: [{ roleId: randomUUID() }] }), 404, 'role.not_found');
      expectProblem(await admin.request('PUT', '/default-policy', { roles: [{ roleId: 'x' }] }), 400, 'request.invalid');
    });
  });

  describe('API resources', function () {
    it('registers a resource with its permission catalog, lists it, and lets roles use it', async function () {
      const identifier = `https://${uniqueName('rooms')}.example.test/api`;
      const put = await admin.request('PUT', '/api-resources', { identifier, name: 'Rooms', scopes: ['rooms:read'] });
      expectOk(put);
      assert.deepEqual({ identifier: put.body.identifier, scopes: put.body.scopes, accessTokenFormat: put.body.accessTokenFormat }, { identifier, scopes: ['rooms:read'], accessTokenFormat: 'jwt' });
      const updated = await admin.request('PUT', '/api-resources', { identifier, name: 'Rooms', scopes: ['rooms:read', 'rooms:clean'], accessTokenFormat: 'opaque' });
      expectOk(updated);
      assert.equal(updated.body.id, put.body.id);
      const list = await admin.request('GET', '/api-resources');
      expectOk(list);
      const listed = (list.body.resources as { identifier: string; scopes: string[] }[]).find((r) => r.identifier === identifier);
      assert.deepEqual(listed?.scopes, ['rooms:read', 'rooms:clean']);
      const [event] = await gh.context.audit.list(gh.context.tenantId, { action: 'api_resource.updated', targetId: identifier });
      assert.equal(event?.actorId, admin.userId);

      // Nobody holds rooms:* yet: even a full admin cannot put it into a role (no escalation).
      expectProblem(await admin.request('POST', '/roles', { name: uniqueName('cleaner'), permissions: [{ resource: identifier, permission: 'rooms:clean' }] }), 403, 'auth.escalation');
      expectProblem(await admin.request('POST', '/roles', { name: uniqueName('cleaner'), permissions: [{ resource: identifier, permission: 'rooms:fly' }] }), 400, 'role.unknown_permission');
    });

    it("refuses Gatehouse's own admin API and malformed identifiers", async function () {
      expectProblem(await admin.request('PUT', '/api-resources', { identifier: `${gh.issuer}/api`, name: 'Sneaky', scopes: ['users:delete'] }), 409, 'api_resource.reserved');
      expectProblem(await admin.request('PUT', '/api-resources', { identifier: ADMIN_API_RESOURCE, name: 'Sneaky', scopes: [] }), 409, 'api_resource.reserved');
      expectProblem(await admin.request('PUT', '/api-resources', { identifier: 'not a uri', name: 'Bad' }), 400, 'request.invalid');
    });
  });

  it('the catalog helper matches what GET /permissions reports', async function () {
    const reported = await admin.request('GET', '/permissions');
    assert.deepEqual(
      (reported.body.gatehouse as { name: string }[]).map((p) => p.name),
      adminCatalog(gh),
    );
  });
});
