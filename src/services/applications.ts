// Applications are OIDC clients. Their metadata for oidc-provider is derived from the row, read
// through a cache that every node drops when an application changes.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { createApplicationQueries, type Application, type ApplicationType } from '../queries/applications.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { AuditService } from './audit.ts';
import { createInvalidatingCache } from './cache.ts';
import { AppError } from './errors.ts';
import { keyedHash, randomToken } from './secrets.ts';
import type { Actor } from './actor.ts';

export type { Application, ApplicationType };

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Absolute http(s) URIs without a fragment (OIDC Core §3.1.2.1); plain http only on loopback. */
export const redirectUriSchema = z.string().max(2000).superRefine((value, ctx) => {
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

export const newApplicationSchema = z
  .object({
    name: z.string().trim().min(1, 'name is required').max(200),
    type: z.enum(['web', 'spa', 'native', 'service']),
    redirectUris: z.array(redirectUriSchema).max(50).default([]),
    postLogoutRedirectUris: z.array(redirectUriSchema).max(50).default([]),
    firstParty: z.boolean().default(true),
    clientId: z.string().regex(/^[A-Za-z0-9._~-]{3,100}$/, 'clientId: 3-100 letters, digits, ".", "_", "~" or "-"').optional(),
    clientSecret: z.string().min(32, 'clientSecret must be at least 32 characters').max(200).optional(),
  })
  .superRefine((value, ctx) => {
    if (value.type !== 'service' && value.redirectUris.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: `a ${value.type} application needs at least one redirect URI` });
    }
    if (value.type === 'service' && value.redirectUris.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: 'a service application signs no users in and takes no redirect URIs' });
    }
    if ((value.type === 'spa' || value.type === 'native') && value.clientSecret) {
      ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: `a ${value.type} application is public and has no secret` });
    }
  });

export type NewApplicationInput = z.input<typeof newApplicationSchema>;

export function isConfidential(type: ApplicationType): boolean {
  return type === 'web' || type === 'service';
}

/** oidc-provider client metadata for an application row. */
export function toClientMetadata(app: Application): Record<string, unknown> {
  const base: Record<string, unknown> = {
    client_id: app.id,
    client_name: app.name,
  };
  switch (app.type) {
    case 'service':
      return {
        ...base,
        client_secret: app.clientSecretHash,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      };
    case 'web':
      return {
        ...base,
        client_secret: app.clientSecretHash,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: app.redirectUris,
        post_logout_redirect_uris: app.postLogoutRedirectUris,
        token_endpoint_auth_method: typeof app.metadata.tokenEndpointAuthMethod === 'string' ? app.metadata.tokenEndpointAuthMethod : 'client_secret_basic',
        application_type: 'web',
      };
    case 'spa':
    case 'native':
      return {
        ...base,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: app.redirectUris,
        post_logout_redirect_uris: app.postLogoutRedirectUris,
        token_endpoint_auth_method: 'none',
        application_type: app.type === 'native' ? 'native' : 'web',
      };
  }
}

export async function createApplicationService(deps: { knex: Knex; store: KeyValueStore; audit: AuditService; hashKey: Buffer; tenantId: string }) {
  const queries = createApplicationQueries(deps.knex);
  const cache = await createInvalidatingCache<Application>({ store: deps.store, name: 'applications', load: (id) => queries.findById(id) });

  return {
    cache,
    /** Cached lookup used on every OIDC request that names a client. */
    async findForOidc(clientId: string): Promise<Application | undefined> {
      const app = await cache.get(clientId);
      return app && app.tenantId === deps.tenantId ? app : undefined;
    },
    async create(input: NewApplicationInput, actor: Actor): Promise<{ application: Application; clientSecret?: string }> {
      const parsed = newApplicationSchema.safeParse(input);
      if (!parsed.success) {
        throw new AppError('application.invalid', 400, parsed.error.issues.map((i) => i.message).join('; '), { issues: parsed.error.issues });
      }
      const value = parsed.data;
      const clientId = value.clientId ?? randomUUID();
      const clientSecret = isConfidential(value.type) ? (value.clientSecret ?? randomToken(32)) : undefined;
      if (await queries.findById(clientId)) throw new AppError('application.exists', 409, `an application with client_id "${clientId}" already exists`);
      const application = await queries.insert({
        id: clientId,
        tenantId: deps.tenantId,
        name: value.name,
        type: value.type,
        clientSecretHash: clientSecret ? keyedHash(deps.hashKey, clientSecret) : null,
        redirectUris: value.redirectUris,
        postLogoutRedirectUris: value.postLogoutRedirectUris,
        firstParty: value.firstParty,
        metadata: {},
      });
      await cache.invalidate(clientId);
      await deps.audit.record({
        tenantId: deps.tenantId,
        action: 'application.created',
        ...actor,
        targetType: 'application',
        targetId: clientId,
        details: { after: { name: application.name, type: application.type, redirectUris: application.redirectUris, firstParty: application.firstParty } },
      });
      return { application, clientSecret };
    },
    async remove(clientId: string, actor: Actor): Promise<void> {
      const before = await queries.findById(clientId);
      if (!before || before.tenantId !== deps.tenantId) throw new AppError('application.not_found', 404, `no application with client_id "${clientId}"`);
      await queries.deleteById(deps.tenantId, clientId);
      await cache.invalidate(clientId);
      await deps.audit.record({
        tenantId: deps.tenantId,
        action: 'application.deleted',
        ...actor,
        targetType: 'application',
        targetId: clientId,
        details: { before: { name: before.name, type: before.type } },
      });
    },
    /** Brings an existing application in line with a seed entry; true when something changed. */
    async updateFromSeed(existing: Application, input: z.output<typeof newApplicationSchema>, actor: Actor): Promise<boolean> {
      if (existing.type !== input.type) throw new AppError('application.type_change', 409, `application "${existing.id}" is a ${existing.type} application; its type cannot change to ${input.type}`);
      const patch: Parameters<typeof queries.update>[1] = {};
      if (existing.name !== input.name) patch.name = input.name;
      if (JSON.stringify(existing.redirectUris) !== JSON.stringify(input.redirectUris)) patch.redirectUris = input.redirectUris;
      if (JSON.stringify(existing.postLogoutRedirectUris) !== JSON.stringify(input.postLogoutRedirectUris)) patch.postLogoutRedirectUris = input.postLogoutRedirectUris;
      if (existing.firstParty !== input.firstParty) patch.firstParty = input.firstParty;
      if (input.clientSecret && existing.clientSecretHash !== keyedHash(deps.hashKey, input.clientSecret)) patch.clientSecretHash = keyedHash(deps.hashKey, input.clientSecret);
      if (Object.keys(patch).length === 0) return false;
      const after = await queries.update(existing.id, patch);
      await cache.invalidate(existing.id);
      const { clientSecretHash: _omit, ...changes } = patch;
      await deps.audit.record({ tenantId: deps.tenantId, action: 'application.updated', ...actor, targetType: 'application', targetId: existing.id, details: { before: { name: existing.name, redirectUris: existing.redirectUris, postLogoutRedirectUris: existing.postLogoutRedirectUris, firstParty: existing.firstParty }, after: { ...changes, secretRotated: patch.clientSecretHash !== undefined, name: after?.name } } });
      return true;
    },
    list: () => queries.list(deps.tenantId),
    findById: (id: string) => queries.findById(id),
    findByName: (name: string) => queries.findByName(deps.tenantId, name),
  };
}

export type ApplicationService = Awaited<ReturnType<typeof createApplicationService>>;
