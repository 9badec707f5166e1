// Service accounts and access keys through the admin API, and the keys used for real as client
// secrets at the token endpoint (client credentials): several keys at once, revocation effective
// at once (on every node when two share PostgreSQL and Redis), expiry, deactivation.
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import type { AuditEvent } from '../../src/queries/audit.ts';
import { apiCallerForSuite, apiRequest } from '../helpers/admin-api.ts';
import { gatehouseForSuite, startTestGatehouse, storageMode, TestClock, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { eventually } from '../helpers/assertions.ts';

const SA_PERMISSIONS = ['service-accounts:list', 'service-accounts:create', 'service-accounts:read', 'service-accounts:update', 'service-accounts:delete', 'access-keys:create', 'access-keys:list', 'access-keys:revoke'];

function basicAuth(clientId: string, clientSecret: string): string {
  // RFC 6749 §2.3.1: both parts form-urlencoded before base64.
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

/** A raw client-credentials token request with client_secret_basic. */
async function tokenRequest(gh: Pick<TestGatehouse, 'issuer'>, clientId: string, secret: string, params: Record<string, string> = {}) {
  const response = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

async function assertAccepted(gh: Pick<TestGatehouse, 'issuer'>, clientId: string, secret: string, what: string) {
  const { status, body } = await tokenRequest(gh, clientId, secret);
  assert.equal(status, 200, `${what}: ${JSON.stringify(body)}`);
  assert.ok(body.access_token, what);
}

async function assertRefused(gh: Pick<TestGatehouse, 'issuer'>, clientId: string, secret: string, what: string) {
  const { status, body } = await tokenRequest(gh, clientId, secret);
  assert.equal(status, 401, `${what}: ${JSON.stringify(body)}`);
  assert.equal(body.error, 'invalid_client', what);
}

describe(`service accounts and access keys (${storageMode})`, function () {
  this.timeout(60_000);
  const clock = new TestClock();
  const gh = gatehouseForSuite({}, { clock });
  const admin = apiCallerForSuite(gh, { permissions: SA_PERMISSIONS });

  async function createAccount(name = uniqueName('svc')): Promise<{ id: string; identityId: string; name: string }> {
    const response = await admin.request('POST', '/service-accounts', { name, description: 'test service' });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body;
  }

  async function createKey(accountId: string, body: Record<string, unknown> = {}): Promise<{ id: string; clientId: string; secret: string; prefix: string; expiresAt: string | null }> {
    const response = await admin.request('POST', `/service-accounts/${accountId}/keys`, body);
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body;
  }

  const auditEvents = (action: string, targetId: string): Promise<AuditEvent[]> => gh.context.audit.list(gh.context.tenantId, { action, targetId });

  it('creates a service account with its one identity of kind service, in one go', async () => {
    const name = uniqueName('billing');
    const account = await createAccount(name);
    assert.equal(account.name, name);
    assert.ok(account.identityId);
    const identity = await gh.context.knex('identities').where({ id: account.identityId }).first();
    assert.equal(identity.service_account_id, account.id);
    assert.equal(identity.kind, 'service');
    assert.equal(identity.alias, name);

    const read = await admin.request('GET', `/service-accounts/${account.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.identityId, account.identityId);
    assert.equal(read.body.status, 'active');
    const list = await admin.request('GET', '/service-accounts');
    assert.ok(list.body.serviceAccounts.some((a: { id: string }) => a.id === account.id));

    const duplicate = await admin.request('POST', '/service-accounts', { name: name.toUpperCase() });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.code, 'service_account.name_taken');
    assert.equal((await auditEvents('service_account.created', account.id)).length, 1);
  });

  it('accepts each of two keys in a real client-credentials grant, and lists them without secrets', async () => {
    const account = await createAccount();
    const first = await createKey(account.id, { description: 'blue' });
    const second = await createKey(account.id, { description: 'green' });
    assert.equal(first.clientId, account.id);
    assert.match(first.secret, /^gh_sk_[A-Za-z0-9_-]{43}$/);
    assert.equal(first.prefix, first.secret.slice(0, 12));
    assert.notEqual(first.secret, second.secret);

    // openid-client as a real service would use it: JWT access token for a registered API.
    const resource = `${gh.issuer}/${uniqueName('orders-api')}`;
    await gh.context.apiResources.upsert({ identifier: resource, name: 'Orders', scopes: ['orders:read'] }, SYSTEM_ACTOR);
    for (const key of [first, second]) {
      const config = await client.discovery(new URL(gh.issuer), account.id, key.secret, undefined, { execute: [client.allowInsecureRequests] });
      const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:read', resource });
      const claims = decodeJwt(tokens.access_token);
      assert.equal(claims.client_id, account.id);
      assert.equal(claims.aud, resource);
      assert.deepEqual((claims.identity as { id: string; kind: string }).id, account.identityId);
      assert.equal((claims.identity as { kind: string }).kind, 'service');
      // The account holds no permission of the Orders API: its token's scope grants nothing there
      // (RFC 9068 §2.2.3; the scope follows the identity's permissions).
      assert.equal(claims.scope ?? '', '');
      assert.deepEqual(claims.permissions, []);
    }

    const listed = await admin.request('GET', `/service-accounts/${account.id}/keys`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.keys.map((k: { id: string }) => k.id).sort(), [first.id, second.id].sort());
    const text = JSON.stringify(listed.body);
    assert.ok(!text.includes(first.secret) && !text.includes(second.secret), 'no secret in the listing');
    assert.ok(!/hmac|hash/i.test(text), 'no hash in the listing');
    assert.deepEqual(listed.body.keys.map((k: { description: string }) => k.description).sort(), ['blue', 'green']);

    // last_used_at is written off the request path.
    const used = await eventually(async () => {
      const keys = (await admin.request('GET', `/service-accounts/${account.id}/keys`)).body.keys as { lastUsedAt: string | null }[];
      return keys.every((k) => k.lastUsedAt) ? keys : undefined;
    }, 'lastUsedAt on both keys');
    assert.ok(used.every((k) => Date.parse(k.lastUsedAt!) > Date.now() - 60_000));

    const created = await auditEvents('access_key.created', first.id);
    assert.equal(created.length, 1);
    assert.ok(!JSON.stringify(created[0]!.details).includes(first.secret), 'the audit log never holds the secret');
  });

  it('refuses a revoked key with invalid_client at once while the other key keeps working', async () => {
    const account = await createAccount();
    const old = await createKey(account.id);
    const fresh = await createKey(account.id);
    await assertAccepted(gh, account.id, old.secret, 'old key before revocation'); // now cached
    const revoked = await admin.request('DELETE', `/service-accounts/${account.id}/keys/${old.id}`);
    assert.equal(revoked.status, 204);
    await assertRefused(gh, account.id, old.secret, 'revoked key');
    await assertAccepted(gh, account.id, fresh.secret, 'the other key');

    const listed = (await admin.request('GET', `/service-accounts/${account.id}/keys`)).body.keys as { id: string; revokedAt: string | null }[];
    assert.ok(listed.find((k) => k.id === old.id)?.revokedAt);
    assert.equal(listed.find((k) => k.id === fresh.id)?.revokedAt, null);
    assert.equal((await admin.request('DELETE', `/service-accounts/${account.id}/keys/${old.id}`)).status, 204, 'revoking again changes nothing');
    assert.equal((await auditEvents('access_key.revoked', old.id)).length, 1);
  });

  it('refuses an expired key', async () => {
    const account = await createAccount();
    const key = await createKey(account.id, { expiresAt: new Date(clock.now() + 60_000).toISOString() });
    assert.ok(key.expiresAt);
    await assertAccepted(gh, account.id, key.secret, 'before expiry'); // cached with its expiry
    clock.advance(61);
    try {
      await assertRefused(gh, account.id, key.secret, 'after expiry');
    } finally {
      clock.advance(-61);
    }
  });

  it('refuses every key of an inactive service account, and accepts them again when reactivated', async () => {
    const account = await createAccount();
    const key = await createKey(account.id);
    await assertAccepted(gh, account.id, key.secret, 'active account');
    const deactivated = await admin.request('PATCH', `/service-accounts/${account.id}`, { status: 'inactive' });
    assert.equal(deactivated.status, 200);
    assert.equal(deactivated.body.status, 'inactive');
    await assertRefused(gh, account.id, key.secret, 'inactive account');
    assert.equal((await admin.request('PATCH', `/service-accounts/${account.id}`, { status: 'active' })).status, 200);
    await assertAccepted(gh, account.id, key.secret, 'reactivated account');
    const updates = await auditEvents('service_account.updated', account.id);
    assert.deepEqual(updates.map((e) => (e.details.after as { status: string }).status).sort(), ['active', 'inactive']);
  });

  it("refuses another account's key, a made-up key, and every key of a deleted account", async () => {
    const a = await createAccount();
    const b = await createAccount();
    const keyA = await createKey(a.id);
    const keyB = await createKey(b.id);
    await assertRefused(gh, a.id, keyB.secret, "b's key for a");
    await assertRefused(gh, a.id, `${keyA.secret.slice(0, -4)}AAAA`, 'altered key');
    await assertRefused(gh, a.id, 'not-even-an-access-key', 'made-up secret');
    await assertAccepted(gh, a.id, keyA.secret, 'the right key');
    assert.equal((await admin.request('DELETE', `/service-accounts/${a.id}`)).status, 204);
    await assertRefused(gh, a.id, keyA.secret, 'deleted account');
    assert.equal((await admin.request('GET', `/service-accounts/${a.id}`)).status, 404);
    assert.equal(await gh.context.knex('identities').where({ service_account_id: a.id }).first(), undefined, 'its identity went with it');
    assert.equal((await auditEvents('service_account.deleted', a.id)).length, 1);
  });

  it('renames the identity with the account', async () => {
    const account = await createAccount();
    const name = uniqueName('renamed');
    const response = await admin.request('PATCH', `/service-accounts/${account.id}`, { name, description: null });
    assert.equal(response.status, 200);
    assert.equal(response.body.name, name);
    assert.equal(response.body.description, null);
    const identity = await gh.context.knex('identities').where({ id: account.identityId }).first('alias');
    assert.equal(identity.alias, name);
  });

  it('validates key requests', async () => {
    const account = await createAccount();
    const past = await admin.request('POST', `/service-accounts/${account.id}/keys`, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    assert.equal(past.status, 400);
    assert.match(past.body.title, /future/);
    const notADate = await admin.request('POST', `/service-accounts/${account.id}/keys`, { expiresAt: 'tomorrow' });
    assert.equal(notADate.status, 400);
    const unknownField = await admin.request('POST', `/service-accounts/${account.id}/keys`, { secret: 'mine' });
    assert.equal(unknownField.status, 400);
    const missing = '00000000-0000-4000-8000-000000000000';
    assert.equal((await admin.request('POST', `/service-accounts/${missing}/keys`, {})).status, 404);
    assert.equal((await admin.request('GET', `/service-accounts/${missing}/keys`)).status, 404);
    assert.equal((await admin.request('DELETE', `/service-accounts/${account.id}/keys/${missing}`)).status, 404);
    const other = await createAccount();
    const otherKey = await createKey(other.id);
    assert.equal((await admin.request('DELETE', `/service-accounts/${account.id}/keys/${otherKey.id}`)).status, 404, 'a key is revoked only through its own account');
  });

  it('caps the usable keys per account', async () => {
    const account = await createAccount();
    const keys = [];
    for (let i = 0; i < 10; i += 1) keys.push(await createKey(account.id));
    const over = await admin.request('POST', `/service-accounts/${account.id}/keys`, {});
    assert.equal(over.status, 409);
    assert.equal(over.body.code, 'access_key.limit');
    await admin.request('DELETE', `/service-accounts/${account.id}/keys/${keys[0]!.id}`);
    await createKey(account.id);
  });

  it('a service account calling GET /me/applications is refused with 403 (it signs in to no application)', async () => {
    const account = await createAccount();
    const key = await createKey(account.id);
    const { status, body } = await tokenRequest(gh, account.id, key.secret, { resource: `${gh.issuer}/api`, scope: 'admin' });
    assert.equal(status, 200, JSON.stringify(body));
    const response = await apiRequest(gh, body.access_token, 'GET', '/me/applications');
    assert.equal(response.status, 403, JSON.stringify(response.body));
    assert.equal(response.body.code, 'me.user_only');
  });

  describe('two nodes on the same PostgreSQL and Redis', function () {
    let second: TestGatehouse | undefined;

    before(async function () {
      if (!process.env.DATABASE_URL || !process.env.REDIS_URL) this.skip();
      second = await startTestGatehouse({ GATEHOUSE_REDIS_PREFIX: gh.config.redisPrefix });
    });
    after(async () => second?.close());

    it('a key revoked on node A is refused on node B at once', async () => {
      const account = await createAccount();
      const key = await createKey(account.id);
      const keep = await createKey(account.id);
      // Both nodes have the account and its keys in their caches.
      await assertAccepted(gh, account.id, key.secret, 'node A');
      await assertAccepted(second!, account.id, key.secret, 'node B');
      const revoked = await admin.request('DELETE', `/service-accounts/${account.id}/keys/${key.id}`);
      assert.equal(revoked.status, 204);
      await assertRefused(second!, account.id, key.secret, 'node B right after revocation on A');
      await assertRefused(gh, account.id, key.secret, 'node A');
      await assertAccepted(second!, account.id, keep.secret, 'the other key on node B');
    });

    it('a service account deactivated on node A is refused on node B at once', async () => {
      const account = await createAccount();
      const key = await createKey(account.id);
      await assertAccepted(second!, account.id, key.secret, 'node B');
      assert.equal((await admin.request('PATCH', `/service-accounts/${account.id}`, { status: 'inactive' })).status, 200);
      await assertRefused(second!, account.id, key.secret, 'node B right after deactivation on A');
    });
  });
});
