// The steps of an interactive sign-in (DESIGN.md "Sign-in flow"): password → second factor if
// the user has one (or must set one up) → a new password if the current one has expired or must
// be changed → done, with amr/acr for the ID token. Progress between steps is kept in the store
// under the interaction's uid (itself bound to the browser by oidc-provider's interaction cookie),
// so any node can serve the next step.
//
// Rules of the password step (OWASP ASVS 5 V6.3; NIST SP 800-63B rev 4 §3.2.2):
// - an unknown user, a locked account and a wrong password get the same answer and the same
//   cost: exactly one argon2id verification each (a dummy hash for unknown users);
// - the per-IP throttle is checked first and, when it applies, costs no verification at all;
// - the account's failure counter is reset only when the whole sign-in completes, so knowing the
//   password does not buy unlimited guesses at the second factor.
import type { Knex } from 'knex';
import { createAccountSecurityQueries, toSecurityState, type UserSecurityRow } from '../queries/account-security.ts';
import { createUserQueries, type User } from '../queries/users.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { Actor } from './actor.ts';
import type { CredentialService } from './credentials.ts';
import type { LockoutService } from './lockout.ts';
import type { MfaService, TotpEnrollment } from './mfa.ts';
import type { PasskeyAssertion, PasskeyService } from './passkeys.ts';
import { passwordExpiresAt, type PasswordPolicy, type PasswordPolicyService, type Violation } from './password-policy.ts';
import type { PasswordHasher } from './passwords.ts';

export type SignInStep = 'totp' | 'enroll_totp' | 'change_password';

/** Authentication context class references (OIDC Core §2 `acr`). */
export const ACR_PASSWORD = 'urn:gatehouse:pwd';
export const ACR_MFA = 'urn:gatehouse:mfa';

export type FailureReason = 'unknown' | 'password' | 'locked' | 'inactive' | 'ip_throttled' | 'passkey' | 'passkey_cloned';

/**
 * The amr values (RFC 8176 §2) of a passkey assertion: proof of possession of a key, "hwk" when it
 * cannot leave its authenticator and "swk" when it may be synced (backup eligible), plus "user"
 * when the authenticator verified the user (PIN or biometrics).
 */
export function passkeyAmr(assertion: { userVerified: boolean; backupEligible: boolean }): string[] {
  return [assertion.backupEligible ? 'swk' : 'hwk', ...(assertion.userVerified ? ['user'] : [])];
}

/** Two factors: a one-time code after the password, or a passkey whose user was verified. */
export function isMultiFactor(amr: readonly string[]): boolean {
  return amr.includes('otp') || ((amr.includes('hwk') || amr.includes('swk')) && amr.includes('user')) || (amr.includes('pwd') && (amr.includes('hwk') || amr.includes('swk')));
}

export type SignInOutcome =
  | { kind: 'failed'; reason: FailureReason; userId?: string }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'step'; step: SignInStep; userId: string; expired?: boolean }
  /** A wrong code or a refused password at a later step: the same step again, with what was wrong. */
  | { kind: 'retry'; step: SignInStep; userId: string; message: string; violations?: Violation[] }
  | { kind: 'done'; userId: string; amr: string[]; acr: string };

interface Progress {
  userId: string;
  amr: string[];
  /** 'done': every step passed, waiting for finish() (e.g. while recovery codes are shown). */
  step: SignInStep | 'done';
  /** Set when the password has to change: why (shown on the page). */
  expired?: boolean;
  clientId?: string;
}

const PROGRESS_TTL_SECONDS = 15 * 60;

