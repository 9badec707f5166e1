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
import { passwordExpiresAt, type PasswordPolicy, type PasswordPolicyService, type Violation } from './password-policy.ts';
import type { PasswordHasher } from './passwords.ts';

export type SignInStep = 'totp' | 'enroll_totp' | 'change_password';

/** Authentication context class references (OIDC Core §2 `acr`). */
export const ACR_PASSWORD = 'urn:gatehouse:pwd';
export const ACR_MFA = 'urn:gatehouse:mfa';
/** Signed in through an upstream identity provider, without a second factor at Gatehouse. */
export const ACR_FEDERATED = 'urn:gatehouse:fed';

export type FailureReason = 'unknown' | 'password' | 'locked' | 'inactive' | 'ip_throttled';

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
    if (!progress.amr.includes('otp')) {
      if (await deps.mfa.enabled(tenantId, progress.userId)) return step(tenantId, uid, { ...progress, step: 'totp' });
      if (await deps.policies.mfaRequired(tenantId, progress.userId, progress.clientId, policy)) return step(tenantId, uid, { ...progress, step: 'enroll_totp' });
    }
    // A password that was not used in this sign-in (an upstream sign-in) is not asked to change.
    if (progress.amr.includes('pwd') && mustChangePassword(row, policy)) return step(tenantId, uid, { ...progress, step: 'change_password', expired: !row.password_change_required });
    await deps.lockout.recordSuccess(tenantId, progress.userId);
    await save(tenantId, uid, { ...progress, step: 'done' });
    return done(progress);
  }

  const done = (progress: Pick<Progress, 'userId' | 'amr'>): SignInOutcome => ({ kind: 'done', userId: progress.userId, amr: progress.amr, acr: progress.amr.includes('otp') ? ACR_MFA : progress.amr.includes('pwd') ? ACR_PASSWORD : ACR_FEDERATED });

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
      return advance(tenantId, input.uid, { userId: user.id, amr: [...(input.extraAmr ?? []), 'pwd'], ...(input.clientId ? { clientId: input.clientId } : {}) });
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
