// Session settings: the tenant's idle timeout and absolute lifetime (the configuration's values
// until the tenant saves its own) and, stricter, an application's own. Both are cached on every
// node and dropped on all of them when they change.
import { z } from 'zod';
import type { StoredApplicationSessionSettings, StoredSessionSettings } from '../../queries/sessions.ts';
import type { Actor } from '../actor.ts';
import { createInvalidatingCache } from '../cache.ts';
import { AppError, invalidInput } from '../errors.ts';
import type { SessionServiceDeps } from '../sessions.ts';

const MIN_TIMEOUT_SECONDS = 60;

export interface SessionSettings {
  idleTimeoutSeconds: number;
  absoluteLifetimeSeconds: number;
  endSessionsOnPasswordChange: boolean;
  /** 'default': nothing saved for the tenant, the configuration's values apply. */
  source: 'default' | 'tenant';
}

export type ApplicationSessionSettings = StoredApplicationSessionSettings;

const timeout = (field: string) => z.number().int(`${field} must be a whole number of seconds`).min(MIN_TIMEOUT_SECONDS, `${field} must be at least ${MIN_TIMEOUT_SECONDS} seconds`);

export const sessionSettingsSchema = z
  .object({
    idleTimeoutSeconds: timeout('idleTimeoutSeconds'),
    absoluteLifetimeSeconds: timeout('absoluteLifetimeSeconds'),
    endSessionsOnPasswordChange: z.boolean().default(true),
  })
  .strict();

export const applicationSessionSettingsSchema = z
  .object({
    idleTimeoutSeconds: timeout('idleTimeoutSeconds').nullable(),
    absoluteLifetimeSeconds: timeout('absoluteLifetimeSeconds').nullable(),
  })
  .strict();

export async function createSessionSettings(deps: Pick<SessionServiceDeps, 'queries' | 'store' | 'audit' | 'applicationExists' | 'defaults' | 'maxLifetimeSeconds'>) {
  const queries = deps.queries.sessions;
  const settingsCache = await createInvalidatingCache<StoredSessionSettings>({ store: deps.store, name: 'session-settings', load: (tenantId) => queries.tenantSettings(tenantId) });
  const appSettingsCache = await createInvalidatingCache<StoredApplicationSessionSettings & { tenantId: string }>({ store: deps.store, name: 'application-session-settings', load: (clientId) => queries.applicationSettings(clientId) });

  async function settingsOf(tenantId: string): Promise<SessionSettings> {
    const stored = await settingsCache.get(tenantId);
    if (stored) return { ...stored, source: 'tenant' };
    return { ...deps.defaults, endSessionsOnPasswordChange: true, source: 'default' };
  }

  async function applicationSettings(tenantId: string, clientId: string): Promise<ApplicationSessionSettings> {
    if (!(await deps.applicationExists(clientId))) throw new AppError('application.not_found', 404, `no application with client_id "${clientId}"`);
    const stored = await queries.applicationSettings(clientId);
    return stored && stored.tenantId === tenantId ? { idleTimeoutSeconds: stored.idleTimeoutSeconds, absoluteLifetimeSeconds: stored.absoluteLifetimeSeconds } : { idleTimeoutSeconds: null, absoluteLifetimeSeconds: null };
  }

  return {
    settingsOf,

    /** An application's own limits with its tenant, from the cache (for every use of a session). */
    applicationLimits(clientId: string): Promise<(StoredApplicationSessionSettings & { tenantId: string }) | undefined> {
      return appSettingsCache.get(clientId);
    },

    async updateSettings(tenantId: string, input: unknown, actor: Actor): Promise<SessionSettings> {
      const parsed = sessionSettingsSchema.safeParse(input);
      if (!parsed.success) throw invalidInput('session_settings.invalid', parsed.error);
      const value = parsed.data;
      if (value.absoluteLifetimeSeconds > deps.maxLifetimeSeconds) {
        throw new AppError('session_settings.invalid', 400, `absoluteLifetimeSeconds must be at most ${deps.maxLifetimeSeconds} seconds (GATEHOUSE_SESSION_TTL, the longest a session is kept)`);
      }
      if (value.idleTimeoutSeconds > value.absoluteLifetimeSeconds) throw new AppError('session_settings.invalid', 400, 'idleTimeoutSeconds must not be longer than absoluteLifetimeSeconds');
      const before = await settingsOf(tenantId);
      await deps.queries.transaction(async (tx) => {
        await tx.sessions.saveTenantSettings(tenantId, value);
        await deps.audit.record({ tenantId, action: 'session_settings.updated', ...actor, targetType: 'tenant', targetId: tenantId, details: { before, after: value } }, tx.db);
      });
      await settingsCache.invalidate(tenantId);
      return { ...value, source: 'tenant' };
    },

    applicationSettings,

    async updateApplicationSettings(tenantId: string, clientId: string, input: unknown, actor: Actor): Promise<ApplicationSessionSettings> {
      const parsed = applicationSessionSettingsSchema.safeParse(input);
      if (!parsed.success) throw invalidInput('session_settings.invalid', parsed.error);
      const value = parsed.data;
      if (!(await deps.applicationExists(clientId))) throw new AppError('application.not_found', 404, `no application with client_id "${clientId}"`);
      const tenant = await settingsOf(tenantId);
      // Per application only stricter: a looser value would be silently capped, so refuse it.
      if (value.idleTimeoutSeconds !== null && value.idleTimeoutSeconds > tenant.idleTimeoutSeconds) throw new AppError('session_settings.not_stricter', 400, `idleTimeoutSeconds must not exceed the tenant's (${tenant.idleTimeoutSeconds} s)`);
      if (value.absoluteLifetimeSeconds !== null && value.absoluteLifetimeSeconds > tenant.absoluteLifetimeSeconds)
        throw new AppError('session_settings.not_stricter', 400, `absoluteLifetimeSeconds must not exceed the tenant's (${tenant.absoluteLifetimeSeconds} s)`);
      const before = await applicationSettings(tenantId, clientId);
      await deps.queries.transaction(async (tx) => {
        await tx.sessions.saveApplicationSettings(tenantId, clientId, value);
        await deps.audit.record({ tenantId, action: 'application.session_settings_updated', ...actor, targetType: 'application', targetId: clientId, details: { before, after: value } }, tx.db);
      });
      await appSettingsCache.invalidate(clientId);
      return value;
    },

    async close(): Promise<void> {
      await settingsCache.close();
      await appSettingsCache.close();
    },
  };
}

export type SessionSettingsPart = Awaited<ReturnType<typeof createSessionSettings>>;
