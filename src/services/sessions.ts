// Sessions (seed 004 "Session Management"; DESIGN.md "Storage", "Scaling out"): one record per
// signed-in browser or device, the rules that end it, and what ending it does.
//
// - The record is durable in PostgreSQL (user_sessions) with a small hot copy in the store
//   (`session:{uid}`: tenant, user, last sign-in, last activity), read on every use of the
//   session on any node. A store that lost the key (flush, restart) falls back to PostgreSQL, so
//   nobody is signed out by losing Redis; a session PostgreSQL has no open record of is refused.
// - Last activity is written at most once per ACTIVITY_INTERVAL_SECONDS per session, not on
//   every request; the idle timeout is therefore exact to within that interval.
// - Idle timeout and absolute lifetime come from the tenant's settings (defaults from the
//   configuration) and, stricter, from an application's own settings, which limit that
//   application's refresh tokens and make it ask for a new sign-in; they are checked on every
//   use (check()) and by a scheduled job that ends expired sessions once across all nodes.
// - Ending a session marks its record ended first (only the caller that flips it continues, so
//   two nodes never end the same session twice), then removes the hot copy, the oidc-provider
//   session and every grant issued in it with their tokens (through SessionArtefacts), audits
//   who ended which sessions and why, and tells listeners (back-channel logout).
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { Queries } from '../queries/index.ts';
import type { SessionRecord, StoredApplicationSessionSettings, StoredSessionSettings } from '../queries/sessions.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { Actor } from './actor.ts';
import { SYSTEM_ACTOR } from './actor.ts';
import { assertAdmin, assertMayManageUser, type Administrator } from './administration.ts';
import type { AuditService } from './audit.ts';
import { createInvalidatingCache } from './cache.ts';
import type { DeviceDescription } from './devices.ts';
import { AppError } from './errors.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import type { Scheduler } from './scheduler.ts';
import type { UserEvents } from './user-events.ts';

export type { SessionRecord };

/** Last activity is written at most this often per session. */
export const ACTIVITY_INTERVAL_SECONDS = 60;
/** Ended records are kept this long (for the audit trail's sake) before the cleanup job removes them. */
const ENDED_RETENTION_SECONDS = 24 * 3600;
const CLEANUP_INTERVAL_SECONDS = 300;
const BATCH = 200;
const MIN_TIMEOUT_SECONDS = 60;

export type EndReason = 'signed_out' | 'ended_by_user' | 'ended_by_admin' | 'idle_timeout' | 'absolute_lifetime' | 'password_changed' | 'user_deactivated' | 'user_locked' | 'user_deleted' | 'identity_removed';

export type RefusalReason = 'ended' | 'idle_timeout' | 'absolute_lifetime' | 'application_idle_timeout' | 'application_absolute_lifetime';

export type SessionCheck = { alive: true; userId: string; tenantId: string } | { alive: false; reason: RefusalReason };

/** How a session is being used, for check(). */
export interface SessionUse {
  /** The application using it: its own (stricter) limits apply too. */
  clientId?: string;
  /**
   * The application's grant in this session (a refresh token's): revoked when the application's
   * own limits are exceeded, so the application has to come back through the authorization
   * endpoint, where the same limits ask for the password again.
   */
  grantId?: string;
  /** Counts as activity (browser requests, refresh grants); not for introspection or revocation. */
  activity?: boolean;
  /**
   * The session's hot copy as the caller read it from the store a moment ago, in the same round
   * trip as the artefact that names the session (its value, undefined when absent): not read again.
   */
  hot?: { raw: string | undefined };
  /** Where a browser request came from: recorded with the activity. */
  ip?: string;
}

/**
 * What ending a session removes outside the session records: oidc-provider's own session and
 * the grants with their tokens, in the store and in PostgreSQL. Implemented next to the adapter
 * (src/oidc/artefacts.ts) and passed in, because services never touch oidc-provider.
 */
export interface SessionArtefacts {
  destroySession(uid: string): Promise<void>;
  revokeGrant(grantId: string): Promise<void>;
  /** Every grant of the account in the durable copy, including any no session record lists. */
  grantIdsOfAccount(tenantId: string, accountId: string): Promise<string[]>;
  /** Removes expired durable copies of oidc-provider artefacts; returns how many. */
  deleteExpired(): Promise<number>;
}

