// Admin API: groups (departments and teams), their member identities and their roles. Thin
// handlers over services/groups.ts, which holds the escalation checks.
import { z } from 'zod';
import { GROUP_TYPES, groupPatchSchema, newGroupSchema, type Group } from '../../services/groups.ts';
import { defineRoute, presenter, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { changeRequestOf, idParams, presentRoleRef } from './roles.ts';

const groupView = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(GROUP_TYPES),
  description: z.string().nullable(),
  roles: z.array(z.object({ id: z.string(), name: z.string(), system: z.boolean() })),
  memberCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const memberView = z.object({
  identityId: z.string(),
  kind: z.string(),
  alias: z.string(),
  userId: z.string().nullable(),
  username: z.string().nullable(),
  serviceAccountId: z.string().nullable(),
  serviceAccountName: z.string().nullable(),
});

const presentGroupFields = presenter(groupView);

function presentGroup(group: Group): z.infer<typeof groupView> {
  return { ...presentGroupFields(group), roles: group.roles.map(presentRoleRef) };
}

export function groupRoutes(services: Pick<ApiServices, 'groups'>): ApiRoute[] {
  const { groups } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/groups',
      permission: 'groups:list',
      summary: 'List groups with their roles and member counts',
      tag: 'groups',
      query: z.object({ type: z.enum(GROUP_TYPES).optional() }),
      response: z.object({ groups: z.array(groupView) }),
      async handler({ query, caller }) {
        return { groups: (await groups.list(caller.tenantId, query)).map(presentGroup) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/groups/:id',
      permission: 'groups:read',
      summary: 'Read one group with its roles and member count',
      tag: 'groups',
      params: idParams,
      response: groupView,
      async handler({ params, caller }) {
        return presentGroup(await groups.get(caller.tenantId, params.id));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/groups',
      permission: 'groups:create',
      summary: 'Create a department or team',
      tag: 'groups',
      body: newGroupSchema,
      response: groupView,
      status: 201,
      async handler({ body, caller, ctx }) {
        return presentGroup(await groups.create(body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/groups/:id',
      permission: 'groups:update',
      summary: "Change a group's name, type or description",
      tag: 'groups',
      params: idParams,
      body: groupPatchSchema,
      response: groupView,
      async handler({ params, body, caller, ctx }) {
        return presentGroup(await groups.update(params.id, body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/groups/:id',
      permission: 'groups:delete',
      summary: 'Delete a group: its members lose the roles it gave them',
      tag: 'groups',
      params: idParams,
      async handler({ params, caller, ctx }) {
        await groups.remove(params.id, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/groups/:id/members',
      permission: 'group-members:list',
      summary: "List a group's member identities (paged: limit ≤ 500, offset)",
      tag: 'group-members',
      params: idParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), offset: z.coerce.number().int().min(0).default(0) }),
      response: z.object({ members: z.array(memberView) }),
      async handler({ params, query, caller }) {
        return { members: await groups.members(caller.tenantId, params.id, query) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/groups/:id/members',
      permission: 'group-members:add',
      summary: "Add identities to a group (idempotent); they gain its roles, so the caller must hold every permission of the group's roles",
      tag: 'group-members',
      params: idParams,
      body: z.object({ identityIds: z.array(z.guid()).min(1).max(500) }).strict(),
      response: z.object({ added: z.array(z.string()) }),
      async handler({ params, body, caller, ctx }) {
        return { added: await groups.addMembers(params.id, body.identityIds, changeRequestOf(caller, ctx)) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/groups/:id/members/:identityId',
      permission: 'group-members:remove',
      summary: 'Remove an identity from a group',
      tag: 'group-members',
      params: z.object({ id: z.guid(), identityId: z.guid() }),
      async handler({ params, caller, ctx }) {
        await groups.removeMember(params.id, params.identityId, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/groups/:id/roles',
      permission: 'group-roles:assign',
      summary: 'Give roles to a group and so to every member (idempotent); the caller must hold every permission of each role',
      tag: 'group-roles',
      params: idParams,
      body: z.object({ roleIds: z.array(z.guid()).min(1).max(100) }).strict(),
      response: groupView,
      async handler({ params, body, caller, ctx }) {
        return presentGroup(await groups.assignRoles(params.id, body.roleIds, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/groups/:id/roles/:roleId',
      permission: 'group-roles:unassign',
      summary: 'Take a role away from a group',
      tag: 'group-roles',
      params: z.object({ id: z.guid(), roleId: z.guid() }),
      async handler({ params, caller, ctx }) {
        await groups.unassignRole(params.id, params.roleId, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
  ];
}
