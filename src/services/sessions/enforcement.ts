// Using a session: every use is checked against the tenant's idle timeout and absolute lifetime
// and, for an application, against that application's stricter limits; activity is written at
// most once per ACTIVITY_INTERVAL_SECONDS. A password sign-in creates the record (or restarts its
// absolute lifetime), and each grant issued in the session is recorded for ending it later.
import { SYSTEM_ACTOR } from '../actor.ts';
import type { DeviceDescription } from '../devices.ts';
import type { SessionServiceDeps } from '../sessions.ts';
import type { SessionEnding } from './ending.ts';
import type { HotCopies } from './hot-copy.ts';
import type { SessionSettingsPart } from './settings.ts';

/** Last activity is written at most this often per session. */
export const ACTIVITY_INTERVAL_SECONDS = 60;

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

export function createSessionEnforcement(
  deps: Pick<SessionServiceDeps, 'queries' | 'audit' | 'artefacts'> & {
    settings: Pick<SessionSettingsPart, 'settingsOf' | 'applicationLimits'>;
    hot: HotCopies;
    endSessions: SessionEnding['endSessions'];
    now: () => number;
  },
) {
  const queries = deps.queries.sessions;
  const { now, hot: hotCopies, endSessions } = deps;
  const nowSeconds = () => Math.floor(now() / 1000);

  async function check(uid: string, use: SessionUse = {}): Promise<SessionCheck> {
    const hot = await hotCopies.load(uid, use.hot);
    if (!hot) return { alive: false, reason: 'ended' };
    const at = nowSeconds();
    const settings = await deps.settings.settingsOf(hot.t);
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
      const app = await deps.settings.applicationLimits(use.clientId);
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
      await hotCopies.write(uid, { ...hot, a: at });
    }
    return { alive: true, userId: hot.u, tenantId: hot.t };
  }

  return {
    check,

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
      await hotCopies.write(input.uid, hotCopies.of(stored));
      return true;
    },

    /** A grant issued in a session (and the identity it is for): what ending the session revokes. */
    async recordGrant(input: { tenantId: string; sessionUid: string; userId: string; clientId: string; grantId: string; identityId: string | null }): Promise<void> {
      await queries.recordGrant(input.tenantId, { grantId: input.grantId, sessionUid: input.sessionUid, userId: input.userId, clientId: input.clientId, identityId: input.identityId });
    },
  };
}
