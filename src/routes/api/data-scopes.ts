// Admin API: data scopes allocated to each identity of a user and the tenant's data-scope keys.
// Thin handlers over services/data-scopes.ts, which holds the escalation check.
import { z } from 'zod';
import { dataScopeKeyNameSchema, dataScopeKeyPatchSchema, dataScopeSchema, dataScopeValuesSchema, newDataScopeKeySchema } from '../../services/data-scopes.ts';
import { defineRoute, presenter, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { changeRequestOf, idParams } from './roles.ts';

const scopeView = z.record(z.string(), z.array(z.string())).describe('key → values; "*" means all values of the key; an absent key means none');
const keyParams = z.object({ id: z.guid(), key: dataScopeKeyNameSchema });
const keyView = z.object({ key: z.string(), description: z.string().nullable() });

const presentKey = presenter(keyView);

export function dataScopeRoutes(services: Pick<ApiServices, 'dataScopes'>): ApiRoute[] {
  const { dataScopes } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/identities/:id/data-scopes',
      permission: 'data-scopes:read',
      summary: "Read an identity's data scope",
      tag: 'data-scopes',
      params: idParams,
      response: scopeView,
      async handler({ params, caller }) {
        return dataScopes.get(caller.tenantId, params.id);
      },
    }),
    defineRoute({
      method: 'put',
      path: '/identities/:id/data-scopes',
      permission: 'data-scopes:replace',
      summary: 'Replace the whole data scope of an identity (keys not given are removed). Values the identity does not hold yet must lie within your own scope',
      tag: 'data-scopes',
      params: idParams,
      body: dataScopeSchema,
      response: scopeView,
      async handler({ params, body, caller, ctx }) {
        return dataScopes.replace(params.id, body, changeRequestOf(caller, ctx));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/identities/:id/data-scopes/:key',
      permission: 'data-scopes:set',
      summary: "Set one key's values of an identity's data scope. Values the identity does not hold yet must lie within your own scope",
      tag: 'data-scopes',
      params: keyParams,
      body: z.object({ values: dataScopeValuesSchema }).strict(),
      response: scopeView,
      async handler({ params, body, caller, ctx }) {
        return dataScopes.set(params.id, params.key, body.values, changeRequestOf(caller, ctx));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/identities/:id/data-scopes/:key',
      permission: 'data-scopes:remove',
      summary: "Remove one key from an identity's data scope (the identity then sees none of that kind)",
      tag: 'data-scopes',
      params: keyParams,
      async handler({ params, caller, ctx }) {
        await dataScopes.remove(params.id, params.key, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/data-scope-keys',
      permission: 'data-scope-keys:list',
      summary: "List the tenant's data-scope keys",
      tag: 'data-scope-keys',
      response: z.object({ items: z.array(keyView) }),
      async handler({ caller }) {
        return { items: (await dataScopes.listKeys(caller.tenantId)).map(presentKey) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/data-scope-keys',
      permission: 'data-scope-keys:create',
      summary: 'Define a data-scope key for the tenant (e.g. "client")',
      tag: 'data-scope-keys',
      body: newDataScopeKeySchema,
      response: keyView,
      status: 201,
      async handler({ body, caller, ctx }) {
        return presentKey(await dataScopes.createKey(body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/data-scope-keys/:key',
      permission: 'data-scope-keys:update',
      summary: "Change a data-scope key's description (the key itself is what scopes and tokens name, and does not change)",
      tag: 'data-scope-keys',
      params: z.object({ key: dataScopeKeyNameSchema }),
      body: dataScopeKeyPatchSchema,
      response: keyView,
      async handler({ params, body, caller, ctx }) {
        return presentKey(await dataScopes.updateKey(params.key, body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/data-scope-keys/:key',
      permission: 'data-scope-keys:delete',
      summary: 'Delete a data-scope key that no identity holds values for (409 data_scope_key.in_use otherwise)',
      tag: 'data-scope-keys',
      params: z.object({ key: dataScopeKeyNameSchema }),
      async handler({ params, caller, ctx }) {
        await dataScopes.deleteKey(params.key, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
  ];
}
