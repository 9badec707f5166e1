// Effective authorization of an identity (DESIGN.md "Domain model"):
//   roles       = direct roles ∪ roles of its groups ∪ the tenant's default-policy roles
//   permissions = the union of those roles' permissions, per API resource
// Computed through a per-node cache that every node drops at once when the directory changes,
// so issuing a token does not query five tables each time.
import type { Knex } from 'knex';
import type { KeyValueStore } from '../store/types.ts';
import { createInvalidatingCache } from './cache.ts';

/** Resource under which Gatehouse's own admin-API permissions are stored. */
export const ADMIN_API_RESOURCE = 'urn:gatehouse:api';

export interface IdentityRef {
  id: string;
  kind: string;
  alias: string;
}

export interface EffectiveAuthorization {
  tenantId: string;
  identity: IdentityRef;
  ownerType: 'user' | 'service';
  /** User id or service account id. */
  ownerId: string;
  roles: string[];
  roleIds: string[];
  /** Roles the identity's roles may assign to others without holding their permissions. */
  assignableRoleIds: string[];
  groups: string[];
  /** Ids of the groups the identity is a member of (what application access rules name). */
  groupIds: string[];
  permissionsByResource: Record<string, string[]>;
  dataScope: Record<string, string[]>;
}

interface IdentityRow {
  id: string;
  tenant_id: string;
  kind: string;
  alias: string;
  user_id: string | null;
  service_account_id: string | null;
}

export async function loadEffectiveAuthorization(knex: Knex, identityId: string): Promise<EffectiveAuthorization | undefined> {
  const identity: IdentityRow | undefined = await knex('identities').where({ id: identityId }).first('id', 'tenant_id', 'kind', 'alias', 'user_id', 'service_account_id');
  if (!identity) return undefined;
  const roleRows: { id: string; name: string }[] = await knex('roles')
    .whereIn('id', function direct() {
      this.select('role_id').from('identity_roles').where({ identity_id: identityId });
    })
    .orWhereIn('id', function viaGroups() {
      this.select('gr.role_id').from('group_roles as gr').join('group_members as gm', 'gm.group_id', 'gr.group_id').where('gm.identity_id', identityId);
    })
    .orWhereIn('id', function viaDefaultPolicy() {
      this.select('role_id')
        .from('default_policy_roles')
        .where({ tenant_id: identity.tenant_id })
        .andWhere((q) => q.whereNull('identity_kind').orWhere({ identity_kind: identity.kind }));
    })
    .select('id', 'name')
    .orderBy('name');
  const roleIds = roleRows.map((r) => r.id);
  const [permissionRows, groupRows, scopeRows, assignableRows] = await Promise.all([
    roleIds.length ? (knex('role_permissions').whereIn('role_id', roleIds).distinct('resource', 'permission').orderBy(['resource', 'permission']) as Promise<{ resource: string; permission: string }[]>) : Promise.resolve([]),
    knex('groups').join('group_members as gm', 'gm.group_id', 'groups.id').where('gm.identity_id', identityId).select('groups.id', 'groups.name').orderBy('groups.name') as Promise<{ id: string; name: string }[]>,
    knex('identity_data_scopes').where({ identity_id: identityId }).select('key', 'values').orderBy('key') as Promise<{ key: string; values: string[] | string }[]>,
    roleIds.length ? (knex('role_assignable_roles').whereIn('role_id', roleIds).distinct('assignable_role_id') as Promise<{ assignable_role_id: string }[]>) : Promise.resolve([]),
  ]);
  const permissionsByResource: Record<string, string[]> = {};
  for (const row of permissionRows) (permissionsByResource[row.resource] ??= []).push(row.permission);
  return {
    tenantId: identity.tenant_id,
    identity: { id: identity.id, kind: identity.kind, alias: identity.alias },
    ownerType: identity.user_id ? 'user' : 'service',
    ownerId: (identity.user_id ?? identity.service_account_id) as string,
    roles: roleRows.map((r) => r.name),
    roleIds,
    assignableRoleIds: assignableRows.map((r) => r.assignable_role_id),
    groups: groupRows.map((g) => g.name),
    groupIds: groupRows.map((g) => g.id),
    permissionsByResource,
    dataScope: Object.fromEntries(scopeRows.map((row) => [row.key, typeof row.values === 'string' ? (JSON.parse(row.values) as string[]) : row.values])),
  };
}

export async function createAuthorizationService(deps: { knex: Knex; store: KeyValueStore }) {
  const cache = await createInvalidatingCache<EffectiveAuthorization>({ store: deps.store, name: 'authz', load: (id) => loadEffectiveAuthorization(deps.knex, id), ttlMs: 5 * 60_000 });
  return {
    cache,
    forIdentity: (identityId: string) => cache.get(identityId),
    /**
     * Any change to roles, groups, memberships, scopes or the default policy calls this: a
     * change can touch many identities, and dropping everything is cheap and always correct.
     */
    invalidateAll: () => cache.invalidate('*'),
    /** Permissions for one token audience (the admin API's resource maps to ADMIN_API_RESOURCE). */
    permissionsFor(authz: EffectiveAuthorization, resource: string | undefined): string[] {
      return resource ? (authz.permissionsByResource[resource] ?? []) : [];
    },
  };
}

export type AuthorizationService = Awaited<ReturnType<typeof createAuthorizationService>>;
