// The tenant's password policy: what a new password must satisfy, when passwords expire, when MFA
// is required, and how sign-in failures lock an account. Defaults follow NIST SP 800-63B rev 4
// §3.1.1.2 (passwords) and §3.2.2 (rate limiting); every rule that departs from them can be
// switched on, and departures() names each one so the change is audited with its reasons.
import type { Executor, Queries } from '../queries/index.ts';
import { z } from 'zod';
import { dictionary } from '@zxcvbn-ts/language-common';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { AppError, invalidInput } from './errors.ts';
import { createInvalidatingCache } from './cache.ts';
import type { KeyValueStore } from '../store/types.ts';
import { MAX_PASSWORD_BYTES } from './passwords.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const passwordPolicySchema = z
  .object({
    /** §3.1.1.2: at least 15 characters when the password is the only factor. */
    minLength: int(1, 256).default(15),
    /** §3.1.1.2: at least 8 characters when the password is used with a second factor. */
    minLengthWithMfa: int(1, 256).default(8),
    /** §3.1.1.2: SHOULD permit at least 64 characters. Never above the 1 KiB input limit. */
    maxLength: int(8, MAX_PASSWORD_BYTES).default(256),
    /** Composition rules: §3.1.1.2 says SHALL NOT; off unless a tenant requires them. */
    requireLowercase: z.boolean().default(false),
    requireUppercase: z.boolean().default(false),
    requireDigit: z.boolean().default(false),
    requireSymbol: z.boolean().default(false),
    /** At least this many of the four classes (lowercase, uppercase, digit, symbol). */
    minCharacterClasses: int(0, 4).default(0),
    /** §3.1.1.2: compare against a blocklist of commonly used, expected or compromised values. */
    blocklist: z.boolean().default(true),
    /** The tenant's own blocked words (company or product names): refused anywhere in a password. */
    blockedWords: z.array(z.string().trim().min(3).max(100)).max(1000).default([]),
    /** §3.1.1.2: context-specific words (username, email, name) are refused too. */
    contextWords: z.boolean().default(true),
    /** No reuse of the last N passwords (the current one included); 0: off. */
    historyCount: int(0, 24).default(0),
    /** §3.1.1.2: SHALL NOT require periodic changes. null: passwords never expire. */
    expiryDays: int(1, 3650).nullable().default(null),
    /** A reminder mail goes out this many days before a password expires. */
    reminderDays: int(1, 365).default(14),
    mfa: z
      .object({
        /** Everyone in the tenant. */
        required: z.boolean().default(false),
        /** Users any of whose identities holds one of these roles (by name). */
        roles: z.array(z.string().trim().min(1).max(100)).max(100).default([]),
        /** Signing in to one of these applications (client ids). */
        applications: z.array(z.string().trim().min(1).max(200)).max(500).default([]),
      })
      .strict()
      .default({ required: false, roles: [], applications: [] }),
    lockout: z
      .object({
        /** §3.2.2: no more than 100 consecutive failed attempts on one account. */
        threshold: int(1, 1000).default(10),
        /** The first lock lasts this long; each further lock before a successful sign-in doubles it. */
        cooldownSeconds: int(1, 86_400).default(300),
        maxCooldownSeconds: int(1, 30 * 86_400).default(86_400),
      })
      .strict()
      .default({ threshold: 10, cooldownSeconds: 300, maxCooldownSeconds: 86_400 }),
    /** Failed attempts from one IP address within a window, whatever the account (§3.2.2 "rate limiting"). */
    ipThrottle: z
      .object({ maxFailures: int(1, 100_000).default(100), windowSeconds: int(1, 86_400).default(900) })
      .strict()
      .default({ maxFailures: 100, windowSeconds: 900 }),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.minLength > p.maxLength) ctx.addIssue({ code: 'custom', path: ['minLength'], message: 'minLength must not exceed maxLength' });
    if (p.minLengthWithMfa > p.maxLength) ctx.addIssue({ code: 'custom', path: ['minLengthWithMfa'], message: 'minLengthWithMfa must not exceed maxLength' });
    if (p.expiryDays !== null && p.reminderDays >= p.expiryDays) ctx.addIssue({ code: 'custom', path: ['reminderDays'], message: 'reminderDays must be fewer than expiryDays' });
    if (p.lockout.maxCooldownSeconds < p.lockout.cooldownSeconds) ctx.addIssue({ code: 'custom', path: ['lockout', 'maxCooldownSeconds'], message: 'maxCooldownSeconds must be at least cooldownSeconds' });
  });

