// TOTP (RFC 6238, through otplib) and recovery codes (NIST SP 800-63B rev 4 §3.1.2 look-up
// secrets). Rules:
// - the secret is encrypted at rest (AES-256-GCM under a key derived from GATEHOUSE_SECRET);
// - a code is accepted within ±1 time step (30 s) for clock drift (RFC 6238 §5.2), and only once
//   across all nodes: the step it matched is claimed with SET NX in the store (§3.1.4.1 "SHALL
//   accept a given time-based OTP only once during the validity period");
// - enrollment is confirmed by a code before it counts;
// - 10 recovery codes of ~50 bits each, stored as keyed hashes, each used once by one conditional
//   UPDATE (so two concurrent uses of the same code cannot both succeed), regenerable;
// - every change is audited and announced (user.mfa_changed) for the notification mail.
import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import { createAccountSecurityQueries } from '../queries/account-security.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { Actor } from './actor.ts';
import { assertMayManageUser, type Administrator } from './administration.ts';
import type { AuditService } from './audit.ts';
import { AppError } from './errors.ts';
import { decrypt, encrypt, keyedHash } from './secrets.ts';
import type { UserEvents } from './user-events.ts';

export const RECOVERY_CODE_COUNT = 10;
const TOTP_PERIOD = 30;
// Lower-case letters and digits without the look-alikes 0/o, 1/l/i: 31 symbols, 10 per code.
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export interface TotpEnrollment {
  /** Base32 secret, shown for typing into an app that cannot scan. */
  secret: string;
  uri: string;
  /** The otpauth URI as a QR code, a data: URL of an SVG image (the CSP allows img-src data:). */
  qrDataUrl: string;
}

export interface MfaStatus {
  totp: 'none' | 'pending' | 'enabled';
  recoveryCodesLeft: number;
}

