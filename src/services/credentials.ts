// Setting a user's password under the tenant's policy: every rule of the policy (password-policy.ts),
// the history (no reuse of the last N, the current password included), a new hash, a new expiry
// cycle, the history row and the audit event in one transaction, outstanding reset links revoked,
// and user.password_changed announced (with the session the change was made in, which stays).
import type { Executor, Queries } from '../queries/index.ts';
import type { User } from '../queries/users.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { AppError } from './errors.ts';
import type { MfaService } from './mfa.ts';
import { checkPassword, historyViolation, policyError, type PasswordPolicy, type PasswordPolicyService, type Violation } from './password-policy.ts';
import { hashCostProblem, hashScheme, type PasswordHasher } from './passwords.ts';
import type { UserEvents } from './user-events.ts';
import type { LockoutService } from './lockout.ts';

/** Previous hashes kept per user: the most a policy can ask for. */
const HISTORY_KEPT = 24;

export type PasswordChangeReason = 'self' | 'expired' | 'reset' | 'admin' | 'created';

export interface SetPasswordOptions {
  actor: Actor;
  reason: PasswordChangeReason;
  /** The session the user changed it in (kept alive by the sessions feature). */
  sessionUid?: string;
  /** The next sign-in asks for a new password (an administrator set a temporary one). */
  changeRequired?: boolean;
  /**
   * Refuse the current password too, whatever the history setting: a change the user makes must
   * change something. Off for administrators setting a password.
   */
  refuseCurrent?: boolean;
  /** Runs first in the transaction that writes the password (e.g. using up a reset token). */
  inTransaction?: (trx: Executor) => Promise<void>;
}

export function createCredentialService(deps: { queries: Queries; audit: AuditService; passwords: PasswordHasher; policies: PasswordPolicyService; mfa: MfaService; events: UserEvents; lockout: LockoutService }) {
  const queries = deps.queries.accountSecurity;

  /** Whether the password is (or will be) used with a second factor: the shorter minimum applies. */
  async function withMfa(tenantId: string, userId: string | undefined, policy: PasswordPolicy): Promise<boolean> {
    if (policy.mfa.required) return true;
    if (!userId) return false;
    return (await deps.mfa.enabled(tenantId, userId)) || (await deps.policies.mfaRequired(tenantId, userId, undefined, policy));
  }

  /** Every rule the password breaks for this user (history included), each with its message. */
  async function violations(tenantId: string, user: Pick<User, 'username' | 'email' | 'name'> & { id?: string; passwordHash?: string | null }, password: string, options: { refuseCurrent?: boolean } = {}): Promise<Violation[]> {
    const policy = await deps.policies.get(tenantId);
    const found = checkPassword(policy, password, { username: user.username, email: user.email, name: user.name, withMfa: await withMfa(tenantId, user.id, policy) });
    if (found.some((v) => v.rule === 'max_bytes') || !user.id) return found;
    const count = Math.max(policy.historyCount, options.refuseCurrent ? 1 : 0);
    if (count > 0) {
      // The current password is the newest history row; a user without history rows (set before
      // this feature) still has the current hash to compare with.
      const hashes = [...new Set([...(user.passwordHash ? [user.passwordHash] : []), ...(await queries.history(tenantId, user.id, count))])].slice(0, Math.max(count, 1));
      for (const hash of hashes) {
        if (await deps.passwords.verify(hash, password)) {
          found.push(policy.historyCount > 0 ? historyViolation(policy) : { rule: 'same_as_current', message: 'The new password must differ from the current one.' });
          break;
        }
      }
    }
    return found;
  }

  return {
    violations,
    withMfa,

    /**
     * Re-entering the password to confirm a sensitive change (OWASP ASVS 5 V6.2.3, V6.5.x). A wrong
     * one counts towards the account's lockout like a failed sign-in, so a stolen session cannot
     * be used to guess it.
     */
    async confirmPassword(tenantId: string, user: User, password: string, request: Pick<Actor, 'ip' | 'userAgent'>): Promise<boolean> {
      const policy = await deps.policies.get(tenantId);
      const reservation = await deps.lockout.reserveAttempt(tenantId, user.id, policy);
      if (!reservation.allowed) return false;
      if (await deps.passwords.verify(user.passwordHash, password)) {
        await deps.lockout.releaseAttempt(tenantId, user.id);
        return true;
      }
      await deps.lockout.attemptFailed(tenantId, user.id, policy, reservation, request);
      return false;
    },

    /** Throws AppError password.policy (details.violations: one entry per broken rule) or sets the password. */
    async setPassword(tenantId: string, user: User, password: string, options: SetPasswordOptions): Promise<void> {
      const found = await violations(tenantId, user, password, { refuseCurrent: options.refuseCurrent });
      if (found.length) throw policyError(found);
      const hash = await deps.passwords.hash(password);
      await deps.queries.transaction(async ({ db: trx }) => {
        await options.inTransaction?.(trx);
        await queries.setPassword(tenantId, user.id, hash, options.changeRequired ?? false, trx);
        await queries.addHistory(tenantId, user.id, hash, HISTORY_KEPT, trx);
        await queries.revokeResetTokens(tenantId, user.id, new Date(), trx);
        await deps.audit.record({ tenantId, action: 'user.password_changed', ...options.actor, targetType: 'user', targetId: user.id, details: { reason: options.reason, changeRequired: options.changeRequired ?? false } }, trx);
      });
      await deps.events.emit({ type: 'user.password_changed', tenantId, userId: user.id, ...(options.sessionUid ? { sessionUid: options.sessionUid } : {}) });
    },

    /** A hash brought from another system (seed, import): stored as it is, upgraded at the next sign-in. */
    assertImportableHash(hash: string): void {
      if (!hashScheme(hash)) {
        throw new AppError('user.unsupported_hash', 400, 'passwordHash must be an argon2 ($argon2id$, $argon2i$), bcrypt ($2a$, $2b$, $2y$) or PBKDF2 (pbkdf2_sha256$… or $pbkdf2-sha256$…) hash');
      }
      const tooCostly = hashCostProblem(hash);
      if (tooCostly) throw new AppError('user.hash_cost', 400, `passwordHash: ${tooCostly}`, { field: 'passwordHash' });
    },

    /** Records a new user's first password in the history (in the creating transaction). */
    async recordInitialHash(tenantId: string, userId: string, hash: string, trx: Executor): Promise<void> {
      await queries.addHistory(tenantId, userId, hash, HISTORY_KEPT, trx);
    },
  };
}

export type CredentialService = ReturnType<typeof createCredentialService>;
