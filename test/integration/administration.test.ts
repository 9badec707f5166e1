// The administration model (services/administration.ts), over HTTP with real Gatehouse-issued
// tokens: Admin administers the whole tenant without holding what it grants; everyone else is
// bounded by one guard that asks "may the caller manage this subject?" and "may the caller grant
// this?" on the effective result of every administrative write; the tenant keeps an active
// Admin; the admin API audience is closed by default. The database may be shared with other test
// files: names are unique, and tenant-wide settings (default policy, Admin holders) are put back.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { ADMIN_API_RESOURCE } from '../../src/services/authorization.ts';
import { allRoutes } from '../../src/routes/api/index.ts';
import { adminCatalog, apiRequest, createApiCaller, type ApiCaller, type ApiResponse } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';
import { runGatehouse } from '../helpers/process.ts';

const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const TEST_SECRET = 'test-secret-0123456789-0123456789-0123456789';

function expectStatus(response: ApiResponse, status: number, code?: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  if (code) assert.equal(response.body.code, code, JSON.stringify(response.body));
}

function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A fingerprint of every directory and application table: equal before and after means nothing was written. */
async function fingerprint(gh: TestGatehouse): Promise<string> {
  const tables = [
    'users',
    'identities',
    'identity_roles',
    'roles',
    'role_permissions',
    'role_assignable_roles',
    'groups',
    'group_members',
    'group_roles',
    'default_policy_roles',
    'identity_data_scopes',
    'data_scope_keys',
    'identity_kinds',
    'service_accounts',
    'access_keys',
    'applications',
    'application_access_rules',
    'password_reset_tokens',
    'tenant_settings',
  ];
  const parts: string[] = [];
  for (const table of tables) {
    // last_used_at is a usage hint written off the request path when a caller's key is used (a
    // token fetched just before `before` may land its write just after), not an administrative write.
    const row = `(to_jsonb(t) - 'last_used_at')::text`;
    const result = await gh.context.knex.raw(`select md5(coalesce(string_agg(${row}, '|' order by ${row}), '')) as h from ${table} t`);
    parts.push(`${table}:${(result.rows[0] as { h: string }).h}`);
  }
  return parts.join(',');
}

