// API resources: audiences for access tokens (RFC 8707 resource indicators) with their scopes.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Queries } from '../queries/index.ts';
import { z } from 'zod';
import { type ApiResource } from '../queries/api-resources.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { createInvalidatingCache } from './cache.ts';
import { AppError, invalidInput } from './errors.ts';

export type { ApiResource };

export const apiResourceSchema = z.object({
  // RFC 8707 §2: an absolute URI without a fragment.
  identifier: z.url('identifier must be an absolute URI').refine((v) => !v.includes('#'), 'identifier must not contain a fragment'),
  name: z.string().trim().min(1).max(200),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'scopes are space-free printable ASCII (RFC 6749 §3.3)'))
    .max(500)
    .default([]),
  accessTokenFormat: z.enum(['jwt', 'opaque']).default('jwt'),
  accessTokenTtl: z.number().int().min(30).max(86400).nullable().default(null),
});

export type ApiResourceInput = z.input<typeof apiResourceSchema>;

export async function createApiResourceService(deps: { queries: Queries; store: KeyValueStore; audit: AuditService; tenantId: string }) {
  const queries = deps.queries.apiResources;
  const cache = await createInvalidatingCache<ApiResource>({ store: deps.store, name: 'api-resources', load: (id) => queries.findByIdentifier(id) });

  return {
    cache,
    findByIdentifier: (identifier: string) => cache.get(identifier),
    /** Creates or updates a resource; an identical re-submission writes and audits nothing. */
    async upsertReportingChange(input: ApiResourceInput, actor: Actor): Promise<{ resource: ApiResource; changed: boolean }> {
      const parsed = apiResourceSchema.safeParse(input);
      if (!parsed.success) throw invalidInput('api_resource.invalid', parsed.error);
      const before = await queries.findByIdentifier(parsed.data.identifier);
      if (before && before.tenantId !== deps.tenantId) throw new AppError('api_resource.exists', 409, 'this identifier belongs to another tenant');
      const wanted: ApiResource = { id: before?.id ?? randomUUID(), tenantId: deps.tenantId, ...parsed.data };
      if (before && isDeepStrictEqual(before, wanted)) return { resource: before, changed: false };
      const resource = await queries.upsert(wanted);
      await cache.invalidate(resource.identifier);
      await deps.audit.record({ tenantId: deps.tenantId, action: before ? 'api_resource.updated' : 'api_resource.created', ...actor, targetType: 'api_resource', targetId: resource.identifier, details: { before: before ?? null, after: resource } });
      return { resource, changed: true };
    },
    async upsert(input: ApiResourceInput, actor: Actor): Promise<ApiResource> {
      return (await this.upsertReportingChange(input, actor)).resource;
    },
    list: () => queries.list(deps.tenantId),
  };
}

export type ApiResourceService = Awaited<ReturnType<typeof createApiResourceService>>;
