// The admin API for users, identities, identity kinds, data scopes and data-scope keys, over
// HTTP with real Gatehouse-issued bearer tokens. The database may be shared with other test
// files: every name is unique, and list assertions filter on a unique token.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { withOtherTenant } from '../helpers/other-tenant.ts';

describe(`admin API: users, identities and data scopes (${storageMode})`, function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  /** Holds every admin permission and every value of both data-scope keys. */
  let admin: ApiCaller;
  /** Holds every admin permission but only client=ROOM. */
  let kim: ApiCaller;
  let clientKey: string;
  let supplierKey: string;

  before(async () => {
    gh = await startTestGatehouse();
    clientKey = uniqueName('client').replace(/-/g, '_');
    supplierKey = uniqueName('supplier').replace(/-/g, '_');
    admin = await createApiCaller(gh, { permissions: 'all', dataScope: { [clientKey]: ['*'], [supplierKey]: ['*'] } });
    kim = await createApiCaller(gh, { permissions: 'all', dataScope: { [clientKey]: ['ROOM'] } });
  });
  after(async () => gh?.close());

  function problem(response: { status: number; body: { code?: string }; headers: Headers }, status: number, code: string) {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body.code, code);
    assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
  }

  async function createUser(fields: Record<string, unknown> = {}) {
    const username = uniqueName('user');
    const response = await admin.request('post', '/users', { username, email: `${username}@example.test`, ...fields });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body as { id: string; username: string; defaultIdentityId: string; identities: { id: string; kind: string; alias: string; isDefault: boolean }[] };
  }

  describe('users', function () {
    it('creates, reads, updates and deletes a user', async function () {
      const username = uniqueName('jack');
      const created = await admin.request('post', '/users', {
        username,
        email: `${username}@example.test`,
        name: 'Jack',
        phone: '+44 1252 000000',
        department: 'Clients',
        password: `pw-${randomUUID()}`,
        identity: { kind: 'client', alias: 'Jack (ROOM)' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.username, username);
      assert.equal(created.body.status, 'active');
      assert.equal(created.body.hasPassword, true);
      assert.equal(created.body.passwordHash, undefined);
      assert.deepEqual(
        created.body.identities.map((i: { kind: string; alias: string; isDefault: boolean }) => [i.kind, i.alias, i.isDefault]),
        [['client', 'Jack (ROOM)', true]],
      );

      const read = await admin.request('get', `/users/${created.body.id}`);
      assert.equal(read.status, 200);
      assert.equal(read.body.department, 'Clients');
      assert.equal(read.headers.get('cache-control'), 'no-store');

      const renamed = uniqueName('jack');
      const patched = await admin.request('patch', `/users/${created.body.id}`, { username: renamed, name: null, department: 'Operations' });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.username, renamed);
      assert.equal(patched.body.name, null);
      assert.equal(patched.body.department, 'Operations');

      const [event] = await gh.context.audit.list('default', { action: 'user.updated', targetId: created.body.id });
      assert.equal(event!.actorId, admin.userId);
      const details = event!.details as { before: { username: string }; after: { username: string } };
      assert.equal(details.before.username, username);
      assert.equal(details.after.username, renamed);
      assert.doesNotMatch(JSON.stringify(event), /argon2|passwordHash|password_hash/);

      assert.equal((await admin.request('delete', `/users/${created.body.id}`)).status, 204);
      problem(await admin.request('get', `/users/${created.body.id}`), 404, 'user.not_found');
      problem(await admin.request('delete', `/users/${created.body.id}`), 404, 'user.not_found');
    });

    it('refuses taken usernames and emails, unknown or reserved kinds, and invalid input', async function () {
      const existing = await createUser();
      problem(await admin.request('post', '/users', { username: existing.username.toUpperCase() }), 409, 'user.username_taken');
      problem(await admin.request('post', '/users', { username: uniqueName('dup'), email: `${existing.username}@EXAMPLE.test` }), 409, 'user.conflict');
      problem(await admin.request('post', '/users', { username: uniqueName('k'), identity: { kind: 'nonesuch' } }), 400, 'identity.unknown_kind');
      problem(await admin.request('post', '/users', { username: uniqueName('k'), identity: { kind: 'service' } }), 400, 'identity.reserved_kind');
      problem(await admin.request('post', '/users', { username: 'has space' }), 400, 'request.invalid');
      problem(await admin.request('post', '/users', { username: uniqueName('k'), email: 'not-an-email' }), 400, 'request.invalid');
      problem(await admin.request('post', '/users', { username: uniqueName('k'), extra: true }), 400, 'request.invalid');
      const other = await createUser();
      problem(await admin.request('patch', `/users/${other.id}`, { username: existing.username }), 409, 'user.username_taken');
      problem(await admin.request('patch', `/users/${other.id}`, {}), 400, 'request.invalid');
      problem(await admin.request('get', '/users/not-a-uuid'), 400, 'request.invalid');
    });

    it('lists users by search text and filters, keyset-paged with an opaque cursor', async function () {
      const token = uniqueName('list');
      const made: string[] = [];
      for (const suffix of ['a', 'b', 'c']) {
        const response = await admin.request('post', '/users', { username: `${token}${suffix}`, name: `List ${suffix}` });
        assert.equal(response.status, 201);
        made.push(response.body.id);
      }
      await admin.request('post', `/users/${made[1]}/deactivate`, {});

      const first = await admin.request('get', `/users?q=${token}&limit=2`);
      assert.equal(first.status, 200);
      assert.deepEqual(
        first.body.items.map((u: { username: string }) => u.username),
        [`${token}a`, `${token}b`],
      );
      assert.equal(typeof first.body.nextCursor, 'string');
      assert.equal(first.body.items[0].identities.length, 1);
      const second = await admin.request('get', `/users?q=${token}&limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
      assert.deepEqual(
        second.body.items.map((u: { username: string }) => u.username),
        [`${token}c`],
      );
      assert.equal(second.body.nextCursor, null);

      const inactive = await admin.request('get', `/users?q=${token}&status=inactive`);
      assert.deepEqual(
        inactive.body.items.map((u: { id: string }) => u.id),
        [made[1]],
      );
      problem(await admin.request('get', '/users?cursor=garbage'), 400, 'user.invalid_cursor');
      problem(await admin.request('get', '/users?limit=201'), 400, 'request.invalid');
      problem(await admin.request('get', '/users?status=gone'), 400, 'request.invalid');
    });

    it('deactivates and activates with a reason, keeping a status history; a deactivated caller is refused', async function () {
      const user = await createUser();
      const off = await admin.request('post', `/users/${user.id}/deactivate`, { reason: 'on leave' });
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.equal(off.body.status, 'inactive');
      const on = await admin.request('post', `/users/${user.id}/activate`);
      assert.equal(on.body.status, 'active');
      const history = await admin.request('get', `/users/${user.id}/status-history`);
      assert.equal(history.status, 200);
      assert.deepEqual(
        history.body.items.map((h: { fromStatus: string | null; toStatus: string; reason: string | null }) => [h.fromStatus, h.toStatus, h.reason]),
        [
          ['inactive', 'active', null],
          ['active', 'inactive', 'on leave'],
          [null, 'active', 'created'],
        ],
      );
      assert.equal(history.body.items[1].actorId, admin.userId);

      // The admin API re-checks the caller's status on every request.
      const other = await createApiCaller(gh, { permissions: ['users:list'] });
      assert.equal((await other.request('get', '/users?limit=1')).status, 200);
      await admin.request('post', `/users/${other.userId}/deactivate`, {});
      problem(await other.request('get', '/users?limit=1'), 401, 'auth.invalid_token');
    });

    it('refuses to let the caller delete or deactivate themselves', async function () {
      problem(await admin.request('delete', `/users/${admin.userId}`), 409, 'user.self_delete');
      problem(await admin.request('post', `/users/${admin.userId}/deactivate`, {}), 409, 'user.self_deactivate');
    });

    it('clones a user without its credentials, and refuses a clone wider than the caller', async function () {
      const source = await createUser({ password: `pw-${randomUUID()}`, department: 'Smart Hub' });
      const identityId = source.defaultIdentityId;
      assert.equal((await admin.request('put', `/identities/${identityId}/data-scopes`, { [clientKey]: ['*'] })).status, 200);

      const username = uniqueName('clone');
      problem(await kim.request('post', `/users/${source.id}/clone`, { username, email: `${username}@example.test` }), 403, 'auth.escalation');
      const clone = await admin.request('post', `/users/${source.id}/clone`, { username, email: `${username}@example.test`, name: 'Clone' });
      assert.equal(clone.status, 201, JSON.stringify(clone.body));
      assert.equal(clone.body.hasPassword, false);
      assert.equal(clone.body.department, 'Smart Hub');
      assert.deepEqual(
        clone.body.identities.map((i: { kind: string; alias: string }) => [i.kind, i.alias]),
        [['internal', username]],
      );
      const scope = await admin.request('get', `/identities/${clone.body.identities[0].id}/data-scopes`);
      assert.deepEqual(scope.body, { [clientKey]: ['*'] });
    });
  });

  describe('identities', function () {
    it('upserts: 201 with the user the first time, 200 with the same identity after, and only the identity for an existing user', async function () {
      const username = uniqueName('simon');
      const body = { username, kind: 'client', alias: 'Simon (Pharma)', email: `${username}@example.test` };
      const first = await admin.request('post', '/identities', body);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(first.body.created, true);
      assert.equal(first.body.userCreated, true);
      assert.equal(first.body.identity.isDefault, true);
      const again = await admin.request('post', '/identities', body);
      assert.equal(again.status, 200);
      assert.equal(again.body.created, false);
      assert.equal(again.body.identity.id, first.body.identity.id);

      const added = await admin.request('post', '/identities', { username, kind: 'internal', alias: 'Simon' });
      assert.equal(added.status, 201);
      assert.equal(added.body.userCreated, false);
      assert.equal(added.body.identity.userId, first.body.identity.userId);
      const list = await admin.request('get', `/users/${first.body.identity.userId}/identities`);
      assert.deepEqual(
        list.body.items.map((i: { kind: string; isDefault: boolean }) => [i.kind, i.isDefault]),
        [
          ['client', true],
          ['internal', false],
        ],
      );
      problem(await admin.request('post', '/identities', { username, kind: 'service', alias: 'x' }), 400, 'identity.reserved_kind');
    });

    it('renames an identity, moves the default, and never deletes the last identity', async function () {
      const user = await createUser();
      const [only] = user.identities;
      problem(await admin.request('delete', `/identities/${only!.id}`), 409, 'identity.last_identity');

      const second = await admin.request('post', '/identities', { username: user.username, kind: 'supplier', alias: 'Acme' });
      const patched = await admin.request('patch', `/identities/${second.body.identity.id}`, { alias: 'Acme Ltd' });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.alias, 'Acme Ltd');
      problem(await admin.request('patch', `/identities/${second.body.identity.id}`, { kind: 'nonesuch' }), 400, 'identity.unknown_kind');

      const moved = await admin.request('put', `/users/${user.id}/default-identity`, { identityId: second.body.identity.id });
      assert.equal(moved.status, 200);
      assert.deepEqual(
        moved.body.items.filter((i: { isDefault: boolean }) => i.isDefault).map((i: { id: string }) => i.id),
        [second.body.identity.id],
      );

      assert.equal((await admin.request('delete', `/identities/${second.body.identity.id}`)).status, 204);
      const after = await admin.request('get', `/users/${user.id}`);
      assert.equal(after.body.defaultIdentityId, only!.id);
      assert.deepEqual(
        after.body.identities.map((i: { id: string; isDefault: boolean }) => [i.id, i.isDefault]),
        [[only!.id, true]],
      );
    });

    it('lists the built-in identity kinds and creates tenant kinds', async function () {
      const kinds = await admin.request('get', '/identity-kinds');
      assert.equal(kinds.status, 200);
      for (const kind of ['internal', 'client', 'supplier', 'service'])
        assert.ok(
          kinds.body.items.some((k: { kind: string; builtin: boolean }) => k.kind === kind && k.builtin),
          kind,
        );
      const kind = uniqueName('partner');
      const created = await admin.request('post', '/identity-kinds', { kind, label: 'Partner' });
      assert.equal(created.status, 201);
      assert.deepEqual(created.body, { kind, label: 'Partner', builtin: false });
      problem(await admin.request('post', '/identity-kinds', { kind, label: 'Partner' }), 409, 'identity_kind.exists');
      problem(await admin.request('post', '/identity-kinds', { kind: 'X', label: 'Bad' }), 400, 'request.invalid');
      const user = await createUser({ identity: { kind, alias: 'partner persona' } });
      assert.equal(user.identities[0]!.kind, kind);
    });
  });

  describe('data scopes', function () {
    it('replaces, sets, reads and removes keys of an identity', async function () {
      const user = await createUser();
      const id = user.defaultIdentityId;
      const replaced = await admin.request('put', `/identities/${id}/data-scopes`, { [clientKey]: ['ROOM'], [supplierKey]: ['*'] });
      assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
      assert.deepEqual(replaced.body, { [clientKey]: ['ROOM'], [supplierKey]: ['*'] });
      const set = await admin.request('put', `/identities/${id}/data-scopes/${clientKey}`, { values: ['ROOM', 'Pharma'] });
      assert.deepEqual(set.body, { [clientKey]: ['ROOM', 'Pharma'], [supplierKey]: ['*'] });
      assert.equal((await admin.request('delete', `/identities/${id}/data-scopes/${supplierKey}`)).status, 204);
      problem(await admin.request('delete', `/identities/${id}/data-scopes/${supplierKey}`), 404, 'data_scope.not_set');
      const read = await admin.request('get', `/identities/${id}/data-scopes`);
      assert.deepEqual(read.body, { [clientKey]: ['ROOM', 'Pharma'] });
      const [event] = await gh.context.audit.list('default', { action: 'identity.data_scope_removed', targetId: id });
      assert.deepEqual((event!.details as { after: unknown }).after, { [clientKey]: ['ROOM', 'Pharma'] });
    });

    it('refuses "*" beside other values, empty lists, and undefined keys', async function () {
      const user = await createUser();
      const id = user.defaultIdentityId;
      problem(await admin.request('put', `/identities/${id}/data-scopes/${clientKey}`, { values: ['*', 'ROOM'] }), 400, 'request.invalid');
      problem(await admin.request('put', `/identities/${id}/data-scopes`, { [clientKey]: [] }), 400, 'request.invalid');
      problem(await admin.request('put', `/identities/${id}/data-scopes`, { nonesuch_key: ['a'] }), 400, 'data_scope.unknown_key');
      problem(await admin.request('put', `/identities/${id}/data-scopes/Bad-Key`, { values: ['a'] }), 400, 'request.invalid');
    });

    it('refuses to grant a data scope wider than the caller holds', async function () {
      const user = await createUser();
      const id = user.defaultIdentityId;
      problem(await kim.request('put', `/identities/${id}/data-scopes/${clientKey}`, { values: ['*'] }), 403, 'auth.escalation');
      problem(await kim.request('put', `/identities/${id}/data-scopes`, { [clientKey]: ['Pharma'] }), 403, 'auth.escalation');
      problem(await kim.request('put', `/identities/${id}/data-scopes`, { [supplierKey]: ['Acme'] }), 403, 'auth.escalation');
      const allowed = await kim.request('put', `/identities/${id}/data-scopes/${clientKey}`, { values: ['ROOM'] });
      assert.equal(allowed.status, 200);
      assert.deepEqual(allowed.body, { [clientKey]: ['ROOM'] });
    });

    it('lists and creates data-scope keys', async function () {
      const keys = await admin.request('get', '/data-scope-keys');
      assert.ok(keys.body.items.some((k: { key: string }) => k.key === clientKey));
      const key = uniqueName('region').replace(/-/g, '_');
      const created = await admin.request('post', '/data-scope-keys', { key, description: 'Sales region' });
      assert.equal(created.status, 201);
      assert.deepEqual(created.body, { key, description: 'Sales region' });
      problem(await admin.request('post', '/data-scope-keys', { key }), 409, 'data_scope_key.exists');
      problem(await admin.request('post', '/data-scope-keys', { key: '9lives' }), 400, 'request.invalid');
    });

    it("changes a key's description, and deletes a key only once no identity holds it", async function () {
      const key = uniqueName('site').replace(/-/g, '_');
      assert.equal((await admin.request('post', '/data-scope-keys', { key, description: 'Site' })).status, 201);
      const changed = await admin.request('patch', `/data-scope-keys/${key}`, { description: 'Building site' });
      assert.equal(changed.status, 200);
      assert.deepEqual(changed.body, { key, description: 'Building site' });
      const listed = await admin.request('get', '/data-scope-keys');
      assert.deepEqual(
        listed.body.items.find((k: { key: string }) => k.key === key),
        { key, description: 'Building site' },
      );
      problem(await admin.request('patch', `/data-scope-keys/${key}`, { key: 'other', description: 'x' }), 400, 'request.invalid');
      problem(await admin.request('patch', '/data-scope-keys/nosuchkey', { description: 'x' }), 404, 'data_scope_key.not_found');

      const user = await createUser();
      // Nobody holds the new key's values yet, so none can be granted by API: give them directly.
      await gh.context.knex('identity_data_scopes').insert({ tenant_id: gh.context.tenantId, identity_id: user.defaultIdentityId, key, values: JSON.stringify(['North']) });
      const refused = await admin.request('delete', `/data-scope-keys/${key}`);
      problem(refused, 409, 'data_scope_key.in_use');
      assert.match(refused.body.title, /held by 1 identity/);
      assert.ok(
        (await admin.request('get', '/data-scope-keys')).body.items.some((k: { key: string }) => k.key === key),
        'still defined',
      );

      await gh.context.knex('identity_data_scopes').where({ identity_id: user.defaultIdentityId, key }).delete();
      assert.equal((await admin.request('delete', `/data-scope-keys/${key}`)).status, 204);
      assert.ok(!(await admin.request('get', '/data-scope-keys')).body.items.some((k: { key: string }) => k.key === key), 'gone');
      problem(await admin.request('delete', `/data-scope-keys/${key}`), 404, 'data_scope_key.not_found');
    });
  });

  it("answers 404 for another tenant's users and identities", async function () {
    await withOtherTenant(gh, async ({ userId, identityId }) => {
      problem(await admin.request('get', `/users/${userId}`), 404, 'user.not_found');
      problem(await admin.request('get', `/users/${userId}/identities`), 404, 'user.not_found');
      problem(await admin.request('patch', `/users/${userId}`, { name: 'x' }), 404, 'user.not_found');
      problem(await admin.request('post', `/users/${userId}/clone`, { username: uniqueName('c'), email: `${randomUUID()}@example.test` }), 404, 'user.not_found');
      problem(await admin.request('delete', `/users/${userId}`), 404, 'user.not_found');
      problem(await admin.request('patch', `/identities/${identityId}`, { alias: 'y' }), 404, 'identity.not_found');
      problem(await admin.request('delete', `/identities/${identityId}`), 404, 'identity.not_found');
      problem(await admin.request('get', `/identities/${identityId}/data-scopes`), 404, 'identity.not_found');
      problem(await admin.request('put', `/identities/${identityId}/data-scopes/${clientKey}`, { values: ['ROOM'] }), 404, 'identity.not_found');
      const list = await admin.request('get', '/users?limit=200&q=foreigner');
      assert.ok(!list.body.items.some((u: { id: string }) => u.id === userId));
      assert.ok(await gh.context.knex('users').where({ id: userId }).first(), 'the foreign user is untouched');
    });
  });

  it('describes the routes and their responses in the OpenAPI document', async function () {
    const response = await fetch(new URL('/api/v1/openapi.json', gh.url));
    const doc = (await response.json()) as { paths: Record<string, Record<string, { 'x-permission': string; responses: Record<string, { content?: unknown }> }>> };
    const expected: [string, string, string][] = [
      ['/api/v1/users', 'get', 'users:list'],
      ['/api/v1/users', 'post', 'users:create'],
      ['/api/v1/users/{id}', 'get', 'users:read'],
      ['/api/v1/users/{id}', 'patch', 'users:update'],
      ['/api/v1/users/{id}', 'delete', 'users:delete'],
      ['/api/v1/users/{id}/clone', 'post', 'users:clone'],
      ['/api/v1/users/{id}/activate', 'post', 'users:activate'],
      ['/api/v1/users/{id}/deactivate', 'post', 'users:deactivate'],
      ['/api/v1/users/{id}/status-history', 'get', 'users:read-status-history'],
      ['/api/v1/identities', 'post', 'identities:upsert'],
      ['/api/v1/users/{id}/identities', 'get', 'identities:list'],
      ['/api/v1/identities/{id}', 'patch', 'identities:update'],
      ['/api/v1/identities/{id}', 'delete', 'identities:delete'],
      ['/api/v1/users/{id}/default-identity', 'put', 'identities:set-default'],
      ['/api/v1/identity-kinds', 'get', 'identity-kinds:list'],
      ['/api/v1/identity-kinds', 'post', 'identity-kinds:create'],
      ['/api/v1/identities/{id}/data-scopes', 'get', 'data-scopes:read'],
      ['/api/v1/identities/{id}/data-scopes', 'put', 'data-scopes:replace'],
      ['/api/v1/identities/{id}/data-scopes/{key}', 'put', 'data-scopes:set'],
      ['/api/v1/identities/{id}/data-scopes/{key}', 'delete', 'data-scopes:remove'],
      ['/api/v1/data-scope-keys', 'get', 'data-scope-keys:list'],
      ['/api/v1/data-scope-keys', 'post', 'data-scope-keys:create'],
    ];
    for (const [path, method, permission] of expected) {
      const operation = doc.paths[path]?.[method];
      assert.ok(operation, `${method.toUpperCase()} ${path} is documented`);
      assert.equal(operation['x-permission'], permission);
      if (method !== 'delete') {
        const success = Object.entries(operation.responses).find(([status]) => status.startsWith('2'))!;
        assert.ok(success[1].content, `${method.toUpperCase()} ${path} documents its response body`);
      }
    }
  });
});
