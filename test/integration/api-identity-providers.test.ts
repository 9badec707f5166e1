// The admin API for upstream identity providers, over HTTP with real Gatehouse-issued tokens:
// presets, the client secret sealed at rest and never returned, default roles limited to the
// caller's own rights, and the per-application choice of providers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { decrypt } from '../../src/services/secrets.ts';
import { type ApiCaller, apiRequest, createApiCaller, expectProblem, routeTable } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';

const ROUTES = routeTable([
  'GET /identity-providers identity-providers:list',
  'GET /identity-providers/:id identity-providers:read',
  'POST /identity-providers identity-providers:create',
  'PATCH /identity-providers/:id identity-providers:update',
  'DELETE /identity-providers/:id identity-providers:delete',
  'GET /applications/:id/identity-providers application-identity-providers:read',
  'PUT /applications/:id/identity-providers application-identity-providers:set',
]);

describe(`admin API: upstream identity providers (${storageMode})`, function () {
  let gh: TestGatehouse;
  let admin: ApiCaller;
  let limited: ApiCaller;
  let adminRoleId: string;
  let userRoleId: string;

  before(async function () {
    this.timeout(180_000);
    gh = await startTestGatehouse();
    admin = await createApiCaller(gh, { permissions: 'all', roles: ['Admin'] });
    // May manage providers, but holds no other admin permission: the Admin role is beyond it.
    limited = await createApiCaller(gh, { permissions: ['identity-providers:create', 'identity-providers:update', 'identity-providers:read'] });
    const roles = await gh.context.roles.list(gh.context.tenantId);
    adminRoleId = roles.find((r) => r.name === 'Admin')!.id;
    userRoleId = roles.find((r) => r.name === 'User')!.id;
  });

  after(async function () {
    await gh?.close();
  });

  it('each route requires its own permission', async function () {
    const nobody = await createApiCaller(gh, { permissions: [] });
    for (const route of ROUTES) {
      const path = route.path.replace(/:[A-Za-z]+/g, '00000000-0000-4000-8000-000000000000');
      const response = await nobody.request(route.method, path, route.method === 'GET' || route.method === 'DELETE' ? undefined : {});
      expectProblem(response, 403, 'auth.forbidden');
      assert.match(response.body.title, new RegExp(route.permission));
    }
    expectProblem(await apiRequest(gh, undefined, 'GET', '/identity-providers'), 401, 'auth.missing_token');
  });

  it('the Google preset fills in issuer, scopes and claims; the secret is sealed at rest and never returned', async function () {
    const slug = uniqueName('google');
    const created = await admin.request('POST', '/identity-providers', { preset: 'google', slug, name: 'Google', clientId: 'google-client', clientSecret: 'google-secret-value', defaultRoleIds: [userRoleId] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.issuer, 'https://accounts.google.com');
    assert.deepEqual(created.body.scopes, ['openid', 'email', 'profile']);
    assert.equal(created.body.claimMapping.username, 'email');
    assert.equal(created.body.hasClientSecret, true);
    assert.ok(!JSON.stringify(created.body).includes('google-secret-value'));
    const row: { client_secret_encrypted: string } = await gh.context.knex('identity_providers').where({ id: created.body.id }).first('client_secret_encrypted');
    assert.ok(!row.client_secret_encrypted.includes('google-secret-value'));
    assert.equal(decrypt(gh.context.keys.encryptionKey, row.client_secret_encrypted), 'google-secret-value');
    const audit: { details: unknown }[] = await gh.context.knex('audit_events').where({ action: 'identity_provider.created', target_id: created.body.id }).select('details');
    assert.equal(audit.length, 1);
    assert.ok(!JSON.stringify(audit[0]!.details).includes('google-secret-value'));
    const listed = await admin.request('GET', '/identity-providers');
    assert.ok(listed.body.providers.some((p: { slug: string }) => p.slug === slug));
    expectProblem(await admin.request('POST', '/identity-providers', { preset: 'google', slug, name: 'Again', clientId: 'x' }), 409, 'identity_provider.slug_taken');
  });

  it('the Entra ID preset needs a directory id and builds a tenant-specific issuer', async function () {
    expectProblem(await admin.request('POST', '/identity-providers', { preset: 'entra', slug: uniqueName('entra'), name: 'Entra', clientId: 'c' }), 400, 'identity_provider.invalid');
    expectProblem(await admin.request('POST', '/identity-providers', { preset: 'entra', entraTenant: 'common', slug: uniqueName('entra'), name: 'Entra', clientId: 'c' }), 400, 'identity_provider.invalid');
    const created = await admin.request('POST', '/identity-providers', { preset: 'entra', entraTenant: '72f988bf-86f1-41af-91ab-2d7cd011db47', slug: uniqueName('entra'), name: 'Entra ID', clientId: 'c', clientSecret: 's' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.issuer, 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0');
    assert.equal(created.body.claimMapping.groups, 'groups');
  });

  it('the GitHub preset is an OAuth 2.0 provider read through the GitHub API', async function () {
    const created = await admin.request('POST', '/identity-providers', { preset: 'github', slug: uniqueName('github'), name: 'GitHub', clientId: 'gh', clientSecret: 's' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.protocol, 'github');
    assert.deepEqual(created.body.scopes, ['read:user', 'user:email']);
    assert.equal(created.body.claimMapping.username, 'login');
  });

  it('a custom provider needs an issuer and the openid scope; an unknown identity kind is refused', async function () {
    expectProblem(await admin.request('POST', '/identity-providers', { slug: uniqueName('c'), name: 'C', clientId: 'c' }), 400, 'identity_provider.invalid');
    expectProblem(await admin.request('POST', '/identity-providers', { slug: uniqueName('c'), name: 'C', clientId: 'c', issuer: 'https://idp.example.test', scopes: ['email'] }), 400, 'identity_provider.invalid');
    expectProblem(await admin.request('POST', '/identity-providers', { slug: uniqueName('c'), name: 'C', clientId: 'c', issuer: 'https://idp.example.test', identityKind: 'martian' }), 400, 'identity.unknown_kind');
    expectProblem(await admin.request('POST', '/identity-providers', { slug: 'Not A Slug', name: 'C', clientId: 'c', issuer: 'https://idp.example.test' }), 400, 'request.invalid');
  });

  it('only a caller holding every permission of a default role may set it: the Admin role needs an Admin', async function () {
    const slug = uniqueName('escalate');
    expectProblem(await limited.request('POST', '/identity-providers', { slug, name: 'E', clientId: 'c', issuer: 'https://idp.example.test', defaultRoleIds: [adminRoleId] }), 403, 'auth.escalation');
    assert.equal(await gh.context.knex('identity_providers').where({ slug }).first('id'), undefined, 'nothing written');
    const created = await limited.request('POST', '/identity-providers', { slug, name: 'E', clientId: 'c', issuer: 'https://idp.example.test' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    expectProblem(await limited.request('PATCH', `/identity-providers/${created.body.id}`, { defaultRoleIds: [adminRoleId] }), 403, 'auth.escalation');
    const byAdmin = await admin.request('PATCH', `/identity-providers/${created.body.id}`, { defaultRoleIds: [adminRoleId] });
    assert.equal(byAdmin.status, 200, JSON.stringify(byAdmin.body));
    assert.deepEqual(byAdmin.body.defaultRoleIds, [adminRoleId]);
    // A role already among the defaults is no new grant: other changes stay possible.
    const renamed = await limited.request('PATCH', `/identity-providers/${created.body.id}`, { name: 'Renamed', enabled: false });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.enabled, false);
  });

  it('a managed group is a grant of its roles: only a caller holding them may put it on the list; an unknown group is refused', async function () {
    const by = { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' as const };
    const admins = await gh.context.groups.create({ name: uniqueName('Admins'), type: 'team' }, by);
    await gh.context.groups.assignRoles(admins.id, [adminRoleId], by);
    const plain = await gh.context.groups.create({ name: uniqueName('Plain'), type: 'team' }, by);
    const slug = uniqueName('managed');
    expectProblem(await limited.request('POST', '/identity-providers', { slug, name: 'M', clientId: 'c', issuer: 'https://idp.example.test', managedGroupIds: [admins.id] }), 403, 'auth.escalation');
    assert.equal(await gh.context.knex('identity_providers').where({ slug }).first('id'), undefined, 'nothing written');
    const created = await limited.request('POST', '/identity-providers', { slug, name: 'M', clientId: 'c', issuer: 'https://idp.example.test', claimMapping: { groups: 'groups' }, managedGroupIds: [plain.id] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.managedGroupIds, [plain.id]);
    expectProblem(await limited.request('PATCH', `/identity-providers/${created.body.id}`, { managedGroupIds: [plain.id, admins.id] }), 403, 'auth.escalation');
    expectProblem(await admin.request('PATCH', `/identity-providers/${created.body.id}`, { managedGroupIds: [randomUUID()] }), 404, 'group.not_found');
    const byAdmin = await admin.request('PATCH', `/identity-providers/${created.body.id}`, { managedGroupIds: [plain.id, admins.id] });
    assert.equal(byAdmin.status, 200, JSON.stringify(byAdmin.body));
    assert.deepEqual([...byAdmin.body.managedGroupIds].sort(), [plain.id, admins.id].sort());
    const audited = await gh.context.audit.list(gh.context.tenantId, { action: 'identity_provider.updated' });
    assert.ok(audited.some((e) => e.targetId === created.body.id && ((e.details as { after?: { managedGroupIds?: string[] } }).after?.managedGroupIds ?? []).includes(admins.id)));
  });

  it("sets the providers on an application's sign-in page, in order; unknown ids change nothing", async function () {
    const { application } = await gh.context.applications.create({ name: uniqueName('app'), type: 'web', redirectUris: ['http://127.0.0.1:9/cb'] }, SYSTEM_ACTOR);
    const a = (await admin.request('POST', '/identity-providers', { slug: uniqueName('a'), name: 'A', clientId: 'c', issuer: 'https://a.example.test' })).body.id as string;
    const b = (await admin.request('POST', '/identity-providers', { slug: uniqueName('b'), name: 'B', clientId: 'c', issuer: 'https://b.example.test' })).body.id as string;
    const set = await admin.request('PUT', `/applications/${application.id}/identity-providers`, { providerIds: [b, a] });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(
      set.body.providers.map((p: { id: string }) => p.id),
      [b, a],
    );
    expectProblem(await admin.request('PUT', `/applications/${application.id}/identity-providers`, { providerIds: [a, '00000000-0000-4000-8000-000000000000'] }), 404, 'identity_provider.not_found');
    const read = await admin.request('GET', `/applications/${application.id}/identity-providers`);
    assert.deepEqual(
      read.body.providers.map((p: { id: string }) => p.id),
      [b, a],
    );
    expectProblem(await admin.request('PUT', '/applications/no-such-app/identity-providers', { providerIds: [] }), 404, 'application.not_found');
    assert.equal((await admin.request('DELETE', `/identity-providers/${b}`)).status, 204);
    const after = await admin.request('GET', `/applications/${application.id}/identity-providers`);
    assert.deepEqual(
      after.body.providers.map((p: { id: string }) => p.id),
      [a],
    );
  });
});