export function createSignInService(deps: {
  knex: Knex;
  store: KeyValueStore;
  passwords: PasswordHasher;
  policies: PasswordPolicyService;
  lockout: LockoutService;
  mfa: MfaService;
  credentials: CredentialService;
  passkeys: PasskeyService;
  now?: () => Date;
}) {
  const users = createUserQueries(deps.knex);
  const security = createAccountSecurityQueries(deps.knex);
  const now = deps.now ?? (() => new Date());
  const key = (tenantId: string, uid: string) => `signin:${tenantId}:${uid}`;

  async function save(tenantId: string, uid: string, progress: Progress): Promise<void> {
    await deps.store.set(key(tenantId, uid), JSON.stringify(progress), PROGRESS_TTL_SECONDS);
  }

  async function load(tenantId: string, uid: string, step?: SignInStep | 'done'): Promise<Progress | undefined> {
    const raw = await deps.store.get(key(tenantId, uid));
    if (!raw) return undefined;
    const progress = JSON.parse(raw) as Progress;
    return step && progress.step !== step ? undefined : progress;
  }

  /** Whether the user's password must change before the sign-in may complete. */
  function mustChangePassword(row: UserSecurityRow, policy: PasswordPolicy): boolean {
    const state = toSecurityState(row);
    if (state.passwordChangeRequired) return true;
    const expires = passwordExpiresAt(policy, state.passwordChangedAt);
    return expires !== null && expires <= now();
  }

  /** The next step after the factors in `amr`, or the end of the sign-in. */
  async function advance(tenantId: string, uid: string, progress: Omit<Progress, 'step'>): Promise<SignInOutcome> {
    const policy = await deps.policies.get(tenantId);
    const row = await security.securityRow(tenantId, progress.userId);
    if (!row || row.status !== 'active') {
      await deps.store.del(key(tenantId, uid));
      return { kind: 'failed', reason: 'inactive', userId: progress.userId };
    }
    if (!isMultiFactor(progress.amr)) {
      // The second-factor step offers the authenticator app and the passkeys the user has.
      if ((await deps.mfa.enabled(tenantId, progress.userId)) || (await deps.passkeys.count(tenantId, progress.userId)) > 0) return step(tenantId, uid, { ...progress, step: 'totp' });
      if (await deps.policies.mfaRequired(tenantId, progress.userId, progress.clientId, policy)) return step(tenantId, uid, { ...progress, step: 'enroll_totp' });
    }
    // The password rules apply to sign-ins that used the password.
    if (progress.amr.includes('pwd') && mustChangePassword(row, policy)) return step(tenantId, uid, { ...progress, step: 'change_password', expired: !row.password_change_required });
    await deps.lockout.recordSuccess(tenantId, progress.userId);
    await save(tenantId, uid, { ...progress, step: 'done' });
    return done(progress);
  }

  const done = (progress: Pick<Progress, 'userId' | 'amr'>): SignInOutcome => ({ kind: 'done', userId: progress.userId, amr: progress.amr, acr: isMultiFactor(progress.amr) ? ACR_MFA : ACR_PASSWORD });

  async function step(tenantId: string, uid: string, progress: Progress & { step: SignInStep }): Promise<SignInOutcome> {
    await save(tenantId, uid, progress);
    return { kind: 'step', step: progress.step, userId: progress.userId, ...(progress.expired !== undefined ? { expired: progress.expired } : {}) };
  }

  /** A wrong second-factor code: counted towards the lockout; a lock ends this sign-in. */
  async function secondFactorFailed(tenantId: string, uid: string, progress: Progress, request: Pick<Actor, 'ip' | 'userAgent'>, stepName: SignInStep): Promise<SignInOutcome> {
    const policy = await deps.policies.get(tenantId);
    if (request.ip) await deps.lockout.recordIpFailure(tenantId, request.ip, policy);
    const result = await deps.lockout.recordFailure(tenantId, progress.userId, policy, request);
    if (result.locked || result.beyondThreshold) {
      await deps.store.del(key(tenantId, uid));
      return { kind: 'failed', reason: 'locked', userId: progress.userId };
    }
    return { kind: 'retry', step: stepName, userId: progress.userId, message: 'That code is not valid. Enter the current code from your authenticator app.' };
  }

  return {
    /** The step the interaction is at, if a password was accepted. */
    async progress(tenantId: string, uid: string): Promise<{ step: SignInStep | 'done'; userId: string; expired?: boolean } | undefined> {
      const p = await load(tenantId, uid);
      return p ? { step: p.step, userId: p.userId, ...(p.expired !== undefined ? { expired: p.expired } : {}) } : undefined;
    },

    /** Takes the completed sign-in (once: the record is read and removed atomically). */
    async finish(tenantId: string, uid: string): Promise<Extract<SignInOutcome, { kind: 'done' }> | undefined> {
      const raw = await deps.store.consume(key(tenantId, uid));
      if (!raw) return undefined;
      const progress = JSON.parse(raw) as Progress;
      if (progress.step !== 'done') {
        await save(tenantId, uid, progress);
        return undefined;
      }
      return done(progress) as Extract<SignInOutcome, { kind: 'done' }>;
    },

    async password(tenantId: string, input: { uid: string; login: string; password: string; clientId?: string; ip: string; userAgent: string | null }): Promise<SignInOutcome> {
      const policy = await deps.policies.get(tenantId);
      const retryAfter = await deps.lockout.ipThrottled(tenantId, input.ip, policy);
      if (retryAfter > 0) return { kind: 'throttled', retryAfterSeconds: retryAfter };
      const user: User | undefined = input.login.length <= 254 ? await users.findByLogin(tenantId, input.login) : undefined;
      // Exactly one verification whatever follows: the answer costs the same for every case.
      const ok = await deps.passwords.verify(user?.passwordHash, input.password);
      const request = { ip: input.ip, userAgent: input.userAgent };
      if (!user) {
        await deps.lockout.recordIpFailure(tenantId, input.ip, policy);
        return { kind: 'failed', reason: 'unknown' };
      }
      const row = (await security.securityRow(tenantId, user.id))!;
      if (await deps.lockout.isLocked(row)) {
        await deps.lockout.recordIpFailure(tenantId, input.ip, policy);
        return { kind: 'failed', reason: 'locked', userId: user.id };
      }
      if (row.status === 'inactive') return { kind: 'failed', reason: 'inactive', userId: user.id };
      if (!ok) {
        await deps.lockout.recordIpFailure(tenantId, input.ip, policy);
        const result = await deps.lockout.recordFailure(tenantId, user.id, policy, request);
        return { kind: 'failed', reason: result.beyondThreshold ? 'locked' : 'password', userId: user.id };
      }
      if (user.passwordHash && deps.passwords.needsRehash(user.passwordHash)) {
        // An imported or older hash becomes argon2id with today's parameters; the cycle stays.
        await security.replaceHash(tenantId, user.id, await deps.passwords.hash(input.password));
      }
      return advance(tenantId, input.uid, { userId: user.id, amr: ['pwd'], ...(input.clientId ? { clientId: input.clientId } : {}) });
    },

    /**
     * A passkey as the first factor: the same throttle, lockout and status checks as a password,
     * and a refused assertion counts as a failed attempt. With user verification it is two factors.
     */
    async passkey(tenantId: string, input: { uid: string; response: unknown; clientId?: string; ip: string; userAgent: string | null }): Promise<SignInOutcome> {
      const policy = await deps.policies.get(tenantId);
      const retryAfter = await deps.lockout.ipThrottled(tenantId, input.ip, policy);
      if (retryAfter > 0) return { kind: 'throttled', retryAfterSeconds: retryAfter };
      const request = { ip: input.ip, userAgent: input.userAgent };
      const assertion = await deps.passkeys.authenticate(tenantId, input.uid, input.response, request);
      if (!assertion.ok) {
        await deps.lockout.recordIpFailure(tenantId, input.ip, policy);
        if (assertion.userId) await deps.lockout.recordFailure(tenantId, assertion.userId, policy, request);
        return { kind: 'failed', reason: assertion.reason === 'cloned' ? 'passkey_cloned' : 'passkey', ...(assertion.userId ? { userId: assertion.userId } : {}) };
      }
      const row = (await security.securityRow(tenantId, assertion.userId))!;
      if (await deps.lockout.isLocked(row)) return { kind: 'failed', reason: 'locked', userId: assertion.userId };
      if (row.status === 'inactive') return { kind: 'failed', reason: 'inactive', userId: assertion.userId };
      return advance(tenantId, input.uid, { userId: assertion.userId, amr: passkeyAmr(assertion), ...(input.clientId ? { clientId: input.clientId } : {}) });
    },

    /** Options for a passkey as the first factor (any discoverable passkey), bound to the interaction. */
    async firstFactorPasskeyOptions(tenantId: string, uid: string) {
      return deps.passkeys.authenticationOptions(tenantId, uid);
    },

    /** Whether the user has an authenticator app, for the second-factor page. */
    async totpEnabled(tenantId: string, userId: string): Promise<boolean> {
      return deps.mfa.enabled(tenantId, userId);
    },

    /** Options for a passkey at the second-factor step (only the user's own passkeys). */
    async secondFactorPasskeyOptions(tenantId: string, uid: string) {
      const progress = await load(tenantId, uid, 'totp');
      if (!progress || (await deps.passkeys.count(tenantId, progress.userId)) === 0) return undefined;
      return deps.passkeys.authenticationOptions(tenantId, uid, progress.userId);
    },

    /** A passkey as the second factor after the password. */
    async passkeySecondFactor(tenantId: string, input: { uid: string; response: unknown; ip: string; userAgent: string | null }): Promise<SignInOutcome | undefined> {
      const progress = await load(tenantId, input.uid, 'totp');
      if (!progress) return undefined;
      const assertion: PasskeyAssertion = await deps.passkeys.authenticate(tenantId, input.uid, input.response, input, progress.userId);
      if (!assertion.ok) {
        const outcome = await secondFactorFailed(tenantId, input.uid, progress, input, 'totp');
        return outcome.kind === 'retry' ? { ...outcome, message: 'The passkey could not be verified. Try again.' } : outcome;
      }
      return advance(tenantId, input.uid, { ...progress, amr: [...progress.amr, ...passkeyAmr(assertion)] });
    },

    async totp(tenantId: string, input: { uid: string; code: string; ip: string; userAgent: string | null }): Promise<SignInOutcome | undefined> {
      const progress = await load(tenantId, input.uid, 'totp');
      if (!progress) return undefined;
      if (!(await deps.mfa.verifyTotp(tenantId, progress.userId, input.code))) return secondFactorFailed(tenantId, input.uid, progress, input, 'totp');
      return advance(tenantId, input.uid, { ...progress, amr: [...progress.amr, 'otp'] });
    },

    async recoveryCode(tenantId: string, input: { uid: string; code: string; ip: string; userAgent: string | null }): Promise<SignInOutcome | undefined> {
      const progress = await load(tenantId, input.uid, 'totp');
      if (!progress) return undefined;
      const actor: Actor = { actorType: 'user', actorId: progress.userId, ip: input.ip, userAgent: input.userAgent };
      if (!(await deps.mfa.useRecoveryCode(tenantId, progress.userId, input.code, actor))) {
        const outcome = await secondFactorFailed(tenantId, input.uid, progress, input, 'totp');
        return outcome.kind === 'retry' ? { ...outcome, message: 'That recovery code is not valid or was already used.' } : outcome;
      }
      // A recovery code is a one-time password of its own (a look-up secret, NIST 800-63B rev 4 §3.1.2).
      return advance(tenantId, input.uid, { ...progress, amr: [...progress.amr, 'otp'] });
    },

    /** The enrollment shown at the enroll_totp step (started on first view). */
    async enrollment(tenantId: string, uid: string): Promise<TotpEnrollment | undefined> {
      const progress = await load(tenantId, uid, 'enroll_totp');
      if (!progress) return undefined;
      const user = (await users.findById(tenantId, progress.userId))!;
      return (await deps.mfa.pendingEnrollment(tenantId, user)) ?? deps.mfa.startEnrollment(tenantId, user);
    },

    async confirmEnrollment(tenantId: string, input: { uid: string; code: string; ip: string; userAgent: string | null }): Promise<{ outcome: SignInOutcome; recoveryCodes?: string[] } | undefined> {
      const progress = await load(tenantId, input.uid, 'enroll_totp');
      if (!progress) return undefined;
      const actor: Actor = { actorType: 'user', actorId: progress.userId, ip: input.ip, userAgent: input.userAgent };
      const codes = await deps.mfa.confirmEnrollment(tenantId, progress.userId, input.code, actor);
      if (!codes) return { outcome: await secondFactorFailed(tenantId, input.uid, progress, input, 'enroll_totp') };
      return { outcome: await advance(tenantId, input.uid, { ...progress, amr: [...progress.amr, 'otp'] }), recoveryCodes: codes };
    },

    async changePassword(tenantId: string, input: { uid: string; password: string; confirmation: string; ip: string; userAgent: string | null }): Promise<SignInOutcome | undefined> {
      const loaded = await load(tenantId, input.uid, 'change_password');
      if (!loaded) return undefined;
      const progress = loaded as Progress & { step: 'change_password' };
      if (input.password !== input.confirmation) return { kind: 'retry', step: 'change_password', userId: progress.userId, message: 'The two passwords do not match.' };
      const user = (await users.findById(tenantId, progress.userId))!;
      const actor: Actor = { actorType: 'user', actorId: user.id, ip: input.ip, userAgent: input.userAgent };
      const violations = await deps.credentials.violations(tenantId, user, input.password, { refuseCurrent: true });
      if (violations.length) return { kind: 'retry', step: 'change_password', userId: user.id, message: 'Choose another password:', violations };
      await deps.credentials.setPassword(tenantId, user, input.password, { actor, reason: progress.expired ? 'expired' : 'admin', refuseCurrent: true });
      return advance(tenantId, input.uid, progress);
    },
  };
}

export type SignInService = ReturnType<typeof createSignInService>;
