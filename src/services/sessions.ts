// Sessions (docs/user-guide.md, "Sessions"; ARCHITECTURE.md, "Where state lives"): one record per
// signed-in browser or device, the rules that end it, and what ending it does. This file composes
// the session service from its parts in ./sessions/:
//
// - hot-copy.ts: the record is durable in PostgreSQL (user_sessions) with a small hot copy in the
//   store (`session:{uid}`: tenant, user, last sign-in, last activity), read on every use of the
//   session on any node. A store that lost the key (flush, restart) falls back to PostgreSQL, so
//   nobody is signed out by losing Redis; a session PostgreSQL has no open record of is refused.
// - enforcement.ts: idle timeout and absolute lifetime are checked on every use (check()), and,
//   stricter, an application's own, which limit that application's refresh tokens and make it ask
//   for a new sign-in. Last activity is written at most once per ACTIVITY_INTERVAL_SECONDS per
//   session, not on every request; the idle timeout is therefore exact to within that interval.
// - ending.ts: ending a session marks its record ended first (only the caller that flips it
//   continues, so two nodes never end the same session twice), then removes the hot copy, the
//   oidc-provider session and every grant issued in it with their tokens (through
//   SessionArtefacts), audits who ended which sessions and why, and tells listeners (back-channel
//   logout). A scheduled job ends expired sessions once across all nodes.
// - settings.ts: the limits come from the tenant's settings (defaults from the configuration) and
//   from an application's own settings.
// - list.ts: the session lists of administrators and of the user.
import type { Logger } from '../logger.ts';
import type { Queries } from '../queries/index.ts';
import type { SessionRecord } from '../queries/sessions.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { AuditService } from './audit.ts';
import type { Scheduler } from './scheduler.ts';
import { createSessionEnding } from './sessions/ending.ts';
import { createSessionEnforcement } from './sessions/enforcement.ts';
import { createHotCopies } from './sessions/hot-copy.ts';
import { createSessionList } from './sessions/list.ts';
import { createSessionSettings } from './sessions/settings.ts';
import type { UserEvents } from './user-events.ts';

export type { SessionRecord };
export { ACTIVITY_INTERVAL_SECONDS, type RefusalReason, type SessionCheck, type SessionUse } from './sessions/enforcement.ts';
export type { EndReason, EndedSession, EndedSessionListener } from './sessions/ending.ts';
export { sessionHotKey } from './sessions/hot-copy.ts';
export { sessionListQuerySchema, type SessionListQuery, type SessionPage, type SessionView } from './sessions/list.ts';
export { applicationSessionSettingsSchema, sessionSettingsSchema, type ApplicationSessionSettings, type SessionSettings } from './sessions/settings.ts';

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
  const now = deps.now ?? Date.now;
  const settings = await createSessionSettings(deps);
  const { settingsOf } = settings;
  const hot = createHotCopies({ store: deps.store, queries: deps.queries.sessions, settingsOf, maxLifetimeSeconds: deps.maxLifetimeSeconds, now });
  // Subscribes to the user events and registers the cleanup job.
  const ending = createSessionEnding({ ...deps, settingsOf, now });
  const enforcement = createSessionEnforcement({ ...deps, settings, hot, endSessions: ending.endSessions, now });
  const lists = createSessionList({ ...deps, settingsOf });

  return {
    check: enforcement.check,
    cleanup: ending.cleanup,
    settingsOf,
    onEnded: ending.onEnded,
    recordSignIn: enforcement.recordSignIn,
    recordGrant: enforcement.recordGrant,
    list: lists.list,
    listForUser: lists.listForUser,
    ownerOf: ending.ownerOf,
    endOne: ending.endOne,
    endOwn: ending.endOwn,
    endAllOfUser: ending.endAllOfUser,
    endAllOfUserFor: ending.endAllOfUserFor,
    endAll: ending.endAll,
    recordSignOut: ending.recordSignOut,
    updateSettings: settings.updateSettings,
    applicationSettings: settings.applicationSettings,
    updateApplicationSettings: settings.updateApplicationSettings,
    close: settings.close,
  };
}

export type SessionService = Awaited<ReturnType<typeof createSessionService>>;
