// The oidc-provider storage adapter on the key-value store with its durable PostgreSQL copy
// (ARCHITECTURE.md, "Where state lives"): losing the store must not lose a refresh token or let a
// rotated one be used twice, and single use is decided atomically however many requests race for
// it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Adapter } from 'oidc-provider';
import { createAdapterFactory, type AdapterDeps } from '../../src/oidc/adapter.ts';
import { createMemoryStore } from '../../src/store/index.ts';
import { startTestGatehouse, storageMode, type TestGatehouse } from '../helpers/gatehouse.ts';

/** assert.rejects validator: oidc-provider's InvalidGrant with this detail. */
const invalidGrant =
  (detail: RegExp) =>
  (error: unknown): true => {
    const e = error as { error?: string; error_detail?: string };
    assert.equal(e.error, 'invalid_grant');
    assert.match(String(e.error_detail), detail);
    return true;
  };

describe(`oidc-provider adapter (${storageMode})`, function () {
  let gh: TestGatehouse;
  let deps: AdapterDeps;

  before(async function () {
    gh = await startTestGatehouse();
    const { store, payloads, applications, serviceAccounts, tenantId } = gh.context;
    deps = { store, payloads, applications, serviceAccounts, tenantId, grantIndexTtl: 3600, refreshReuseGraceSeconds: async () => 0 };
  });

  after(async function () {
    await gh?.close();
  });

  const refreshPayload = (grantId: string) => ({ jti: randomUUID(), kind: 'RefreshToken', grantId, accountId: randomUUID(), clientId: 'some-client', scope: 'openid', exp: Math.floor(Date.now() / 1000) + 600 });

  it('keeps a refresh token when the store is lost: found from PostgreSQL, still used only once', async function () {
    const adapter = createAdapterFactory(deps)('RefreshToken');
    const grantId = randomUUID();
    const token = refreshPayload(grantId);
    await adapter.upsert(token.jti, token, 600);
    assert.equal((await adapter.find(token.jti))?.grantId, grantId);

    // Another node whose store is empty: a flushed or replaced Redis.
    const emptyStore = createMemoryStore();
    try {
      const afterLoss: Adapter = createAdapterFactory({ ...deps, store: emptyStore })('RefreshToken');
      const found = await afterLoss.find(token.jti);
      assert.equal(found?.grantId, grantId, 'the durable copy answers');
      assert.equal(found?.consumed, undefined);
      await afterLoss.consume(token.jti);
      // Used once on the node without its hot copy: every node refuses it now.
      await assert.rejects(afterLoss.consume(token.jti), invalidGrant(/already used/));
      await assert.rejects(adapter.consume(token.jti), invalidGrant(/already used/));
      const again = createAdapterFactory({ ...deps, store: createMemoryStore() })('RefreshToken');
      assert.ok((await again.find(token.jti)) === undefined || typeof (await again.find(token.jti))?.consumed === 'number', 'a consumed token is never handed out as unused');
    } finally {
      await emptyStore.close();
    }
  });

  it('lets exactly one of 20 parallel rotations of a refresh token win, across nodes with and without the hot copy', async function () {
    const grantId = randomUUID();
    const token = refreshPayload(grantId);
    const withStore = createAdapterFactory(deps)('RefreshToken');
    await withStore.upsert(token.jti, token, 600);
    const cold = createMemoryStore();
    try {
      const withoutStore = createAdapterFactory({ ...deps, store: cold })('RefreshToken');
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? withStore : withoutStore).consume(token.jti)));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    } finally {
      await cold.close();
    }
  });

  it('consumes an authorization code once under 20 parallel attempts, the marker living as long as the code', async function () {
    const adapter = createAdapterFactory(deps)('AuthorizationCode');
    const code = { jti: randomUUID(), kind: 'AuthorizationCode', grantId: randomUUID(), accountId: randomUUID(), clientId: 'some-client', exp: Math.floor(Date.now() / 1000) + 60 };
    await adapter.upsert(code.jti, code, 60);
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => adapter.consume(code.jti)));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    // The losers revoked the code's grant (RFC 6749 §4.1.2), the code with it.
    assert.equal(await adapter.find(code.jti), undefined);
    const ttl = await deps.store.ttl(`oidc:consumed:AuthorizationCode:${code.jti}`);
    assert.ok(ttl !== undefined && ttl > 50 && ttl <= 60, `marker ttl ${ttl}`);
  });

  it('writes a session with its uid index and its durable copy', async function () {
    const adapter = createAdapterFactory(deps)('Session');
    const id = randomUUID();
    const uid = randomUUID();
    await adapter.upsert(id, { jti: id, uid, kind: 'Session', accountId: randomUUID(), exp: Math.floor(Date.now() / 1000) + 600 }, 600);
    assert.equal((await adapter.findByUid(uid))?.jti, id);
    assert.equal((await deps.payloads.find('Session', id))?.payload.uid, uid);
    await adapter.destroy(id);
    assert.equal(await adapter.findByUid(uid), undefined);
    assert.equal(await deps.payloads.find('Session', id), undefined);
  });
});