export type PasswordPolicy = z.output<typeof passwordPolicySchema>;
export type PasswordPolicyInput = z.input<typeof passwordPolicySchema>;

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = Object.freeze(passwordPolicySchema.parse({})) as PasswordPolicy;

export interface Departure {
  setting: string;
  reason: string;
}

/** Each setting that departs from NIST SP 800-63B rev 4, with the section it departs from. */
export function departures(p: PasswordPolicy): Departure[] {
  const out: Departure[] = [];
  if (p.minLength < 15) out.push({ setting: 'minLength', reason: 'below 15 characters for a password used alone (NIST 800-63B rev 4 §3.1.1.2)' });
  if (p.minLengthWithMfa < 8) out.push({ setting: 'minLengthWithMfa', reason: 'below 8 characters for a password used with MFA (NIST 800-63B rev 4 §3.1.1.2)' });
  if (p.maxLength < 64) out.push({ setting: 'maxLength', reason: 'a maximum below 64 characters (NIST 800-63B rev 4 §3.1.1.2: SHOULD permit at least 64)' });
  for (const rule of ['requireLowercase', 'requireUppercase', 'requireDigit', 'requireSymbol'] as const) {
    if (p[rule]) out.push({ setting: rule, reason: 'a composition rule (NIST 800-63B rev 4 §3.1.1.2: SHALL NOT impose composition rules)' });
  }
  if (p.minCharacterClasses > 0) out.push({ setting: 'minCharacterClasses', reason: 'a composition rule (NIST 800-63B rev 4 §3.1.1.2: SHALL NOT impose composition rules)' });
  if (!p.blocklist) out.push({ setting: 'blocklist', reason: 'no blocklist of common passwords (NIST 800-63B rev 4 §3.1.1.2: SHALL compare against one)' });
  if (!p.contextWords) out.push({ setting: 'contextWords', reason: 'context-specific words allowed (NIST 800-63B rev 4 §3.1.1.2: SHALL refuse them)' });
  if (p.expiryDays !== null) out.push({ setting: 'expiryDays', reason: 'periodic password expiry (NIST 800-63B rev 4 §3.1.1.2: SHALL NOT require periodic changes)' });
  if (p.lockout.threshold > 100) out.push({ setting: 'lockout.threshold', reason: 'more than 100 consecutive failures allowed (NIST 800-63B rev 4 §3.2.2)' });
  return out;
}

let blocklist: Set<string> | undefined;
/** The common-password list of @zxcvbn-ts/language-common (about 49,000 entries), lower-cased. */
function commonPasswords(): Set<string> {
  blocklist ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return blocklist;
}

export interface PasswordContext {
  username?: string | null;
  email?: string | null;
  name?: string | null;
  /** A second factor protects the account: the shorter minimum applies. */
  withMfa: boolean;
}

export interface Violation {
  /** Stable rule name, e.g. `min_length`, `blocklist`, `context_word`, `history`. */
  rule: string;
  message: string;
}

/**
 * Words of the user's own that a password must not contain (NIST 800-63B rev 4 §3.1.1.2
 * "context-specific words"): the whole username and email local part (from 3 characters), the
 * organisation's domain name, and each part of the person's name from 3 characters ("Kim").
 * Parts of usernames are not used: generated ones ("ops-7f3a") would refuse ordinary words.
 */
