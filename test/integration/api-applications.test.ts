// The applications admin API: one permission per route, secrets shown once and never again,
// access rules, validation, the OIDC client following every change at once, and the audit log.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '../../src/queries/audit.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { apiCallerForSuite, createApiCaller } from '../helpers/admin-api.ts';
import { gatehouseForSuite, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';

const APP_PERMISSIONS = ['applications:list', 'applications:read', 'applications:create', 'applications:update', 'applications:delete', 'applications:set-access', 'applications:rotate-secret'];
const CALLBACK = 'https://app.example.test/callback';

function basicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

async function clientCredentials(gh: TestGatehouse, clientId: string, secret: string): Promise<number> {
  const response = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe(`applications admin API (${storageMode})`, function () {
  this.timeout(60_000);
  const gh = gatehouseForSuite();
  const admin = apiCallerForSuite(gh, { permissions: APP_PERMISSIONS });

  const auditEvents = (action: string, targetId: string): Promise<AuditEvent[]> => gh.context.audit.list(gh.context.tenantId, { action, targetId });

  async function createWebApp(extra: Record<string, unknown> = {}) {
    const response = await admin.request('POST', '/applications', { name: uniqueName('web'), type: 'web', redirectUris: [CALLBACK], ...extra });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body as { clientId: string; clientSecret: string; name: string };
  }

  it('guards each route with its own permission', async () => {
    const lister = await createApiCaller(gh, { permissions: ['applications:list'] });
    assert.equal((await lister.request('GET', '/applications')).status, 200);
    const created = await createWebApp();
    for (const [method, path, body] of [
      ['GET', `/applications/${created.clientId}`],
      ['POST', '/applications', { name: 'x', type: 'service' }],
      ['PATCH', `/applications/${created.clientId}`, { name: 'x' }],
      ['DELETE', `/applications/${created.clientId}`],
      ['PUT', `/applications/${created.clientId}/access`, { accessMode: 'everyone' }],
      ['POST', `/applications/${created.clientId}/secret`],
    ] as const) {
      const response = await lister.request(method, path, body);
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.equal(response.body.code, 'auth.forbidden');
    }
    const rotator = await createApiCaller(gh, { permissions: ['applications:rotate-secret'] });
    assert.equal((await rotator.request('POST', `/applications/${created.clientId}/secret`)).status, 200);
  });

  it('creates a confidential application and shows its secret once; a public one gets none', async () => {
    const created = await createWebApp({ acceptedIdentityKinds: ['internal', 'client'], firstParty: false });
    assert.match(created.clientSecret, /^[A-Za-z0-9_-]{43}$/);
    const read = await admin.request('GET', `/applications/${created.clientId}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.clientSecret, undefined);
    assert.ok(!JSON.stringify(read.body).includes(created.clientSecret));
    assert.ok(!/hmac/.test(JSON.stringify(read.body)), 'never the stored hash either');
    assert.deepEqual(read.body.acceptedIdentityKinds, ['internal', 'client']);
    assert.equal(read.body.firstParty, false);
    assert.equal(read.body.confidential, true);
    assert.deepEqual(read.body.access, { accessMode: 'everyone', users: [], groups: [], identityKinds: [] });
    const list = await admin.request('GET', '/applications');
    assert.ok(!JSON.stringify(list.body).includes(created.clientSecret));
    assert.ok(list.body.applications.some((a: { clientId: string }) => a.clientId === created.clientId));

    const spa = await admin.request('POST', '/applications', { name: uniqueName('spa'), type: 'spa', redirectUris: [CALLBACK] });
    assert.equal(spa.status, 201);
    assert.equal(spa.body.clientSecret, undefined);
    assert.equal(spa.body.confidential, false);

    const events = await auditEvents('application.created', created.clientId);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.actorId, admin.userId);
    assert.ok(!JSON.stringify(events[0]!.details).includes(created.clientSecret));
  });

  it('validates what it is given', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/applications', { name: 'no uris', type: 'web' }],
      ['POST', '/applications', { name: 'bad uri', type: 'web', redirectUris: ['http://evil.example/cb'] }],
      ['POST', '/applications', { name: 'svc', type: 'service', redirectUris: [CALLBACK] }],
      ['POST', '/applications', { name: 'kinds', type: 'web', redirectUris: [CALLBACK], acceptedIdentityKinds: ['no-such-kind'] }],
      ['POST', '/applications', { name: 'kinds', type: 'web', redirectUris: [CALLBACK], acceptedIdentityKinds: [] }],
    ];
    for (const [method, path, body] of cases) {
      const response = await admin.request(method, path, body);
      assert.equal(response.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
      assert.match(response.headers.get('content-type') ?? '', /problem\+json/);
    }
    const app = await createWebApp();
    for (const body of [{ redirectUris: [] }, { type: 'spa' }, { clientSecret: 'x'.repeat(40) }, { acceptedIdentityKinds: ['nope-kind'] }, { accessMode: 'some' }]) {
      const response = await admin.request('PATCH', `/applications/${app.clientId}`, body);
      assert.equal(response.status, 400, `PATCH ${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
    }
    assert.equal((await admin.request('PATCH', `/applications/${uniqueName('missing')}`, { name: 'x' })).status, 404);
    const clash = await admin.request('POST', '/applications', { name: uniqueName('dup'), type: 'service', clientId: app.clientId });
    assert.equal(clash.status, 409);
  });

  it('updates an application, and the OIDC client follows at once', async () => {
    const app = await createWebApp();
    assert.deepEqual((await gh.context.applications.findForOidc(app.clientId))?.redirectUris, [CALLBACK]); // cached now
    const other = 'https://app.example.test/other';
    const name = uniqueName('renamed');
    const response = await admin.request('PATCH', `/applications/${app.clientId}`, { name, redirectUris: [other], postLogoutRedirectUris: [other], acceptedIdentityKinds: null, accessMode: 'restricted', firstParty: false });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.name, name);
    assert.deepEqual(response.body.redirectUris, [other]);
    assert.equal(response.body.acceptedIdentityKinds, null);
    assert.equal(response.body.accessMode, 'restricted');
    const cached = await gh.context.applications.findForOidc(app.clientId);
    assert.deepEqual(cached?.redirectUris, [other]);
    assert.equal(cached?.accessMode, 'restricted');

    const [event] = await auditEvents('application.updated', app.clientId);
    assert.ok(event);
    assert.deepEqual((event.details.before as { redirectUris: string[] }).redirectUris, [CALLBACK]);
    assert.deepEqual((event.details.after as { redirectUris: string[] }).redirectUris, [other]);
  });

  it('replaces the access rules, checking that users, groups and kinds exist', async () => {
    const app = await createWebApp();
    const user = await gh.context.users.create({ username: uniqueName('listed') }, SYSTEM_ACTOR);
    const groupId = randomUUID();
    await gh.context.knex('groups').insert({ id: groupId, tenant_id: gh.context.tenantId, name: uniqueName('grp'), type: 'team' });

    const set = await admin.request('PUT', `/applications/${app.clientId}/access`, { accessMode: 'restricted', users: [user.id, user.id], groups: [groupId.toUpperCase()], identityKinds: ['supplier'] });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body, { accessMode: 'restricted', users: [user.id], groups: [groupId], identityKinds: ['supplier'] });
    const read = await admin.request('GET', `/applications/${app.clientId}`);
    assert.deepEqual(read.body.access, set.body);
    assert.equal(read.body.accessMode, 'restricted');
    assert.equal((await gh.context.appAccess.eligibleIdentities(user.id, app.clientId)).length, 1, 'the listed user may use it');

    const replaced = await admin.request('PUT', `/applications/${app.clientId}/access`, { accessMode: 'everyone' });
    assert.deepEqual(replaced.body, { accessMode: 'everyone', users: [], groups: [], identityKinds: [] });

    for (const body of [
      { accessMode: 'restricted', users: [randomUUID()] },
      { accessMode: 'restricted', groups: [randomUUID()] },
      { accessMode: 'restricted', identityKinds: ['no-such-kind'] },
      { accessMode: 'restricted', users: ['not-a-uuid'] },
      { users: [user.id] },
    ]) {
      const response = await admin.request('PUT', `/applications/${app.clientId}/access`, body);
      assert.equal(response.status, 400, JSON.stringify(body));
    }
    assert.equal((await admin.request('PUT', `/applications/${uniqueName('missing')}/access`, { accessMode: 'everyone' })).status, 404);
    const events = await auditEvents('application.access_changed', app.clientId);
    assert.equal(events.length, 2);
    assert.deepEqual(events[1]!.details.after, { accessMode: 'restricted', users: [user.id], groups: [groupId], identityKinds: ['supplier'] });
  });

  it('rotates the secret of a confidential application: the new one works, the old one stops at once', async () => {
    const created = await admin.request('POST', '/applications', { name: uniqueName('svc'), type: 'service' });
    assert.equal(created.status, 201);
    const { clientId, clientSecret: old } = created.body as { clientId: string; clientSecret: string };
    assert.equal(await clientCredentials(gh, clientId, old), 200);
    const rotated = await admin.request('POST', `/applications/${clientId}/secret`);
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.clientId, clientId);
    assert.notEqual(rotated.body.clientSecret, old);
    assert.equal(await clientCredentials(gh, clientId, old), 401);
    assert.equal(await clientCredentials(gh, clientId, rotated.body.clientSecret), 200);
    const [event] = await auditEvents('application.secret_rotated', clientId);
    assert.ok(event);
    assert.ok(!JSON.stringify(event.details).includes(rotated.body.clientSecret));

    const spa = await admin.request('POST', '/applications', { name: uniqueName('spa'), type: 'spa', redirectUris: [CALLBACK] });
    const refused = await admin.request('POST', `/applications/${spa.body.clientId}/secret`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'application.public_client');
  });

  it('deletes an application: gone from the API and from the token endpoint', async () => {
    const created = await admin.request('POST', '/applications', { name: uniqueName('svc'), type: 'service' });
    const { clientId, clientSecret } = created.body as { clientId: string; clientSecret: string };
    assert.equal(await clientCredentials(gh, clientId, clientSecret), 200);
    assert.equal((await admin.request('DELETE', `/applications/${clientId}`)).status, 204);
    assert.equal((await admin.request('GET', `/applications/${clientId}`)).status, 404);
    assert.equal(await clientCredentials(gh, clientId, clientSecret), 401);
    assert.equal((await admin.request('DELETE', `/applications/${clientId}`)).status, 404);
    assert.equal((await auditEvents('application.deleted', clientId)).length, 1);
  });

  it('refuses an application whose client_id is a service account id', async () => {
    const account = await gh.context.serviceAccounts.create({ name: uniqueName('sa') }, SYSTEM_ACTOR);
    for (const clientId of [account.id, account.id.toUpperCase()]) {
      const response = await admin.request('POST', '/applications', { name: uniqueName('hijack'), type: 'service', clientId });
      assert.equal(response.status, 409, clientId);
    }
  });
});
