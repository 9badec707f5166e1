// Admin API: API resources (RFC 8707 audiences) and their permission catalogs, which custom
// roles draw their permissions from.
import { z } from 'zod';
import { apiResourceSchema } from '../../services/api-resources.ts';
import { ADMIN_API_RESOURCE } from '../../services/authorization.ts';
import { AppError } from '../../services/errors.ts';
import { adminApiAudience } from './auth.ts';
import { actorOf } from './caller.ts';
import { defineRoute, presenter, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';

const resourceView = z.object({
  id: z.string(),
  identifier: z.string(),
  name: z.string(),
  scopes: z.array(z.string()).describe('the permission catalog of this resource'),
  accessTokenFormat: z.enum(['jwt', 'opaque']),
  accessTokenTtl: z.number().int().nullable(),
});

const presentResource = presenter(resourceView);

export function apiResourceRoutes(services: Pick<ApiServices, 'apiResources' | 'issuer' | 'tenantId'>): ApiRoute[] {
  const { apiResources } = services;
  // Gatehouse's own API is not a registrable resource: its catalog is the route table, and a
  // registered copy would let role permissions be stored under the admin API's name.
  const reserved = new Set([ADMIN_API_RESOURCE, adminApiAudience(services.issuer)]);
  return [
    defineRoute({
      method: 'get',
      path: '/api-resources',
      permission: 'api-resources:list',
      summary: 'List registered API resources with their permission catalogs',
      tag: 'api-resources',
      response: z.object({ resources: z.array(resourceView) }),
      async handler({ caller }) {
        const resources = (await apiResources.list()).filter((r) => r.tenantId === caller.tenantId);
        return { resources: resources.map(presentResource) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api-resources',
      permission: 'api-resources:upsert',
      summary: 'Register or update an API resource (by identifier) and its permission catalog',
      tag: 'api-resources',
      body: apiResourceSchema,
      response: resourceView,
      async handler({ body, caller, ctx }) {
        if (reserved.has(body.identifier)) throw new AppError('api_resource.reserved', 409, `"${body.identifier}" is Gatehouse's own admin API: its permissions are the admin routes'`);
        // The resource service writes to the tenant it was built for; never on another's behalf.
        if (caller.tenantId !== services.tenantId) throw new AppError('api_resource.not_found', 404, 'API resource not found');
        return presentResource(await apiResources.upsert(body, actorOf(caller, ctx)));
      },
    }),
  ];
}
