// Admin API: the tenant's default account policy (roles every identity holds, optionally only
// identities of one kind). Replacing it is escalation-checked in services/default-policy.ts.
import { z } from 'zod';
import { defaultPolicySchema, type DefaultPolicyEntry } from '../../services/default-policy.ts';
import { defineRoute, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { changeRequestOf } from './roles.ts';

const policyView = z.object({
  roles: z.array(
    z.object({
      roleId: z.string(),
      roleName: z.string(),
      identityKind: z.string().nullable().describe('null: every identity of the tenant'),
    }),
  ),
});

function presentPolicy(entries: DefaultPolicyEntry[]): z.infer<typeof policyView> {
  return { roles: entries.map((e) => ({ roleId: e.roleId, roleName: e.roleName, identityKind: e.identityKind })) };
}

export function defaultPolicyRoutes(services: Pick<ApiServices, 'defaultPolicy'>): ApiRoute[] {
  const { defaultPolicy } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/default-policy',
      permission: 'default-policy:read',
      summary: 'Read the default account policy: roles given to every identity, or to every identity of one kind',
      tag: 'default-policy',
      response: policyView,
      async handler({ caller }) {
        return presentPolicy(await defaultPolicy.get(caller.tenantId));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/default-policy',
      permission: 'default-policy:replace',
      summary: 'Replace the default account policy; the caller must hold every permission of each role it extends to more identities',
      tag: 'default-policy',
      body: defaultPolicySchema,
      response: policyView,
      async handler({ body, caller, ctx }) {
        return presentPolicy(await defaultPolicy.replace(body, changeRequestOf(caller, ctx)));
      },
    }),
  ];
}