/** Codes are shown as "abcde-fghjk"; typed with or without the dash, spaces or capitals. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

export function createMfaService(deps: { knex: Knex; store: KeyValueStore; audit: AuditService; events: UserEvents; encryptionKey: Buffer; hashKey: Buffer; issuerName: string; now?: () => number }) {
  const queries = createAccountSecurityQueries(deps.knex);
  const nowSeconds = () => Math.floor((deps.now ?? Date.now)() / 1000);

  function newRecoveryCodes(): string[] {
    return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
      const chars = Array.from({ length: 10 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join('');
      return `${chars.slice(0, 5)}-${chars.slice(5)}`;
    });
  }
  const hashCode = (code: string) => keyedHash(deps.hashKey, `recovery:${normalizeRecoveryCode(code)}`);

  async function storeRecoveryCodes(tenantId: string, userId: string, db: Knex): Promise<string[]> {
    const codes = newRecoveryCodes();
    await queries.replaceRecoveryCodes(tenantId, userId, codes.map(hashCode), db);
    return codes;
  }

  /** Checks a code against a secret and claims its time step; true once per step and user. */
  async function checkCode(userId: string, secret: string, code: string): Promise<boolean> {
    const token = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(token)) return false;
    const epoch = nowSeconds();
    const result = await verify({ secret, token, epoch, epochTolerance: TOTP_PERIOD });
    if (!result.valid) return false;
    // The TOTP result carries the matched step; computed from the drift when a version does not.
    const step = (result as { timeStep?: number }).timeStep ?? Math.floor(epoch / TOTP_PERIOD) + result.delta;
    // Kept past the ±1 step window, after which the code is refused anyway.
    return deps.store.setIfAbsent(`totp:used:${userId}:${step}`, '1', TOTP_PERIOD * 4);
  }

  async function announce(tenantId: string, userId: string, change: 'enabled' | 'reset' | 'recovery_codes_regenerated' | 'recovery_code_used'): Promise<void> {
    await deps.events.emit({ type: 'user.mfa_changed', tenantId, userId, change });
  }

  /** Removes TOTP and the recovery codes; an administrator's `by` is asked of the guard in the same transaction. */
  async function reset(tenantId: string, userId: string, actor: Actor, by?: Administrator): Promise<boolean> {
    const removed = await deps.knex.transaction(async (trx) => {
      // Resetting a user's second factor is managing the user (services/administration.ts).
      if (by) await assertMayManageUser(trx, by, userId);
      const had = await queries.deleteTotp(tenantId, userId, trx);
      await queries.deleteRecoveryCodes(tenantId, userId, trx);
      if (had) await deps.audit.record({ tenantId, action: 'user.mfa_reset', ...actor, targetType: 'user', targetId: userId, details: { method: 'totp' } }, trx);
      return had;
    });
    if (removed) await announce(tenantId, userId, 'reset');
    return removed;
  }

  return {
    async status(tenantId: string, userId: string): Promise<MfaStatus> {
      const totp = await queries.totp(tenantId, userId);
      return { totp: !totp ? 'none' : totp.confirmedAt ? 'enabled' : 'pending', recoveryCodesLeft: await queries.unusedRecoveryCodes(tenantId, userId) };
    },

    async enabled(tenantId: string, userId: string): Promise<boolean> {
      return Boolean((await queries.totp(tenantId, userId))?.confirmedAt);
    },

    /** A new secret awaiting confirmation (replacing an unconfirmed one). 409 when TOTP is already on. */
    async startEnrollment(tenantId: string, user: { id: string; username: string }): Promise<TotpEnrollment> {
      const secret = generateSecret();
      if (!(await queries.startTotp(tenantId, user.id, encrypt(deps.encryptionKey, secret)))) {
        throw new AppError('mfa.already_enabled', 409, 'An authenticator app is already set up. Remove it first to set up another one.');
      }
      return this.describe(user, secret);
    },

    /** The pending enrollment's secret again (to redraw the page after a wrong code). */
    async pendingEnrollment(tenantId: string, user: { id: string; username: string }): Promise<TotpEnrollment | undefined> {
      const totp = await queries.totp(tenantId, user.id);
      if (!totp || totp.confirmedAt) return undefined;
      return this.describe(user, decrypt(deps.encryptionKey, totp.secretEncrypted));
    },

    async describe(user: { username: string }, secret: string): Promise<TotpEnrollment> {
      const uri = generateURI({ issuer: deps.issuerName, label: user.username, secret, period: TOTP_PERIOD, digits: 6, algorithm: 'sha1' });
      const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return { secret, uri, qrDataUrl: `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}` };
    },

    /**
     * Confirms the pending enrollment with a code from the app; returns the recovery codes, shown
     * once. false when the code is wrong (or already used).
     */
    async confirmEnrollment(tenantId: string, userId: string, code: string, actor: Actor): Promise<string[] | false> {
      const totp = await queries.totp(tenantId, userId);
      if (!totp || totp.confirmedAt) throw new AppError('mfa.no_enrollment', 409, 'Start setting up the authenticator app again.');
      if (!(await checkCode(userId, decrypt(deps.encryptionKey, totp.secretEncrypted), code))) return false;
      const codes = await deps.knex.transaction(async (trx) => {
        if (!(await queries.confirmTotp(tenantId, userId, trx))) throw new AppError('mfa.no_enrollment', 409, 'Start setting up the authenticator app again.');
        const fresh = await storeRecoveryCodes(tenantId, userId, trx);
        await deps.audit.record({ tenantId, action: 'user.mfa_enabled', ...actor, targetType: 'user', targetId: userId, details: { method: 'totp', recoveryCodes: RECOVERY_CODE_COUNT } }, trx);
        return fresh;
      });
      await announce(tenantId, userId, 'enabled');
      return codes;
    },

    /** A code of the user's confirmed TOTP; each code works once across all nodes. */
    async verifyTotp(tenantId: string, userId: string, code: string): Promise<boolean> {
      const totp = await queries.totp(tenantId, userId);
      if (!totp?.confirmedAt) return false;
      return checkCode(userId, decrypt(deps.encryptionKey, totp.secretEncrypted), code);
    },

    /** Uses up one recovery code; true for exactly one of any concurrent uses of the same code. */
    async useRecoveryCode(tenantId: string, userId: string, code: string, actor: Actor): Promise<boolean> {
      const normalized = normalizeRecoveryCode(code);
      if (!/^[a-z0-9]{10}$/.test(normalized)) return false;
      if (!(await queries.useRecoveryCode(tenantId, userId, hashCode(normalized)))) return false;
      const left = await queries.unusedRecoveryCodes(tenantId, userId);
      await deps.audit.record({ tenantId, action: 'user.recovery_code_used', ...actor, targetType: 'user', targetId: userId, details: { left } });
      await announce(tenantId, userId, 'recovery_code_used');
      return true;
    },

    async regenerateRecoveryCodes(tenantId: string, userId: string, actor: Actor): Promise<string[]> {
      const codes = await deps.knex.transaction(async (trx) => {
        const totp = await queries.totp(tenantId, userId, trx);
        if (!totp?.confirmedAt) throw new AppError('mfa.not_enabled', 409, 'Set up an authenticator app first.');
        const fresh = await storeRecoveryCodes(tenantId, userId, trx);
        await deps.audit.record({ tenantId, action: 'user.recovery_codes_regenerated', ...actor, targetType: 'user', targetId: userId, details: { count: RECOVERY_CODE_COUNT } }, trx);
        return fresh;
      });
      await announce(tenantId, userId, 'recovery_codes_regenerated');
      return codes;
    },

    /** The user removes its own second factor (after re-authentication); false when it had none. */
    async reset(tenantId: string, userId: string, actor: Actor): Promise<boolean> {
      return reset(tenantId, userId, actor);
    },

    /** An administrator removes a user's second factor (a lost device); false when it had none. */
    async resetFor(userId: string, by: Administrator & { actor: Actor }): Promise<boolean> {
      return reset(by.tenantId, userId, by.actor, by);
    },
  };
}

export type MfaService = ReturnType<typeof createMfaService>;
