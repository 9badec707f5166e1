// Lockout and throttling (NIST SP 800-63B rev 4 §3.2.2; OWASP ASVS 5 V6.3.5). Two counters in the
// store seam, both atomic INCRs with a TTL, so every node sees the same numbers:
// - per account: consecutive failures (passwords and second-factor codes alike). The failure that
//   brings the counter to exactly the threshold locks the account, for a cool-down that doubles
//   with each lock since the last successful sign-in (capped). Of any number of concurrent
//   failures exactly one sees the threshold, so an account locks once, at exactly N.
// - per IP address: failures of any account within a window; past the limit, sign-in from that
//   address is refused without checking the password (so it costs no argon2id work either).
// Both are reservations: an attempt takes its count (INCR) before the secret is checked, and gives
// it back (decrIfPositive) only when the secret was right. A check-then-count would let N
// parallel attempts all read "below the limit" and all be checked; here the limit is the number
// of counts handed out, so it holds however many arrive at once (ASVS 5 V6.3.5).
// The lock itself is durable in PostgreSQL (status `locked`, locked_until), recorded in the
// status history and the audit log, and lifted by the cool-down running out or an administrator.
import type { Queries } from '../queries/index.ts';
import { toSecurityState, type UserSecurityRow } from '../queries/account-security.ts';
import type { KeyValueStore } from '../store/types.ts';
import { SYSTEM_ACTOR, type Actor } from './actor.ts';
import { assertMayManageUser, type Administrator } from './administration.ts';
import type { AuditService } from './audit.ts';
import { AppError } from './errors.ts';
import type { PasswordPolicy } from './password-policy.ts';
import type { UserEvents } from './user-events.ts';
import { recordLockout } from '../telemetry/metrics.ts';

/** Consecutive failures are forgotten after a day without a lock. */
const FAILURE_WINDOW_SECONDS = 86_400;

export interface FailureResult {
  /** This failure locked the account. */
  locked: boolean;
  /** The failure came when the account had already reached the threshold. */
  beyondThreshold: boolean;
  failures: number;
}

export interface AttemptReservation {
  /** False past the threshold: the secret must not be checked. */
  allowed: boolean;
  /** The count this attempt took (1 for the first since the last success). */
  attempt: number;
}

export function cooldownSeconds(policy: PasswordPolicy, lockNumber: number): number {
  const doubled = policy.lockout.cooldownSeconds * 2 ** Math.min(Math.max(lockNumber - 1, 0), 30);
  return Math.min(doubled, policy.lockout.maxCooldownSeconds);
}

