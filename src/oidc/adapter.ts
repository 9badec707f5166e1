// oidc-provider storage adapter on the key-value seam, with a durable PostgreSQL copy of the
// artefacts that must survive losing Redis (sessions, grants, refresh tokens), and clients read
// from the applications table through a cache.
//
// Single use is decided by the store (SET NX) or PostgreSQL (UPDATE ... WHERE consumed_at IS NULL),
// never by reading a flag in JavaScript: oidc-provider's own `if (code.consumed)` check runs
// before `consume()`, so two parallel redemptions could both pass it. The loser of the atomic
// consume revokes the grant, as RFC 6749 §4.1.2 and §10.5 ask for a reused code.
//
// Refresh-token reuse (RFC 9700 §4.14.2): a rotated refresh token presented again revokes the
// grant. An application may opt into a grace window (its refreshTokenReuseGraceSeconds, 0 by
// default): within it of the rotation the old token is refused without revoking anything, taken
// as a client that sent the same refresh twice (a retry, two tabs). Single use stays atomic
// either way: only one request ever rotates a token.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { OidcPayloadQueries, PayloadEntry } from '../queries/oidc-payloads.ts';
import type { ApplicationService } from '../services/applications.ts';
import { toClientMetadata } from './client-metadata.ts';
import { serviceAccountClientMetadata, type ServiceAccountService } from '../services/service-accounts.ts';
import type { KeyValueStore, WriteOp } from '../store/types.ts';
import { currentContext } from './internals.ts';

const DURABLE_MODELS = new Set(['Session', 'Grant', 'RefreshToken']);
const GRANTABLE_MODELS = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'ClientCredentials']);

export interface AdapterDeps {
  store: KeyValueStore;
  payloads: OidcPayloadQueries;
  applications: ApplicationService;
  /** Active service accounts are client-credentials clients whose client_id is the account id. */
  serviceAccounts: Pick<ServiceAccountService, 'findForOidc'>;
  tenantId: string;
  /** Lifetime of the per-grant index of token keys: at least the longest token lifetime. */
  grantIndexTtl: number;
  /** The client's seconds after a rotation in which a repeated refresh is refused without revoking the grant (0: none). */
  refreshReuseGraceSeconds(clientId: string | undefined): Promise<number>;
  /**
   * The store key prefix of the session hot copies (sessionHotKey('')): when given, a session,
   * refresh token or access token is read with the hot copy of its session in the same round
   * trip, handed on under PREFETCHED_SESSION to the session check (sessions.ts).
   */
  sessionHotPrefix?: string;
  /**
   * When given, a grant is read with its identity's hot copy in the same round trip, offered to
   * the grant-identity lookup that follows (services/grant-identities.ts).
   */
  grantIdentities?: { hotKey(grantId: string): string; offer(grantId: string, identityId: string): void };
}

/**
 * Where a payload read from the store carries the hot copy of its session, read in the same
 * round trip; the session check takes it off before oidc-provider sees the payload.
 */
export const PREFETCHED_SESSION = Symbol('prefetched session hot copy');
export type PrefetchedSession = { uid: string; raw: string | undefined };

/** The field of a model's payload that names its session (the uid of the session record). */
const SESSION_FIELD: Record<string, string> = { Session: 'uid', RefreshToken: 'sessionUid', AccessToken: 'sessionUid' };

const epoch = () => Math.floor(Date.now() / 1000);
// Exported for src/oidc/artefacts.ts, which removes sessions and grants outside a request.
export const payloadKey = (model: string, id: string) => `oidc:${model}:${id}`;
export const consumedKey = (model: string, id: string) => `oidc:consumed:${model}:${id}`;
const grantKey = (grantId: string) => `oidc:grant:${grantId}`;
export const sessionUidKey = (uid: string) => `oidc:sessionUid:${uid}`;

/**
 * A refresh token rotated moments ago and presented again at the token endpoint: hide that it
 * was consumed, so oidc-provider does not revoke the grant itself but calls consume(), which
 * refuses it (see the header). Introspection and revocation still see it as consumed.
 */
