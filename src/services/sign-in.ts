// The steps of an interactive sign-in (ARCHITECTURE.md, "The request path of a sign-in"):
// password → second factor if the user has one (or must set one up) → a new password if the current
// one has expired or must be changed → done, with amr/acr for the ID token. Progress between steps
// is kept in the store under the interaction's uid (itself bound to the browser by oidc-provider's
// interaction cookie), so any node can serve the next step.
//
// Rules of the password step (OWASP ASVS 5 V6.3; NIST SP 800-63B rev 4 §3.2.2):
// - an unknown user, a locked account and a wrong password get the same answer and the same
//   cost: exactly one argon2id verification each (a dummy hash for unknown users);
// - the per-IP throttle and the account's lockout are reservations taken before the password is
//   checked (lockout.ts): past either limit the real hash is not checked at all, however many
//   attempts arrive at once; past the IP limit no verification happens at all;
// - the account's failure counter is reset only when the whole sign-in completes, so knowing the
//   password does not buy unlimited guesses at the second factor.
import { toSecurityState, type UserSecurityRow } from '../queries/account-security.ts';
import type { Queries } from '../queries/index.ts';
import type { User } from '../queries/users.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { Actor } from './actor.ts';
import type { CredentialService } from './credentials.ts';
import type { LockoutService } from './lockout.ts';
import type { MfaService, TotpEnrollment } from './mfa.ts';
import type { PasskeyAssertion, PasskeyService } from './passkeys.ts';
import { passwordExpiresAt, type PasswordPolicy, type PasswordPolicyService, type Violation } from './password-policy.ts';
import type { PasswordHasher } from './passwords.ts';
import { recordSignIn, type SignInOutcome as MetricOutcome } from '../telemetry/metrics.ts';
import { opaqueKey } from './secrets.ts';

export type SignInStep = 'totp' | 'enroll_totp' | 'change_password';

/** Authentication context class references (OIDC Core §2 `acr`). */
export const ACR_PASSWORD = 'urn:gatehouse:pwd';
export const ACR_MFA = 'urn:gatehouse:mfa';
/** Signed in through an upstream identity provider, without a second factor at Gatehouse. */
export const ACR_FEDERATED = 'urn:gatehouse:fed';

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

/** What a sign-in and a password reset both check an account against. */
export interface AccountChecks {
  queries: Queries;
  store: KeyValueStore;
  credentials: CredentialService;
  mfa: MfaService;
  lockout: LockoutService;
  policies: PasswordPolicyService;
  now?: () => Date;
}

