// The hot copy of a session in the store (`session:{uid}`: tenant, user, last sign-in, last
// activity), read on every use of the session on any node. A store that lost the key falls back
// to the open record in PostgreSQL and warms the store again; a session with no open record has
// no hot copy.
import type { SessionQueries, SessionRecord } from '../../queries/sessions.ts';
import type { KeyValueStore } from '../../store/types.ts';
import type { SessionSettings } from './settings.ts';

export interface HotSession {
  /** tenant */
  t: string;
  /** user */
  u: string;
  /** last sign-in, epoch s */
  l: number;
  /** last activity, epoch s */
  a: number;
}

/** The store key of a session's hot copy (read along with OIDC artefacts by src/oidc/adapter.ts). */
export const sessionHotKey = (uid: string) => `session:${uid}`;

/** A session uid as oidc-provider issues it: anything else names no session. */
export const UID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function createHotCopies(deps: { store: KeyValueStore; queries: SessionQueries; settingsOf(tenantId: string): Promise<SessionSettings>; maxLifetimeSeconds: number; now: () => number }) {
  const nowSeconds = () => Math.floor(deps.now() / 1000);

  async function ttl(hot: HotSession): Promise<number> {
    const settings = await deps.settingsOf(hot.t);
    // Kept until the session could at most still be open (plus a minute), never less than a minute.
    return Math.max(60, Math.min(deps.maxLifetimeSeconds, settings.absoluteLifetimeSeconds - (nowSeconds() - hot.l)) + 60);
  }

  async function write(uid: string, hot: HotSession): Promise<void> {
    await deps.store.set(sessionHotKey(uid), JSON.stringify(hot), await ttl(hot));
  }

  const of = (record: SessionRecord): HotSession => ({
    t: record.tenantId,
    u: record.userId,
    l: Math.floor(record.authenticatedAt.getTime() / 1000),
    a: Math.floor(record.lastActiveAt.getTime() / 1000),
  });

  /** The hot copy, or the open record from PostgreSQL (warming the store); undefined when not open. */
  async function load(uid: string, prefetched?: { raw: string | undefined }): Promise<HotSession | undefined> {
    if (!UID_PATTERN.test(uid)) return undefined;
    const raw = prefetched ? prefetched.raw : await deps.store.get(sessionHotKey(uid));
    if (raw) return JSON.parse(raw) as HotSession;
    const record = await deps.queries.findByUid(uid);
    if (!record || record.endedAt) return undefined;
    const hot = of(record);
    await write(uid, hot);
    return hot;
  }

  return { load, write, of };
}

export type HotCopies = ReturnType<typeof createHotCopies>;
