// Forgotten passwords (OWASP ASVS 5 V6.4; NIST SP 800-63B rev 4 §4.1.2 on recovery):
// - asking for a reset answers the same whatever was typed, and does its work (lookup, token,
//   mail) in the background, so neither the page nor its timing tells whether an account exists;
// - the link carries a random 256-bit token; only its keyed hash is stored; it expires after
//   GATEHOUSE_RESET_TOKEN_TTL seconds and is used up by one conditional UPDATE in the transaction
//   that sets the new password, so it works exactly once (a new password revokes every other);
// - it never bypasses MFA: a user with an authenticator app must also give a current code or a
//   recovery code to set the password, and the reset signs nobody in;
// - at most one mail per account per minute, and asking is throttled per IP like sign-in.
import type { Executor } from '../queries/index.ts';
import type { Logger } from '../logger.ts';
import { type User } from '../queries/users.ts';
import type { Actor } from './actor.ts';
import { assertMayManageUser, type Administrator } from './administration.ts';
import type { AuditService } from './audit.ts';
import { resetMail } from './account-mail.ts';
import { AppError } from './errors.ts';
import type { Mailer } from './mail.ts';
import type { AccountChecks } from './sign-in.ts';
import { keyedHash, randomToken } from './secrets.ts';

const MAIL_INTERVAL_SECONDS = 60;

/** The holder of the link owns the mailbox, so the lock's end may be named. */
function lockedError(until: Date | string | null): AppError {
  const when = until ? ` Try again after ${new Date(until).toISOString().slice(0, 16).replace('T', ' ')} UTC.` : ' An administrator can unlock it.';
  return new AppError('password_reset.locked', 423, `This account is locked after too many failed attempts.${when}`);
}

export const RESET_LINK_INVALID = 'This link has expired or was already used. Ask for a new one.';

