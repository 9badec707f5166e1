// Per-tenant settings: the default page language and the passkey relying party. A tenant stores
// only what it sets; everything else falls back to the configuration (GATEHOUSE_DEFAULT_LOCALE,
// GATEHOUSE_PASSKEY_*, and for the relying party the issuer). Rules:
// - only an Admin changes them, inside the write's transaction (services/administration.ts):
//   a wrong relying-party id locks every passkey of the tenant out;
// - the relying-party id must be the host of every origin or a registrable suffix of it
//   (WebAuthn L3 §5.1.4.1 / §5.1.4.2 step "RP ID is a registrable domain suffix of or equal to
//   the origin's effective domain"); it is a domain, never an IP address or a top-level domain;
// - origins are https, except loopback hosts (W3C Secure Contexts §3.1 "potentially trustworthy");
// - every change is audited with the effective settings before and after;
// - each node keeps the stored settings in a cache dropped on every node when they change.
import { isIP } from 'node:net';
import { z } from 'zod';
import type { Queries } from '../queries/index.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { Actor } from './actor.ts';
import { assertAdmin, type Administrator } from './administration.ts';
import type { AuditService } from './audit.ts';
import { createInvalidatingCache } from './cache.ts';
import { AppError } from './errors.ts';
import { passkeySettings, type PasskeySettings } from './passkeys.ts';

export const TENANT_LOCALES = ['en', 'de', 'fr'] as const;
export type TenantLocale = (typeof TENANT_LOCALES)[number];
export const MAX_PASSKEY_ORIGINS = 20;

const passkeySettingsSchema = z
  .object({
    rpId: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[A-Za-z0-9.-]+$/, 'a domain name: letters, digits, dots and hyphens')
      .optional()
      .describe("the relying-party id: the origins' host or a registrable suffix of it (a change makes every registered passkey unusable)"),
    origins: z.array(z.string().min(1).max(300)).min(1).max(MAX_PASSKEY_ORIGINS).optional().describe('the origins a passkey ceremony may come from: https, or http on a loopback host'),
    attachment: z.enum(['any', 'platform', 'cross-platform']).optional().describe('which authenticators may be registered: any, built into the device, or roaming security keys'),
    userVerification: z.enum(['required', 'preferred']).optional().describe('required: a passkey always counts as two factors'),
  })
  .strict();

/** What a tenant may store; an absent key means the configuration's default. */
export const tenantSettingsSchema = z
  .object({
    defaultLocale: z.enum(TENANT_LOCALES).optional().describe('the language of the sign-in, account and console pages when the browser asks for none Gatehouse has'),
    passkeys: passkeySettingsSchema.optional(),
  })
  .strict();

export type StoredTenantSettings = z.infer<typeof tenantSettingsSchema>;

export interface TenantSettings {
  defaultLocale: TenantLocale;
  passkeys: PasskeySettings;
}

export interface TenantSettingsView {
  /** What applies now. */
  effective: TenantSettings;
  /** What the tenant has set. */
  saved: StoredTenantSettings;
  /** What applies where the tenant has set nothing. */
  defaults: TenantSettings;
}

function invalid(message: string, issues?: { path: string; message: string }[]): AppError {
  return new AppError('tenant_settings.invalid', 400, message, issues ? { issues } : undefined);
}

/** Loopback hosts are potentially trustworthy over http (W3C Secure Contexts §3.1). */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** The origin in its serialized form, or a reason why it cannot be one. */
export function normalizeOrigin(value: string): { origin: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return { error: `"${value}" is not a URL` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { error: `"${value}" must be an https origin` };
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return { error: `"${value}" must be an origin only (scheme, host and port: no path, query or user name)` };
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) return { error: `"${value}" must use https (http only on a loopback host such as localhost)` };
  return { origin: url.origin };
}

/**
 * Why `rpId` cannot serve `origins`, or undefined when it can. Without a public-suffix list a
 * public suffix of two labels (co.uk) is not recognised; a single label other than localhost is.
 */
export function relyingPartyRefusal(rpId: string, origins: string[]): string | undefined {
  const id = rpId.toLowerCase();
  if (isIP(id.replace(/^\[|\]$/g, ''))) return 'rpId must be a domain name, not an IP address';
  const labels = id.split('.');
  if (!labels.every((label) => DOMAIN_LABEL.test(label))) return `rpId "${rpId}" is not a domain name`;
  if (labels.length < 2 && id !== 'localhost') return `rpId "${rpId}" is a top-level domain: it must be a registrable domain such as example.com`;
  for (const origin of origins) {
    const host = new URL(origin).hostname.toLowerCase();
    if (host !== id && !host.endsWith(`.${id}`)) return `rpId "${rpId}" is neither the host of ${origin} nor a suffix of it: passkeys would not work from there`;
  }
  return undefined;
}

function merge(defaults: TenantSettings, saved: StoredTenantSettings): TenantSettings {
  return {
    defaultLocale: saved.defaultLocale ?? defaults.defaultLocale,
    passkeys: {
      rpId: saved.passkeys?.rpId ?? defaults.passkeys.rpId,
      rpName: defaults.passkeys.rpName,
      origins: saved.passkeys?.origins ?? defaults.passkeys.origins,
      attachment: saved.passkeys?.attachment ?? defaults.passkeys.attachment,
      userVerification: saved.passkeys?.userVerification ?? defaults.passkeys.userVerification,
    },
  };
}

