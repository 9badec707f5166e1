// Admin API: roles, their permissions, and their direct assignment to identities. Thin
// handlers: zod at the edge, the rules (catalogs, escalation, system roles) in services/roles.ts.
import type { Context } from 'koa';
import { z } from 'zod';
import { publicResourceName, type ChangeRequest, type EffectiveRole, type IdentityRoles, type Role, type RoleRef } from '../../services/roles.ts';
import { newRoleSchema, rolePatchSchema, rolePermissionsSchema } from '../../services/roles.ts';
import { actorOf, type Caller } from './caller.ts';
import { defineRoute, presenter, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';

/** The change request of an admin API call: the caller's tenant, audit actor and rights. */
export function changeRequestOf(caller: Caller, ctx: Context): ChangeRequest {
  return { tenantId: caller.tenantId, actor: actorOf(caller, ctx), granter: caller };
}

export const idParams = z.object({ id: z.guid() });

const permissionView = z.object({ resource: z.string().describe(`"gatehouse" for Gatehouse's own admin API, else an API resource identifier`), permission: z.string() });
const roleRefView = z.object({ id: z.string(), name: z.string(), system: z.boolean() });
export const roleView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  system: z.boolean().describe('seeded by Gatehouse: cannot be deleted or renamed, permissions follow the route table'),
  permissions: z.array(permissionView),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const roleSource = z.discriminatedUnion('type', [
  z.object({ type: z.literal('direct') }),
  z.object({ type: z.literal('group'), groupId: z.string(), groupName: z.string() }),
  z.object({ type: z.literal('default_policy'), identityKind: z.string().nullable() }),
]);
const identityRolesView = z.object({
  identity: z.object({ id: z.string(), kind: z.string(), alias: z.string(), userId: z.string().nullable(), serviceAccountId: z.string().nullable() }),
  direct: z.array(roleRefView),
  effective: z.array(roleRefView.extend({ sources: z.array(roleSource) })),
});

const presentRoleFields = presenter(roleView);

export function presentRole(role: Role): z.infer<typeof roleView> {
  return { ...presentRoleFields(role), permissions: role.permissions.map((p) => ({ resource: publicResourceName(p.resource), permission: p.permission })) };
}

export const presentRoleRef: (role: RoleRef) => z.infer<typeof roleRefView> = presenter(roleRefView);

function presentIdentityRoles(view: IdentityRoles): z.infer<typeof identityRolesView> {
  const { identity } = view;
  return {
    identity: { id: identity.id, kind: identity.kind, alias: identity.alias, userId: identity.userId, serviceAccountId: identity.serviceAccountId },
    direct: view.direct.map(presentRoleRef),
    effective: view.effective.map((r: EffectiveRole) => ({ ...presentRoleRef(r), sources: r.sources })),
  };
}

/**
 * `adminCatalog` lists Gatehouse's own permissions (one per admin route); it comes from the
 * assembled route table, which this module is part of, hence a function read at request time.
 */
export function roleRoutes(services: Pick<ApiServices, 'roles'>, adminCatalog: () => string[]): ApiRoute[] {
  const { roles } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/roles',
      permission: 'roles:list',
      summary:
        'List roles with their permissions, system roles first; `q` keeps the roles whose name contains it (the exact name first, then names starting with it); `limit` gives one page of that many, and `cursor` (the nextCursor of the page before) the next: for pickers and lists on tenants with many roles',
      tag: 'roles',
      query: z
        .object({
          q: z.string().trim().min(1).max(200).optional().describe('part of the role name, case-insensitive'),
          limit: z.coerce.number().int().min(1).max(500).optional().describe('at most this many roles (all when omitted)'),
          cursor: z.string().max(200).optional().describe('the nextCursor of the page before (with limit)'),
        })
        .strict()
        .refine((query) => query.cursor === undefined || query.limit !== undefined, { message: 'cursor goes with limit', path: ['cursor'] }),
      response: z.object({ roles: z.array(roleView), nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page or without limit') }),
      async handler({ query, caller }) {
        const { q, limit, cursor } = query;
        const found = limit ? await roles.page(caller.tenantId, { q, limit, cursor }) : { roles: await roles.list(caller.tenantId, { q }), nextCursor: null };
        return { roles: found.roles.map(presentRole), nextCursor: found.nextCursor };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/roles/:id',
      permission: 'roles:read',
      summary: 'Read one role with its permissions',
      tag: 'roles',
      params: idParams,
      response: roleView,
      async handler({ params, caller }) {
        return presentRole(await roles.get(caller.tenantId, params.id));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/roles',
      permission: 'roles:create',
      summary: 'Create a custom role. Each permission must be in its resource\'s catalog ("gatehouse" or an API resource identifier) and held by the caller',
      tag: 'roles',
      body: newRoleSchema,
      response: roleView,
      status: 201,
      async handler({ body, caller, ctx }) {
        return presentRole(await roles.create(body, changeRequestOf(caller, ctx), adminCatalog()));
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/roles/:id',
      permission: 'roles:update',
      summary: 'Rename a role or change its description (system roles: description only)',
      tag: 'roles',
      params: idParams,
      body: rolePatchSchema,
      response: roleView,
      async handler({ params, body, caller, ctx }) {
        return presentRole(await roles.update(params.id, body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/roles/:id/permissions',
      permission: 'roles:set-permissions',
      summary: "Replace a custom role's permissions; the caller must hold every permission added. Refused for system roles",
      tag: 'roles',
      params: idParams,
      body: z.object({ permissions: rolePermissionsSchema }).strict(),
      response: roleView,
      async handler({ params, body, caller, ctx }) {
        return presentRole(await roles.setPermissions(params.id, body.permissions, changeRequestOf(caller, ctx), adminCatalog()));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/roles/:id/assignable-roles',
      permission: 'roles:read-assignable-roles',
      summary: "The roles this role's holders may assign to others without holding their permissions (delegated administration)",
      tag: 'roles',
      params: idParams,
      response: z.object({ roles: z.array(roleRefView) }),
      async handler({ params, caller }) {
        return { roles: (await roles.assignableRoles(caller.tenantId, params.id)).map(presentRoleRef) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/roles/:id/assignable-roles',
      permission: 'roles:set-assignable-roles',
      summary:
        "Replace the roles this custom role's holders may assign to others without holding their permissions (e.g. a partner administrator hands out User and Client). The caller must be able to grant every role listed; Admin is never assignable. Audited",
      tag: 'roles',
      params: idParams,
      body: z.object({ roleIds: z.array(z.guid()).max(100) }).strict(),
      response: z.object({ roles: z.array(roleRefView) }),
      async handler({ params, body, caller, ctx }) {
        return { roles: (await roles.setAssignableRoles(params.id, body.roleIds, changeRequestOf(caller, ctx))).map(presentRoleRef) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/roles/:id',
      permission: 'roles:delete',
      summary: 'Delete a custom role, with its assignments (system roles: 409 role.system)',
      tag: 'roles',
      params: idParams,
      async handler({ params, caller, ctx }) {
        await roles.remove(params.id, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/identities/:id/roles',
      permission: 'identity-roles:list',
      summary: "An identity's direct roles, and its effective roles with where each comes from (direct, a group, the default account policy)",
      tag: 'identity-roles',
      params: idParams,
      response: identityRolesView,
      async handler({ params, caller }) {
        return presentIdentityRoles(await roles.identityRoles(caller.tenantId, params.id));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/identities/:id/effective-access',
      permission: 'identity-roles:effective-access',
      summary: 'Every permission an identity holds, per resource, with each role that gives it and where the identity has that role from (direct, a group, the default account policy)',
      tag: 'identity-roles',
      params: idParams,
      response: z.object({
        identity: z.object({ id: z.string(), kind: z.string(), alias: z.string() }),
        permissions: z.array(
          z.object({
            resource: z.string().describe(`"gatehouse" for Gatehouse's own admin API, else an API resource identifier`),
            permission: z.string(),
            via: z.array(z.object({ roleId: z.string(), roleName: z.string(), sources: z.array(roleSource) })),
          }),
        ),
      }),
      async handler({ params, caller }) {
        const access = await roles.effectiveAccess(caller.tenantId, params.id);
        return {
          identity: { id: access.identity.id, kind: access.identity.kind, alias: access.identity.alias },
          permissions: access.permissions.map((p) => ({ ...p, resource: publicResourceName(p.resource) })),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/identities/:id/roles',
      permission: 'identity-roles:assign',
      summary: "Assign roles to an identity (idempotent); the caller must be able to manage the identity's owner and grant each role (hold its permissions, or have a role that may assign it; Admin only by an Admin)",
      tag: 'identity-roles',
      params: idParams,
      body: z.object({ roleIds: z.array(z.guid()).min(1).max(100) }).strict(),
      response: identityRolesView,
      async handler({ params, body, caller, ctx }) {
        return presentIdentityRoles(await roles.assignToIdentity(params.id, body.roleIds, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/identities/:id/roles/:roleId',
      permission: 'identity-roles:unassign',
      summary: 'Remove a role assigned directly to an identity',
      tag: 'identity-roles',
      params: z.object({ id: z.guid(), roleId: z.guid() }),
      async handler({ params, caller, ctx }) {
        await roles.unassignFromIdentity(params.id, params.roleId, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
  ];
}