/** Told after sessions ended, e.g. to send back-channel logout tokens to their applications. */
export interface EndedSession {
  tenantId: string;
  uid: string;
  userId: string;
  clientIds: string[];
  reason: EndReason;
}
export type EndedSessionListener = (ended: EndedSession[]) => void;

export interface SessionSettings {
  idleTimeoutSeconds: number;
  absoluteLifetimeSeconds: number;
  endSessionsOnPasswordChange: boolean;
  /** 'default': nothing saved for the tenant, the configuration's values apply. */
  source: 'default' | 'tenant';
}

export type ApplicationSessionSettings = StoredApplicationSessionSettings;

export interface SessionView {
  id: string;
  userId: string;
  username: string | null;
  /** The identity in use: that of the last application signed in to in this session. */
  identity: { id: string; kind: string; alias: string } | null;
  deviceType: string;
  browser: string | null;
  os: string | null;
  ip: string | null;
  createdAt: Date;
  authenticatedAt: Date;
  lastActiveAt: Date;
  /** When the session ends unless used again (idle timeout) or at the latest (absolute lifetime). */
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  applications: { clientId: string; name: string }[];
}

export interface SessionPage {
  items: SessionView[];
  nextCursor: string | null;
}

const timeout = (field: string) => z.number().int(`${field} must be a whole number of seconds`).min(MIN_TIMEOUT_SECONDS, `${field} must be at least ${MIN_TIMEOUT_SECONDS} seconds`);

export const sessionSettingsSchema = z
  .object({
    idleTimeoutSeconds: timeout('idleTimeoutSeconds'),
    absoluteLifetimeSeconds: timeout('absoluteLifetimeSeconds'),
    endSessionsOnPasswordChange: z.boolean().default(true),
  })
  .strict();

export const applicationSessionSettingsSchema = z
  .object({
    idleTimeoutSeconds: timeout('idleTimeoutSeconds').nullable(),
    absoluteLifetimeSeconds: timeout('absoluteLifetimeSeconds').nullable(),
  })
  .strict();