async function withinReuseGrace(model: string, payload: AdapterPayload, deps: Pick<AdapterDeps, 'refreshReuseGraceSeconds'>): Promise<boolean> {
  if (model !== 'RefreshToken' || typeof payload.consumed !== 'number' || currentContext()?.oidc?.route !== 'token') return false;
  const graceSeconds = await deps.refreshReuseGraceSeconds(payload.clientId);
  return graceSeconds > 0 && epoch() - payload.consumed <= graceSeconds;
}

/** Removes every artefact of a grant from both stores and the grant itself. */
//
// PostgreSQL first, then the store: a find() that falls back to PostgreSQL re-reads it after
// warming the store (see find), so whatever the interleaving, a revoked grant cannot be warmed
// back into the store by a request that read it a moment before it was deleted.
export async function revokeGrant(deps: Pick<AdapterDeps, 'store' | 'payloads'>, grantId: string): Promise<void> {
  const members = await deps.store.smembers(grantKey(grantId));
  await deps.payloads.destroyByGrantId(grantId);
  await deps.payloads.destroy('Grant', grantId);
  await deps.store.del(grantKey(grantId), payloadKey('Grant', grantId), ...members);
}

/**
 * Store writes that may ride along with the next write of this process instead of taking a round
 * trip of their own: the consumed marker of a rotated refresh token and the store copy of the
 * token that replaces it, which the access token's write carries a moment later (one round trip
 * for the three). Only writes whose authority is PostgreSQL wait here: the row is consumed or
 * written before they are deferred, and a reader that finds the store without them falls back
 * to PostgreSQL's answer (consume() refuses a consumed row, find() reads the durable copy). Any
 * write of the process takes whatever is waiting; what nobody took is written on its own once
 * the event loop turns (setImmediate), so nothing waits longer than the current burst of work.
 */
class DeferredWrites {
  private ops: WriteOp[] = [];
  private scheduled = false;

  constructor(private readonly store: KeyValueStore) {}

  defer(ops: WriteOp[]): void {
    if (ops.length === 0) return;
    this.ops.push(...ops);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const waiting = this.take();
      // A failure leaves the store without a copy PostgreSQL holds the answer for (see above).
      if (waiting.length > 0) this.store.write(waiting).catch(() => undefined);
    });
  }

  take(): WriteOp[] {
    if (this.ops.length === 0) return this.ops;
    const ops = this.ops;
    this.ops = [];
    return ops;
  }
}

/** A session as the store held it, read together with a token that names it. */
interface SessionRead {
  id: string;
  raw: string | undefined;
  consumed: string | undefined;
  hot: string | undefined;
}

/**
 * What a token read brought along for the lookup oidc-provider makes right after: the session it
 * names, for Session.findByUid (lib/models/token_helpers.js checkSessionBinding), and its grant,
 * for Grant.find (lib/helpers/grant_common.js / the grant handlers' validateGrant), instead of a
 * round trip of their own. An entry is taken once, by the id it was read for and only by the
 * request that read it, and dropped at the next turn of the event loop if nobody took it: it never
 * serves a later request, only the burst of work that read it (a read a moment earlier). A write
 * or destroy of the same artefact drops it. The session check runs on a handed-on session as on
 * any other read.
 */
class HandOff<T> {
  private readonly reads = new Map<string, { value: T; ctx: object | undefined }>();
  private scheduled = false;

  put(id: string, value: T): void {
    this.reads.set(id, { value, ctx: currentContext() });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.reads.clear();
    });
  }

  take(id: string): T | undefined {
    const read = this.reads.get(id);
    if (!read) return undefined;
    this.reads.delete(id);
    return read.ctx === currentContext() ? read.value : undefined;
  }
}

/** A grant as the store held it, read together with a token of it. */
interface GrantRead {
  raw: string | undefined;
  consumed: string | undefined;
  identityId: string | undefined;
}

/**
 * The refresh token a token request has asked to consume (oidc-provider's refresh_token grant
 * calls consume() on the used token and then save() on its successor, nothing in between), by
 * the request's context: the successor's upsert consumes the used row and inserts its own in one
 * statement (see StoreAdapter.rotate). Nothing is issued unless that statement consumed the used
 * token; a request that stops between the two has issued nothing and consumed nothing.
 */
