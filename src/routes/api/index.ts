// Assembles the admin API: every route module's routes, the OpenAPI document and the permission
// catalog. Route modules export a function `(services) => ApiRoute[]`; add new ones to
// `allRoutes` below.
import Router from '@koa/router';
import { z } from 'zod';
import type { RouteContext } from '../../context.ts';
import { buildOpenApi, defineRoute, mountRoutes, permissionCatalog, type ApiRoute, type Authenticate } from './framework.ts';
import { apiResourceRoutes } from './api-resources.ts';
import { defaultPolicyRoutes } from './default-policy.ts';
import { groupRoutes } from './groups.ts';
import { roleRoutes } from './roles.ts';
import { applicationRoutes } from './applications.ts';
import { serviceAccountRoutes } from './service-accounts.ts';
import { meRoutes } from './me.ts';
import { auditRoutes } from './audit.ts';
import { navigationRoutes } from './navigation.ts';
import { userRoutes } from './users.ts';
import { identityRoutes } from './identities.ts';
import { dataScopeRoutes } from './data-scopes.ts';
import { accountSecurityRoutes } from './account-security.ts';
import { sessionRoutes } from './sessions.ts';
import { accessEvaluationRoutes, authzenMetadata } from './access-evaluation.ts';
import { webhookPayloadDocs, webhookRoutes } from './webhooks.ts';
import { scimRoutes } from './scim.ts';
import { identityProviderRoutes } from './identity-providers.ts';
import { overviewRoutes } from './overview.ts';
import { tenantSettingsRoutes } from './tenant-settings.ts';

export type ApiServices = RouteContext & { issuer: string };

function metaRoutes(routesSoFar: () => ApiRoute[], services: ApiServices): ApiRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/permissions',
      permission: 'permissions:list',
      summary: "List Gatehouse's own permission catalog (one permission per admin route) and the catalogs of registered API resources",
      tag: 'permissions',
      response: z.object({
        gatehouse: z.array(z.object({ name: z.string(), routes: z.array(z.string()) })),
        resources: z.array(z.object({ resource: z.string(), permissions: z.array(z.string()) })),
      }),
      async handler() {
        const resources = await services.apiResources.list();
        return {
          gatehouse: permissionCatalog(routesSoFar()),
          resources: resources.map((r) => ({ resource: r.identifier, permissions: r.scopes })),
        };
      },
    }),
  ];
}

/** The full route table (also used by tests to check every route's authorization). */
export function allRoutes(services: ApiServices): ApiRoute[] {
  const routes: ApiRoute[] = [];
  const modules: ((s: ApiServices) => ApiRoute[])[] = [
    // Route modules register here.
    // Roles read Gatehouse's catalog from the finished table at request time.
    (s) => roleRoutes(s, () => permissionCatalog(routes).map((p) => p.name)),
    groupRoutes,
    defaultPolicyRoutes,
    apiResourceRoutes,
    applicationRoutes,
    serviceAccountRoutes,
    meRoutes,
    auditRoutes,
    (s) => navigationRoutes(s, () => permissionCatalog(routes).map((p) => p.name)),
    userRoutes,
    identityRoutes,
    dataScopeRoutes,
    accountSecurityRoutes,
    sessionRoutes,
    accessEvaluationRoutes,
    webhookRoutes,
    scimRoutes,
    identityProviderRoutes,
    overviewRoutes,
    tenantSettingsRoutes,
  ];
  for (const module of modules) routes.push(...module(services));
  routes.push(...metaRoutes(() => routes, services));
  return routes;
}

export function createApiRouter(services: ApiServices, authenticate: Authenticate): { router: Router; routes: ApiRoute[] } {
  const router = new Router();
  const routes = allRoutes(services);
  const openapi = { ...buildOpenApi(routes, services.issuer), webhooks: webhookPayloadDocs() };
  router.get('/api/v1/openapi.json', (ctx) => {
    ctx.body = openapi;
  });
  const metadata = authzenMetadata(services.issuer);
  router.get('/.well-known/authzen-configuration', (ctx) => {
    ctx.body = metadata;
  });
  mountRoutes(router, routes, authenticate);
  return { router, routes };
}

/**
 * Gatehouse's own permission catalog (one permission per admin route), for callers outside a
 * request: the CLI, the seed import and the system roles. Building the route table reads no
 * service (handlers only run on requests), so no context is needed.
 */
export function adminPermissionCatalog(): string[] {
  return permissionCatalog(allRoutes({} as ApiServices)).map((p) => p.name);
}
