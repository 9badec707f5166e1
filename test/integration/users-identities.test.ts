// Users, identities and data scopes through their services, against a real Gatehouse (PGlite +
// in-process store, or PostgreSQL + Redis). The database may be shared with other test files:
// every username, role, group, kind and key is unique, and searches filter on a unique token.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Actor } from '../../src/services/actor.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { ADMIN_API_RESOURCE } from '../../src/services/authorization.ts';
import type { ChangeRequest } from '../../src/services/roles.ts';
import { appError } from '../helpers/assertions.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { passwordSignIn } from '../helpers/sign-in.ts';

const ACTOR: Actor = { actorType: 'user', actorId: randomUUID() };

describe(`users, identities and data scopes (${storageMode})`, function () {
  let gh: TestGatehouse;
  const tenantId = 'default';
  const system: ChangeRequest = { tenantId, actor: ACTOR, granter: 'system' };
  const by = (granter: ChangeRequest['granter']): ChangeRequest => ({ tenantId, actor: ACTOR, granter });
  /** Keys these tests use, unique to this run so another file's scopes do not interfere. */
  let clientKey: string;
  let supplierKey: string;

  before(async function () {
    gh = await startTestGatehouse();
    clientKey = uniqueName('client').replace(/-/g, '_');
    supplierKey = uniqueName('supplier').replace(/-/g, '_');
    await gh.context.dataScopes.createKey({ key: clientKey }, system);
    await gh.context.dataScopes.createKey({ key: supplierKey, description: 'Suppliers' }, system);
  });
  after(async () => gh?.close());

  const knex = () => gh.context.knex;
  const identitiesOf = (userId: string) => knex()('identities').where({ user_id: userId }).orderBy('created_at').select('id', 'kind', 'alias');

  async function newRole(permissions: { resource: string; permission: string }[] = []): Promise<string> {
    const id = randomUUID();
    await knex()('roles').insert({ id, tenant_id: tenantId, name: uniqueName('role') });
    if (permissions.length) await knex()('role_permissions').insert(permissions.map((p) => ({ tenant_id: tenantId, role_id: id, ...p })));
    return id;
  }

  async function newGroup(roleIds: string[] = []): Promise<string> {
    const id = randomUUID();
    await knex()('groups').insert({ id, tenant_id: tenantId, name: uniqueName('group') });
    if (roleIds.length) await knex()('group_roles').insert(roleIds.map((roleId) => ({ tenant_id: tenantId, group_id: id, role_id: roleId })));
    return id;
  }

  describe('upsert ("create identity")', function () {
    it('creates the user and its default identity, and the same call again creates nothing', async function () {
      const username = uniqueName('upsert');
      const input = { username, kind: 'client', alias: 'Jack (ROOM)', email: `${username}@example.test`, name: 'Jack' };
      const first = await gh.context.identities.upsert(input, system);
      assert.equal(first.created, true);
      assert.equal(first.userCreated, true);
      assert.equal(first.identity.kind, 'client');
      assert.equal(first.identity.isDefault, true);

      const second = await gh.context.identities.upsert({ ...input, alias: 'JACK (room)' }, system);
      assert.equal(second.identity.id, first.identity.id, 'alias compared case-insensitively');
      assert.equal(second.created, false);
      assert.equal(second.userCreated, false);

      const users = await knex()('users').where({ tenant_id: tenantId }).whereRaw('lower(username) = ?', [username.toLowerCase()]);
      assert.equal(users.length, 1);
      assert.equal(users[0].password_hash, null, 'an upserted user has no password');
      assert.equal(users[0].email, input.email);
      assert.deepEqual(
        (await identitiesOf(first.identity.userId)).map((i) => i.id),
        [first.identity.id],
      );
    });

    it('adds only the identity to an existing user and leaves its default alone', async function () {
      const user = await gh.context.users.create({ username: uniqueName('lucy'), password: `pw-${randomUUID()}`, email: `${randomUUID()}@example.test` }, SYSTEM_ACTOR);
      const result = await gh.context.identities.upsert({ username: user.username.toUpperCase(), kind: 'client', alias: 'Lucy as client', email: 'ignored@example.test' }, system);
      assert.equal(result.created, true);
      assert.equal(result.userCreated, false);
      assert.equal(result.identity.userId, user.id);
      assert.equal(result.identity.isDefault, false);
      const after = await gh.context.users.findById(user.id);
      assert.equal(after!.email, user.email, 'email is used only when the user is created');
      assert.equal(after!.defaultIdentityId, user.defaultIdentityId);
      assert.deepEqual(
        (await identitiesOf(user.id)).map((i) => i.kind),
        ['internal', 'client'],
      );
      const events = await gh.context.audit.list(tenantId, { action: 'identity.created', targetId: result.identity.id });
      assert.equal(events.length, 1);
    });

    it('gives concurrent upserts of the same new identity one user and one identity', async function () {
      const input = { username: uniqueName('race'), kind: 'supplier', alias: 'Acme' };
      const results = await Promise.all([gh.context.identities.upsert(input, system), gh.context.identities.upsert(input, system)]);
      assert.equal(results[0].identity.id, results[1].identity.id);
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal((await identitiesOf(results[0].identity.userId)).length, 1);
    });

    it("refuses kinds the tenant does not define and the service accounts' kind", async function () {
      await assert.rejects(gh.context.identities.upsert({ username: uniqueName('x'), kind: 'nonesuch', alias: 'a' }, system), appError('identity.unknown_kind', 400));
      await assert.rejects(gh.context.identities.upsert({ username: uniqueName('x'), kind: 'service', alias: 'a' }, system), appError('identity.reserved_kind', 400));
      const user = await gh.context.users.create({ username: uniqueName('kim') }, SYSTEM_ACTOR);
      await assert.rejects(gh.context.identities.upsert({ username: user.username, kind: 'service', alias: 'a' }, system), appError('identity.reserved_kind', 400));
      assert.equal((await identitiesOf(user.id)).length, 1);
    });

    it('accepts a tenant-defined kind once it is created', async function () {
      const kind = uniqueName('partner');
      await assert.rejects(gh.context.identities.upsert({ username: uniqueName('p'), kind, alias: 'a' }, system), appError('identity.unknown_kind'));
      await gh.context.identities.createKind({ kind, label: 'Partner' }, system);
      await assert.rejects(gh.context.identities.createKind({ kind, label: 'Again' }, system), appError('identity_kind.exists', 409));
      await assert.rejects(gh.context.identities.createKind({ kind: 'Bad Kind', label: 'x' }, system), appError('identity_kind.invalid', 400));
      const result = await gh.context.identities.upsert({ username: uniqueName('p'), kind, alias: 'a' }, system);
      assert.equal(result.identity.kind, kind);
      const kinds = await gh.context.identities.listKinds(tenantId);
      assert.deepEqual(
        kinds
          .filter((k) => k.builtin)
          .map((k) => k.kind)
          .sort(),
        ['client', 'internal', 'service', 'supplier'],
      );
      assert.ok(kinds.some((k) => k.kind === kind && !k.builtin));
    });
  });

  describe('identities', function () {
    it('never removes the last identity, and hands the default on when the default goes', async function () {
      const user = await gh.context.users.create({ username: uniqueName('solo') }, SYSTEM_ACTOR);
      const [only] = await identitiesOf(user.id);
      await assert.rejects(gh.context.identities.remove(only.id, system), appError('identity.last_identity', 409));

      const second = await gh.context.identities.upsert({ username: user.username, kind: 'client', alias: 'second' }, system);
      await gh.context.identities.remove(only.id, system);
      const after = await gh.context.users.findById(user.id);
      assert.equal(after!.defaultIdentityId, second.identity.id);
      await assert.rejects(gh.context.identities.remove(second.identity.id, system), appError('identity.last_identity', 409));
    });

    it('renames and re-kinds an identity, refusing a duplicate and the service kind', async function () {
      const user = await gh.context.users.create({ username: uniqueName('rename') }, SYSTEM_ACTOR);
      const client = await gh.context.identities.upsert({ username: user.username, kind: 'client', alias: 'one' }, system);
      await gh.context.identities.upsert({ username: user.username, kind: 'client', alias: 'two' }, system);
      const renamed = await gh.context.identities.update(client.identity.id, { alias: 'uno' }, system);
      assert.equal(renamed.alias, 'uno');
      await assert.rejects(gh.context.identities.update(client.identity.id, { alias: 'TWO' }, system), appError('identity.conflict', 409));
      await assert.rejects(gh.context.identities.update(client.identity.id, { kind: 'service' }, system), appError('identity.reserved_kind', 400));
      const moved = await gh.context.identities.update(client.identity.id, { kind: 'supplier' }, system);
      assert.equal(moved.kind, 'supplier');
    });

    it("sets the default identity only to one of the user's own", async function () {
      const user = await gh.context.users.create({ username: uniqueName('dflt') }, SYSTEM_ACTOR);
      const other = await gh.context.users.create({ username: uniqueName('other') }, SYSTEM_ACTOR);
      const client = await gh.context.identities.upsert({ username: user.username, kind: 'client', alias: 'c' }, system);
      const list = await gh.context.identities.setDefault(user.id, client.identity.id, system);
      assert.deepEqual(
        list.filter((i) => i.isDefault).map((i) => i.id),
        [client.identity.id],
      );
      await assert.rejects(gh.context.identities.setDefault(user.id, other.defaultIdentityId!, system), appError('identity.not_found', 404));
    });
  });

  describe('data scopes', function () {
    let identityId: string;

    beforeEach(async function () {
      const user = await gh.context.users.create({ username: uniqueName('scoped') }, SYSTEM_ACTOR);
      identityId = user.defaultIdentityId!;
    });

    it('replaces, sets and removes keys, and the token-side authorization sees each change', async function () {
      await gh.context.dataScopes.replace(identityId, { [clientKey]: ['ROOM'], [supplierKey]: ['*'] }, system);
      assert.deepEqual((await gh.context.authorization.forIdentity(identityId))!.dataScope, { [clientKey]: ['ROOM'], [supplierKey]: ['*'] });
      await gh.context.dataScopes.set(identityId, clientKey, ['ROOM', 'Pharma', 'ROOM'], system);
      assert.deepEqual((await gh.context.dataScopes.get(tenantId, identityId))[clientKey], ['ROOM', 'Pharma'], 'duplicates dropped');
      await gh.context.dataScopes.remove(identityId, supplierKey, system);
      assert.deepEqual((await gh.context.authorization.forIdentity(identityId))!.dataScope, { [clientKey]: ['ROOM', 'Pharma'] });
      await assert.rejects(gh.context.dataScopes.remove(identityId, supplierKey, system), appError('data_scope.not_set', 404));
      await gh.context.dataScopes.replace(identityId, {}, system);
      assert.deepEqual(await gh.context.dataScopes.get(tenantId, identityId), {});
    });

    it('keeps "*" the only value of a key, and values non-empty', async function () {
      await assert.rejects(gh.context.dataScopes.set(identityId, clientKey, ['*', 'ROOM'], system), appError('data_scope.invalid', 400));
      await assert.rejects(gh.context.dataScopes.replace(identityId, { [clientKey]: ['ROOM', '*'] }, system), appError('data_scope.invalid', 400));
      await assert.rejects(gh.context.dataScopes.set(identityId, clientKey, [], system), appError('data_scope.invalid', 400));
      await assert.rejects(gh.context.dataScopes.set(identityId, clientKey, [''], system), appError('data_scope.invalid', 400));
      await assert.rejects(gh.context.dataScopes.set(identityId, clientKey, ['x'.repeat(201)], system), appError('data_scope.invalid', 400));
    });

    it('refuses keys the tenant does not define', async function () {
      await assert.rejects(gh.context.dataScopes.set(identityId, 'undefined_key_xyz', ['a'], system), appError('data_scope.unknown_key', 400));
      await assert.rejects(gh.context.dataScopes.createKey({ key: clientKey }, system), appError('data_scope_key.exists', 409));
    });

    it('refuses to grant values wider than the granter holds, but not values already held', async function () {
      const kim = by({ permissionsByResource: {}, dataScope: { [clientKey]: ['ROOM'] } });
      await assert.rejects(gh.context.dataScopes.set(identityId, clientKey, ['*'], kim), appError('auth.escalation', 403));
      await assert.rejects(gh.context.dataScopes.set(identityId, clientKey, ['Pharma'], kim), appError('auth.escalation', 403));
      await assert.rejects(gh.context.dataScopes.set(identityId, supplierKey, ['Acme'], kim), appError('auth.escalation', 403));
      await gh.context.dataScopes.set(identityId, clientKey, ['ROOM'], kim);

      // An administrator with all clients gave Pharma: Kim's colleague with every supplier but no
      // client Pharma may not manage that identity at all (its scope is not covered); one who
      // covers it may rewrite the supplier key, and the Pharma it keeps is no new grant.
      await gh.context.dataScopes.replace(identityId, { [clientKey]: ['Pharma'], [supplierKey]: ['*'] }, system);
      const narrow = by({ permissionsByResource: {}, dataScope: { [supplierKey]: ['*'] } });
      await assert.rejects(gh.context.dataScopes.replace(identityId, { [clientKey]: ['Pharma'], [supplierKey]: ['Acme'] }, narrow), appError('auth.escalation', 403));
      const covering = by({ permissionsByResource: {}, dataScope: { [clientKey]: ['Pharma'], [supplierKey]: ['*'] } });
      const after = await gh.context.dataScopes.replace(identityId, { [clientKey]: ['Pharma'], [supplierKey]: ['Acme'] }, covering);
      assert.deepEqual(after, { [clientKey]: ['Pharma'], [supplierKey]: ['Acme'] });
      assert.deepEqual(await gh.context.dataScopes.get(tenantId, identityId), after);
    });

    it("answers 404 for another tenant's identity", async function () {
      const otherTenant = uniqueName('tenant');
      await knex()('tenants').insert({ id: otherTenant, name: 'Other' });
      try {
        const userId = randomUUID();
        const foreignIdentity = randomUUID();
        await knex()('users').insert({ id: userId, tenant_id: otherTenant, username: uniqueName('foreigner'), status: 'active' });
        await knex()('identities').insert({ id: foreignIdentity, tenant_id: otherTenant, user_id: userId, kind: 'internal', alias: 'x' });
        await assert.rejects(gh.context.dataScopes.get(tenantId, foreignIdentity), appError('identity.not_found', 404));
        await assert.rejects(gh.context.dataScopes.set(foreignIdentity, clientKey, ['ROOM'], system), appError('identity.not_found', 404));
        await assert.rejects(gh.context.identities.remove(foreignIdentity, system), appError('identity.not_found', 404));
        await assert.rejects(gh.context.directoryUsers.get(tenantId, userId), appError('user.not_found', 404));
        await assert.rejects(gh.context.directoryUsers.deactivate(userId, undefined, system), appError('user.not_found', 404));
        await assert.rejects(gh.context.directoryUsers.remove(userId, system), appError('user.not_found', 404));
        assert.ok(await knex()('users').where({ id: userId }).first(), 'the foreign user is untouched');
      } finally {
        await knex()('tenants').where({ id: otherTenant }).delete();
      }
    });
  });

  describe('users', function () {
    it('deactivation blocks password sign-in and is recorded in the status history; activation restores it', async function () {
      const password = `pw-${randomUUID()}`;
      const user = await gh.context.users.create({ username: uniqueName('deact'), password }, SYSTEM_ACTOR);
      assert.equal((await passwordSignIn(gh.context, user.username, password)).userId, user.id);

      const deactivated = await gh.context.directoryUsers.deactivate(user.id, 'left the company', system);
      assert.equal(deactivated.status, 'inactive');
      const refused = await passwordSignIn(gh.context, user.username, password);
      assert.equal(refused.userId, undefined);
      assert.equal(refused.reason, 'inactive');
      // Repeating it changes nothing and records nothing.
      await gh.context.directoryUsers.deactivate(user.id, 'again', system);

      await gh.context.directoryUsers.activate(user.id, undefined, system);
      assert.equal((await passwordSignIn(gh.context, user.username, password)).userId, user.id);

      const history = await gh.context.directoryUsers.statusHistory(tenantId, user.id);
      assert.deepEqual(
        history.map((h) => [h.fromStatus, h.toStatus, h.reason]),
        [
          ['inactive', 'active', null],
          ['active', 'inactive', 'left the company'],
          [null, 'active', 'created'],
        ],
      );
      assert.equal(history[1]!.actorId, ACTOR.actorId);
      assert.equal((await gh.context.audit.list(tenantId, { action: 'user.deactivated', targetId: user.id })).length, 1);
    });

    it('tells listeners of deactivation, password change, identity removal and deletion, once each', async function () {
      const user = await gh.context.users.create({ username: uniqueName('events'), password: `pw-${randomUUID()}` }, SYSTEM_ACTOR);
      const seen: string[] = [];
      gh.context.events.on(async (event) => {
        if (event.userId === user.id) seen.push(event.type === 'identity.removed' ? `${event.type}:${event.identityId}` : event.type);
      });
      await gh.context.directoryUsers.deactivate(user.id, undefined, system);
      await gh.context.directoryUsers.deactivate(user.id, 'again', system);
      await gh.context.directoryUsers.activate(user.id, undefined, system);
      await gh.context.users.setPassword(user.username, `pw-${randomUUID()}`, SYSTEM_ACTOR);
      const extra = await gh.context.identities.upsert({ username: user.username, kind: 'client', alias: uniqueName('extra') }, system);
      await gh.context.identities.remove(extra.identity.id, system);
      await gh.context.directoryUsers.remove(user.id, system);
      assert.deepEqual(seen, ['user.deactivated', 'user.password_changed', `identity.removed:${extra.identity.id}`, 'user.deleted']);
    });

    it('refuses to let an administrator delete or deactivate themselves', async function () {
      const user = await gh.context.users.create({ username: uniqueName('self') }, SYSTEM_ACTOR);
      const self: ChangeRequest = { tenantId, actor: { actorType: 'user', actorId: user.id }, granter: 'system' };
      await assert.rejects(gh.context.directoryUsers.remove(user.id, self), appError('user.self_delete', 409));
      await assert.rejects(gh.context.directoryUsers.deactivate(user.id, undefined, self), appError('user.self_deactivate', 409));
    });

    it('updates profile fields, audits before/after without the password hash, and refuses a taken username', async function () {
      const user = await gh.context.users.create({ username: uniqueName('upd'), password: `pw-${randomUUID()}` }, SYSTEM_ACTOR);
      const taken = await gh.context.users.create({ username: uniqueName('taken'), email: `${randomUUID()}@example.test` }, SYSTEM_ACTOR);
      const newName = uniqueName('renamed');
      const updated = await gh.context.directoryUsers.update(user.id, { username: newName, phone: '+44 20 7946 0000', department: 'Operations', name: 'Kim' }, system);
      assert.equal(updated.username, newName);
      assert.equal(updated.phone, '+44 20 7946 0000');
      assert.equal(updated.department, 'Operations');
      await assert.rejects(gh.context.directoryUsers.update(user.id, { username: taken.username.toUpperCase() }, system), appError('user.username_taken', 409));
      await assert.rejects(gh.context.directoryUsers.update(user.id, { email: taken.email!.toUpperCase() }, system), appError('user.email_taken', 409));
      await assert.rejects(gh.context.directoryUsers.update(user.id, { phone: 'call me maybe' }, system), appError('user.invalid', 400));
      const cleared = await gh.context.directoryUsers.update(user.id, { phone: null }, system);
      assert.equal(cleared.phone, null);

      const events = await gh.context.audit.list(tenantId, { action: 'user.updated', targetId: user.id });
      assert.equal(events.length, 2);
      const details = events.map((e) => e.details as { before: Record<string, unknown>; after: Record<string, unknown> });
      assert.ok(details.some((d) => d.before.username === user.username && d.after.username === newName && d.after.department === 'Operations'));
      assert.ok(details.some((d) => d.before.phone === '+44 20 7946 0000' && d.after.phone === null));
      assert.doesNotMatch(JSON.stringify(details), /passwordHash|password_hash|\$argon2/);
    });

    it('deletes a user with its identities, memberships, roles, scopes, history and durable sessions', async function () {
      const user = await gh.context.users.create({ username: uniqueName('gone') }, SYSTEM_ACTOR);
      const identityId = user.defaultIdentityId!;
      const roleId = await newRole();
      const groupId = await newGroup();
      await knex()('identity_roles').insert({ tenant_id: tenantId, identity_id: identityId, role_id: roleId });
      await knex()('group_members').insert({ tenant_id: tenantId, identity_id: identityId, group_id: groupId });
      await gh.context.dataScopes.set(identityId, clientKey, ['ROOM'], system);
      const sessionId = randomUUID();
      await knex()('oidc_payloads').insert({ model: 'Session', id: sessionId, tenant_id: tenantId, payload: '{}', account_id: user.id });
      assert.ok(await gh.context.authorization.forIdentity(identityId));

      await gh.context.directoryUsers.remove(user.id, system);

      assert.equal(await gh.context.users.findById(user.id), undefined);
      for (const table of ['identities', 'identity_roles', 'group_members', 'identity_data_scopes']) {
        const column = table === 'identities' ? 'id' : 'identity_id';
        assert.equal((await knex()(table).where(column, identityId)).length, 0, `${table} rows remain`);
      }
      assert.equal((await knex()('user_status_history').where({ user_id: user.id })).length, 0);
      assert.equal(await knex()('oidc_payloads').where({ model: 'Session', id: sessionId }).first(), undefined);
      assert.equal(await gh.context.authorization.forIdentity(identityId), undefined, 'the authorization cache was dropped');
      assert.ok(await knex()('groups').where({ id: groupId }).first(), 'the group itself stays');
      await assert.rejects(gh.context.directoryUsers.remove(user.id, system), appError('user.not_found', 404));
    });

    it('clones identities, their roles, data scopes and group memberships, never the password', async function () {
      const permission = { resource: ADMIN_API_RESOURCE, permission: 'users:read' };
      const roleId = await newRole([permission]);
      const groupRoleId = await newRole([{ resource: ADMIN_API_RESOURCE, permission: 'users:list' }]);
      const groupId = await newGroup([groupRoleId]);
      const source = await gh.context.users.create({ username: uniqueName('lucy'), password: `pw-${randomUUID()}`, department: 'Ops', phone: '0123 456' }, SYSTEM_ACTOR);
      const client = await gh.context.identities.upsert({ username: source.username, kind: 'client', alias: 'Lucy client' }, system);
      await knex()('identity_roles').insert({ tenant_id: tenantId, identity_id: source.defaultIdentityId, role_id: roleId });
      await knex()('group_members').insert({ tenant_id: tenantId, identity_id: client.identity.id, group_id: groupId });
      await gh.context.dataScopes.replace(source.defaultIdentityId!, { [clientKey]: ['*'], [supplierKey]: ['*'] }, system);
      await gh.context.dataScopes.set(client.identity.id, clientKey, ['ROOM'], system);
      await gh.context.identities.setDefault(source.id, client.identity.id, system);

      const username = uniqueName('mark');
      const clone = await gh.context.directoryUsers.clone(source.id, { username, email: `${username}@example.test`, name: 'Mark' }, system);

      assert.notEqual(clone.id, source.id);
      assert.equal(clone.hasPassword, false);
      assert.equal(clone.department, 'Ops');
      assert.equal(clone.phone, null);
      assert.equal(clone.status, 'active');
      const row = await knex()('users').where({ id: clone.id }).first();
      assert.equal(row.password_hash, null);
      assert.deepEqual(
        clone.identities.map((i) => [i.kind, i.alias, i.isDefault]),
        [
          ['internal', username, false],
          ['client', 'Lucy client', true],
        ],
      );
      const [internal, clonedClient] = clone.identities;
      assert.deepEqual(
        internal!.roles.map((r) => r.id),
        [roleId],
      );
      assert.deepEqual(await gh.context.dataScopes.get(tenantId, internal!.id), { [clientKey]: ['*'], [supplierKey]: ['*'] });
      assert.deepEqual(await gh.context.dataScopes.get(tenantId, clonedClient!.id), { [clientKey]: ['ROOM'] });
      assert.deepEqual(
        (await knex()('group_members').where({ identity_id: clonedClient!.id })).map((m) => m.group_id),
        [groupId],
      );
      const authz = await gh.context.authorization.forIdentity(clonedClient!.id);
      assert.deepEqual(authz!.permissionsByResource[ADMIN_API_RESOURCE], ['users:list'], 'the group passes its role on to the clone');
      // The source is untouched.
      assert.equal((await identitiesOf(source.id)).length, 2);
      assert.ok((await gh.context.audit.list(tenantId, { action: 'user.cloned', targetId: clone.id })).length === 1);
      await assert.rejects(gh.context.directoryUsers.clone(source.id, { username, email: `${randomUUID()}@example.test` }, system), appError('user.username_taken', 409));
    });

    it('refuses a clone that would grant roles or data scopes the granter does not hold, writing nothing', async function () {
      const roleId = await newRole([{ resource: ADMIN_API_RESOURCE, permission: 'users:delete' }]);
      const source = await gh.context.users.create({ username: uniqueName('src') }, SYSTEM_ACTOR);
      await knex()('identity_roles').insert({ tenant_id: tenantId, identity_id: source.defaultIdentityId, role_id: roleId });
      const weak = by({ permissionsByResource: { [ADMIN_API_RESOURCE]: ['users:clone'] }, dataScope: { [clientKey]: ['*'] } });
      const username = uniqueName('copy');
      await assert.rejects(gh.context.directoryUsers.clone(source.id, { username, email: `${username}@example.test` }, weak), appError('auth.escalation', 403));

      await knex()('identity_roles').where({ identity_id: source.defaultIdentityId }).delete();
      await gh.context.dataScopes.set(source.defaultIdentityId!, supplierKey, ['*'], system);
      await assert.rejects(gh.context.directoryUsers.clone(source.id, { username, email: `${username}@example.test` }, weak), appError('auth.escalation', 403));
      assert.equal(await gh.context.users.findByUsername(username), undefined, 'nothing was written');

      await gh.context.dataScopes.set(source.defaultIdentityId!, clientKey, ['ROOM'], system);
      await gh.context.dataScopes.remove(source.defaultIdentityId!, supplierKey, system);
      const clone = await gh.context.directoryUsers.clone(source.id, { username, email: `${username}@example.test` }, weak);
      assert.deepEqual(await gh.context.dataScopes.get(tenantId, clone.identities[0]!.id), { [clientKey]: ['ROOM'] });
    });

    describe('list', function () {
      let token: string;
      const made: Record<string, { id: string; username: string }> = {};

      before(async function () {
        token = uniqueName('srch');
        const kind = uniqueName('kind');
        await gh.context.identities.createKind({ kind, label: 'Search kind' }, system);
        const create = async (label: string, fields: { name?: string; email?: string } = {}) => {
          const user = await gh.context.users.create({ username: `${token}${label}`, ...fields }, SYSTEM_ACTOR);
          made[label] = { id: user.id, username: user.username };
          return user;
        };
        await create('_a', { name: 'Percent 50% off' });
        await create('xa', { name: 'Percent 50 off' });
        const c = await create('-c', { email: `${token}-mail@example.test` });
        const d = await create('-d');
        await create('-e');
        await gh.context.identities.upsert({ username: c.username, kind, alias: 'k' }, system);
        const roleId = await newRole();
        await knex()('identity_roles').insert({ tenant_id: tenantId, identity_id: d.defaultIdentityId, role_id: roleId });
        const groupId = await newGroup();
        await knex()('group_members').insert({ tenant_id: tenantId, identity_id: c.defaultIdentityId, group_id: groupId });
        await gh.context.directoryUsers.deactivate(d.id, undefined, system);
        Object.assign(made, { kind: { id: kind, username: '' }, role: { id: roleId, username: '' }, group: { id: groupId, username: '' } });
      });

      const names = (page: { items: { username: string }[] }) => page.items.map((u) => u.username.slice(token.length));

      it('walks all matches in username order, page by page, without repeats', async function () {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await gh.context.directoryUsers.list(tenantId, { q: token, limit: 2, cursor });
          assert.ok(page.items.length <= 2);
          seen.push(...names(page));
          cursor = page.nextCursor ?? undefined;
          pages += 1;
        } while (cursor);
        assert.equal(pages, 3);
        assert.deepEqual([...seen].sort(), ['-c', '-d', '-e', '_a', 'xa']);
        // The database's collation decides where "-" and "_" sort; pages must follow it exactly.
        assert.deepEqual(seen, names(await gh.context.directoryUsers.list(tenantId, { q: token, limit: 200 })));
      });

      it('treats % and _ in the search text literally', async function () {
        assert.deepEqual(names(await gh.context.directoryUsers.list(tenantId, { q: `${token}_` })), ['_a']);
        const percent = await gh.context.directoryUsers.list(tenantId, { q: 'Percent 50%' });
        assert.ok(percent.items.some((u) => u.id === made._a!.id));
        assert.ok(!percent.items.some((u) => u.id === made.xa!.id));
      });

      it('searches email and name too, case-insensitively', async function () {
        assert.deepEqual(names(await gh.context.directoryUsers.list(tenantId, { q: `${token}-MAIL@` })), ['-c']);
      });

      it('filters by status, identity kind, group and role', async function () {
        assert.deepEqual(names(await gh.context.directoryUsers.list(tenantId, { q: token, status: 'inactive' })), ['-d']);
        assert.deepEqual(names(await gh.context.directoryUsers.list(tenantId, { q: token, identityKind: made.kind!.id })), ['-c']);
        assert.deepEqual(names(await gh.context.directoryUsers.list(tenantId, { group: made.group!.id })), ['-c']);
        const byRole = await gh.context.directoryUsers.list(tenantId, { role: made.role!.id });
        assert.deepEqual(names(byRole), ['-d']);
        assert.deepEqual(
          byRole.items[0]!.identities.map((i) => i.roles.map((r) => r.id)),
          [[made.role!.id]],
        );
      });

      it('refuses a cursor it did not issue', async function () {
        await assert.rejects(gh.context.directoryUsers.list(tenantId, { cursor: 'bm90LWEtY3Vyc29y' }), appError('user.invalid_cursor', 400));
      });
    });
  });
});
