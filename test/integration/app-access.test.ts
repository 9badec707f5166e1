// Who may use which application: accepted identity kinds, and 'restricted' applications open
// only to listed users, groups (their member identities) and identity kinds; the same rules
// behind the sign-in step (eligibleIdentities) and GET /me/applications.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import type { AccessMode } from '../../src/services/applications.ts';
import { createApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';

const REDIRECT = 'http://127.0.0.1:9/app-access/callback';

describe(`application access rules (${storageMode})`, function () {
  let gh: TestGatehouse;
  // Lucy has three identities: internal (default), client (member of a group), supplier.
  let lucy: { userId: string; internal: string; client: string; supplier: string };
  let kim: { userId: string; internal: string };
  let groupId: string;

  before(async function () {
    gh = await startTestGatehouse();
    const { knex, tenantId } = gh.context;
    const lucyUser = await gh.context.users.create({ username: uniqueName('lucy') }, SYSTEM_ACTOR);
    const internal: { id: string } = await knex('identities').where({ user_id: lucyUser.id }).first('id');
    const client = randomUUID();
    const supplier = randomUUID();
    await knex('identities').insert([
      { id: client, tenant_id: tenantId, user_id: lucyUser.id, kind: 'client', alias: 'ROOM' },
      { id: supplier, tenant_id: tenantId, user_id: lucyUser.id, kind: 'supplier', alias: 'Acme' },
    ]);
    lucy = { userId: lucyUser.id, internal: internal.id, client, supplier };
    const kimUser = await gh.context.users.create({ username: uniqueName('kim') }, SYSTEM_ACTOR);
    const kimIdentity: { id: string } = await knex('identities').where({ user_id: kimUser.id }).first('id');
    kim = { userId: kimUser.id, internal: kimIdentity.id };
    groupId = randomUUID();
    await knex('groups').insert({ id: groupId, tenant_id: tenantId, name: uniqueName('room-clients'), type: 'team' });
    await knex('group_members').insert({ tenant_id: tenantId, group_id: groupId, identity_id: client });
  });
  after(async () => gh?.close());

  async function app(options: { acceptedIdentityKinds?: string[] | null; access?: { accessMode: AccessMode; users?: string[]; groups?: string[]; identityKinds?: string[] } } = {}) {
    const { application } = await gh.context.applications.create({ name: uniqueName('app'), type: 'web', redirectUris: [REDIRECT], acceptedIdentityKinds: options.acceptedIdentityKinds }, SYSTEM_ACTOR);
    if (options.access) await gh.context.applications.setAccess(application.id, options.access, SYSTEM_ACTOR);
    return application.id;
  }

  const eligible = async (userId: string, clientId: string) => (await gh.context.appAccess.eligibleIdentities(userId, clientId)).map((i) => i.id).sort();
  const sorted = (...ids: string[]) => [...ids].sort();

  it('open to everyone and any kind: every identity of the user', async () => {
    const clientId = await app();
    assert.deepEqual(await eligible(lucy.userId, clientId), sorted(lucy.internal, lucy.client, lucy.supplier));
    assert.deepEqual(await eligible(kim.userId, clientId), [kim.internal]);
  });

  it('accepted identity kinds filter the identities', async () => {
    const clientId = await app({ acceptedIdentityKinds: ['client'] });
    const identities = await gh.context.appAccess.eligibleIdentities(lucy.userId, clientId);
    assert.deepEqual(identities, [{ id: lucy.client, kind: 'client', alias: 'ROOM' }]);
    assert.deepEqual(await eligible(kim.userId, clientId), [], 'Kim has no client identity');
    const two = await app({ acceptedIdentityKinds: ['internal', 'supplier'] });
    assert.deepEqual(await eligible(lucy.userId, two), sorted(lucy.internal, lucy.supplier));
  });

  it('restricted with no rules: nobody', async () => {
    const clientId = await app({ access: { accessMode: 'restricted' } });
    assert.deepEqual(await eligible(lucy.userId, clientId), []);
    assert.deepEqual(await eligible(kim.userId, clientId), []);
  });

  it('restricted to a user: every accepted identity of that user, nobody else', async () => {
    const clientId = await app({ access: { accessMode: 'restricted', users: [lucy.userId] } });
    assert.deepEqual(await eligible(lucy.userId, clientId), sorted(lucy.internal, lucy.client, lucy.supplier));
    assert.deepEqual(await eligible(kim.userId, clientId), []);
  });

  it('restricted to a group: only the member identity', async () => {
    const clientId = await app({ access: { accessMode: 'restricted', groups: [groupId] } });
    assert.deepEqual(await eligible(lucy.userId, clientId), [lucy.client]);
    assert.deepEqual(await eligible(kim.userId, clientId), []);
  });

  it('restricted to an identity kind: only identities of that kind', async () => {
    const clientId = await app({ access: { accessMode: 'restricted', identityKinds: ['supplier'] } });
    assert.deepEqual(await eligible(lucy.userId, clientId), [lucy.supplier]);
    assert.deepEqual(await eligible(kim.userId, clientId), []);
  });

  it('accepted kinds apply on top of the access rules', async () => {
    const clientId = await app({ acceptedIdentityKinds: ['internal'], access: { accessMode: 'restricted', users: [lucy.userId], groups: [groupId] } });
    // Lucy is listed, but only her internal identity is of an accepted kind; her client identity
    // is in the listed group but of a kind the application does not accept.
    assert.deepEqual(await eligible(lucy.userId, clientId), [lucy.internal]);
  });

  it('switching back to everyone keeps the rules for later, and they apply again when restricted', async () => {
    const clientId = await app({ access: { accessMode: 'restricted', identityKinds: ['supplier'] } });
    await gh.context.applications.update(clientId, { accessMode: 'everyone' }, SYSTEM_ACTOR);
    assert.deepEqual(await eligible(kim.userId, clientId), [kim.internal]);
    await gh.context.applications.update(clientId, { accessMode: 'restricted' }, SYSTEM_ACTOR);
    assert.deepEqual(await eligible(kim.userId, clientId), []);
    assert.deepEqual(await eligible(lucy.userId, clientId), [lucy.supplier]);
  });

  it('an unknown application has no eligible identities', async () => {
    assert.deepEqual(await eligible(lucy.userId, uniqueName('no-such-app')), []);
  });

  it('applicationsForUser agrees with eligibleIdentities and leaves out service clients and apps with no eligible identity', async () => {
    const open = await app();
    const clientsOnly = await app({ acceptedIdentityKinds: ['client'] });
    const byGroup = await app({ access: { accessMode: 'restricted', groups: [groupId] } });
    const closed = await app({ access: { accessMode: 'restricted' } });
    const { application: service } = await gh.context.applications.create({ name: uniqueName('svc'), type: 'service' }, SYSTEM_ACTOR);

    const apps = await gh.context.appAccess.applicationsForUser(lucy.userId);
    const byId = new Map(apps.map((a) => [a.clientId, a]));
    for (const clientId of [open, clientsOnly, byGroup]) {
      assert.ok(byId.has(clientId), `${clientId} listed`);
      assert.deepEqual(
        byId
          .get(clientId)!
          .identities.map((i) => i.id)
          .sort(),
        await eligible(lucy.userId, clientId),
      );
    }
    assert.ok(!byId.has(closed), 'a restricted app that lists nobody is not listed');
    assert.ok(!byId.has(service.id), 'a service client is not an app users sign in to');
    // Ordered by name (compared on names whose order no collation disputes).
    const names = apps.map((a) => a.name).filter((n) => /^app-[0-9a-f]{10}$/.test(n));
    assert.deepEqual(names, [...names].sort(), 'ordered by name');

    const kimApps = new Set((await gh.context.appAccess.applicationsForUser(kim.userId)).map((a) => a.clientId));
    assert.ok(kimApps.has(open));
    assert.ok(!kimApps.has(clientsOnly) && !kimApps.has(byGroup));
  });

  it('GET /me/applications lists what the calling user may use, with the qualifying identities', async () => {
    const caller = await createApiCaller(gh, { permissions: [] });
    const open = await app();
    const listed = await app({ acceptedIdentityKinds: ['internal'], access: { accessMode: 'restricted', users: [caller.userId] } });
    const other = await app({ access: { accessMode: 'restricted', users: [lucy.userId] } });
    const response = await caller.request('GET', '/me/applications');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const byId = new Map<string, { name: string; type: string; identities: { id: string; kind: string }[] }>(response.body.applications.map((a: { clientId: string }) => [a.clientId, a]));
    assert.deepEqual(
      byId.get(listed)?.identities.map((i) => i.id),
      [caller.identityId],
    );
    assert.equal(byId.get(listed)?.type, 'web');
    assert.ok(byId.has(open));
    assert.ok(!byId.has(other), "another user's restricted app is not listed");
  });
});