export function createPasswordResetService(deps: AccountChecks & { audit: AuditService; mailer: Mailer; logger: Logger; hashKey: Buffer; ttlSeconds: number }) {
  const queries = deps.queries.accountSecurity;
  const users = deps.queries.users;
  const now = deps.now ?? (() => new Date());
  const pending = new Set<Promise<void>>();
  const hashToken = (token: string) => keyedHash(deps.hashKey, `password-reset:${token}`);
  const wellFormed = (token: string) => /^[A-Za-z0-9_-]{43}$/.test(token);

  async function sendLink(tenantId: string, login: string, linkBase: string): Promise<void> {
    const user = login.length <= 254 ? await users.findByLogin(tenantId, login) : undefined;
    if (!user || user.status === 'inactive' || !user.email) return;
    if (!(await deps.store.setIfAbsent(`reset:mailed:${tenantId}:${user.id}`, '1', MAIL_INTERVAL_SECONDS))) return;
    const token = randomToken(32);
    await queries.insertResetToken(tenantId, user.id, hashToken(token), new Date(now().getTime() + deps.ttlSeconds * 1000));
    await deps.mailer.send(resetMail({ ...user, email: user.email }, `${linkBase}?token=${token}`, Math.round(deps.ttlSeconds / 60)));
  }

  async function userOf(tenantId: string, token: string): Promise<User | undefined> {
    if (!wellFormed(token)) return undefined;
    const userId = await queries.findResetToken(tenantId, hashToken(token), now());
    const user = userId ? await users.findById(tenantId, userId) : undefined;
    return user && user.status !== 'inactive' ? user : undefined;
  }

  return {
    /**
     * Starts a reset for the username or email, if it names an account with an email address.
     * Returns at once and never says whether it did; throttled per IP (429 past the tenant's limit).
     */
    async request(tenantId: string, login: string, linkBase: string, ip: string): Promise<void> {
      const policy = await deps.policies.get(tenantId);
      // Counted like a failed sign-in (and never given back): asking is cheap for an attacker,
      // mail is not for us.
      if (await deps.lockout.reserveIpAttempt(tenantId, ip, policy)) throw new AppError('password_reset.throttled', 429, 'Too many requests from your network. Try again later.');
      const job = sendLink(tenantId, login.trim(), linkBase)
        .catch((error: unknown) => deps.logger.error({ err: { message: (error as Error).message } }, 'password reset mail not sent'))
        .finally(() => pending.delete(job));
      pending.add(job);
    },

    /**
     * An administrator sends the user a reset link (the same single-use link as asking for one on
     * the sign-in page), at once and audited. Refused with user.no_email (409) when the user has no
     * email address and user.inactive (409) for an inactive user, who could not use it.
     */
    async sendByAdministrator(userId: string, linkBase: string, by: Administrator & { actor: Actor }): Promise<void> {
      const { tenantId, actor } = by;
      const user = await users.findById(tenantId, userId);
      if (!user) throw new AppError('user.not_found', 404, 'user not found');
      if (user.status === 'inactive') throw new AppError('user.inactive', 409, `user "${user.username}" is inactive: activate it first`);
      if (!user.email) throw new AppError('user.no_email', 409, `user "${user.username}" has no email address to send the link to`);
      const token = randomToken(32);
      await deps.queries.transaction(async ({ db: trx }) => {
        // Sending a user a reset link is managing the user (services/administration.ts).
        await assertMayManageUser(trx, by, user.id);
        await queries.insertResetToken(tenantId, user.id, hashToken(token), new Date(now().getTime() + deps.ttlSeconds * 1000), trx);
        await deps.audit.record({ tenantId, action: 'user.password_reset_sent', ...actor, targetType: 'user', targetId: user.id, details: {} }, trx);
      });
      await deps.mailer.send(resetMail({ ...user, email: user.email }, `${linkBase}?token=${token}`, Math.round(deps.ttlSeconds / 60)));
    },

    /**
     * A set-password link for a new user (an invitation): the same single-use token as a reset,
     * with its own lifetime. Only the token's keyed hash is stored.
     */
    async issueToken(tenantId: string, userId: string, ttlSeconds: number, db: Executor = deps.queries.db): Promise<string> {
      const token = randomToken(32);
      await queries.insertResetToken(tenantId, userId, hashToken(token), new Date(now().getTime() + ttlSeconds * 1000), db);
      return token;
    },

    /** Resolves once every background request has been handled (tests). */
    async idle(): Promise<void> {
      while (pending.size) await Promise.all([...pending]);
    },

    /** What the reset form needs to know about a token; undefined when it is not usable. */
    async inspect(tenantId: string, token: string): Promise<{ needsSecondFactor: boolean } | undefined> {
      const user = await userOf(tenantId, token);
      return user ? { needsSecondFactor: await deps.mfa.enabled(tenantId, user.id) } : undefined;
    },

    /**
     * Sets the new password with the token (and a second-factor code when the user has one).
     * Errors: password_reset.invalid (400, token unknown, used or expired), password_reset.second_factor
     * (400), password.policy (400, with each violated rule). A failed attempt leaves the token usable.
     */
    async complete(tenantId: string, input: { token: string; password: string; code?: string; recoveryCode?: string }, actor: Actor): Promise<User> {
      const user = await userOf(tenantId, input.token);
      if (!user) throw new AppError('password_reset.invalid', 400, RESET_LINK_INVALID);
      const policy = await deps.policies.get(tenantId);
      // A locked account waits for its lock to end: the link does not lift a lock (a lock that
      // has run out is lifted by isLocked itself).
      const row = await queries.securityRow(tenantId, user.id);
      if (row && (await deps.lockout.isLocked(row))) throw lockedError(row.locked_until);
      if (await deps.mfa.enabled(tenantId, user.id)) {
        // The second factor is guessed like any other (ASVS 5 V6.3.5): the attempt is taken from
        // the address and the account before the code is checked, and a wrong one counts.
        const ip = actor.ip ?? undefined;
        if (ip && (await deps.lockout.reserveIpAttempt(tenantId, ip, policy))) throw new AppError('password_reset.throttled', 429, 'Too many failed attempts from your network. Try again later.');
        const reservation = await deps.lockout.reserveAttempt(tenantId, user.id, policy);
        if (!reservation.allowed) throw lockedError((await queries.securityRow(tenantId, user.id))?.locked_until ?? null);
        const ok = input.code ? await deps.mfa.verifyTotp(tenantId, user.id, input.code) : input.recoveryCode ? await deps.mfa.useRecoveryCode(tenantId, user.id, input.recoveryCode, actor) : false;
        if (!ok) {
          const result = await deps.lockout.attemptFailed(tenantId, user.id, policy, reservation, actor);
          if (result.locked || result.beyondThreshold) throw lockedError((await queries.securityRow(tenantId, user.id))?.locked_until ?? null);
          throw new AppError('password_reset.second_factor', 400, 'Enter a current code from your authenticator app, or one of your recovery codes.');
        }
        await deps.lockout.releaseAttempt(tenantId, user.id);
        if (ip) await deps.lockout.releaseIpAttempt(tenantId, ip);
      }
      const tokenHash = hashToken(input.token);
      await deps.credentials.setPassword(tenantId, user, input.password, {
        actor,
        reason: 'reset',
        refuseCurrent: true,
        async inTransaction(trx) {
          if (!(await queries.consumeResetToken(tenantId, tokenHash, user.id, now(), trx))) throw new AppError('password_reset.invalid', 400, RESET_LINK_INVALID);
        },
      });
      return user;
    },
  };
}

export type PasswordResetService = ReturnType<typeof createPasswordResetService>;
