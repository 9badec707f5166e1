// Admin API: an application's navigation menu, the tenant's overrides of it, and the menu the
// calling user may see. Thin handlers over services/navigation.ts.
import { z } from 'zod';
import { navigationItemSchema, navigationKeySchema, navigationOverrideSchema, type AdminNavigationNode, type NavigationNode } from '../../services/navigation.ts';
import { publicResourceName } from '../../services/roles.ts';
import { actorOf } from './caller.ts';
import { defineRoute, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';

interface AdminNodeView {
  key: string;
  label: string;
  path: string | null;
  parentKey: string | null;
  sortOrder: number;
  requiredPermission: { resource: string; permission: string } | null;
  disabled: boolean;
  overridden: boolean;
  defined: { label: string; parentKey: string | null; sortOrder: number };
  children: AdminNodeView[];
}

const adminNodeView: z.ZodType<AdminNodeView> = z
  .object({
    key: z.string(),
    label: z.string().describe("with the tenant's override applied"),
    path: z.string().nullable(),
    parentKey: z.string().nullable(),
    sortOrder: z.number().int(),
    requiredPermission: z.object({ resource: z.string(), permission: z.string() }).nullable(),
    disabled: z.boolean(),
    overridden: z.boolean().describe('the tenant has an override for this item'),
    defined: z.object({ label: z.string(), parentKey: z.string().nullable(), sortOrder: z.number().int() }).describe('as the application defines it'),
    get children() {
      return z.array(adminNodeView);
    },
  })
  .meta({ id: 'NavigationAdminNode' });

const nodeView: z.ZodType<NavigationNode> = z
  .object({
    key: z.string(),
    label: z.string(),
    path: z.string().nullable(),
    get children() {
      return z.array(nodeView);
    },
  })
  .meta({ id: 'NavigationNode' });

const adminTreeView = z.object({ application: z.string(), items: z.array(adminNodeView) });

function presentNode(node: AdminNavigationNode): AdminNodeView {
  const required = node.requiredPermission;
  return {
    key: node.key,
    label: node.label,
    path: node.path,
    parentKey: node.parentKey,
    sortOrder: node.sortOrder,
    requiredPermission: required && { resource: publicResourceName(required.resource), permission: required.permission },
    disabled: node.disabled,
    overridden: node.overridden,
    defined: node.defined,
    children: node.children.map(presentNode),
  };
}

const appParams = z.object({ clientId: z.string().min(1).max(200) });
const itemParams = appParams.extend({ key: navigationKeySchema });

/**
 * `adminCatalog` lists Gatehouse's own permissions, which items may require under "gatehouse";
 * it comes from the assembled route table, hence a function read at request time.
 */
export function navigationRoutes(services: Pick<ApiServices, 'navigation'>, adminCatalog: () => string[]): ApiRoute[] {
  const { navigation } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/applications/:clientId/navigation',
      permission: 'navigation:read',
      summary: "An application's whole navigation tree with the tenant's overrides applied, disabled and guarded items included",
      tag: 'navigation',
      params: appParams,
      response: adminTreeView,
      async handler({ params, caller }) {
        return { application: params.clientId, items: (await navigation.definition(caller.tenantId, params.clientId)).map(presentNode) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/applications/:clientId/navigation',
      permission: 'navigation:replace',
      summary: "Replace an application's navigation item definitions (the tenant's overrides stay, by item key)",
      tag: 'navigation',
      params: appParams,
      body: z.object({ items: z.array(navigationItemSchema).max(500) }).strict(),
      response: adminTreeView,
      async handler({ params, body, caller, ctx }) {
        const tree = await navigation.replace(params.clientId, body.items, { tenantId: caller.tenantId, actor: actorOf(caller, ctx) }, adminCatalog());
        return { application: params.clientId, items: tree.map(presentNode) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/applications/:clientId/navigation/overrides/:key',
      permission: 'navigation:override',
      summary: "Set the tenant's override of one item: rename (label), reorder (sortOrder), move (parentKey; null: top level), disable",
      tag: 'navigation',
      params: itemParams,
      body: navigationOverrideSchema,
      response: adminTreeView,
      async handler({ params, body, caller, ctx }) {
        const tree = await navigation.setOverride(params.clientId, params.key, body, { tenantId: caller.tenantId, actor: actorOf(caller, ctx) });
        return { application: params.clientId, items: tree.map(presentNode) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/applications/:clientId/navigation/overrides/:key',
      permission: 'navigation:reset',
      summary: "Drop the tenant's override of one item: it shows as the application defines it",
      tag: 'navigation',
      params: itemParams,
      async handler({ params, caller, ctx }) {
        await navigation.resetOverride(params.clientId, params.key, { tenantId: caller.tenantId, actor: actorOf(caller, ctx) });
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/me/navigation',
      permission: null,
      summary: "The navigation tree of an application trimmed to the caller's permissions: items they lack the permission for, disabled items, and everything under a hidden item are left out",
      tag: 'me',
      query: z.object({ app: z.string().min(1).max(200).describe("the application's client_id") }),
      response: z.object({ application: z.string(), items: z.array(nodeView) }),
      async handler({ query, caller }) {
        return { application: query.app, items: await navigation.forCaller(caller.tenantId, query.app, caller.permissionsByResource) };
      },
    }),
  ];
}