export const sessionListQuerySchema = z.object({
  userId: z.guid().optional(),
  username: z.string().min(1).max(200).optional().describe("the user's username, any case"),
  identityId: z.guid().optional(),
  identityKind: z.string().min(1).max(64).optional().describe("the kind of the session's identity (internal, client…)"),
  deviceType: z.string().min(1).max(40).optional(),
  clientId: z.string().min(1).max(200).optional(),
  ip: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type SessionListQuery = z.input<typeof sessionListQuerySchema>;

interface HotSession {
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
const hotKey = sessionHotKey;
const UID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function invalid(code: string, error: z.ZodError): AppError {
  const issues = error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  return new AppError(code, 400, issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), { issues });
}

const cursorSchema = z.tuple([z.iso.datetime(), z.string().regex(UID_PATTERN)]);

function encodeSessionCursor(record: SessionRecord): string {
  return encodeCursor([record.lastActiveAt.toISOString(), record.uid]);
}

function decodeSessionCursor(cursor: string): { lastActiveAt: Date; uid: string } {
  const [lastActiveAt, uid] = decodeCursor(cursor, cursorSchema, 'session.invalid_cursor');
  return { lastActiveAt: new Date(lastActiveAt), uid };
}

export interface SessionServiceDeps {
  queries: Queries;
  store: KeyValueStore;
  audit: AuditService;
  events: UserEvents;
  scheduler: Scheduler;
  artefacts: SessionArtefacts;
  logger: Logger;
  /** Applications are checked to exist (and belong to the tenant) when their settings change. */
  applicationExists(clientId: string): Promise<boolean>;
  defaults: { idleTimeoutSeconds: number; absoluteLifetimeSeconds: number };
  /** The longest a session is kept at all (GATEHOUSE_SESSION_TTL): no absolute lifetime beyond it. */
  maxLifetimeSeconds: number;
  /** Clock in epoch milliseconds; tests move it instead of waiting. */
  now?: () => number;
}

export async function createSessionService(deps: SessionServiceDeps) {
  const queries = deps.queries.sessions;
  const now = deps.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const listeners: EndedSessionListener[] = [];

  const settingsCache = await createInvalidatingCache<StoredSessionSettings>({ store: deps.store, name: 'session-settings', load: (tenantId) => queries.tenantSettings(tenantId) });
  const appSettingsCache = await createInvalidatingCache<StoredApplicationSessionSettings & { tenantId: string }>({ store: deps.store, name: 'application-session-settings', load: (clientId) => queries.applicationSettings(clientId) });

  async function settingsOf(tenantId: string): Promise<SessionSettings> {
    const stored = await settingsCache.get(tenantId);
    if (stored) return { ...stored, source: 'tenant' };
    return { ...deps.defaults, endSessionsOnPasswordChange: true, source: 'default' };
  }

  async function hotTtl(hot: HotSession): Promise<number> {
    const settings = await settingsOf(hot.t);
    // Kept until the session could at most still be open (plus a minute), never less than a minute.
    return Math.max(60, Math.min(deps.maxLifetimeSeconds, settings.absoluteLifetimeSeconds - (nowSeconds() - hot.l)) + 60);
  }

  async function writeHot(uid: string, hot: HotSession): Promise<void> {
    await deps.store.set(hotKey(uid), JSON.stringify(hot), await hotTtl(hot));
  }

  const toHot = (record: SessionRecord): HotSession => ({
    t: record.tenantId,
    u: record.userId,
    l: Math.floor(record.authenticatedAt.getTime() / 1000),
    a: Math.floor(record.lastActiveAt.getTime() / 1000),
  });

  /** The hot copy, or the open record from PostgreSQL (warming the store); undefined when not open. */
  async function loadHot(uid: string, prefetched?: { raw: string | undefined }): Promise<HotSession | undefined> {
    if (!UID_PATTERN.test(uid)) return undefined;
    const raw = prefetched ? prefetched.raw : await deps.store.get(hotKey(uid));
    if (raw) return JSON.parse(raw) as HotSession;
    const record = await queries.findByUid(uid);
    if (!record || record.endedAt) return undefined;
    const hot = toHot(record);
    await writeHot(uid, hot);
    return hot;
  }

  function auditEnded(ended: SessionRecord[], reason: EndReason, actor: Actor, clientsBySession: Map<string, string[]>): Promise<void>[] {
    const byUser = new Map<string, SessionRecord[]>();
    for (const record of ended) byUser.set(record.userId, [...(byUser.get(record.userId) ?? []), record]);
    return [...byUser.entries()].map(([userId, records]) =>
      deps.audit.record({
        tenantId: records[0]!.tenantId,
        action: 'session.ended',
        ...actor,
        targetType: 'user',
        targetId: userId,
        details: {
          reason,
          count: records.length,
          sessions: records.map((r) => ({
            id: r.uid,
            deviceType: r.deviceType,
            browser: r.browser,
            os: r.os,
            ip: r.ip,
            createdAt: r.createdAt.toISOString(),
            lastActiveAt: r.lastActiveAt.toISOString(),
            applications: clientsBySession.get(r.uid) ?? [],
          })),
        },
      }),
    );
  }

  /**
   * Ends the given open sessions of the tenant; returns those this call ended. `notify: false`
   * when the caller already told the applications (oidc-provider's RP-initiated logout does).
   */
  async function endSessions(tenantId: string, uids: string[], reason: EndReason, actor: Actor, options: { notify?: boolean } = {}): Promise<SessionRecord[]> {
    const ended: SessionRecord[] = [];
    for (let i = 0; i < uids.length; i += BATCH) {
      const batch = uids.slice(i, i + BATCH);
      // PostgreSQL first: from this moment every node refuses the session (the hot copy is only
      // ever refilled from an open record), then the store and the artefacts are cleaned up.
      const marked = await queries.markEnded(tenantId, batch, { at: new Date(now()), reason, byType: actor.actorType, byId: actor.actorId ?? null });
      if (!marked.length) continue;
      const markedUids = marked.map((r) => r.uid);
      const grants = await queries.grantsOfSessions(markedUids);
      await deps.store.del(...markedUids.map(hotKey));
      for (const uid of markedUids) await deps.artefacts.destroySession(uid);
      for (const grant of grants) await deps.artefacts.revokeGrant(grant.grantId);
      const clientsBySession = new Map<string, string[]>();
      for (const grant of grants) clientsBySession.set(grant.sessionUid, [...new Set([...(clientsBySession.get(grant.sessionUid) ?? []), grant.clientId])]);
      await Promise.all(auditEnded(marked, reason, actor, clientsBySession));
      if (options.notify !== false && listeners.length) {
        const notices = marked.map((r) => ({ tenantId: r.tenantId, uid: r.uid, userId: r.userId, clientIds: clientsBySession.get(r.uid) ?? [], reason }));
        for (const listener of listeners) {
          try {
            listener(notices);
          } catch (error) {
            deps.logger.error({ err: error }, 'session-ended listener failed');
          }
        }
      }
      ended.push(...marked);
    }
    return ended;
  }

  async function endForUser(tenantId: string, userId: string, reason: EndReason, actor: Actor, options: { exceptUid?: string; revokeAllGrants?: boolean } = {}): Promise<number> {
    const uids = (await queries.openUidsOfUser(tenantId, userId)).filter((uid) => uid !== options.exceptUid);
    const ended = await endSessions(tenantId, uids, reason, actor);
    if (options.revokeAllGrants) {
      // Grants no open session holds any more (e.g. from a session that already ended) go too.
      const grantIds = new Set([...(await queries.grantIdsOfUser(tenantId, userId)), ...(await deps.artefacts.grantIdsOfAccount(tenantId, userId))]);
      for (const grantId of grantIds) await deps.artefacts.revokeGrant(grantId);
    }
    return ended.length;
  }

  async function endForIdentity(tenantId: string, identityId: string, reason: EndReason, actor: Actor): Promise<number> {
    const ended = await endSessions(tenantId, await queries.openUidsOfIdentity(tenantId, identityId), reason, actor);
    for (const grantId of await queries.grantIdsOfIdentity(tenantId, identityId)) await deps.artefacts.revokeGrant(grantId);
    return ended.length;
  }

  async function present(tenantId: string, records: SessionRecord[]): Promise<SessionView[]> {
    const settings = await settingsOf(tenantId);
    const apps = await queries.applicationsOfSessions(records.map((r) => r.uid));
    const names = await queries.usernames(
      tenantId,
      records.map((r) => r.userId),
    );
    const identities = await queries.identities(
      tenantId,
      records.flatMap((r) => (r.identityId ? [r.identityId] : [])),
    );
    return records.map((r) => ({
      id: r.uid,
      userId: r.userId,
      username: names.get(r.userId) ?? null,
      identity: (r.identityId && identities.get(r.identityId)) || null,
      deviceType: r.deviceType,
      browser: r.browser,
      os: r.os,
      ip: r.ip,
      createdAt: r.createdAt,
      authenticatedAt: r.authenticatedAt,
      lastActiveAt: r.lastActiveAt,
      idleExpiresAt: new Date(r.lastActiveAt.getTime() + settings.idleTimeoutSeconds * 1000),
      absoluteExpiresAt: new Date(r.authenticatedAt.getTime() + settings.absoluteLifetimeSeconds * 1000),
      applications: apps.filter((a) => a.sessionUid === r.uid).map((a) => ({ clientId: a.clientId, name: a.name })),
    }));
  }

  async function list(tenantId: string, input: SessionListQuery): Promise<SessionPage> {
    const parsed = sessionListQuerySchema.safeParse(input);
    if (!parsed.success) throw invalid('session.invalid_query', parsed.error);
    const query = parsed.data;
    const rows = await queries.list(tenantId, {
      userId: query.userId,
      username: query.username,
      identityId: query.identityId,
      identityKind: query.identityKind,
      deviceType: query.deviceType,
      clientId: query.clientId,
      ip: query.ip,
      after: query.cursor ? decodeSessionCursor(query.cursor) : undefined,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { items: await present(tenantId, page), nextCursor: rows.length > query.limit && last ? encodeSessionCursor(last) : null };
  }

  async function check(uid: string, use: SessionUse = {}): Promise<SessionCheck> {
    const hot = await loadHot(uid, use.hot);
    if (!hot) return { alive: false, reason: 'ended' };
    const at = nowSeconds();
    const settings = await settingsOf(hot.t);
    if (at - hot.a > settings.idleTimeoutSeconds) {
      await endSessions(hot.t, [uid], 'idle_timeout', SYSTEM_ACTOR);
      return { alive: false, reason: 'idle_timeout' };
    }
    if (at - hot.l > settings.absoluteLifetimeSeconds) {
      await endSessions(hot.t, [uid], 'absolute_lifetime', SYSTEM_ACTOR);
      return { alive: false, reason: 'absolute_lifetime' };
    }
    if (use.clientId) {
      // An application's stricter limits refuse its own use of the session, not the session:
      // measured, like the tenant's, from the session's last activity and last sign-in.
      const app = await appSettingsCache.get(use.clientId);
      if (app && app.tenantId === hot.t) {
        let refusal: RefusalReason | undefined;
        if (app.idleTimeoutSeconds !== null && at - hot.a > Math.min(app.idleTimeoutSeconds, settings.idleTimeoutSeconds)) refusal = 'application_idle_timeout';
        else if (app.absoluteLifetimeSeconds !== null && at - hot.l > Math.min(app.absoluteLifetimeSeconds, settings.absoluteLifetimeSeconds)) refusal = 'application_absolute_lifetime';
        if (refusal) {
          if (use.grantId) {
            await deps.artefacts.revokeGrant(use.grantId);
            await deps.audit.record({ tenantId: hot.t, action: 'grant.revoked', ...SYSTEM_ACTOR, targetType: 'user', targetId: hot.u, details: { reason: refusal, session: uid, clientId: use.clientId } });
          }
          return { alive: false, reason: refusal };
        }
      }
    }
    if (use.activity && at - hot.a >= ACTIVITY_INTERVAL_SECONDS) {
      await queries.touch(uid, new Date(at * 1000), use.ip);
      await writeHot(uid, { ...hot, a: at });
    }
    return { alive: true, userId: hot.u, tenantId: hot.t };
  }

  deps.events.on(async (event) => {
    switch (event.type) {
      case 'user.password_changed': {
        if ((await settingsOf(event.tenantId)).endSessionsOnPasswordChange) await endForUser(event.tenantId, event.userId, 'password_changed', SYSTEM_ACTOR, { exceptUid: event.sessionUid });
        return;
      }
      case 'user.deactivated':
        await endForUser(event.tenantId, event.userId, 'user_deactivated', SYSTEM_ACTOR, { revokeAllGrants: true });
        return;
      case 'user.locked':
        await endForUser(event.tenantId, event.userId, 'user_locked', SYSTEM_ACTOR, { revokeAllGrants: true });
        return;
      case 'user.deleted':
        await endForUser(event.tenantId, event.userId, 'user_deleted', SYSTEM_ACTOR, { revokeAllGrants: true });
        return;
      case 'identity.removed':
        await endForIdentity(event.tenantId, event.identityId, 'identity_removed', SYSTEM_ACTOR);
        return;
    }
  });

  /** Ends expired sessions of every tenant, then forgets records and artefacts past their time. */
  async function cleanup(): Promise<{ ended: number; removedRecords: number; removedArtefacts: number }> {
    let endedCount = 0;
    for (const tenantId of await queries.tenantIds()) {
      const settings = await settingsOf(tenantId);
      const at = now();
      const cutoffs = { lastActiveBefore: new Date(at - settings.idleTimeoutSeconds * 1000), authenticatedBefore: new Date(at - settings.absoluteLifetimeSeconds * 1000) };
      for (;;) {
        const expired = await queries.expiredUids(tenantId, cutoffs, BATCH);
        if (!expired.length) break;
        let progressed = 0;
        for (const reason of ['idle_timeout', 'absolute_lifetime'] as const) {
          const uids = expired.filter((e) => e.reason === reason).map((e) => e.uid);
          progressed += (await endSessions(tenantId, uids, reason, SYSTEM_ACTOR)).length;
        }
        endedCount += progressed;
        if (progressed === 0 || expired.length < BATCH) break;
      }
    }
    const removedRecords = await queries.deleteEndedBefore(new Date(now() - ENDED_RETENTION_SECONDS * 1000));
    const removedArtefacts = await deps.artefacts.deleteExpired();
    return { ended: endedCount, removedRecords, removedArtefacts };
  }

  deps.scheduler.register({ name: 'session-cleanup', intervalSeconds: CLEANUP_INTERVAL_SECONDS, run: cleanup });

  async function applicationSettings(tenantId: string, clientId: string): Promise<ApplicationSessionSettings> {
    if (!(await deps.applicationExists(clientId))) throw new AppError('application.not_found', 404, `no application with client_id "${clientId}"`);
    const stored = await queries.applicationSettings(clientId);
    return stored && stored.tenantId === tenantId ? { idleTimeoutSeconds: stored.idleTimeoutSeconds, absoluteLifetimeSeconds: stored.absoluteLifetimeSeconds } : { idleTimeoutSeconds: null, absoluteLifetimeSeconds: null };
  }

  function assertUid(uid: string): void {
    if (!UID_PATTERN.test(uid)) throw new AppError('session.not_found', 404, 'session not found');
  }

  return {
    check,
    cleanup,
    settingsOf,

    /** Runs the listener (synchronously, it must not block) after sessions end. */
    onEnded(listener: EndedSessionListener): void {
      listeners.push(listener);
    },

    /**
     * A password sign-in in session `uid` (from the sign-in pages, through the OIDC layer):
     * creates its record, or restarts its absolute lifetime. Returns false when the session was
     * already ended (it must not be used).
     */
    async recordSignIn(input: { tenantId: string; uid: string; userId: string; device: DeviceDescription; ip: string | null }): Promise<boolean> {
      const at = new Date(now());
      const stored = await queries.upsertSignIn({
        uid: input.uid,
        tenantId: input.tenantId,
        userId: input.userId,
        deviceType: input.device.deviceType,
        browser: input.device.browser,
        os: input.device.os,
        userAgent: input.device.userAgent,
        ip: input.ip,
        createdAt: at,
        authenticatedAt: at,
        lastActiveAt: at,
      });
      if (!stored) return false;
      await writeHot(input.uid, toHot(stored));
      return true;
    },

    /** A grant issued in a session (and the identity it is for): what ending the session revokes. */
    async recordGrant(input: { tenantId: string; sessionUid: string; userId: string; clientId: string; grantId: string; identityId: string | null }): Promise<void> {
      await queries.recordGrant(input.tenantId, { grantId: input.grantId, sessionUid: input.sessionUid, userId: input.userId, clientId: input.clientId, identityId: input.identityId });
    },

    list,

    /** The user's own open sessions, most recently active first. */
    async listForUser(tenantId: string, userId: string): Promise<SessionView[]> {
      return present(tenantId, await queries.list(tenantId, { userId, limit: 500 }));
    },

    /** Ends one session of the tenant (an administrator); 404 when it is not open. */
    /** The user whose open session this is, for the administration guard; undefined when none. */
    async ownerOf(tenantId: string, uid: string): Promise<string | undefined> {
      assertUid(uid);
      const [record] = await queries.findActive(tenantId, [uid]);
      return record?.userId;
    },

    /** An administrator ends one session: the guard asks whether it may manage the session's user. */
    async endOne(uid: string, by: Administrator & { actor: Actor }): Promise<void> {
      assertUid(uid);
      const { tenantId, actor } = by;
      const [owner] = await queries.findActive(tenantId, [uid]);
      if (owner) await assertMayManageUser(deps.queries.db, by, owner.userId);
      const ended = await endSessions(tenantId, [uid], 'ended_by_admin', actor);
      if (!ended.length) throw new AppError('session.not_found', 404, 'session not found (it may have ended already)');
    },

    /** Ends one of the user's own sessions; 404 for anybody else's. */
    async endOwn(tenantId: string, userId: string, uid: string, actor: Actor): Promise<void> {
      assertUid(uid);
      const [record] = await queries.findActive(tenantId, [uid]);
      if (!record || record.userId !== userId) throw new AppError('session.not_found', 404, 'session not found (it may have ended already)');
      await endSessions(tenantId, [uid], 'ended_by_user', actor);
    },

    /** Ends every open session of the user except `exceptUid`; returns how many. */
    async endAllOfUser(tenantId: string, userId: string, actor: Actor, reason: EndReason = 'ended_by_admin', exceptUid?: string): Promise<number> {
      return endForUser(tenantId, userId, reason, actor, { exceptUid });
    },

    /** An administrator ends every open session of the user; returns how many. */
    async endAllOfUserFor(userId: string, by: Administrator & { actor: Actor }): Promise<number> {
      await assertMayManageUser(deps.queries.db, by, userId);
      return endForUser(by.tenantId, userId, 'ended_by_admin', by.actor);
    },

    /** Ends every open session of the tenant, a batch at a time; returns how many. Admin only. */
    async endAll(by: Administrator & { actor: Actor }): Promise<number> {
      // Every session includes every Admin's: only an Admin manages them all.
      assertAdmin(by, 'end every session of the tenant');
      const { tenantId, actor } = by;
      let count = 0;
      for (;;) {
        const uids = await queries.openUids(tenantId, BATCH);
        if (!uids.length) return count;
        const ended = await endSessions(tenantId, uids, 'ended_by_admin', actor);
        count += ended.length;
        if (!ended.length) return count;
      }
    },

    /** RP-initiated logout already removed the session and told the applications: record it. */
    async recordSignOut(tenantId: string, uid: string, actor: Actor): Promise<void> {
      if (!UID_PATTERN.test(uid)) return;
      await endSessions(tenantId, [uid], 'signed_out', actor, { notify: false });
    },

    async updateSettings(tenantId: string, input: unknown, actor: Actor): Promise<SessionSettings> {
      const parsed = sessionSettingsSchema.safeParse(input);
      if (!parsed.success) throw invalid('session_settings.invalid', parsed.error);
      const value = parsed.data;
      if (value.absoluteLifetimeSeconds > deps.maxLifetimeSeconds) {
        throw new AppError('session_settings.invalid', 400, `absoluteLifetimeSeconds must be at most ${deps.maxLifetimeSeconds} seconds (GATEHOUSE_SESSION_TTL, the longest a session is kept)`);
      }
      if (value.idleTimeoutSeconds > value.absoluteLifetimeSeconds) throw new AppError('session_settings.invalid', 400, 'idleTimeoutSeconds must not be longer than absoluteLifetimeSeconds');
      const before = await settingsOf(tenantId);
      await deps.queries.transaction(async (tx) => {
        await tx.sessions.saveTenantSettings(tenantId, value);
        await deps.audit.record({ tenantId, action: 'session_settings.updated', ...actor, targetType: 'tenant', targetId: tenantId, details: { before, after: value } }, tx.db);
      });
      await settingsCache.invalidate(tenantId);
      return { ...value, source: 'tenant' };
    },

    applicationSettings,

    async updateApplicationSettings(tenantId: string, clientId: string, input: unknown, actor: Actor): Promise<ApplicationSessionSettings> {
      const parsed = applicationSessionSettingsSchema.safeParse(input);
      if (!parsed.success) throw invalid('session_settings.invalid', parsed.error);
      const value = parsed.data;
      if (!(await deps.applicationExists(clientId))) throw new AppError('application.not_found', 404, `no application with client_id "${clientId}"`);
      const tenant = await settingsOf(tenantId);
      // Per application only stricter: a looser value would be silently capped, so refuse it.
      if (value.idleTimeoutSeconds !== null && value.idleTimeoutSeconds > tenant.idleTimeoutSeconds) throw new AppError('session_settings.not_stricter', 400, `idleTimeoutSeconds must not exceed the tenant's (${tenant.idleTimeoutSeconds} s)`);
      if (value.absoluteLifetimeSeconds !== null && value.absoluteLifetimeSeconds > tenant.absoluteLifetimeSeconds)
        throw new AppError('session_settings.not_stricter', 400, `absoluteLifetimeSeconds must not exceed the tenant's (${tenant.absoluteLifetimeSeconds} s)`);
      const before = await applicationSettings(tenantId, clientId);
      await deps.queries.transaction(async (tx) => {
        await tx.sessions.saveApplicationSettings(tenantId, clientId, value);
        await deps.audit.record({ tenantId, action: 'application.session_settings_updated', ...actor, targetType: 'application', targetId: clientId, details: { before, after: value } }, tx.db);
      });
      await appSettingsCache.invalidate(clientId);
      return value;
    },

    async close(): Promise<void> {
      await settingsCache.close();
      await appSettingsCache.close();
    },
  };
}

export type SessionService = Awaited<ReturnType<typeof createSessionService>>;