/** Parses and normalizes a request: lower-case rpId, serialized and de-duplicated origins. */
function parseSettings(input: unknown): StoredTenantSettings {
  const parsed = tenantSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    throw invalid(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), issues);
  }
  const value = parsed.data;
  if (!value.passkeys) return value;
  const passkeys = { ...value.passkeys };
  if (passkeys.rpId) passkeys.rpId = passkeys.rpId.toLowerCase();
  if (passkeys.origins) {
    const origins: string[] = [];
    for (const raw of passkeys.origins) {
      const result = normalizeOrigin(raw);
      if ('error' in result) throw invalid(`passkeys.origins: ${result.error}`, [{ path: 'passkeys.origins', message: result.error }]);
      if (!origins.includes(result.origin)) origins.push(result.origin);
    }
    passkeys.origins = origins;
  }
  const { passkeys: _given, ...rest } = value;
  return Object.values(passkeys).some((v) => v !== undefined) ? { ...rest, passkeys } : rest;
}

/** Equal passkey parts (jsonb does not keep key order, so each key is compared). */
function samePasskeys(a: StoredTenantSettings['passkeys'], b: StoredTenantSettings['passkeys']): boolean {
  return a?.rpId === b?.rpId && a?.attachment === b?.attachment && a?.userVerification === b?.userVerification && JSON.stringify(a?.origins) === JSON.stringify(b?.origins);
}

export async function createTenantSettingsService(deps: {
  queries: Queries;
  store: KeyValueStore;
  audit: AuditService;
  /** The configuration's values: GATEHOUSE_DEFAULT_LOCALE and GATEHOUSE_PASSKEY_*. */
  configured: { defaultLocale: TenantLocale; passkeys: Partial<PasskeySettings> };
  /** The issuer the passkey defaults follow from; without one, configure() names it later. */
  issuer?: string;
}) {
  const queries = deps.queries.tenantSettings;
  let defaults: TenantSettings = { defaultLocale: deps.configured.defaultLocale, passkeys: passkeySettings(deps.issuer ?? 'http://localhost', deps.configured.passkeys) };
  const readStored = async (tenantId: string): Promise<StoredTenantSettings> => {
    const parsed = tenantSettingsSchema.safeParse((await queries.find(tenantId)) ?? {});
    // A row this version cannot read (written by a newer one) leaves the defaults in place.
    return parsed.success ? parsed.data : {};
  };
  const cache = await createInvalidatingCache<StoredTenantSettings>({ store: deps.store, name: 'tenant-settings', load: readStored });

  async function saved(tenantId: string): Promise<StoredTenantSettings> {
    return (await cache.get(tenantId)) ?? {};
  }

  async function effective(tenantId: string): Promise<TenantSettings> {
    return merge(defaults, await saved(tenantId));
  }

  return {
    cache,

    /** Derives the passkey defaults from the issuer the server serves (configured values win). */
    configure(issuer: string): void {
      defaults = { ...defaults, passkeys: passkeySettings(issuer, deps.configured.passkeys) };
    },

    defaults(): TenantSettings {
      return defaults;
    },

    effective,

    async view(tenantId: string): Promise<TenantSettingsView> {
      const stored = await saved(tenantId);
      return { effective: merge(defaults, stored), saved: stored, defaults };
    },

    async defaultLocaleOf(tenantId: string): Promise<TenantLocale> {
      return (await effective(tenantId)).defaultLocale;
    },

    async passkeysOf(tenantId: string): Promise<PasskeySettings> {
      return (await effective(tenantId)).passkeys;
    },

    /** Replaces what the tenant has set (absent keys return to the defaults). Admin only. */
    async replace(input: unknown, by: Administrator & { actor: Actor }): Promise<TenantSettingsView> {
      const value = parseSettings(input);
      const { tenantId } = by;
      const after = merge(defaults, value);
      await deps.queries.transaction(async ({ db: trx }) => {
        // A wrong relying party locks every passkey out, and the language is every page's.
        assertAdmin(by, "change the tenant's settings");
        const previous = tenantSettingsSchema.safeParse((await queries.findForUpdate(tenantId, trx)) ?? {});
        const stored = previous.success ? previous.data : {};
        // Checked when the tenant sets its own relying party or origins and they change: the
        // configuration's (from an IP-address issuer, say) stays the operator's to answer for.
        const ownRelyingParty = value.passkeys?.rpId !== undefined || value.passkeys?.origins !== undefined;
        if (ownRelyingParty && !samePasskeys(stored.passkeys, value.passkeys)) {
          const refusal = relyingPartyRefusal(after.passkeys.rpId, after.passkeys.origins);
          if (refusal) throw invalid(`passkeys: ${refusal}`, [{ path: 'passkeys.rpId', message: refusal }]);
        }
        await queries.save(tenantId, value, trx);
        const before = merge(defaults, stored);
        const shown = (s: TenantSettings) => ({ defaultLocale: s.defaultLocale, passkeys: { rpId: s.passkeys.rpId, origins: s.passkeys.origins, attachment: s.passkeys.attachment, userVerification: s.passkeys.userVerification } });
        await deps.audit.record({ tenantId, action: 'tenant_settings.updated', ...by.actor, targetType: 'tenant', targetId: tenantId, details: { before: shown(before), after: shown(after), saved: value } }, trx);
      });
      await cache.invalidate(tenantId);
      return { effective: after, saved: value, defaults };
    },
  };
}

export type TenantSettingsService = Awaited<ReturnType<typeof createTenantSettingsService>>;