type PendingRotations = WeakMap<object, { usedId: string }>;

/**
 * The context of a refresh_token grant at the token endpoint, if that is what is running. For a
 * consume, only once the grant has checked the presented token (it names it as the request's
 * RefreshToken entity) and before it has rotated it: the consume of that token, not of another
 * artefact met while the token was being found.
 */
function refreshGrantContext(use: 'consume' | 'upsert'): object | undefined {
  const ctx = currentContext();
  const oidc = ctx?.oidc as { route?: string; params?: { grant_type?: unknown }; entities?: Record<string, unknown> } | undefined;
  if (oidc?.route !== 'token' || oidc.params?.grant_type !== 'refresh_token') return undefined;
  if (use === 'consume' && (!oidc.entities?.RefreshToken || oidc.entities.RotatedRefreshToken)) return undefined;
  return ctx;
}

export function createAdapterFactory(deps: AdapterDeps) {
  // Client metadata per cached application or service account object: the caches hand out the
  // same object until it changes, so the metadata is derived once per change, not per request.
  const clientMetadata = new WeakMap<object, AdapterPayload>();
  const deferred = new DeferredWrites(deps.store);
  const sessionsRead = new HandOff<SessionRead>();
  const grantsRead = new HandOff<GrantRead>();
  const rotations: PendingRotations = new WeakMap();
  return (model: string): Adapter => new StoreAdapter(model, deps, clientMetadata, deferred, sessionsRead, grantsRead, rotations);
}

class StoreAdapter implements Adapter {
  private readonly durable: boolean;

  constructor(
    private readonly model: string,
    private readonly deps: AdapterDeps,
    private readonly clientMetadata: WeakMap<object, AdapterPayload>,
    private readonly deferred: DeferredWrites,
    private readonly sessionsRead: HandOff<SessionRead>,
    private readonly grantsRead: HandOff<GrantRead>,
    private readonly rotations: PendingRotations,
  ) {
    this.durable = DURABLE_MODELS.has(model);
  }