describe(`administration model (${storageMode})`, function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let smtp: TestSmtpServer;
  let adminRoleId: string;
  let userRoleId: string;
  let clientRoleId: string;

  const knex = () => gh.context.knex;
  const tenantId = () => gh.context.tenantId;

  async function roleWith(permissions: { resource: string; permission: string }[], name = uniqueName('role')): Promise<string> {
    const id = randomUUID();
    await knex()('roles').insert({ id, tenant_id: tenantId(), name });
    if (permissions.length) await knex()('role_permissions').insert(permissions.map((p) => ({ tenant_id: tenantId(), role_id: id, ...p })));
    return id;
  }

  async function newUser(options: { roles?: string[]; dataScope?: Record<string, string[]>; email?: string; password?: string; kind?: string } = {}): Promise<{ id: string; username: string; identityId: string }> {
    const username = uniqueName('subject');
    const user = await gh.context.users.create({ username, email: options.email, password: options.password, identityKind: options.kind }, SYSTEM_ACTOR);
    const identity: { id: string } = await knex()('identities').where({ user_id: user.id }).first('id');
    for (const roleId of options.roles ?? []) await knex()('identity_roles').insert({ tenant_id: tenantId(), identity_id: identity.id, role_id: roleId });
    for (const [key, values] of Object.entries(options.dataScope ?? {})) {
      await knex()('data_scope_keys').insert({ tenant_id: tenantId(), key }).onConflict(['tenant_id', 'key']).ignore();
      await knex()('identity_data_scopes').insert({ tenant_id: tenantId(), identity_id: identity.id, key, values: JSON.stringify(values) });
    }
    await gh.context.authorization.invalidateAll();
    return { id: user.id, username, identityId: identity.id };
  }

  async function newServiceAccount(roleIds: string[]): Promise<{ id: string; identityId: string; secret: string }> {
    const account = await gh.context.serviceAccounts.create({ name: uniqueName('svc') }, SYSTEM_ACTOR);
    const { secret } = await gh.context.serviceAccounts.createKey(account.id, {}, SYSTEM_ACTOR);
    for (const roleId of roleIds) await knex()('identity_roles').insert({ tenant_id: tenantId(), identity_id: account.identityId, role_id: roleId });
    await gh.context.authorization.invalidateAll();
    return { id: account.id, identityId: account.identityId!, secret };
  }

  async function clientCredentials(clientId: string, secret: string, resource: string, scope?: string): Promise<{ status: number; body: Record<string, string> }> {
    const response = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource, ...(scope ? { scope } : {}) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  }

  /** An admin-API caller that is a service account holding these roles (client credentials). */
  async function serviceCaller(roleIds: string[]): Promise<ApiCaller & { accountId: string }> {
    const account = await newServiceAccount(roleIds);
    const { body } = await clientCredentials(account.id, account.secret, `${gh.issuer}/api`, 'admin');
    assert.ok(body.access_token, JSON.stringify(body));
    const token = body.access_token;
    return { accountId: account.id, token, userId: account.id, identityId: account.identityId, username: account.id, request: (m, p, b, h) => apiRequest(gh, token, m, p, b, h) };
  }

  const gatehouse = (permission: string) => ({ resource: ADMIN_API_RESOURCE, permission });

  before(async function () {
    // Opening the embedded database and migrating it takes a while on a busy machine.
    this.timeout(300_000);
    smtp = await startSmtpServer();
    gh = await startTestGatehouse({ SMTP_URL: smtp.url, GATEHOUSE_ARGON2_MEMORY_KIB: '1024', GATEHOUSE_ARGON2_TIME_COST: '1' });
    const id = async (name: string) => ((await knex()('roles').where({ tenant_id: tenantId(), name, system: true }).first('id')) as { id: string }).id;
    adminRoleId = await id('Admin');
    userRoleId = await id('User');
    clientRoleId = await id('Client');
  });

  after(async () => {
    await gh?.close();
    await smtp?.close();
  });

  describe('Admin administers the whole tenant without holding what it grants', () => {
    it('a service account with Admin bootstraps a fresh tenant by API: data-scope key, API resource, role with its permission, user, roles, data scope, clone', async () => {
      const admin = await serviceCaller([adminRoleId]);
      const key = `k${randomUUID().slice(0, 8)}`;
      expectStatus(await admin.request('POST', '/data-scope-keys', { key }), 201);
      const resource = `https://${uniqueName('bookings')}.example/api`;
      const registered = await admin.request('PUT', '/api-resources', { identifier: resource, name: 'Bookings', scopes: ['bookings:read', 'bookings:create'] });
      assert.ok(registered.status < 300, JSON.stringify(registered.body));
      const role = await admin.request('POST', '/roles', { name: uniqueName('booker'), permissions: [{ resource, permission: 'bookings:create' }] });
      expectStatus(role, 201);
      const user = await admin.request('POST', '/users', { username: uniqueName('new'), email: `${randomUUID()}@example.com` });
      expectStatus(user, 201);
      const identityId = user.body.identities[0].id as string;
      expectStatus(await admin.request('POST', `/identities/${identityId}/roles`, { roleIds: [role.body.id, userRoleId] }), 200);
      expectStatus(await admin.request('PUT', `/identities/${identityId}/data-scopes`, { [key]: ['ROOM'] }), 200);
      const clone = await admin.request('POST', `/users/${user.body.id}/clone`, { username: uniqueName('clone'), email: `${randomUUID()}@example.com` });
      expectStatus(clone, 201);
      const cloneRoles = await admin.request('GET', `/identities/${clone.body.identities[0].id}/roles`);
      assert.deepEqual(cloneRoles.body.direct.map((r: { id: string }) => r.id).sort(), [role.body.id, userRoleId].sort());
    });

    it("an Admin's business tokens carry only what it was given", async () => {
      const resource = `https://${uniqueName('business')}.example/api`;
      await gh.context.apiResources.upsertReportingChange({ identifier: resource, name: 'Business', scopes: ['orders:read', 'orders:approve'] }, SYSTEM_ACTOR);
      const account = await newServiceAccount([adminRoleId]);
      const { body } = await clientCredentials(account.id, account.secret, `${gh.issuer}/api`, 'admin');
      const admin = { request: (m: string, p: string, b?: unknown) => apiRequest(gh, body.access_token, m, p, b) };
      // Administering: it defines a role carrying a business permission it does not hold itself…
      const approver = await admin.request('POST', '/roles', { name: uniqueName('approver'), permissions: [{ resource, permission: 'orders:approve' }] });
      expectStatus(approver, 201);
      // …and its own token for that API carries none of it (least privilege).
      const business = await clientCredentials(account.id, account.secret, resource);
      assert.equal(business.status, 200, JSON.stringify(business.body));
      const claims = jwtPayload(business.body.access_token!);
      assert.deepEqual(claims.permissions ?? [], []);
      assert.ok((claims.roles as string[]).includes('Admin'));
    });

    it('only an Admin grants Admin; an Admin does', async () => {
      const everything = await serviceCaller([await roleWith(adminCatalog(gh).map(gatehouse))]);
      const subject = await newUser();
      expectStatus(await everything.request('POST', `/identities/${subject.identityId}/roles`, { roleIds: [adminRoleId] }), 403, 'auth.escalation');
      const admin = await serviceCaller([adminRoleId]);
      expectStatus(await admin.request('POST', `/identities/${subject.identityId}/roles`, { roleIds: [adminRoleId] }), 200);
      // A role that holds every permission Admin has still does not manage an Admin.
      expectStatus(await everything.request('PATCH', `/users/${subject.id}`, { name: 'Renamed' }), 403, 'auth.escalation');
      // Nor does it hand out Admin through a group in an import.
      const system = { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' as const };
      const admins = await gh.context.groups.create({ name: uniqueName('admins') }, system);
      await gh.context.groups.assignRoles(admins.id, [adminRoleId], system);
      try {
        const imported = await everything.request('POST', '/users/import', `username,groups\n${uniqueName('imp')},${admins.name}\n`, { 'content-type': 'text/csv' });
        expectStatus(imported, 422);
        assert.match(JSON.stringify(imported.body.problems), /only an Admin grants/);
      } finally {
        await gh.context.groups.remove(admins.id, system);
      }
    });
  });

  describe('the six escalations of narrow permissions', () => {
    it('1: access-keys:create alone cannot mint a key for a service account that holds Admin', async () => {
      const target = await newServiceAccount([adminRoleId]);
      const caller = await serviceCaller([await roleWith([gatehouse('access-keys:create')])]);
      const before = await fingerprint(gh);
      const response = await caller.request('POST', `/service-accounts/${target.id}/keys`, {});
      expectStatus(response, 403, 'auth.escalation');
      assert.match(response.body.detail ?? response.body.title ?? JSON.stringify(response.body), /Admin/);
      assert.equal(await fingerprint(gh), before);
    });

    it('2: users:update cannot change the email of a user who holds Admin', async () => {
      const target = await newUser({ roles: [adminRoleId], email: `${randomUUID()}@example.com` });
      const caller = await serviceCaller([await roleWith([gatehouse('users:update')])]);
      const before = await fingerprint(gh);
      expectStatus(await caller.request('PATCH', `/users/${target.id}`, { email: 'attacker@example.com' }), 403, 'auth.escalation');
      assert.equal(await fingerprint(gh), before);
    });

    it('3: users:deactivate cannot deactivate an administrator', async () => {
      const target = await newUser({ roles: [adminRoleId] });
      const caller = await serviceCaller([await roleWith([gatehouse('users:deactivate')])]);
      expectStatus(await caller.request('POST', `/users/${target.id}/deactivate`, {}), 403, 'auth.escalation');
      assert.equal(((await knex()('users').where({ id: target.id }).first('status')) as { status: string }).status, 'active');
    });

    describe('4: default-policy roles reached through an identity kind are a grant', () => {
      const kind = `k${randomUUID().slice(0, 8)}`;
      let savedPolicy: { roleId: string; identityKind: string | null }[];
      let caller: ApiCaller;
      before(async () => {
        await knex()('identity_kinds').insert({ tenant_id: tenantId(), kind, label: 'Test kind' });
        savedPolicy = (await gh.context.defaultPolicy.get(tenantId())).map((e) => ({ roleId: e.roleId, identityKind: e.identityKind }));
        const powerful = await roleWith([gatehouse('audit-events:list')]);
        await gh.context.defaultPolicy.replace({ roles: [...savedPolicy, { roleId: powerful, identityKind: kind }] }, { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' });
        caller = await serviceCaller([await roleWith(['identities:upsert', 'identities:update', 'users:create', 'users:import', 'users:clone'].map(gatehouse))]);
      });
      after(async () => {
        await gh.context.defaultPolicy.replace({ roles: savedPolicy }, { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' });
      });

      it('identities:upsert creating an identity of that kind is refused', async () => {
        const before = await fingerprint(gh);
        expectStatus(await caller.request('POST', '/identities', { username: uniqueName('u'), kind, alias: 'x' }), 403, 'auth.escalation');
        const existing = await newUser();
        const before2 = await fingerprint(gh);
        expectStatus(await caller.request('POST', '/identities', { username: existing.username, kind, alias: 'second' }), 403, 'auth.escalation');
        assert.equal(await fingerprint(gh), before2);
        assert.notEqual(before, before2);
      });

      it('re-kinding an identity to that kind is refused', async () => {
        const subject = await newUser();
        const before = await fingerprint(gh);
        expectStatus(await caller.request('PATCH', `/identities/${subject.identityId}`, { kind }), 403, 'auth.escalation');
        assert.equal(await fingerprint(gh), before);
      });

      it('users:create with that kind and a known password is refused', async () => {
        const before = await fingerprint(gh);
        expectStatus(await caller.request('POST', '/users', { username: uniqueName('u'), password: `pw-${randomUUID()}`, identity: { kind } }), 403, 'auth.escalation');
        assert.equal(await fingerprint(gh), before);
      });

      it('users:import refuses a row with that identity_kind', async () => {
        const before = await fingerprint(gh);
        const response = await caller.request('POST', '/users/import', `username,identity_kind\n${uniqueName('imp')},${kind}\n`, { 'content-type': 'text/csv' });
        expectStatus(response, 422);
        assert.ok(
          response.body.problems.some((p: { column: string }) => p.column === 'identity_kind'),
          JSON.stringify(response.body),
        );
        assert.equal(await fingerprint(gh), before);
      });

      it('cloning a user of that kind is refused', async () => {
        const source = await newUser({ kind });
        const before = await fingerprint(gh);
        expectStatus(await caller.request('POST', `/users/${source.id}/clone`, { username: uniqueName('c'), email: `${randomUUID()}@example.com` }), 403, 'auth.escalation');
        assert.equal(await fingerprint(gh), before);
      });
    });

    it('5: data scope bounds administration: client=ROOM cannot rename a client=Pharma user or remove its scope', async () => {
      const key = 'client';
      const target = await newUser({ dataScope: { [key]: ['Pharma'] } });
      const caller = await createApiCaller(gh, { permissions: ['users:update', 'data-scopes:remove', 'data-scopes:set'], dataScope: { [key]: ['ROOM'] } });
      const before = await fingerprint(gh);
      expectStatus(await caller.request('PATCH', `/users/${target.id}`, { name: 'Renamed' }), 403, 'auth.escalation');
      expectStatus(await caller.request('DELETE', `/identities/${target.identityId}/data-scopes/${key}`), 403, 'auth.escalation');
      expectStatus(await caller.request('PUT', `/identities/${target.identityId}/data-scopes/${key}`, { values: ['ROOM'] }), 403, 'auth.escalation');
      assert.equal(await fingerprint(gh), before);
      // Within its scope it does administer.
      const own = await newUser({ dataScope: { [key]: ['ROOM'] } });
      expectStatus(await caller.request('PATCH', `/users/${own.id}`, { name: 'Renamed' }), 200);
    });

    describe('6: the admin API audience is closed by default', () => {
      const redirectUri = 'http://127.0.0.1:9/cb';
      async function authorizeFor(clientId: string): Promise<URL> {
        const url = new URL(`${gh.issuer}/auth`);
        url.search = new URLSearchParams({
          client_id: clientId,
          response_type: 'code',
          redirect_uri: redirectUri,
          scope: 'openid admin',
          resource: `${gh.issuer}/api`,
          state: 's',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        }).toString();
        const response = await fetch(url, { redirect: 'manual' });
        return new URL(response.headers.get('location') ?? '', gh.issuer);
      }

      it('a first-party web app gets invalid_target until an Admin marks it an admin-API client', async () => {
        const { application } = await gh.context.applications.create({ name: uniqueName('web'), type: 'web', redirectUris: [redirectUri] }, SYSTEM_ACTOR);
        assert.equal((await authorizeFor(application.id)).searchParams.get('error'), 'invalid_target');
        const admin = await serviceCaller([adminRoleId]);
        const marked = await admin.request('PATCH', `/applications/${application.id}`, { adminApiClient: true });
        expectStatus(marked, 200);
        assert.equal(marked.body.adminApiClient, true);
        assert.equal((await authorizeFor(application.id)).searchParams.get('error'), null);
      });

      it('a plain service client gets invalid_target; a service account gets its token', async () => {
        const { application, clientSecret } = await gh.context.applications.create({ name: uniqueName('svc-app'), type: 'service' }, SYSTEM_ACTOR);
        const refused = await clientCredentials(application.id, clientSecret!, `${gh.issuer}/api`, 'admin');
        assert.equal(refused.body.error, 'invalid_target', JSON.stringify(refused.body));
        const account = await newServiceAccount([]);
        assert.equal((await clientCredentials(account.id, account.secret, `${gh.issuer}/api`, 'admin')).status, 200);
      });

      it('applications:update cannot mark an app, nor add a redirect URI to an admin-API client', async () => {
        const { application } = await gh.context.applications.create({ name: uniqueName('console'), type: 'spa', redirectUris: [redirectUri], adminApiClient: true }, SYSTEM_ACTOR);
        const { application: plain } = await gh.context.applications.create({ name: uniqueName('plain'), type: 'spa', redirectUris: [redirectUri] }, SYSTEM_ACTOR);
        const caller = await serviceCaller([await roleWith(['applications:update', 'applications:create'].map(gatehouse))]);
        const before = await fingerprint(gh);
        expectStatus(await caller.request('PATCH', `/applications/${application.id}`, { redirectUris: [redirectUri, 'https://evil.example/cb'] }), 403, 'auth.escalation');
        expectStatus(await caller.request('PATCH', `/applications/${plain.id}`, { adminApiClient: true }), 403, 'auth.escalation');
        expectStatus(await caller.request('POST', '/applications', { name: uniqueName('x'), type: 'spa', redirectUris: [redirectUri], adminApiClient: true }), 403, 'auth.escalation');
        assert.equal(await fingerprint(gh), before);
      });
    });
  });

  describe('delegated administration: roles that may assign roles', () => {
    it('a partner administrator assigns User and Client without holding their permissions, and nothing outside its list', async () => {
      const admin = await serviceCaller([adminRoleId]);
      const partnerRole = await admin.request('POST', '/roles', { name: uniqueName('partner-admin'), permissions: ['users:create', 'users:update', 'identity-roles:assign'].map((permission) => ({ resource: 'gatehouse', permission })) });
      expectStatus(partnerRole, 201);
      // User carries business permissions in a real tenant: give it one here the partner does not hold.
      const resource = `https://${uniqueName('partner')}.example/api`;
      await gh.context.apiResources.upsertReportingChange({ identifier: resource, name: 'Bookings', scopes: ['bookings:create'] }, SYSTEM_ACTOR);
      const userLike = await admin.request('POST', '/roles', { name: uniqueName('user-like'), permissions: [{ resource, permission: 'bookings:create' }] });
      const other = await admin.request('POST', '/roles', { name: uniqueName('other'), permissions: [{ resource, permission: 'bookings:create' }] });
      const listed = await admin.request('PUT', `/roles/${partnerRole.body.id}/assignable-roles`, { roleIds: [userLike.body.id, userRoleId, clientRoleId] });
      expectStatus(listed, 200);
      assert.equal(listed.body.roles.length, 3);
      expectStatus(await admin.request('PUT', `/roles/${partnerRole.body.id}/assignable-roles`, { roleIds: [adminRoleId] }), 400, 'role.invalid');
      const audit = await knex()('audit_events').where({ action: 'role.assignable_roles_set', target_id: partnerRole.body.id }).count({ n: '*' }).first();
      assert.ok(Number((audit as { n: string }).n) >= 1);

      const partner = await serviceCaller([partnerRole.body.id]);
      const subject = await partner.request('POST', '/users', { username: uniqueName('wg') });
      expectStatus(subject, 201);
      const identityId = subject.body.identities[0].id;
      expectStatus(await partner.request('POST', `/identities/${identityId}/roles`, { roleIds: [userLike.body.id, userRoleId, clientRoleId] }), 200);
      expectStatus(await partner.request('POST', `/identities/${identityId}/roles`, { roleIds: [other.body.id] }), 403, 'auth.escalation');
      // It still administers the user it gave those roles to.
      expectStatus(await partner.request('PATCH', `/users/${subject.body.id}`, { name: 'White Glove' }), 200);
      // Its own token for the business API carries nothing of what it hands out.
      const token = await clientCredentials(partner.accountId, (await gh.context.serviceAccounts.createKey(partner.accountId, {}, SYSTEM_ACTOR)).secret, resource);
      assert.deepEqual(jwtPayload(token.body.access_token!).permissions ?? [], []);
    });
  });

  describe('the tenant keeps an active Admin', () => {
    let removed: Record<string, unknown>[] = [];
    before(async () => {
      // Start from a tenant whose only Admin is the one made below; put the others back after.
      removed = await knex()('identity_roles').where({ role_id: adminRoleId }).select('*');
      await knex()('identity_roles').where({ role_id: adminRoleId }).delete();
      await gh.context.authorization.invalidateAll();
    });
    after(async () => {
      if (removed.length) await knex()('identity_roles').insert(removed).onConflict(['identity_id', 'role_id']).ignore();
      await gh.context.authorization.invalidateAll();
    });

    it('the last active Admin cannot be deactivated, deleted, nor lose the role (409); with a second one it can', async () => {
      const last = await newUser({ roles: [adminRoleId] });
      // The operator's own paths (CLI) are held to the rule too.
      const by = { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' as const };
      await assert.rejects(gh.context.directoryUsers.deactivate(last.id, undefined, by), (e: { code?: string; status?: number }) => e.code === 'admin.last_admin' && e.status === 409);
      await assert.rejects(gh.context.directoryUsers.remove(last.id, by), (e: { code?: string }) => e.code === 'admin.last_admin');
      await assert.rejects(gh.context.roles.unassignFromIdentity(last.identityId, adminRoleId, by), (e: { code?: string }) => e.code === 'admin.last_admin');
      // Over the API as well: an Admin cannot remove the last other Admin once it drops its own role.
      const second = await newUser({ roles: [adminRoleId] });
      const caller = await createApiCaller(gh, { permissions: [], roles: ['Admin'] });
      expectStatus(await caller.request('POST', `/users/${second.id}/deactivate`, {}), 200);
      await knex()('identity_roles').where({ identity_id: last.identityId, role_id: adminRoleId }).delete();
      await gh.context.authorization.invalidateAll();
      // Now the caller is the last active Admin.
      const before = await fingerprint(gh);
      expectStatus(await caller.request('DELETE', `/identities/${caller.identityId}/roles/${adminRoleId}`), 409, 'admin.last_admin');
      assert.equal(await fingerprint(gh), before);
      await knex()('identity_roles').where({ identity_id: caller.identityId, role_id: adminRoleId }).delete();
    });
  });

  describe('email and username changes are told and void reset links', () => {
    it('changing the email notifies the old and the new address and revokes outstanding reset links', async () => {
      const oldEmail = `${randomUUID()}@example.com`;
      const newEmail = `${randomUUID()}@example.com`;
      const subject = await newUser({ email: oldEmail, password: `pw-${randomUUID()}` });
      const token = await gh.context.passwordReset.issueToken(tenantId(), subject.id, 3600);
      assert.ok(await gh.context.passwordReset.inspect(tenantId(), token));
      const admin = await serviceCaller([adminRoleId]);
      expectStatus(await admin.request('PATCH', `/users/${subject.id}`, { email: newEmail }), 200);
      assert.equal(await gh.context.passwordReset.inspect(tenantId(), token), undefined);
      const [toOld] = await smtp.waitFor(oldEmail, 1);
      const [toNew] = await smtp.waitFor(newEmail, 1);
      assert.match(toOld!.text, new RegExp(newEmail.replace(/[.]/g, '\\.')));
      assert.match(toNew!.text, /email address changed/);
      const newUsername = uniqueName('renamed');
      expectStatus(await admin.request('PATCH', `/users/${subject.id}`, { username: newUsername }), 200);
      const mails = await smtp.waitFor(newEmail, 2);
      assert.match(mails[1]!.text, new RegExp(newUsername));
    });
  });

  describe('every write route of the admin API (from the served route table)', () => {
    // The permission the "one short" callers lack, carried by every subject below.
    const EXTRA = 'audit-events:list';
    const writeRoutes = () => allRoutes({ ...gh.context, issuer: gh.issuer }).filter((r) => r.method !== 'get');

    it("a caller without the route's one permission is refused and nothing is written", async () => {
      const catalog = adminCatalog(gh);
      for (const route of writeRoutes()) {
        if (route.permission === null) continue;
        const caller = await serviceCaller([await roleWith(catalog.filter((p) => p !== route.permission).map(gatehouse))]);
        const before = await fingerprint(gh);
        const url = route.path.replace(/:([A-Za-z]+)/g, () => randomUUID());
        const response = await caller.request(route.method, url, route.bodyType === 'text/csv' ? 'username\nx\n' : {}, route.bodyType === 'text/csv' ? { 'content-type': 'text/csv' } : {});
        assert.equal(response.status, 403, `${route.method} ${route.path}: ${JSON.stringify(response.body)}`);
        // SCIM answers in its own error schema (RFC 7644 §3.12), with the message as detail.
        if (route.path.startsWith('/scim/')) assert.match(String(response.body.detail), /requires the permission/, `${route.method} ${route.path}`);
        else assert.equal(response.body.code, 'auth.forbidden', `${route.method} ${route.path}`);
        assert.equal(await fingerprint(gh), before, `${route.method} ${route.path} wrote something`);
      }
    });

    it('a caller one permission or one data-scope value short of the subject or the grant is refused and nothing is written', async () => {
      const catalog = adminCatalog(gh);
      const key = `s${randomUUID().slice(0, 8)}`;
      const extraRole = await roleWith([gatehouse(EXTRA)]);
      const subject = await newUser({ roles: [extraRole], email: `${randomUUID()}@example.com` });
      const second = (await gh.context.identities.upsert({ username: subject.username, kind: 'internal', alias: 'second' }, { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' })).identity.id;
      const scoped = await newUser({ dataScope: { [key]: ['A', 'B'] } });
      const plain = await newUser();
      const svc = await newServiceAccount([extraRole]);
      const svcKey = (await gh.context.serviceAccounts.createKey(svc.id, {}, SYSTEM_ACTOR)).key.id;
      const group = await gh.context.groups.create({ name: uniqueName('g') }, { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' });
      await gh.context.groups.assignRoles(group.id, [extraRole], { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' });
      const plainGroup = await gh.context.groups.create({ name: uniqueName('g') }, { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' });
      await gh.context.groups.addMembers(plainGroup.id, [subject.identityId], { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' });
      const heldRole = await roleWith([]);
      const provider = await gh.context.identityProviders.create({ preset: 'google', slug: `p${randomUUID().slice(0, 8)}`, name: 'Upstream', clientId: 'client' }, { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' });
      const redirectUri = 'http://127.0.0.1:9/cb';
      const adminApp = (await gh.context.applications.create({ name: uniqueName('adm'), type: 'web', redirectUris: [redirectUri], adminApiClient: true }, SYSTEM_ACTOR)).application.id;
      const plainApp = (await gh.context.applications.create({ name: uniqueName('app'), type: 'web', redirectUris: [redirectUri] }, SYSTEM_ACTOR)).application.id;
      const kind = `k${randomUUID().slice(0, 8)}`;
      await knex()('identity_kinds').insert({ tenant_id: tenantId(), kind, label: 'Test kind' });
      const savedPolicy = (await gh.context.defaultPolicy.get(tenantId())).map((e) => ({ roleId: e.roleId, identityKind: e.identityKind }));
      await gh.context.defaultPolicy.replace({ roles: [...savedPolicy, { roleId: extraRole, identityKind: kind }] }, { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' });
      const sessionUid = randomUUID().replace(/-/g, '');
      await gh.context.sessions.recordSignIn({ tenantId: tenantId(), uid: sessionUid, userId: subject.id, device: { deviceType: 'desktop', browser: null, os: null, userAgent: null }, ip: null });

      // Every permission but EXTRA, and one of the two values of the scoped user's key.
      const caller = await createApiCaller(gh, { permissions: catalog.filter((p) => p !== EXTRA), dataScope: { [key]: ['A'] } });
      await knex()('identity_roles').insert({ tenant_id: tenantId(), identity_id: caller.identityId, role_id: heldRole });
      await gh.context.authorization.invalidateAll();

      type Case = { path: string; body?: unknown; csv?: boolean; status?: number; scim?: boolean } | 'no subject or grant';
      const cases: Record<string, Case> = {
        'POST /roles': { path: '/roles', body: { name: uniqueName('r'), permissions: [{ resource: 'gatehouse', permission: EXTRA }] } },
        'PATCH /roles/:id': 'no subject or grant',
        'PUT /roles/:id/permissions': { path: `/roles/${heldRole}/permissions`, body: { permissions: [{ resource: 'gatehouse', permission: EXTRA }] } },
        'PUT /roles/:id/assignable-roles': { path: `/roles/${heldRole}/assignable-roles`, body: { roleIds: [extraRole] } },
        'DELETE /roles/:id': 'no subject or grant',
        'POST /identities/:id/roles': { path: `/identities/${plain.identityId}/roles`, body: { roleIds: [extraRole] } },
        'DELETE /identities/:id/roles/:roleId': { path: `/identities/${subject.identityId}/roles/${extraRole}` },
        'POST /groups': 'no subject or grant',
        'PATCH /groups/:id': 'no subject or grant',
        'DELETE /groups/:id': 'no subject or grant',
        'POST /groups/:id/members': { path: `/groups/${group.id}/members`, body: { identityIds: [plain.identityId] } },
        'DELETE /groups/:id/members/:identityId': { path: `/groups/${plainGroup.id}/members/${subject.identityId}` },
        'POST /groups/:id/roles': { path: `/groups/${plainGroup.id}/roles`, body: { roleIds: [extraRole] } },
        'DELETE /groups/:id/roles/:roleId': 'no subject or grant',
        'PUT /default-policy': { path: '/default-policy', body: { roles: [...savedPolicy, { roleId: extraRole, identityKind: 'internal' }] } },
        'PUT /api-resources': 'no subject or grant',
        'POST /applications': { path: '/applications', body: { name: uniqueName('a'), type: 'web', redirectUris: [redirectUri], adminApiClient: true } },
        'PATCH /applications/:id': { path: `/applications/${adminApp}`, body: { name: 'x' } },
        'DELETE /applications/:id': { path: `/applications/${adminApp}` },
        'PUT /applications/:id/access': { path: `/applications/${plainApp}/access`, body: { accessMode: 'restricted', users: [subject.id] } },
        'POST /applications/:id/secret': { path: `/applications/${adminApp}/secret` },
        'POST /service-accounts': 'no subject or grant',
        'PATCH /service-accounts/:id': { path: `/service-accounts/${svc.id}`, body: { description: 'x' } },
        'DELETE /service-accounts/:id': { path: `/service-accounts/${svc.id}` },
        'POST /service-accounts/:id/keys': { path: `/service-accounts/${svc.id}/keys`, body: {} },
        'DELETE /service-accounts/:id/keys/:keyId': { path: `/service-accounts/${svc.id}/keys/${svcKey}` },
        'DELETE /me/sessions/:id': 'no subject or grant',
        'PUT /applications/:clientId/navigation': 'no subject or grant',
        'PUT /applications/:clientId/navigation/overrides/:key': 'no subject or grant',
        'DELETE /applications/:clientId/navigation/overrides/:key': 'no subject or grant',
        'POST /users': { path: '/users', body: { username: uniqueName('u'), identity: { kind } } },
        'PATCH /users/:id': { path: `/users/${subject.id}`, body: { name: 'x' } },
        'DELETE /users/:id': { path: `/users/${subject.id}` },
        'POST /users/:id/clone': { path: `/users/${subject.id}/clone`, body: { username: uniqueName('c'), email: `${randomUUID()}@example.com` } },
        'POST /users/:id/activate': { path: `/users/${subject.id}/activate`, body: {} },
        'POST /users/:id/deactivate': { path: `/users/${subject.id}/deactivate`, body: {} },
        'POST /users/import': { path: '/users/import', body: `username,roles\n${uniqueName('i')},${(await knex()('roles').where({ id: extraRole }).first('name')).name}\n`, csv: true, status: 422 },
        'POST /identities': { path: '/identities', body: { username: subject.username, kind: 'internal', alias: 'third' } },
        'PATCH /identities/:id': { path: `/identities/${subject.identityId}`, body: { alias: 'x' } },
        'DELETE /identities/:id': { path: `/identities/${second}` },
        'PUT /users/:id/default-identity': { path: `/users/${subject.id}/default-identity`, body: { identityId: second } },
        'POST /identity-kinds': 'no subject or grant',
        'PUT /identities/:id/data-scopes': { path: `/identities/${scoped.identityId}/data-scopes`, body: { [key]: ['A'] } },
        'PUT /identities/:id/data-scopes/:key': { path: `/identities/${scoped.identityId}/data-scopes/${key}`, body: { values: ['A'] } },
        'DELETE /identities/:id/data-scopes/:key': { path: `/identities/${scoped.identityId}/data-scopes/${key}` },
        'POST /data-scope-keys': 'no subject or grant',
        // A key's description is not a grant, and only a key no identity holds can be deleted.
        'PATCH /data-scope-keys/:key': 'no subject or grant',
        'DELETE /data-scope-keys/:key': 'no subject or grant',
        'PUT /password-policy': 'no subject or grant',
        'POST /users/:id/unlock': { path: `/users/${subject.id}/unlock`, body: {} },
        'DELETE /users/:id/mfa': { path: `/users/${subject.id}/mfa` },
        'POST /users/:id/password-reset': { path: `/users/${subject.id}/password-reset`, body: {} },
        'DELETE /users/:id/passkeys/:passkeyId': { path: `/users/${subject.id}/passkeys/${randomUUID()}` },
        'DELETE /sessions/:id': { path: `/sessions/${sessionUid}` },
        'POST /sessions/end-all': { path: '/sessions/end-all', body: {} },
        'DELETE /users/:id/sessions': { path: `/users/${subject.id}/sessions` },
        'PUT /session-settings': 'no subject or grant',
        'PUT /applications/:id/session-settings': 'no subject or grant',
        // Decisions read; they write nothing.
        'POST /access/v1/evaluation': 'no subject or grant',
        'POST /access/v1/evaluations': 'no subject or grant',
        // An endpoint receives every subject's events: only an Admin subscribes or redirects one.
        'POST /webhooks': { path: '/webhooks', body: { url: 'https://hooks.example.com/gatehouse', eventTypes: ['*'] } },
        'PATCH /webhooks/:id': { path: `/webhooks/${randomUUID()}`, body: { url: 'https://hooks.example.com/elsewhere' } },
        'DELETE /webhooks/:id': 'no subject or grant',
        'POST /webhooks/:id/deliveries/:deliveryId/replay': 'no subject or grant',
        // SCIM writes reach the same services, with the same guard. A SCIM user is created with the
        // default kind and no roles of its own; its default-policy roles are checked as for POST /users.
        'POST /scim/v2/Users': 'no subject or grant',
        'PUT /scim/v2/Users/:id': { path: `/scim/v2/Users/${subject.id}`, body: { schemas: [SCIM_USER], userName: subject.username, name: { formatted: 'x' } }, scim: true },
        'PATCH /scim/v2/Users/:id': { path: `/scim/v2/Users/${subject.id}`, body: { schemas: [SCIM_PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] }, scim: true },
        'DELETE /scim/v2/Users/:id': { path: `/scim/v2/Users/${subject.id}`, scim: true },
        'POST /scim/v2/Groups': { path: '/scim/v2/Groups', body: { schemas: [SCIM_GROUP], displayName: uniqueName('sg'), members: [{ value: subject.id }] }, scim: true },
        'PUT /scim/v2/Groups/:id': { path: `/scim/v2/Groups/${group.id}`, body: { schemas: [SCIM_GROUP], displayName: group.name, members: [{ value: plain.id }] }, scim: true },
        'PATCH /scim/v2/Groups/:id': { path: `/scim/v2/Groups/${group.id}`, body: { schemas: [SCIM_PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: plain.id }] }] }, scim: true },
        'DELETE /scim/v2/Groups/:id': 'no subject or grant',
        // A provider's default roles are granted to every user it provisions.
        'POST /identity-providers': { path: '/identity-providers', body: { preset: 'google', slug: `g${randomUUID().slice(0, 8)}`, name: 'Google', clientId: 'client', defaultRoleIds: [extraRole] } },
        'PATCH /identity-providers/:id': { path: `/identity-providers/${provider.id}`, body: { defaultRoleIds: [extraRole] } },
        'DELETE /identity-providers/:id': 'no subject or grant',
        'PUT /applications/:id/identity-providers': 'no subject or grant',
        // The default language and the passkey relying party are the whole tenant's: only an Admin.
        'PUT /tenant-settings': { path: '/tenant-settings', body: { defaultLocale: 'de' } },
      };
      try {
        const served = writeRoutes().map((r) => `${r.method.toUpperCase()} ${r.path}`);
        // A new write route must be added here, with its subject or grant, or stated to have none.
        assert.deepEqual(
          served.filter((r) => !(r in cases)),
          [],
          'write routes without a case',
        );
        for (const name of served) {
          const test = cases[name]!;
          if (test === 'no subject or grant') continue;
          const before = await fingerprint(gh);
          const response = await caller.request(name.split(' ')[0]!, test.path, test.body, test.csv ? { 'content-type': 'text/csv' } : {});
          assert.equal(response.status, test.status ?? 403, `${name}: ${JSON.stringify(response.body)}`);
          // SCIM answers in its own error schema (RFC 7644 §3.12), with the guard's message as detail.
          if (!test.status && test.scim) assert.match(String(response.body.detail), /you cannot|only an Admin/, `${name}: ${JSON.stringify(response.body)}`);
          else if (!test.status) assert.equal(response.body.code, 'auth.escalation', `${name}: ${JSON.stringify(response.body)}`);
          assert.equal(await fingerprint(gh), before, `${name} wrote something`);
        }
      } finally {
        await gh.context.defaultPolicy.replace({ roles: savedPolicy }, { tenantId: tenantId(), actor: SYSTEM_ACTOR, granter: 'system' });
      }
    });
  });

  describe('the CLI acts as a system actor on a fresh install', () => {
    it('service-accounts create --role Admin gives a key that bootstraps the tenant; clients admin-api allows an application', async function () {
      if (storageMode !== 'embedded') this.skip();
      // Three CLI processes, each opening the embedded database, then a server on it.
      this.timeout(400_000);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-admin-cli-'));
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|REDIS_URL|GATEHOUSE_)/.test(k)));
      const run = (args: string[]) => runGatehouse(args, { env: { ...env, GATEHOUSE_DATA_DIR: dir, GATEHOUSE_SECRET: TEST_SECRET, LOG_LEVEL: 'silent' } });
      let fresh: TestGatehouse | undefined;
      try {
        const created = await run(['service-accounts', 'create', '--name', 'bootstrap', '--role', 'Admin', '--json', '--init']);
        assert.equal(created.code, 0, created.stderr);
        const { client_id: clientId, client_secret: secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
        const app = await run(['clients', 'create', '--name', 'ops', '--type', 'web', '--redirect-uri', 'http://127.0.0.1:9/cb', '--json']);
        const appId = (JSON.parse(app.stdout) as { client_id: string }).client_id;
        const allowed = await run(['clients', 'admin-api', appId, '--allow', '--json']);
        assert.equal(allowed.code, 0, allowed.stderr);
        fresh = await startTestGatehouse({ GATEHOUSE_DATA_DIR: dir });
        const apps = await fresh.context.applications.findById(appId);
        assert.equal(apps?.metadata.adminApiClient, true);
        const audit = await fresh.context.knex('audit_events').where({ action: 'application.updated', target_id: appId }).first('actor_type');
        assert.equal((audit as { actor_type: string }).actor_type, 'cli');
        const response = await fetch(`${fresh.issuer}/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${fresh.issuer}/api`, scope: 'admin' }),
        });
        const token = ((await response.json()) as { access_token: string }).access_token;
        const call = (m: string, p: string, b?: unknown) => apiRequest(fresh!, token, m, p, b);
        expectStatus(await call('POST', '/data-scope-keys', { key: 'client' }), 201);
        const resource = 'https://bookings.example/api';
        assert.ok((await call('PUT', '/api-resources', { identifier: resource, name: 'Bookings', scopes: ['bookings:create'] })).status < 300);
        const role = await call('POST', '/roles', { name: 'Booker', permissions: [{ resource, permission: 'bookings:create' }] });
        expectStatus(role, 201);
        const user = await call('POST', '/users', { username: 'kim', email: 'kim@example.com' });
        expectStatus(user, 201);
        const identityId = user.body.identities[0].id;
        const userRole = ((await fresh.context.knex('roles').where({ name: 'User' }).first('id')) as { id: string }).id;
        expectStatus(await call('POST', `/identities/${identityId}/roles`, { roleIds: [role.body.id, userRole] }), 200);
        expectStatus(await call('PUT', `/identities/${identityId}/data-scopes`, { client: ['ROOM'] }), 200);
        expectStatus(await call('POST', `/users/${user.body.id}/clone`, { username: 'kim2', email: 'kim2@example.com' }), 201);
      } finally {
        await fresh?.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