function contextTokens(context: PasswordContext): string[] {
  const tokens = new Set<string>();
  const whole = (value: string | null | undefined) => {
    const lowered = value?.normalize('NFKC').toLowerCase();
    if (lowered && lowered.length >= 3) tokens.add(lowered);
  };
  whole(context.username);
  if (context.email) {
    const [local, domain] = context.email.split('@');
    whole(local);
    // The organisation's name is in the domain ("example" of example.com); the TLD is not a word.
    whole(domain?.split('.').slice(0, -1).join('.'));
  }
  for (const part of (context.name ?? '')
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u))
    if (part.length >= 3) tokens.add(part);
  return [...tokens];
}

/**
 * Every rule the password breaks, each with its own message (the UI lists them, the API returns
 * them in `details.violations`). History is checked by the caller, which holds the hashes.
 */
export function checkPassword(policy: PasswordPolicy, password: string, context: PasswordContext): Violation[] {
  const violations: Violation[] = [];
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    return [{ rule: 'max_bytes', message: `The password must be at most ${MAX_PASSWORD_BYTES} bytes.` }];
  }
  const normalized = password.normalize('NFKC');
  // §3.1.1.2: each Unicode code point counts as one character.
  const length = [...normalized].length;
  const minimum = context.withMfa ? policy.minLengthWithMfa : policy.minLength;
  if (length < minimum) violations.push({ rule: 'min_length', message: `The password must be at least ${minimum} characters long.` });
  if (length > policy.maxLength) violations.push({ rule: 'max_length', message: `The password must be at most ${policy.maxLength} characters long.` });
  const classes = {
    lowercase: /\p{Ll}/u.test(normalized),
    uppercase: /\p{Lu}/u.test(normalized),
    digit: /\p{Nd}/u.test(normalized),
    symbol: /[^\p{L}\p{Nd}]/u.test(normalized),
  };
  if (policy.requireLowercase && !classes.lowercase) violations.push({ rule: 'require_lowercase', message: 'The password must contain a lowercase letter.' });
  if (policy.requireUppercase && !classes.uppercase) violations.push({ rule: 'require_uppercase', message: 'The password must contain an uppercase letter.' });
  if (policy.requireDigit && !classes.digit) violations.push({ rule: 'require_digit', message: 'The password must contain a digit.' });
  if (policy.requireSymbol && !classes.symbol) violations.push({ rule: 'require_symbol', message: 'The password must contain a symbol or punctuation character.' });
  const present = Object.values(classes).filter(Boolean).length;
  if (present < policy.minCharacterClasses) {
    violations.push({ rule: 'character_classes', message: `The password must mix at least ${policy.minCharacterClasses} of: lowercase letters, uppercase letters, digits, symbols.` });
  }
  const lowered = normalized.toLowerCase();
  if (policy.blocklist && commonPasswords().has(lowered)) {
    violations.push({ rule: 'blocklist', message: 'This password is on a list of commonly used or breached passwords. Choose one that is harder to guess.' });
  }
  const blockedWord = policy.blockedWords.find((word) => lowered.includes(word.normalize('NFKC').toLowerCase()));
  if (blockedWord) violations.push({ rule: 'blocked_word', message: `The password must not contain "${blockedWord}".` });
  if (policy.contextWords) {
    const word = contextTokens(context).find((token) => lowered.includes(token));
    if (word) violations.push({ rule: 'context_word', message: 'The password must not contain your username, email address or name.' });
  }
  return violations;
}

export function historyViolation(policy: PasswordPolicy): Violation {
  return { rule: 'history', message: `You used this password recently. Choose one that differs from your last ${policy.historyCount} passwords.` };
}

export function policyError(violations: Violation[]): AppError {
  return new AppError('password.policy', 400, violations.map((v) => v.message).join(' '), { violations });
}

/** When a password set at `changedAt` expires under the policy; null when it never does. */
export function passwordExpiresAt(policy: PasswordPolicy, changedAt: Date | null): Date | null {
  if (policy.expiryDays === null || !changedAt) return null;
  return new Date(changedAt.getTime() + policy.expiryDays * 86_400_000);
}

