// SQL for an identity's effective authorization: its direct roles, the roles of its groups and
// of the tenant's default policy for its kind, their permissions, its groups and data scope.
// Read on every token issued (through the authorization cache) and by the administration guard
// inside a write's transaction. No business rules here.
import type { Knex } from 'knex';
import { json } from './rows.ts';
import type { IdentityRow as FullIdentityRow } from './identities.ts';
import { runAll } from './run-all.ts';

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

type IdentityRow = Omit<FullIdentityRow, 'created_at' | 'updated_at'>;

/**
 * roles = direct ∪ via groups ∪ via the default policy (for every kind or the identity's own),
 * permissions = the union over those roles, per resource. `db` may be a transaction.
 */
export async function loadEffectiveAuthorization(db: Knex, identityId: string): Promise<EffectiveAuthorization | undefined> {
  const identity: IdentityRow | undefined = await db('identities').where({ id: identityId }).first('id', 'tenant_id', 'kind', 'alias', 'user_id', 'service_account_id');
  if (!identity) return undefined;
  const roleRows: { id: string; name: string }[] = await db('roles')
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
  const [permissionRows, groupRows, scopeRows, assignableRows] = await runAll(db, [
    roleIds.length ? (db('role_permissions').whereIn('role_id', roleIds).distinct('resource', 'permission').orderBy(['resource', 'permission']) as Promise<{ resource: string; permission: string }[]>) : Promise.resolve([]),
    db('groups').join('group_members as gm', 'gm.group_id', 'groups.id').where('gm.identity_id', identityId).select('groups.id', 'groups.name').orderBy('groups.name') as Promise<{ id: string; name: string }[]>,
    db('identity_data_scopes').where({ identity_id: identityId }).select('key', 'values').orderBy('key') as Promise<{ key: string; values: string[] | string }[]>,
    roleIds.length ? (db('role_assignable_roles').whereIn('role_id', roleIds).distinct('assignable_role_id') as Promise<{ assignable_role_id: string }[]>) : Promise.resolve([]),
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
    dataScope: Object.fromEntries(scopeRows.map((row) => [row.key, json<string[]>(row.values)])),
  };
}

export function createAuthorizationQueries(knex: Knex) {
  return {
    /** The identity's effective authorization, or undefined when there is no such identity. */
    effective: (identityId: string, db: Knex = knex) => loadEffectiveAuthorization(db, identityId),
  };
}

export type AuthorizationQueries = ReturnType<typeof createAuthorizationQueries>;
