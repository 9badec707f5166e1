// Bearer artefacts are stored under a keyed hash of their value, never the value itself
// (RFC 6819 §5.1.4.1.3; OWASP ASVS 5 V6.4.1 / V7.2): the id oidc-provider gives the adapter is the
// refresh token, the opaque access token, the authorization code, the session cookie, the
// interaction cookie. Between oidc-provider and the storage adapter (adapter.ts), this layer
// turns each id into HMAC-SHA256(hashKey, "oidc-artefact:<model>:<id>") — the key family of client
// secrets (services/secrets.ts) — and takes the value out of the stored payload (`jti`, and the
// session cookie an interaction remembers), putting `jti` back from the id it was asked for. So a
// PostgreSQL dump, a Redis KEYS or a Redis dump holds nothing that can be presented to Gatehouse.
//
// Every adapter call hashes the same way, so find, consume, destroy and findByUid agree; grant
// ids are not bearer values (nothing accepts a grant id) and stay as they are, so revokeByGrantId
// and the per-grant index keep revoking everything a grant issued.
//
// Artefacts stored before this layer existed keep working: PostgreSQL rows are re-keyed once at
// start (rehashLegacyPayloadIds), and a store entry under a raw id is moved under its hash the
// first time it is read, or expires with its TTL.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { OidcPayloadQueries } from '../queries/oidc-payloads.ts';
import { keyedHash } from '../services/secrets.ts';
import type { KeyValueStore } from '../store/types.ts';
import { consumedKey, payloadKey } from './adapter.ts';
import { interactionWithoutSessionCookie } from './internals.ts';

type AdapterFactory = (model: string) => Adapter;

/** Models whose ids are not bearer values: clients (public ids) and grants. */
const PLAIN_ID_MODELS = new Set(['Client', 'Grant']);

/** The prefix every hashed id starts with (keyedHash's format). */
export const HASHED_ID_PREFIX = 'hmac-sha256:';

export function artefactRef(hashKey: Buffer, model: string, id: string): string {
  return keyedHash(hashKey, `oidc-artefact:${model}:${id}`);
}

/** The payload as stored: without the bearer value itself. */
function storable(model: string, payload: AdapterPayload): AdapterPayload {
  const { jti: _jti, ...rest } = payload;
  // The session cookie's value, which oidc-provider copies into the interaction.
  return model === 'Interaction' ? interactionWithoutSessionCookie(rest) : rest;
}

const epoch = () => Math.floor(Date.now() / 1000);

class HashedIdAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly base: Adapter,
    private readonly deps: { hashKey: Buffer; store: KeyValueStore },
  ) {}

  private ref(id: string): string {
    return artefactRef(this.deps.hashKey, this.model, id);
  }

  upsert(id: string, payload: AdapterPayload, expiresIn: number) {
    return this.base.upsert(this.ref(id), storable(this.model, payload), expiresIn);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const found = (await this.base.find(this.ref(id))) ?? (await this.moveLegacy(id));
    return found ? { ...found, jti: id } : undefined;
  }

  /** A session found by its uid (not a bearer value): its cookie value is not known, nor needed. */
  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return (await this.base.findByUid(uid)) ?? undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return (await this.base.findByUserCode(this.ref(userCode))) ?? undefined;
  }

  consume(id: string) {
    return this.base.consume(this.ref(id));
  }

  destroy(id: string) {
    return this.base.destroy(this.ref(id));
  }

  revokeByGrantId(grantId: string) {
    return this.base.revokeByGrantId(grantId);
  }

  /**
   * A store entry written under the raw id before ids were hashed: re-written under its hash
   * (with its consumed mark), the raw entry removed, and read back through the normal path.
   */
  private async moveLegacy(id: string): Promise<AdapterPayload | undefined> {
    const key = payloadKey(this.model, id);
    const [raw, consumed] = await this.deps.store.mget([key, consumedKey(this.model, id)]);
    if (!raw) return undefined;
    const payload = JSON.parse(raw) as AdapterPayload;
    const ttl = typeof payload.exp === 'number' ? payload.exp - epoch() : undefined;
    if (ttl !== undefined && ttl <= 0) return undefined;
    const ref = this.ref(id);
    await this.base.upsert(ref, storable(this.model, payload), ttl ?? 0);
    // The first consume of the fresh copy: it only carries the mark over.
    if (consumed) await this.base.consume(ref);
    await this.deps.store.del(key, consumedKey(this.model, id));
    return (await this.base.find(ref)) ?? undefined;
  }
}

export function withHashedIds(factory: AdapterFactory, deps: { hashKey: Buffer; store: KeyValueStore }): AdapterFactory {
  return (model) => {
    const base = factory(model);
    return PLAIN_ID_MODELS.has(model) ? base : new HashedIdAdapter(model, base, deps);
  };
}

/**
 * Re-keys PostgreSQL rows stored under a raw id (before ids were hashed), in batches; run at every
 * start, where a partial index makes it a no-op once done. Safe on several nodes at once: a row
 * another node re-keyed meanwhile is simply not found.
 */
export async function rehashLegacyPayloadIds(payloads: OidcPayloadQueries, hashKey: Buffer): Promise<number> {
  let moved = 0;
  for (;;) {
    const rows = await payloads.unhashedIds(500);
    if (rows.length === 0) return moved;
    for (const row of rows) await payloads.rekey(row.model, row.id, artefactRef(hashKey, row.model, row.id));
    moved += rows.length;
  }
}