/** Reads a stored policy leniently: settings saved by an older version get today's defaults. */
export function parseStoredPolicy(settings: unknown): PasswordPolicy {
  if (settings === undefined) return DEFAULT_PASSWORD_POLICY;
  const parsed = passwordPolicySchema.safeParse(settings);
  return parsed.success ? parsed.data : DEFAULT_PASSWORD_POLICY;
}

export async function createPasswordPolicyService(deps: { queries: Queries; store: KeyValueStore; audit: AuditService }) {
  const queries = deps.queries.accountSecurity;
  const read = async (tenantId: string, db: Executor = deps.queries.db) => parseStoredPolicy(await queries.policySettings(tenantId, db));
  // Every sign-in and every authorization request reads the policy: through the per-node cache
  // that every node drops when a policy is replaced (the other directory caches' mechanism).
  const cache = await createInvalidatingCache<PasswordPolicy>({ store: deps.store, name: 'password-policy', load: (tenantId) => read(tenantId) });

  /** The tenant's policy; inside a transaction (`db`), read there rather than from the cache. */
  async function get(tenantId: string, db?: Executor): Promise<PasswordPolicy> {
    return db ? read(tenantId, db) : ((await cache.get(tenantId)) ?? DEFAULT_PASSWORD_POLICY);
  }

  return {
    cache,
    get,
    /**
     * Replaces the tenant's policy (omitted settings take their defaults). Roles and applications
     * named for MFA must exist. Audited with the settings before and after and every departure
     * from NIST SP 800-63B rev 4 that the new policy makes.
     */
    async replace(tenantId: string, input: unknown, actor: Actor): Promise<{ policy: PasswordPolicy; departures: Departure[] }> {
      const parsed = passwordPolicySchema.safeParse(input);
      if (!parsed.success) throw invalidInput('password_policy.invalid', parsed.error);
      const policy = parsed.data;
      const result = await deps.queries.transaction(async ({ db: trx }) => {
        if (policy.mfa.roles.length) {
          const found = await deps.queries.roles.findByNames(tenantId, policy.mfa.roles, trx);
          const known = new Set(found.map((r) => r.name.toLowerCase()));
          const unknown = policy.mfa.roles.filter((r) => !known.has(r.toLowerCase()));
          if (unknown.length) throw new AppError('password_policy.unknown_role', 400, `mfa.roles names role(s) that do not exist: ${unknown.join(', ')}`);
        }
        if (policy.mfa.applications.length) {
          const found = await deps.queries.applications.existingIds(tenantId, policy.mfa.applications, trx);
          const unknown = policy.mfa.applications.filter((a) => !found.includes(a));
          if (unknown.length) throw new AppError('password_policy.unknown_application', 400, `mfa.applications names application(s) that do not exist: ${unknown.join(', ')}`);
        }
        const before = await get(tenantId, trx);
        await queries.savePolicySettings(tenantId, policy, trx);
        const found = departures(policy);
        const previously = new Set(departures(before).map((d) => d.setting));
        await deps.audit.record(
          {
            tenantId,
            action: 'password_policy.replaced',
            ...actor,
            targetType: 'password_policy',
            targetId: tenantId,
            details: { before, after: policy, departuresFromNist: found, newDepartures: found.filter((d) => !previously.has(d.setting)).map((d) => d.setting) },
          },
          trx,
        );
        return { policy, departures: found };
      });
      // After the commit: a node that reloads now reads the new policy.
      await cache.invalidate(tenantId);
      return result;
    },
    /** Whether signing this user in (to this application) needs a second factor. */
    async mfaRequired(tenantId: string, userId: string, clientId: string | undefined, policy?: PasswordPolicy): Promise<boolean> {
      const p = policy ?? (await get(tenantId));
      if (p.mfa.required) return true;
      if (clientId && p.mfa.applications.includes(clientId)) return true;
      if (!p.mfa.roles.length) return false;
      const roles = await deps.queries.roles.findByNames(tenantId, p.mfa.roles);
      return queries.userHasAnyRole(
        tenantId,
        userId,
        roles.map((r) => r.id),
      );
    },
  };
}

export type PasswordPolicyService = Awaited<ReturnType<typeof createPasswordPolicyService>>;
