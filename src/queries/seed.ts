// SQL for the declarative seed import (services/seed.ts): lookups by name and inserts that leave
// an existing row as it is, so applying the same file twice writes nothing the second time.
import type { Knex } from 'knex';
import { addLinkPairs, IDENTITY_ROLES } from './links.ts';

export function createSeedQueries(knex: Knex) {
  return {
    /** Names (as stored) of the roles among `lowered` (lower-cased names) that exist in the tenant. */
    async existingRoleNames(tenantId: string, lowered: string[]): Promise<string[]> {
      const rows: { name: string }[] = await knex('roles').where({ tenant_id: tenantId }).whereRaw('lower(name) = any(?)', [lowered]).select('name');
      return rows.map((r) => r.name);
    },
    /** The id of the tenant's role with this name (compared case-insensitively). */
    async roleId(tenantId: string, name: string): Promise<string | undefined> {
      const row: { id: string } | undefined = await knex('roles').where({ tenant_id: tenantId }).whereRaw('lower(name) = ?', [name.toLowerCase()]).first('id');
      return row?.id;
    },
    async insertRole(role: { id: string; tenantId: string; name: string; description: string | null }): Promise<void> {
      await knex('roles').insert({ id: role.id, tenant_id: role.tenantId, name: role.name, description: role.description });
    },
    async addRolePermissions(tenantId: string, roleId: string, permissions: { resource: string; permission: string }[]): Promise<void> {
      await knex('role_permissions')
        .insert(permissions.map((p) => ({ tenant_id: tenantId, role_id: roleId, resource: p.resource, permission: p.permission })))
        .onConflict(['role_id', 'resource', 'permission'])
        .ignore();
    },
    async addAssignableRole(tenantId: string, roleId: string, assignableRoleId: string): Promise<void> {
      await knex('role_assignable_roles').insert({ tenant_id: tenantId, role_id: roleId, assignable_role_id: assignableRoleId }).onConflict(['role_id', 'assignable_role_id']).ignore();
    },
    async addDataScopeKey(tenantId: string, key: string): Promise<void> {
      await knex('data_scope_keys').insert({ tenant_id: tenantId, key }).onConflict(['tenant_id', 'key']).ignore();
    },
    async addIdentityKind(tenantId: string, kind: { kind: string; label: string }): Promise<void> {
      await knex('identity_kinds').insert({ tenant_id: tenantId, kind: kind.kind, label: kind.label }).onConflict(['tenant_id', 'kind']).ignore();
    },
    /** The id of the user's identity of this kind and alias (compared case-insensitively). */
    async identityId(userId: string, kind: string, alias: string): Promise<string | undefined> {
      const row: { id: string } | undefined = await knex('identities').where({ user_id: userId, kind }).whereRaw('lower(alias) = ?', [alias.toLowerCase()]).first('id');
      return row?.id;
    },
    async insertIdentity(identity: { id: string; tenantId: string; userId: string; kind: string; alias: string }): Promise<void> {
      await knex('identities').insert({ id: identity.id, tenant_id: identity.tenantId, user_id: identity.userId, kind: identity.kind, alias: identity.alias });
    },
    async addIdentityRole(tenantId: string, identityId: string, roleId: string): Promise<void> {
      await addLinkPairs(knex, IDENTITY_ROLES, tenantId, [[identityId, roleId]]);
    },
    /** Sets the identity's values of one data-scope key, replacing those it had. */
    async setIdentityDataScope(tenantId: string, identityId: string, key: string, values: string[]): Promise<void> {
      await knex('identity_data_scopes')
        .insert({ tenant_id: tenantId, identity_id: identityId, key, values: JSON.stringify(values) })
        .onConflict(['identity_id', 'key'])
        .merge(['values']);
    },
    /** The identity kinds an application accepts; null: every kind. */
    async setAcceptedIdentityKinds(tenantId: string, applicationId: string, kinds: string[] | null): Promise<void> {
      await knex('applications')
        .where({ id: applicationId, tenant_id: tenantId })
        .update({ accepted_identity_kinds: kinds === null ? null : JSON.stringify(kinds) });
    },
  };
}

export type SeedQueries = ReturnType<typeof createSeedQueries>;
