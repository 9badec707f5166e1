// Admin API: identities of users (create identity as an upsert, the default identity) and the
// tenant's identity kinds. Thin handlers over services/identities.ts.
import { z } from 'zod';
import { identityPatchSchema, identityUpsertSchema, newIdentityKindSchema } from '../../services/identities.ts';
import { defineRoute, presenter, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { changeRequestOf, idParams } from './roles.ts';

const identityView = z.object({
  id: z.string(),
  userId: z.string(),
  kind: z.string(),
  alias: z.string(),
  isDefault: z.boolean().describe("the identity preselected at sign-in (the user's last choice)"),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const identityKindView = z.object({
  kind: z.string(),
  label: z.string(),
  builtin: z.boolean().describe('internal, client, supplier and service come with every tenant; service is reserved for service accounts'),
});

const presentIdentity = presenter(identityView);
const presentKind = presenter(identityKindView);

export function identityRoutes(services: Pick<ApiServices, 'identities'>): ApiRoute[] {
  const { identities } = services;
  return [
    defineRoute({
      method: 'post',
      path: '/identities',
      permission: 'identities:upsert',
      summary:
        'Create a user identity by username, kind and alias: the identity alone if the user exists, else the user (without a password) and this identity as its default. Idempotent: 201 when something was created, 200 with created=false when the identity already existed',
      tag: 'identities',
      body: identityUpsertSchema,
      response: z.object({
        identity: identityView,
        created: z.boolean().describe('false when the identity already existed and nothing was written'),
        userCreated: z.boolean().describe('true when the user was created too'),
      }),
      // The success status depends on the outcome (201 created, 200 found), so the handler sets it.
      raw: true,
      async handler({ body, caller, ctx }) {
        const result = await identities.upsert(body, changeRequestOf(caller, ctx));
        ctx.status = result.created ? 201 : 200;
        ctx.body = { identity: presentIdentity(result.identity), created: result.created, userCreated: result.userCreated };
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/identities',
      permission: 'identities:list',
      summary: "List a user's identities, oldest first",
      tag: 'identities',
      params: idParams,
      response: z.object({ items: z.array(identityView) }),
      async handler({ params, caller }) {
        return { items: (await identities.listForUser(caller.tenantId, params.id)).map(presentIdentity) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/identities/:id',
      permission: 'identities:update',
      summary: "Change a user identity's alias or kind (not a service account's identity)",
      tag: 'identities',
      params: idParams,
      body: identityPatchSchema,
      response: identityView,
      async handler({ params, body, caller, ctx }) {
        return presentIdentity(await identities.update(params.id, body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/identities/:id',
      permission: 'identities:delete',
      summary: "Delete a user identity with its roles, memberships and data scopes; never the user's last one. If it was the default, the oldest remaining identity becomes the default",
      tag: 'identities',
      params: idParams,
      async handler({ params, caller, ctx }) {
        await identities.remove(params.id, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'put',
      path: '/users/:id/default-identity',
      permission: 'identities:set-default',
      summary: "Choose the user's default identity (preselected at sign-in)",
      tag: 'identities',
      params: idParams,
      body: z.object({ identityId: z.guid() }).strict(),
      response: z.object({ items: z.array(identityView) }),
      async handler({ params, body, caller, ctx }) {
        return { items: (await identities.setDefault(params.id, body.identityId, changeRequestOf(caller, ctx))).map(presentIdentity) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/identity-kinds',
      permission: 'identity-kinds:list',
      summary: "List the tenant's identity kinds, built-in first",
      tag: 'identity-kinds',
      response: z.object({ items: z.array(identityKindView) }),
      async handler({ caller }) {
        return { items: (await identities.listKinds(caller.tenantId)).map(presentKind) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/identity-kinds',
      permission: 'identity-kinds:create',
      summary: 'Define an identity kind for the tenant (e.g. "partner")',
      tag: 'identity-kinds',
      body: newIdentityKindSchema,
      response: identityKindView,
      status: 201,
      async handler({ body, caller, ctx }) {
        return presentKind(await identities.createKind(body, changeRequestOf(caller, ctx)));
      },
    }),
  ];
}