  private metadataOf<T extends object>(source: T, derive: (source: T) => Record<string, unknown>): AdapterPayload {
    let metadata = this.clientMetadata.get(source);
    if (!metadata) {
      metadata = derive(source) as AdapterPayload;
      this.clientMetadata.set(source, metadata);
    }
    // A copy: oidc-provider must never be able to alter what the next request is given.
    return { ...metadata };
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    if (this.model === 'Client') throw new Error('clients are managed through the applications table');
    const key = payloadKey(this.model, id);
    const ttl = expiresIn > 0 ? expiresIn : undefined;
    // The payload, its entry in the grant's index and a session's uid index go to the store in
    // one round trip, with any deferred writes waiting (DeferredWrites); the durable copy is
    // written at the same time, and both must succeed before oidc-provider hands the artefact
    // out. Except the refresh token of a rotation (it carries the consumed marker of the one it
    // replaces): its durable copy is written first, and its store copy goes with the next write.
    const ops: WriteOp[] = [{ op: 'set', key, value: JSON.stringify(payload), ...(ttl ? { ttlSeconds: ttl } : {}) }];
    if (payload.grantId && GRANTABLE_MODELS.has(this.model)) {
      ops.push({ op: 'sadd', key: grantKey(payload.grantId), members: [key], ttlSeconds: Math.max(this.deps.grantIndexTtl, ttl ?? 0) });
    }
    if (this.model === 'Session' && payload.uid) {
      ops.push({ op: 'set', key: sessionUidKey(payload.uid), value: id, ...(ttl ? { ttlSeconds: ttl } : {}) });
      this.sessionsRead.take(payload.uid); // a read from before this write is not handed on
    }
    if (this.model === 'Grant') this.grantsRead.take(id); // likewise
    const entry = {
      model: this.model,
      id,
      tenantId: this.deps.tenantId,
      payload: payload as Record<string, unknown>,
      grantId: payload.grantId,
      uid: payload.uid,
      accountId: payload.accountId,
      expiresAt: ttl ? new Date(Date.now() + ttl * 1000) : null,
    };
    const ctx = this.model === 'RefreshToken' ? refreshGrantContext('upsert') : undefined;
    const rotation = ctx ? this.rotations.get(ctx) : undefined;
    if (ctx && rotation) {
      this.rotations.delete(ctx);
      await this.rotate(rotation, entry, ops);
      return;
    }
    const waiting = this.deferred.take();
    const durable = this.durable ? this.deps.payloads.upsert(entry) : undefined;
    if (this.model === 'RefreshToken' && waiting.some((op) => op.op === 'setIfAbsentWithTtlOf')) {
      try {
        await durable;
      } finally {
        // Written whatever became of the durable copy: the marker is another token's.
        this.deferred.defer(waiting);
      }
      this.deferred.defer(ops);
      return;
    }
    await Promise.all([this.deps.store.write(waiting.length > 0 ? [...waiting, ...ops] : ops), durable]);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.model === 'Client') {
      const app = await this.deps.applications.findForOidc(id);
      if (app) return this.metadataOf(app, toClientMetadata);
      // The metadata never mentions keys, so it stays byte-identical while keys come and go and
      // oidc-provider keeps reusing its validated Client instance; keys are checked by
      // compareClientSecret (provider.ts).
      const account = await this.deps.serviceAccounts.findForOidc(id);
      return account ? this.metadataOf(account, serviceAccountClientMetadata) : undefined;
    }
    const keys = [payloadKey(this.model, id), consumedKey(this.model, id)];
    const sessionField = SESSION_FIELD[this.model];
    if (sessionField && this.deps.sessionHotPrefix !== undefined) {
      // A token also reads the session it names (by its uid index), for the Session.findByUid
      // that follows (HandOff).
      // A token also reads its grant (with the grant's identity), for the Grant.find that follows.
      const token = this.model !== 'Session';
      const index = token ? { prefix: sessionUidKey(''), prefixes: [payloadKey('Session', ''), consumedKey('Session', '')] } : undefined;
      const grantIdentities = this.deps.grantIdentities;
      const also = token ? { field: 'grantId', prefixes: [payloadKey('Grant', ''), consumedKey('Grant', ''), ...(grantIdentities ? [grantIdentities.hotKey('')] : [])] } : undefined;
      const { values, followed, also: grant } = await this.deps.store.mgetFollowing(keys, { of: 0, field: sessionField, prefix: this.deps.sessionHotPrefix, ...(index ? { index } : {}), ...(also ? { also } : {}) });
      const [raw, consumed] = values;
      if (!raw) return this.findDurable(id);
      const payload = await this.fromStore(raw, consumed);
      if (grant?.values[0]) this.grantsRead.put(grant.id, { raw: grant.values[0], consumed: grant.values[1], identityId: grant.values[2] });
      if (followed) {
        (payload as Record<symbol, PrefetchedSession>)[PREFETCHED_SESSION] = { uid: followed.id, raw: followed.value };
        if (followed.indexed) this.sessionsRead.put(followed.id, { id: followed.indexed.id, raw: followed.indexed.values[0], consumed: followed.indexed.values[1], hot: followed.value });
      }
      return payload;
    }
    const grantIdentities = this.model === 'Grant' ? this.deps.grantIdentities : undefined;
    const handed = this.model === 'Grant' ? this.grantsRead.take(id) : undefined;
    if (handed?.raw) {
      if (grantIdentities && handed.identityId) grantIdentities.offer(id, handed.identityId);
      return this.fromStore(handed.raw, handed.consumed);
    }
    if (grantIdentities) keys.push(grantIdentities.hotKey(id));
    const [raw, consumed, identityId] = await this.deps.store.mget(keys);
    if (!raw) return this.findDurable(id);
    if (grantIdentities && identityId) grantIdentities.offer(id, identityId);
    return this.fromStore(raw, consumed);
  }

  /** A payload as the store holds it, with its consumed marker. */
  private async fromStore(raw: string, consumed: string | undefined): Promise<AdapterPayload> {
    const payload = JSON.parse(raw) as AdapterPayload;
    if (consumed) payload.consumed = Number(consumed);
    if (await withinReuseGrace(this.model, payload, this.deps)) delete payload.consumed;
    return payload;
  }

  /** What the store does not hold: the durable copy, if the model has one (warming the store). */
  private async findDurable(id: string): Promise<AdapterPayload | undefined> {
    if (!this.durable) return undefined;
    // Redis lost it (flush, restart, eviction): fall back to the durable copy and warm the store.
    const stored = await this.deps.payloads.find(this.model, id);
    if (!stored) return undefined;
    const payload = stored.payload as AdapterPayload;
    if (stored.consumedAt) payload.consumed = Math.floor(stored.consumedAt.getTime() / 1000);
    const ttl = stored.expiresAt ? Math.ceil((stored.expiresAt.getTime() - Date.now()) / 1000) : undefined;
    if (ttl === undefined || ttl > 0) {
      const { consumed: _consumed, ...rest } = payload;
      await this.deps.store.set(payloadKey(this.model, id), JSON.stringify(rest), ttl);
      if (payload.consumed) await this.deps.store.set(consumedKey(this.model, id), String(payload.consumed), ttl);
      if (payload.grantId && GRANTABLE_MODELS.has(this.model)) {
        await this.deps.store.sadd(grantKey(payload.grantId), [payloadKey(this.model, id)], Math.max(this.deps.grantIndexTtl, ttl ?? 0));
      }
      // Deleted (revoked, destroyed) while we were warming the store: undo the warm copy.
      // Deleters remove the PostgreSQL row before the store's, so one of the two sees the other.
      if (!(await this.deps.payloads.find(this.model, id))) {
        await this.deps.store.del(payloadKey(this.model, id), consumedKey(this.model, id));
        return undefined;
      }
    }
    if (await withinReuseGrace(this.model, payload, this.deps)) delete payload.consumed;
    return payload;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    // The uid index, the payload and its consumed marker (and the session's hot copy) in one round trip.
    const hotKey = this.deps.sessionHotPrefix === undefined ? undefined : this.deps.sessionHotPrefix + uid;
    const read = this.model === 'Session' ? this.sessionsRead.take(uid) : undefined;
    if (read?.raw) {
      const payload = await this.fromStore(read.raw, read.consumed);
      if (hotKey) (payload as Record<symbol, PrefetchedSession>)[PREFETCHED_SESSION] = { uid, raw: read.hot };
      return payload;
    }
    const indexed = await this.deps.store.mgetByIndex(sessionUidKey(uid), [payloadKey(this.model, ''), consumedKey(this.model, '')], hotKey ? [hotKey] : []);
    if (indexed) {
      const [raw, consumed] = indexed.values;
      if (!raw) return this.findDurable(indexed.id);
      const payload = await this.fromStore(raw, consumed);
      if (hotKey) (payload as Record<symbol, PrefetchedSession>)[PREFETCHED_SESSION] = { uid, raw: indexed.also[0] };
      return payload;
    }
    if (!this.durable) return undefined;
    const stored = await this.deps.payloads.findByUid(this.model, uid);
    return stored ? this.find(stored.id) : undefined;
  }

  async findByUserCode(): Promise<AdapterPayload | undefined> {
    return undefined; // the device flow is not enabled
  }

  async consume(id: string): Promise<void> {
    const key = payloadKey(this.model, id);
    const marker = consumedKey(this.model, id);
    const now = String(epoch());
    // The consumed marker lives as long as the payload it marks (one atomic script, no read
    // first). For durable models PostgreSQL decides who was first (UPDATE ... WHERE consumed_at
    // IS NULL) and the marker is the hot copy of that answer; otherwise the marker's SET NX
    // decides.
    let first: boolean;
    const ctx = this.model === 'RefreshToken' && this.durable ? refreshGrantContext('consume') : undefined;
    if (ctx && !this.rotations.has(ctx)) {
      // The rotation of a refresh grant: decided with the successor's write (PendingRotations).
      this.rotations.set(ctx, { usedId: id });
      return;
    }
    if (this.durable) {
      first = await this.deps.payloads.consume(this.model, id);
      // Only the winner stamps the hot copy: a loser must not move the time of the rotation,
      // which the reuse grace window is measured from. PostgreSQL has decided, so the marker
      // goes with the next store write (DeferredWrites): a request that finds the token without
      // it still meets the consumed row in consume().
      if (first) this.deferred.defer([{ op: 'setIfAbsentWithTtlOf', key: marker, value: now, ttlOf: key, fallbackTtlSeconds: this.deps.grantIndexTtl }]);
    } else {
      first = await this.deps.store.setIfAbsentWithTtlOf(marker, now, key, 600);
    }
    if (!first) await this.refuseReuse(id);
  }

  /**
   * A rotated refresh token's successor: the used row consumed and this one written in one
   * statement, which only the first of parallel rotations gets to do. The winner's store writes
   * (the used token's consumed marker, the successor's copy and grant-index entry) go with the
   * next store write (DeferredWrites: PostgreSQL has decided and holds the successor); a loser
   * writes nothing and is refused as a reuse.
   */
  private async rotate(rotation: { usedId: string }, entry: PayloadEntry, ops: WriteOp[]): Promise<void> {
    const first = await this.deps.payloads.rotate(rotation.usedId, entry);
    if (!first) await this.refuseReuse(rotation.usedId);
    const usedKey = payloadKey(this.model, rotation.usedId);
    this.deferred.defer([{ op: 'setIfAbsentWithTtlOf', key: consumedKey(this.model, rotation.usedId), value: String(epoch()), ttlOf: usedKey, fallbackTtlSeconds: this.deps.grantIndexTtl }, ...ops]);
  }

  /**
   * A code or refresh token consumed already (rare): refused, and its grant revoked with
   * everything it issued, unless the client's reuse grace window covers it (see the header).
   */
  private async refuseReuse(id: string): Promise<never> {
    const key = payloadKey(this.model, id);
    const graceSeconds = this.model === 'RefreshToken' ? await this.deps.refreshReuseGraceSeconds(await this.clientIdOf(id)) : 0;
    if (graceSeconds > 0 && (await this.deps.payloads.consumedWithin(this.model, id, graceSeconds))) {
      throw new errors.InvalidGrant('refresh token already used: it was rotated moments ago, use the refresh token that request returned');
    }
    const raw = await this.deps.store.get(key);
    const grantId = raw ? (JSON.parse(raw) as AdapterPayload).grantId : this.durable ? ((await this.deps.payloads.find(this.model, id))?.payload.grantId as string | undefined) : undefined;
    if (grantId) await revokeGrant(this.deps, grantId);
    throw new errors.InvalidGrant(this.model === 'RefreshToken' ? 'refresh token already used' : 'authorization code already consumed');
  }

  /** The client a stored artefact was issued to (the store's copy, else the durable one). */
  private async clientIdOf(id: string): Promise<string | undefined> {
    const raw = await this.deps.store.get(payloadKey(this.model, id));
    if (raw) return (JSON.parse(raw) as AdapterPayload).clientId;
    return this.durable ? ((await this.deps.payloads.find(this.model, id))?.payload.clientId as string | undefined) : undefined;
  }

  async destroy(id: string): Promise<void> {
    const key = payloadKey(this.model, id);
    if (this.model === 'Session') {
      const raw = await this.deps.store.get(key);
      const uid = raw ? (JSON.parse(raw) as AdapterPayload).uid : undefined;
      if (uid) {
        this.sessionsRead.take(uid);
        await this.deps.store.del(sessionUidKey(uid));
      }
    }
    if (this.model === 'Grant') this.grantsRead.take(id);
    // PostgreSQL first (see revokeGrant).
    if (this.durable) await this.deps.payloads.destroy(this.model, id);
    await this.deps.store.del(key, consumedKey(this.model, id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const members = await this.deps.store.smembers(grantKey(grantId));
    const ours = members.filter((key) => key.startsWith(`oidc:${this.model}:`));
    // PostgreSQL first (see revokeGrant).
    if (this.model === 'RefreshToken') await this.deps.payloads.destroyByGrantId(grantId);
    if (ours.length > 0) {
      await this.deps.store.del(...ours);
      await this.deps.store.srem(grantKey(grantId), ours);
    }
  }
}