export function createSignInService(deps: AccountChecks & { passwords: PasswordHasher; passkeys: PasskeyService }) {
  const users = deps.queries.users;
  const security = deps.queries.accountSecurity;
  const now = deps.now ?? (() => new Date());
  const key = (tenantId: string, uid: string) => `signin:${tenantId}:${opaqueKey(uid)}`;

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
    // The password rules apply to sign-ins that used the password (not a passkey or an upstream provider).
    if (progress.amr.includes('pwd') && mustChangePassword(row, policy)) return step(tenantId, uid, { ...progress, step: 'change_password', expired: !row.password_change_required });
    await deps.lockout.recordSuccess(tenantId, progress.userId, toSecurityState(row).lockoutCount);
    await save(tenantId, uid, { ...progress, step: 'done' });
    return done(progress);
  }

  const done = (progress: Pick<Progress, 'userId' | 'amr'>): SignInOutcome => ({ kind: 'done', userId: progress.userId, amr: progress.amr, acr: isMultiFactor(progress.amr) ? ACR_MFA : progress.amr.includes('pwd') ? ACR_PASSWORD : ACR_FEDERATED });

  async function step(tenantId: string, uid: string, progress: Progress & { step: SignInStep }): Promise<SignInOutcome> {
    await save(tenantId, uid, progress);
    return { kind: 'step', step: progress.step, userId: progress.userId, ...(progress.expired !== undefined ? { expired: progress.expired } : {}) };
  }

  /**
   * A second-factor check under the same reservations as the password: the attempt is taken from
   * the account and the address before the code is checked, so parallel guesses cannot outrun
   * the lockout; a wrong code settles as a failure and a lock ends this sign-in. Answers the
   * check's value when it passed, otherwise the outcome to show.
   */
  async function guardedSecondFactor<T>(
    tenantId: string,
    uid: string,
    progress: Progress,
    request: Pick<Actor, 'ip' | 'userAgent'>,
    stepName: SignInStep,
    check: () => Promise<T | false | undefined>,
  ): Promise<{ passed: T } | { outcome: SignInOutcome }> {
    const policy = await deps.policies.get(tenantId);
    if (request.ip) {
      const retryAfter = await deps.lockout.reserveIpAttempt(tenantId, request.ip, policy);
      if (retryAfter > 0) return { outcome: { kind: 'throttled', retryAfterSeconds: retryAfter } };
    }
    const reservation = await deps.lockout.reserveAttempt(tenantId, progress.userId, policy);
    if (!reservation.allowed) {
      await deps.store.del(key(tenantId, uid));
      return { outcome: { kind: 'failed', reason: 'locked', userId: progress.userId } };
    }
    const passed = await check();
    if (passed) {
      await deps.lockout.releaseAttempt(tenantId, progress.userId);
      if (request.ip) await deps.lockout.releaseIpAttempt(tenantId, request.ip);
      return { passed };
    }
    const result = await deps.lockout.attemptFailed(tenantId, progress.userId, policy, reservation, request);
    if (result.locked || result.beyondThreshold) {
      await deps.store.del(key(tenantId, uid));
      return { outcome: { kind: 'failed', reason: 'locked', userId: progress.userId } };
    }
    return { outcome: { kind: 'retry', step: stepName, userId: progress.userId, message: 'That code is not valid. Enter the current code from your authenticator app.' } };
  }

  const service = {
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

    /**
     * The first factor was an upstream identity provider (services/federation.ts): the account's
     * lock and status apply, then the same steps as after a password (amr "fed", RFC 8176 §2).
     */
    async federated(tenantId: string, input: { uid: string; userId: string; clientId?: string }): Promise<SignInOutcome> {
      const row = await security.securityRow(tenantId, input.userId);
      if (!row) return { kind: 'failed', reason: 'unknown' };
      if (await deps.lockout.isLocked(row)) return { kind: 'failed', reason: 'locked', userId: input.userId };
      if (row.status !== 'active') return { kind: 'failed', reason: 'inactive', userId: input.userId };
      return advance(tenantId, input.uid, { userId: input.userId, amr: ['fed'], ...(input.clientId ? { clientId: input.clientId } : {}) });
    },

    /** `extraAmr`: methods already used in this sign-in (e.g. "fed" when the password links an upstream account). */
    async password(tenantId: string, input: { uid: string; login: string; password: string; clientId?: string; ip: string; userAgent: string | null; extraAmr?: string[] }): Promise<SignInOutcome> {
      const policy = await deps.policies.get(tenantId);
      // The address's attempt is taken before anything is checked; past the limit nothing is.
      const retryAfter = await deps.lockout.reserveIpAttempt(tenantId, input.ip, policy);
      if (retryAfter > 0) return { kind: 'throttled', retryAfterSeconds: retryAfter };
      const user: User | undefined = input.login.length <= 254 ? await users.findByLogin(tenantId, input.login) : undefined;
      const request = { ip: input.ip, userAgent: input.userAgent };
      // Exactly one verification whatever follows: the answer costs the same for every case. An
      // attempt that may not check the real hash checks the dummy one (verify(undefined, ...)).
      if (!user) {
        await deps.passwords.verify(undefined, input.password);
        return { kind: 'failed', reason: 'unknown' };
      }
      // The user row carries the lock: no second query before the hash is checked.
      if (await deps.lockout.isLocked({ id: user.id, tenant_id: tenantId, status: user.status, locked_until: user.lockedUntil })) {
        await deps.passwords.verify(undefined, input.password);
        return { kind: 'failed', reason: 'locked', userId: user.id };
      }
      if (user.status === 'inactive') {
        await deps.passwords.verify(undefined, input.password);
        await deps.lockout.releaseIpAttempt(tenantId, input.ip);
        return { kind: 'failed', reason: 'inactive', userId: user.id };
      }
      const reservation = await deps.lockout.reserveAttempt(tenantId, user.id, policy);
      if (!reservation.allowed) {
        await deps.passwords.verify(undefined, input.password);
        return { kind: 'failed', reason: 'locked', userId: user.id };
      }
      if (!(await deps.passwords.verify(user.passwordHash, input.password))) {
        const result = await deps.lockout.attemptFailed(tenantId, user.id, policy, reservation, request);
        return { kind: 'failed', reason: result.beyondThreshold ? 'locked' : 'password', userId: user.id };
      }
      // The right password: neither the account's nor the address's count keeps this attempt.
      await deps.lockout.releaseAttempt(tenantId, user.id);
      await deps.lockout.releaseIpAttempt(tenantId, input.ip);
      if (user.passwordHash && deps.passwords.needsRehash(user.passwordHash)) {
        // An imported or older hash becomes argon2id with today's parameters; the cycle stays.
        await security.replaceHash(tenantId, user.id, await deps.passwords.hash(input.password));
      }
      return advance(tenantId, input.uid, { userId: user.id, amr: [...(input.extraAmr ?? []), 'pwd'], ...(input.clientId ? { clientId: input.clientId } : {}) });
    },

    /**
     * A passkey as the first factor: the same throttle, lockout and status checks as a password,
     * and a refused assertion counts as a failed attempt. With user verification it is two factors.
     */
    async passkey(tenantId: string, input: { uid: string; response: unknown; clientId?: string; ip: string; userAgent: string | null }): Promise<SignInOutcome> {
      const policy = await deps.policies.get(tenantId);
      // The address's attempt is taken before the assertion is checked, as for a password.
      const retryAfter = await deps.lockout.reserveIpAttempt(tenantId, input.ip, policy);
      if (retryAfter > 0) return { kind: 'throttled', retryAfterSeconds: retryAfter };
      const request = { ip: input.ip, userAgent: input.userAgent };
      const assertion = await deps.passkeys.authenticate(tenantId, input.uid, input.response, request);
      if (!assertion.ok) {
        if (assertion.userId) {
          const reservation = await deps.lockout.reserveAttempt(tenantId, assertion.userId, policy);
          await deps.lockout.attemptFailed(tenantId, assertion.userId, policy, reservation, request);
        }
        return { kind: 'failed', reason: assertion.reason === 'cloned' ? 'passkey_cloned' : 'passkey', ...(assertion.userId ? { userId: assertion.userId } : {}) };
      }
      const row = (await security.securityRow(tenantId, assertion.userId))!;
      if (await deps.lockout.isLocked(row)) return { kind: 'failed', reason: 'locked', userId: assertion.userId };
      await deps.lockout.releaseIpAttempt(tenantId, input.ip);
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
      // Throttled and counted toward the lockout like a code: reserved before the check.
      const checked = await guardedSecondFactor(tenantId, input.uid, progress, input, 'totp', async () => {
        const assertion: PasskeyAssertion = await deps.passkeys.authenticate(tenantId, input.uid, input.response, input, progress.userId);
        return assertion.ok ? assertion : false;
      });
      if ('outcome' in checked) {
        const { outcome } = checked;
        return outcome.kind === 'retry' ? { ...outcome, message: 'The passkey could not be verified. Try again.' } : outcome;
      }
      return advance(tenantId, input.uid, { ...progress, amr: [...progress.amr, ...passkeyAmr(checked.passed)] });
    },

    async totp(tenantId: string, input: { uid: string; code: string; ip: string; userAgent: string | null }): Promise<SignInOutcome | undefined> {
      const progress = await load(tenantId, input.uid, 'totp');
      if (!progress) return undefined;
      const checked = await guardedSecondFactor(tenantId, input.uid, progress, input, 'totp', () => deps.mfa.verifyTotp(tenantId, progress.userId, input.code));
      if ('outcome' in checked) return checked.outcome;
      return advance(tenantId, input.uid, { ...progress, amr: [...progress.amr, 'otp'] });
    },

    async recoveryCode(tenantId: string, input: { uid: string; code: string; ip: string; userAgent: string | null }): Promise<SignInOutcome | undefined> {
      const progress = await load(tenantId, input.uid, 'totp');
      if (!progress) return undefined;
      const actor: Actor = { actorType: 'user', actorId: progress.userId, ip: input.ip, userAgent: input.userAgent };
      const checked = await guardedSecondFactor(tenantId, input.uid, progress, input, 'totp', () => deps.mfa.useRecoveryCode(tenantId, progress.userId, input.code, actor));
      if ('outcome' in checked) {
        const { outcome } = checked;
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
      const checked = await guardedSecondFactor(tenantId, input.uid, progress, input, 'enroll_totp', () => deps.mfa.confirmEnrollment(tenantId, progress.userId, input.code, actor));
      if ('outcome' in checked) return { outcome: checked.outcome };
      return { outcome: await advance(tenantId, input.uid, { ...progress, amr: [...progress.amr, 'otp'] }), recoveryCodes: checked.passed };
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
  return countOutcomes(service);
}

const FIRST_FACTOR_METRIC: Record<FailureReason, MetricOutcome> = {
  unknown: 'unknown_user',
  password: 'wrong_password',
  locked: 'locked',
  inactive: 'inactive',
  ip_throttled: 'throttled',
  passkey: 'passkey_failed',
  passkey_cloned: 'passkey_failed',
};

function firstFactorMetric(outcome: SignInOutcome): void {
  if (outcome.kind === 'throttled') recordSignIn('throttled');
  else if (outcome.kind === 'failed') recordSignIn(FIRST_FACTOR_METRIC[outcome.reason]);
}

function secondFactorMetric(outcome: SignInOutcome | undefined): void {
  if (outcome && (outcome.kind === 'retry' || outcome.kind === 'failed')) recordSignIn('mfa_failed');
}

/** Sign-in outcomes for the metrics: refusals at the first factor (password, passkey, upstream account) and the second, completions. */
function countOutcomes<
  S extends {
    password: (...args: never[]) => Promise<SignInOutcome>;
    passkey: (...args: never[]) => Promise<SignInOutcome>;
    federated: (...args: never[]) => Promise<SignInOutcome>;
    totp: (...args: never[]) => Promise<SignInOutcome | undefined>;
    passkeySecondFactor: (...args: never[]) => Promise<SignInOutcome | undefined>;
    recoveryCode: (...args: never[]) => Promise<SignInOutcome | undefined>;
    confirmEnrollment: (...args: never[]) => Promise<{ outcome: SignInOutcome } | undefined>;
    finish: (...args: never[]) => Promise<unknown>;
  },
>(service: S): S {
  const { password, passkey, federated, totp, passkeySecondFactor, recoveryCode, confirmEnrollment, finish } = service;
  const wrap = <F extends (...args: never[]) => Promise<unknown>>(fn: F, after: (result: Awaited<ReturnType<F>>) => void): F =>
    (async (...args: Parameters<F>) => {
      const result = (await fn(...args)) as Awaited<ReturnType<F>>;
      after(result);
      return result;
    }) as F;
  return {
    ...service,
    password: wrap(password, firstFactorMetric),
    passkey: wrap(passkey, firstFactorMetric),
    federated: wrap(federated, firstFactorMetric),
    totp: wrap(totp, secondFactorMetric),
    passkeySecondFactor: wrap(passkeySecondFactor, secondFactorMetric),
    recoveryCode: wrap(recoveryCode, secondFactorMetric),
    confirmEnrollment: wrap(confirmEnrollment, (result) => secondFactorMetric(result?.outcome)),
    finish: wrap(finish, (done) => {
      if (done) recordSignIn('success');
    }),
  };
}

export type SignInService = ReturnType<typeof createSignInService>;