export function createLockoutService(deps: { queries: Queries; store: KeyValueStore; audit: AuditService; events: UserEvents; now?: () => Date }) {
  const queries = deps.queries.accountSecurity;
  const userQueries = deps.queries.users;
  const now = deps.now ?? (() => new Date());
  const failureKey = (tenantId: string, userId: string) => `lockout:${tenantId}:${userId}`;
  const ipKey = (tenantId: string, ip: string) => `throttle:ip:${tenantId}:${ip}`;

  async function lock(tenantId: string, userId: string, policy: PasswordPolicy, failures: number, request: Pick<Actor, 'ip' | 'userAgent'>): Promise<Date | undefined> {
    const until = await deps.queries.transaction(async ({ db: trx }) => {
      const row = await queries.securityRowForUpdate(tenantId, userId, trx);
      if (!row || row.status !== 'active') return undefined;
      const lockNumber = Number(row.lockout_count ?? 0) + 1;
      const lockedUntil = new Date(now().getTime() + cooldownSeconds(policy, lockNumber) * 1000);
      await queries.setLock(tenantId, userId, lockedUntil, lockNumber, trx);
      await userQueries.insertStatusChange({ tenantId, userId, fromStatus: 'active', toStatus: 'locked', reason: `${failures} failed sign-in attempts`, actorId: null }, trx);
      await deps.audit.record(
        { tenantId, action: 'user.locked', ...SYSTEM_ACTOR, ip: request.ip ?? null, userAgent: request.userAgent ?? null, targetType: 'user', targetId: userId, details: { failures, lockNumber, lockedUntil: lockedUntil.toISOString() } },
        trx,
      );
      return lockedUntil;
    });
    if (until) {
      recordLockout();
      await deps.events.emit({ type: 'user.locked', tenantId, userId, until });
    }
    return until;
  }

  async function lift(tenantId: string, userId: string, actor: Actor, reason: string, cooldownOver: boolean, by?: Administrator): Promise<boolean> {
    const lifted = await deps.queries.transaction(async ({ db: trx }) => {
      // Lifting a lock is managing the user (services/administration.ts).
      if (by) await assertMayManageUser(trx, by, userId);
      const row = await queries.securityRowForUpdate(tenantId, userId, trx);
      if (!row) throw new AppError('user.not_found', 404, 'user not found');
      if (row.status !== 'locked') return false;
      // A cool-down may have been lifted by a concurrent sign-in meanwhile: only lift it once.
      if (cooldownOver && (!row.locked_until || new Date(row.locked_until) > now())) return false;
      await queries.clearLock(tenantId, userId, cooldownOver, trx);
      await userQueries.insertStatusChange({ tenantId, userId, fromStatus: 'locked', toStatus: 'active', reason, actorId: actor.actorId ?? null }, trx);
      await deps.audit.record({ tenantId, action: 'user.unlocked', ...actor, targetType: 'user', targetId: userId, details: { reason, lockedUntil: row.locked_until ? new Date(row.locked_until).toISOString() : null } }, trx);
      return true;
    });
    if (lifted) await deps.store.del(failureKey(tenantId, userId));
    return lifted;
  }

  return {
    /**
     * Whether the user is locked now. A lock whose cool-down has run out is lifted here (and
     * audited), so the user can sign in again without anyone's help.
     */
    async isLocked(row: Pick<UserSecurityRow, 'id' | 'tenant_id' | 'status' | 'locked_until'>): Promise<boolean> {
      if (row.status !== 'locked') return false;
      const until = row.locked_until ? new Date(row.locked_until) : null;
      // A lock without an end (set before this feature, or by hand) lasts until an administrator lifts it.
      if (!until || until > now()) return true;
      await lift(row.tenant_id, row.id, SYSTEM_ACTOR, 'cool-down ended', true);
      return false;
    },

    /**
     * Takes one attempt at the account's secrets before checking one. `allowed` is false once the
     * threshold's worth of attempts is taken: that attempt must not be checked at all. A right
     * secret gives the attempt back (releaseAttempt); a wrong one is settled with attemptFailed.
     */
    async reserveAttempt(tenantId: string, userId: string, policy: PasswordPolicy): Promise<AttemptReservation> {
      const attempt = await deps.store.incr(failureKey(tenantId, userId), FAILURE_WINDOW_SECONDS);
      return { allowed: attempt <= policy.lockout.threshold, attempt };
    },

    async releaseAttempt(tenantId: string, userId: string): Promise<void> {
      await deps.store.decrIfPositive(failureKey(tenantId, userId));
    },

    /** The reserved attempt was a wrong secret: the one that took the threshold's count locks. */
    async attemptFailed(tenantId: string, userId: string, policy: PasswordPolicy, reservation: AttemptReservation, request: Pick<Actor, 'ip' | 'userAgent'>): Promise<FailureResult> {
      const failures = reservation.attempt;
      const threshold = policy.lockout.threshold;
      if (failures === threshold) {
        const until = await lock(tenantId, userId, policy, failures, request);
        return { locked: until !== undefined, beyondThreshold: false, failures };
      }
      return { locked: false, beyondThreshold: failures > threshold, failures };
    },

    /**
     * A completed sign-in: the failures and the repeat count start again. `lockoutCount` is the
     * repeat count on the user's row as the caller read it during this sign-in: when it is 0 there
     * is nothing to start again and the row is not written.
     */
    async recordSuccess(tenantId: string, userId: string, lockoutCount?: number): Promise<void> {
      await deps.store.del(failureKey(tenantId, userId));
      if (lockoutCount === undefined || lockoutCount > 0) await queries.resetLockoutCount(tenantId, userId);
    },

    /** Forgets the consecutive failures (an administrator made the user active again). */
    async clearFailures(tenantId: string, userId: string): Promise<void> {
      await deps.store.del(failureKey(tenantId, userId));
    },

    async failures(tenantId: string, userId: string): Promise<number> {
      return Number((await deps.store.get(failureKey(tenantId, userId))) ?? 0);
    },

    /**
     * Takes one attempt from the address's allowance before any check: 0 when taken, otherwise
     * the seconds until the address may try again (and nothing may be checked for it).
     */
    async reserveIpAttempt(tenantId: string, ip: string, policy: PasswordPolicy): Promise<number> {
      const count = await deps.store.incr(ipKey(tenantId, ip), policy.ipThrottle.windowSeconds);
      if (count <= policy.ipThrottle.maxFailures) return 0;
      return Math.max((await deps.store.ttl(ipKey(tenantId, ip))) ?? 1, 1);
    },

    /** The address's reserved attempt succeeded: it does not count as a failure. */
    async releaseIpAttempt(tenantId: string, ip: string): Promise<void> {
      await deps.store.decrIfPositive(ipKey(tenantId, ip));
    },

    /** An administrator lifts a lock (the guard asks whether it may manage the user). 409 when the user is not locked. */
    async unlock(userId: string, by: Administrator & { actor: Actor }, reason?: string): Promise<void> {
      if (!(await lift(by.tenantId, userId, by.actor, reason ?? 'unlocked by an administrator', false, by))) {
        throw new AppError('user.not_locked', 409, 'the user is not locked');
      }
    },

    async state(tenantId: string, userId: string) {
      const row = await queries.securityRow(tenantId, userId);
      if (!row) throw new AppError('user.not_found', 404, 'user not found');
      return { status: row.status, ...toSecurityState(row), failures: await this.failures(tenantId, userId) };
    },
  };
}

export type LockoutService = ReturnType<typeof createLockoutService>;
