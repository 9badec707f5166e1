// Applications are OIDC clients. Their metadata for oidc-provider is derived from the row, read
// through a cache that every node drops when an application changes. Each application also says who
// may use it: the identity kinds it accepts, and either everyone or only the listed users, groups
// and identity kinds (see app-access.ts).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Queries } from '../queries/index.ts';
import type { AccessMode, AccessRules, Application, ApplicationPatch, ApplicationType } from '../queries/applications.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { AuditService } from './audit.ts';
import { createInvalidatingCache } from './cache.ts';
import { AppError, invalidInput } from './errors.ts';
import { keyedHash, randomToken } from './secrets.ts';
import type { Actor } from './actor.ts';
import { assertAdmin, assertMayManageUser, type Administrator } from './administration.ts';

export type { AccessMode, AccessRules, Application, ApplicationType };

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Absolute http(s) URIs without a fragment (OIDC Core §3.1.2.1); plain http only on loopback. */
export const redirectUriSchema = z
  .string()
  .max(2000)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not an absolute URL` });
      return;
    }
    if (url.hash) ctx.addIssue({ code: 'custom', message: `"${value}" must not contain a fragment` });
    if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
      ctx.addIssue({ code: 'custom', message: `"${value}" must use https (plain http is allowed only for localhost)` });
    } else if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', message: `"${value}" must use https` });
    }
  });

/** OIDC Back-Channel Logout 1.0 §2.2: an absolute URL without a fragment, where logout tokens are POSTed. */
export const backchannelLogoutUriSchema = redirectUriSchema;

/**
 * Seconds after a refresh-token rotation in which the old token presented again is refused
 * without revoking the grant (a client's retry, two tabs). 0, the default, is strict reuse
 * detection: any reuse revokes the grant (RFC 9700 §4.14.2).
 */
export const refreshReuseGraceSchema = z.number().int('refreshTokenReuseGraceSeconds: a whole number of seconds').min(0).max(60, 'refreshTokenReuseGraceSeconds: at most 60 seconds');

/** The application's refresh-token reuse grace window in seconds (0: strict). */
export function refreshReuseGraceOf(app: Application): number {
  const value = app.metadata.refreshTokenReuseGraceSeconds;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 60 ? value : 0;
}

export const newApplicationSchema = z
  .object({
    name: z.string().trim().min(1, 'name is required').max(200),
    type: z.enum(['web', 'spa', 'native', 'service']),
    redirectUris: z.array(redirectUriSchema).max(50).default([]),
    postLogoutRedirectUris: z.array(redirectUriSchema).max(50).default([]),
    firstParty: z.boolean().default(true),
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9._~-]{3,100}$/, 'clientId: 3-100 letters, digits, ".", "_", "~" or "-"')
      .optional(),
    clientSecret: z.string().min(32, 'clientSecret must be at least 32 characters').max(200).optional(),
    backchannelLogoutUri: backchannelLogoutUriSchema.nullable().optional(),
    refreshTokenReuseGraceSeconds: refreshReuseGraceSchema.optional(),
    /** May obtain tokens for Gatehouse's own admin API (`{issuer}/api`); only an Admin sets it. */
    adminApiClient: z.boolean().optional(),
  })
  .superRefine((value, ctx) => {
    if (value.type === 'service' && value.backchannelLogoutUri) {
      ctx.addIssue({ code: 'custom', path: ['backchannelLogoutUri'], message: 'a service application signs no users in and gets no logout tokens' });
    }
    if (value.type !== 'service' && value.redirectUris.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: `a ${value.type} application needs at least one redirect URI` });
    }
    if (value.type === 'service' && value.refreshTokenReuseGraceSeconds) {
      ctx.addIssue({ code: 'custom', path: ['refreshTokenReuseGraceSeconds'], message: 'a service application gets no refresh tokens' });
    }
    if (value.type === 'service' && value.redirectUris.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: 'a service application signs no users in and takes no redirect URIs' });
    }
    if ((value.type === 'spa' || value.type === 'native') && value.clientSecret) {
      ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: `a ${value.type} application is public and has no secret` });
    }
  });

export type NewApplicationInput = z.input<typeof newApplicationSchema>;

/** An identity kind as the identity model spells it (lowercase letters, digits, "_" or "-"). */
export const identityKindSchema = z.string().regex(/^[a-z][a-z0-9_-]{1,39}$/, 'an identity kind is 2-40 lowercase letters, digits, "_" or "-"');

// Null means "any kind"; an empty list would lock everybody out, which is what access rules are for.
const acceptedIdentityKindsSchema = z.array(identityKindSchema).min(1, 'acceptedIdentityKinds: list at least one kind, or null for any kind').max(50).nullable();
export const accessModeSchema = z.enum(['everyone', 'restricted']);

/** Who may use the application, settable when it is created. */
export const applicationAccessFieldsSchema = z.object({
  acceptedIdentityKinds: acceptedIdentityKindsSchema.optional(),
  accessMode: accessModeSchema.optional(),
});

export const createApplicationSchema = z.intersection(newApplicationSchema, applicationAccessFieldsSchema);
export type CreateApplicationInput = NewApplicationInput & z.input<typeof applicationAccessFieldsSchema>;

export const applicationPatchSchema = z
  .object({
    name: z.string().trim().min(1, 'name is required').max(200).optional(),
    redirectUris: z.array(redirectUriSchema).max(50).optional(),
    postLogoutRedirectUris: z.array(redirectUriSchema).max(50).optional(),
    firstParty: z.boolean().optional(),
    backchannelLogoutUri: backchannelLogoutUriSchema.nullable().optional(),
    refreshTokenReuseGraceSeconds: refreshReuseGraceSchema.optional(),
    acceptedIdentityKinds: acceptedIdentityKindsSchema.optional(),
    accessMode: accessModeSchema.optional(),
    adminApiClient: z.boolean().optional(),
  })
  .strict();
export type ApplicationPatchInput = z.input<typeof applicationPatchSchema>;

export const applicationAccessSchema = z
  .object({
    accessMode: accessModeSchema,
    users: z.array(z.guid('users: each entry is a user id')).max(1000).default([]),
    groups: z.array(z.guid('groups: each entry is a group id')).max(1000).default([]),
    identityKinds: z.array(identityKindSchema).max(50).default([]),
  })
  .strict();
export type ApplicationAccessInput = z.input<typeof applicationAccessSchema>;

/**
 * Gatehouse's own account pages sign users in through this first-party public client (PKCE).
 * It is created and kept in line with the issuer at every start, and cannot be changed or
 * deleted through the API or the CLI.
 */
export const ACCOUNT_CLIENT_ID = 'gatehouse-account';
/**
 * The admin console (`/console`) signs administrators in through this first-party public client:
 * authorization code with PKCE (RFC 7636), refresh tokens rotated on use, and access tokens for
 * the admin API. Created and kept in line with the issuer at every start like the account client.
 */
export const CONSOLE_CLIENT_ID = 'gatehouse-console';
const BUILT_IN_CLIENT_IDS = new Set([ACCOUNT_CLIENT_ID, CONSOLE_CLIENT_ID]);

/**
 * Built-in first-party clients that may obtain tokens for the admin API audience without being
 * marked: the browser console (a client of the public admin API). Every other application must
 * be marked an admin-API client by an Admin; service accounts may always ask.
 */
export const BUILT_IN_ADMIN_API_CLIENT_IDS: readonly string[] = [CONSOLE_CLIENT_ID];

/** Whether the application may obtain tokens for `{issuer}/api` (the admin API is closed by default). */
export function isAdminApiClient(app: Pick<Application, 'id' | 'metadata'>): boolean {
  return BUILT_IN_ADMIN_API_CLIENT_IDS.includes(app.id) || app.metadata.adminApiClient === true;
}

/**
 * An admin-API client is an administrative credential: marking one, and changing, re-keying or
 * deleting one, is for an Admin (administration.ts); so is naming who may use it.
 */
function assertMayChangeApplication(by: Administrator | undefined, app: Pick<Application, 'id' | 'metadata'> | undefined, wantsAdminApi: boolean | undefined): void {
  if (!by) return;
  if (wantsAdminApi !== undefined && wantsAdminApi !== (app ? app.metadata.adminApiClient === true : false)) assertAdmin(by, 'mark or unmark an application as an admin-API client');
  if (app && isAdminApiClient(app)) assertAdmin(by, `change the admin-API client "${app.id}"`);
}

function assertNotBuiltIn(clientId: string): void {
  if (BUILT_IN_CLIENT_IDS.has(clientId)) throw new AppError('application.built_in', 409, `"${clientId}" is built into Gatehouse and cannot be changed or deleted`);
}

export function isConfidential(type: ApplicationType): boolean {
  return type === 'web' || type === 'service';
}

/** oidc-provider client metadata for an application row. */
/** Where the application receives logout tokens, if it asked for them. */
export function backchannelLogoutUriOf(app: Application): string | null {
  return typeof app.metadata.backchannelLogoutUri === 'string' ? app.metadata.backchannelLogoutUri : null;
}

const invalid = (error: z.ZodError) => invalidInput('application.invalid', error);

/** An application's settings, as the audit log keeps and the admin API shows them: never its secret. */
export function applicationSettings(app: Application) {
  return {
    name: app.name,
    type: app.type,
    redirectUris: app.redirectUris,
    postLogoutRedirectUris: app.postLogoutRedirectUris,
    firstParty: app.firstParty,
    backchannelLogoutUri: backchannelLogoutUriOf(app),
    refreshTokenReuseGraceSeconds: refreshReuseGraceOf(app),
    acceptedIdentityKinds: app.acceptedIdentityKinds,
    accessMode: app.accessMode,
    adminApiClient: isAdminApiClient(app),
  };
}

const unique = <T>(values: T[]): T[] => [...new Set(values)];

export async function createApplicationService(deps: { queries: Queries; store: KeyValueStore; audit: AuditService; hashKey: Buffer; tenantId: string }) {
  const { tenantId } = deps;
  const queries = deps.queries.applications;
  const cache = await createInvalidatingCache<Application>({ store: deps.store, name: 'applications', load: (id) => queries.findById(id) });
  // Who a restricted application lists, read on every refresh, userinfo and introspection
  // (app-access.ts identityEligible); dropped on every node when the rules change.
  const rulesCache = await createInvalidatingCache<AccessRules>({ store: deps.store, name: 'application-access-rules', load: (id) => queries.listAccessRules(tenantId, id) });

  async function getOwn(clientId: string): Promise<Application> {
    const app = await queries.findById(clientId);
    if (!app || app.tenantId !== tenantId) throw new AppError('application.not_found', 404, `no application with client_id "${clientId}"`);
    return app;
  }

  /** A built-in first-party public client: created if missing, its URIs kept on the current issuer. */
  async function ensureBuiltIn(clientId: string, name: string, redirectUris: string[], postLogoutRedirectUris: string[]): Promise<Application> {
    const existing = await queries.findById(clientId);
    if (!existing) {
      try {
        await queries.insert({ id: clientId, tenantId, name, type: 'spa', clientSecretHash: null, redirectUris, postLogoutRedirectUris, firstParty: true, metadata: {}, acceptedIdentityKinds: null, accessMode: 'everyone' });
      } catch (error) {
        // Another node created it at the same moment.
        if ((error as { code?: string }).code !== '23505') throw error;
      }
    } else if (JSON.stringify(existing.redirectUris) !== JSON.stringify(redirectUris) || JSON.stringify(existing.postLogoutRedirectUris) !== JSON.stringify(postLogoutRedirectUris)) {
      await queries.update(clientId, { redirectUris, postLogoutRedirectUris, accessMode: 'everyone', acceptedIdentityKinds: null });
    }
    await cache.invalidate(clientId);
    return getOwn(clientId);
  }

  async function assertIdentityKindsExist(kinds: string[], field: string): Promise<void> {
    const known = new Set(await queries.existingIdentityKinds(tenantId, kinds));
    const unknown = kinds.filter((k) => !known.has(k));
    if (unknown.length) throw new AppError('application.unknown_identity_kind', 400, `${field}: no identity kind ${unknown.map((k) => `"${k}"`).join(', ')} is defined`);
  }

  return {
    cache,
    rulesCache,
    /** Cached lookup used on every OIDC request that names a client. */
    async findForOidc(clientId: string): Promise<Application | undefined> {
      const app = await cache.get(clientId);
      return app && app.tenantId === tenantId ? app : undefined;
    },
    /** `by`: the administrator's rights (the admin API); absent for the operator's own paths (CLI, seed). */
    async create(input: CreateApplicationInput, actor: Actor, by?: Administrator): Promise<{ application: Application; clientSecret?: string }> {
      const parsed = newApplicationSchema.safeParse(input);
      if (!parsed.success) throw invalid(parsed.error);
      assertMayChangeApplication(by, undefined, parsed.data.adminApiClient);
      const access = applicationAccessFieldsSchema.safeParse({ acceptedIdentityKinds: input.acceptedIdentityKinds, accessMode: input.accessMode });
      if (!access.success) throw invalid(access.error);
      const value = parsed.data;
      const acceptedIdentityKinds = access.data.acceptedIdentityKinds ? unique(access.data.acceptedIdentityKinds) : null;
      if (acceptedIdentityKinds) await assertIdentityKindsExist(acceptedIdentityKinds, 'acceptedIdentityKinds');
      const clientId = value.clientId ?? randomUUID();
      const clientSecret = isConfidential(value.type) ? (value.clientSecret ?? randomToken(32)) : undefined;
      if (await queries.findById(clientId)) throw new AppError('application.exists', 409, `an application with client_id "${clientId}" already exists`);
      // A service account's id is its client_id, and client-credentials tokens carry the service
      // identity of whatever account has that id: an application must never take one over.
      if (await queries.isServiceAccountId(clientId)) throw new AppError('application.exists', 409, `client_id "${clientId}" is taken`);
      let application: Application;
      try {
        application = await queries.insert({
          id: clientId,
          tenantId,
          name: value.name,
          type: value.type,
          clientSecretHash: clientSecret ? keyedHash(deps.hashKey, clientSecret) : null,
          redirectUris: value.redirectUris,
          postLogoutRedirectUris: value.postLogoutRedirectUris,
          firstParty: value.firstParty,
          metadata: {
            ...(value.backchannelLogoutUri ? { backchannelLogoutUri: value.backchannelLogoutUri } : {}),
            ...(value.refreshTokenReuseGraceSeconds ? { refreshTokenReuseGraceSeconds: value.refreshTokenReuseGraceSeconds } : {}),
            ...(value.adminApiClient ? { adminApiClient: true } : {}),
          },
          acceptedIdentityKinds,
          accessMode: access.data.accessMode ?? 'everyone',
        });
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw new AppError('application.exists', 409, `an application with client_id "${clientId}" already exists`);
        throw error;
      }
      await cache.invalidate(clientId);
      await deps.audit.record({ tenantId, action: 'application.created', ...actor, targetType: 'application', targetId: clientId, details: { after: applicationSettings(application) } });
      return { application, clientSecret };
    },
    async update(clientId: string, input: ApplicationPatchInput, actor: Actor, by?: Administrator): Promise<Application> {
      assertNotBuiltIn(clientId);
      const parsed = applicationPatchSchema.safeParse(input);
      if (!parsed.success) throw invalid(parsed.error);
      const value = parsed.data;
      const before = await getOwn(clientId);
      assertMayChangeApplication(by, before, value.adminApiClient);
      if (before.type === 'service' && ((value.redirectUris?.length ?? 0) > 0 || (value.postLogoutRedirectUris?.length ?? 0) > 0)) {
        throw new AppError('application.invalid', 400, 'redirectUris: a service application signs no users in and takes no redirect URIs');
      }
      if (before.type !== 'service' && value.redirectUris?.length === 0) {
        throw new AppError('application.invalid', 400, `redirectUris: a ${before.type} application needs at least one redirect URI`);
      }
      const patch: ApplicationPatch = {};
      if (value.name !== undefined) patch.name = value.name;
      if (value.redirectUris !== undefined) patch.redirectUris = unique(value.redirectUris);
      if (value.postLogoutRedirectUris !== undefined) patch.postLogoutRedirectUris = unique(value.postLogoutRedirectUris);
      if (value.firstParty !== undefined) patch.firstParty = value.firstParty;
      if (value.backchannelLogoutUri !== undefined) {
        if (before.type === 'service' && value.backchannelLogoutUri) throw new AppError('application.invalid', 400, 'backchannelLogoutUri: a service application signs no users in and gets no logout tokens');
        const { backchannelLogoutUri: _old, ...rest } = before.metadata;
        patch.metadata = value.backchannelLogoutUri ? { ...rest, backchannelLogoutUri: value.backchannelLogoutUri } : rest;
      }
      if (value.refreshTokenReuseGraceSeconds !== undefined) {
        if (before.type === 'service' && value.refreshTokenReuseGraceSeconds > 0) throw new AppError('application.invalid', 400, 'refreshTokenReuseGraceSeconds: a service application gets no refresh tokens');
        const { refreshTokenReuseGraceSeconds: _old, ...rest } = patch.metadata ?? before.metadata;
        patch.metadata = value.refreshTokenReuseGraceSeconds > 0 ? { ...rest, refreshTokenReuseGraceSeconds: value.refreshTokenReuseGraceSeconds } : rest;
      }
      if (value.adminApiClient !== undefined && value.adminApiClient !== (before.metadata.adminApiClient === true)) {
        const { adminApiClient: _was, ...rest } = patch.metadata ?? before.metadata;
        patch.metadata = value.adminApiClient ? { ...rest, adminApiClient: true } : rest;
      }
      if (value.acceptedIdentityKinds !== undefined) {
        patch.acceptedIdentityKinds = value.acceptedIdentityKinds ? unique(value.acceptedIdentityKinds) : null;
        if (patch.acceptedIdentityKinds) await assertIdentityKindsExist(patch.acceptedIdentityKinds, 'acceptedIdentityKinds');
      }
      // Switching the mode leaves the listed users, groups and kinds in place: an application can
      // be opened to everyone for a while and restricted again without re-entering them.
      if (value.accessMode !== undefined) patch.accessMode = value.accessMode;
      if (Object.keys(patch).length === 0) return before;
      const after = await queries.update(clientId, patch);
      if (!after) throw new AppError('application.not_found', 404, `no application with client_id "${clientId}"`);
      await cache.invalidate(clientId);
      await deps.audit.record({ tenantId, action: 'application.updated', ...actor, targetType: 'application', targetId: clientId, details: { before: applicationSettings(before), after: applicationSettings(after) } });
      return after;
    },
    /** Replaces who may use the application: the mode and every listed user, group and kind. */
    async setAccess(clientId: string, input: ApplicationAccessInput, actor: Actor, by?: Administrator): Promise<{ application: Application; rules: AccessRules }> {
      assertNotBuiltIn(clientId);
      const parsed = applicationAccessSchema.safeParse(input);
      if (!parsed.success) throw invalid(parsed.error);
      if (by) assertMayChangeApplication(by, await getOwn(clientId), undefined);
      // Ids are stored as PostgreSQL prints uuids (lowercase), which is how eligibility compares them.
      const lower = (ids: string[]) => unique(ids.map((id) => id.toLowerCase()));
      const rules: AccessRules = { users: lower(parsed.data.users), groups: lower(parsed.data.groups), identityKinds: unique(parsed.data.identityKinds) };
      const before = await getOwn(clientId);
      const beforeRules = await queries.listAccessRules(tenantId, clientId);
      const [users, groups] = await Promise.all([queries.existingUserIds(tenantId, rules.users), queries.existingGroupIds(tenantId, rules.groups)]);
      const missingUsers = rules.users.filter((id) => !users.includes(id));
      if (missingUsers.length) throw new AppError('application.unknown_user', 400, `users: no user ${missingUsers.join(', ')}`);
      const missingGroups = rules.groups.filter((id) => !groups.includes(id));
      if (missingGroups.length) throw new AppError('application.unknown_group', 400, `groups: no group ${missingGroups.join(', ')}`);
      await assertIdentityKindsExist(rules.identityKinds, 'identityKinds');
      // Letting a user into an application is managing that user (administration.ts).
      if (by) for (const userId of rules.users.filter((id) => !beforeRules.users.includes(id))) await assertMayManageUser(deps.queries.db, by, userId);
      const application = await deps.queries.transaction(async (tx) => {
        const updated = await tx.applications.update(clientId, { accessMode: parsed.data.accessMode });
        await tx.applications.replaceAccessRules(tx.db, tenantId, clientId, rules);
        return updated;
      });
      if (!application) throw new AppError('application.not_found', 404, `no application with client_id "${clientId}"`);
      await cache.invalidate(clientId);
      await rulesCache.invalidate(clientId);
      await deps.audit.record({
        tenantId,
        action: 'application.access_changed',
        ...actor,
        targetType: 'application',
        targetId: clientId,
        details: { before: { accessMode: before.accessMode, ...beforeRules }, after: { accessMode: application.accessMode, ...rules } },
      });
      return { application, rules };
    },
    /** A new client secret, shown once; the old one stops working at once. */
    async rotateSecret(clientId: string, actor: Actor, by?: Administrator): Promise<{ application: Application; clientSecret: string }> {
      const before = await getOwn(clientId);
      assertMayChangeApplication(by, before, undefined);
      if (!isConfidential(before.type)) throw new AppError('application.public_client', 409, `a ${before.type} application is a public client and has no secret`);
      const clientSecret = randomToken(32);
      const application = await queries.update(clientId, { clientSecretHash: keyedHash(deps.hashKey, clientSecret) });
      if (!application) throw new AppError('application.not_found', 404, `no application with client_id "${clientId}"`);
      await cache.invalidate(clientId);
      await deps.audit.record({ tenantId, action: 'application.secret_rotated', ...actor, targetType: 'application', targetId: clientId, details: {} });
      return { application, clientSecret };
    },
    async remove(clientId: string, actor: Actor, by?: Administrator): Promise<void> {
      assertNotBuiltIn(clientId);
      const before = await getOwn(clientId);
      assertMayChangeApplication(by, before, undefined);
      await queries.deleteById(tenantId, clientId);
      await cache.invalidate(clientId);
      await rulesCache.invalidate(clientId);
      await deps.audit.record({ tenantId, action: 'application.deleted', ...actor, targetType: 'application', targetId: clientId, details: { before: applicationSettings(before) } });
    },
    /** The operator (CLI) marks or unmarks an application as an admin-API client; true when it changed. */
    async setAdminApiClient(clientId: string, allowed: boolean, actor: Actor): Promise<boolean> {
      assertNotBuiltIn(clientId);
      const before = await getOwn(clientId);
      if ((before.metadata.adminApiClient === true) === allowed) return false;
      const { adminApiClient: _was, ...rest } = before.metadata;
      const after = await queries.update(clientId, { metadata: allowed ? { ...rest, adminApiClient: true } : rest });
      await cache.invalidate(clientId);
      await deps.audit.record({ tenantId, action: 'application.updated', ...actor, targetType: 'application', targetId: clientId, details: { before: applicationSettings(before), after: after ? applicationSettings(after) : null } });
      return true;
    },
    /** Brings an existing application in line with a seed entry; true when something changed. */
    async updateFromSeed(existing: Application, input: z.output<typeof newApplicationSchema>, actor: Actor): Promise<boolean> {
      assertNotBuiltIn(existing.id);
      if (existing.type !== input.type) throw new AppError('application.type_change', 409, `application "${existing.id}" is a ${existing.type} application; its type cannot change to ${input.type}`);
      const patch: ApplicationPatch = {};
      if (existing.name !== input.name) patch.name = input.name;
      if (JSON.stringify(existing.redirectUris) !== JSON.stringify(input.redirectUris)) patch.redirectUris = input.redirectUris;
      if (JSON.stringify(existing.postLogoutRedirectUris) !== JSON.stringify(input.postLogoutRedirectUris)) patch.postLogoutRedirectUris = input.postLogoutRedirectUris;
      if (existing.firstParty !== input.firstParty) patch.firstParty = input.firstParty;
      if (input.clientSecret && existing.clientSecretHash !== keyedHash(deps.hashKey, input.clientSecret)) patch.clientSecretHash = keyedHash(deps.hashKey, input.clientSecret);
      if (Object.keys(patch).length === 0) return false;
      const after = await queries.update(existing.id, patch);
      await cache.invalidate(existing.id);
      await deps.audit.record({
        tenantId,
        action: 'application.updated',
        ...actor,
        targetType: 'application',
        targetId: existing.id,
        details: { before: applicationSettings(existing), after: after ? applicationSettings(after) : null, secretRotated: patch.clientSecretHash !== undefined },
      });
      return true;
    },
    /** Creates the account pages' client, or points its redirect URIs at the current issuer. */
    ensureAccountClient: (issuer: string) => ensureBuiltIn(ACCOUNT_CLIENT_ID, 'Your account', [`${issuer}/account/callback`], [`${issuer}/account/signed-out`]),
    /** Creates the admin console's client, or points its redirect URIs at the current issuer. */
    ensureConsoleClient: (issuer: string) => ensureBuiltIn(CONSOLE_CLIENT_ID, 'Gatehouse console', [`${issuer}/console/callback`], [`${issuer}/console/`]),
    list: () => queries.list(tenantId),
    findById: (id: string) => queries.findById(id),
    findByName: (name: string) => queries.findByName(tenantId, name),
    /** The application of this tenant, or AppError application.not_found (404). */
    getById: getOwn,
    accessRules: (clientId: string) => queries.listAccessRules(tenantId, clientId),
    /** As accessRules, through the per-node cache (the OIDC hot paths). */
    cachedAccessRules: async (clientId: string): Promise<AccessRules> => (await rulesCache.get(clientId)) ?? { users: [], groups: [], identityKinds: [] },
  };
}

export type ApplicationService = Awaited<ReturnType<typeof createApplicationService>>;
