// Ending sessions. The record is marked ended first (only the caller that flips it continues, so
// two nodes never end the same session twice), then the hot copy, the oidc-provider session and
// every grant issued in it with their tokens are removed (through SessionArtefacts), who ended
// which sessions and why is audited, and listeners are told (back-channel logout). Sessions end
// at a user's or an administrator's request, on user events (password change, deactivation,
// lock, deletion, identity removal) and, past their time, in a scheduled job run once across all
// nodes.
import type { SessionRecord } from '../../queries/sessions.ts';
import type { Actor } from '../actor.ts';
import { SYSTEM_ACTOR } from '../actor.ts';
import { assertAdmin, assertMayManageUser, type Administrator } from '../administration.ts';
import { AppError } from '../errors.ts';
import type { SessionServiceDeps } from '../sessions.ts';
import { sessionHotKey, UID_PATTERN } from './hot-copy.ts';
import type { SessionSettings } from './settings.ts';

/** Ended records are kept this long (for the audit trail's sake) before the cleanup job removes them. */
const ENDED_RETENTION_SECONDS = 24 * 3600;
const CLEANUP_INTERVAL_SECONDS = 300;
const BATCH = 200;

export type EndReason = 'signed_out' | 'ended_by_user' | 'ended_by_admin' | 'idle_timeout' | 'absolute_lifetime' | 'password_changed' | 'user_deactivated' | 'user_locked' | 'user_deleted' | 'identity_removed';

/** Told after sessions ended, e.g. to send back-channel logout tokens to their applications. */
export interface EndedSession {
  tenantId: string;
  uid: string;
  userId: string;
  clientIds: string[];
  reason: EndReason;
}
export type EndedSessionListener = (ended: EndedSession[]) => void;

function assertUid(uid: string): void {
  if (!UID_PATTERN.test(uid)) throw new AppError('session.not_found', 404, 'session not found');
}

export function createSessionEnding(
  deps: Pick<SessionServiceDeps, 'queries' | 'store' | 'audit' | 'events' | 'scheduler' | 'artefacts' | 'logger'> & {
    settingsOf(tenantId: string): Promise<SessionSettings>;
    now: () => number;
  },
) {
  const queries = deps.queries.sessions;
  const { now, settingsOf } = deps;
  const listeners: EndedSessionListener[] = [];

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
      await deps.store.del(...markedUids.map(sessionHotKey));
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

  return {
    endSessions,
    cleanup,

    /** Runs the listener (synchronously, it must not block) after sessions end. */
    onEnded(listener: EndedSessionListener): void {
      listeners.push(listener);
    },

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
  };
}

export type SessionEnding = ReturnType<typeof createSessionEnding>;
