// SQL for the bulk user import: lookups of what a file refers to, and multi-row inserts of what
// it creates. Rows are written in chunks so no statement passes PostgreSQL's 65,535 parameters.
import type { Knex } from 'knex';
import type { User } from './users.ts';

// 5,000 users of 10 columns: 50,000 bind parameters, under PostgreSQL's 65,535 per statement.
const CHUNK = 5000;

export interface ImportedUserRow extends Pick<User, 'id' | 'tenantId' | 'username' | 'email' | 'name' | 'phone' | 'department' | 'passwordHash'> {
  identityId: string;
  identityKind: string;
  identityAlias: string;
  roleIds: string[];
  groupIds: string[];
  dataScope: Record<string, string[]>;
}

export interface RoleForImport {
  id: string;
  name: string;
  permissions: { resource: string; permission: string }[];
}

export interface GroupForImport {
  id: string;
  name: string;
  /** Permissions of the group's roles: joining the group grants them. */
  permissions: { resource: string; permission: string }[];
}

async function inChunks<T>(items: T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CHUNK) await write(items.slice(i, i + CHUNK));
}

/** The values of `lowered` that some user of the tenant has in `column`, compared lower-cased. */
async function existingLowered(db: Knex, tenantId: string, column: 'username' | 'email', lowered: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  await inChunks(lowered, async (chunk) => {
    const rows: { value: string }[] = await db('users')
      .where({ tenant_id: tenantId })
      .whereRaw('lower(??) = any(?)', [column, chunk])
      .select(db.raw('lower(??) as value', [column]));
    for (const row of rows) found.add(row.value);
  });
  return found;
}

/** One entry per id from rows of (id, name, a permission or nulls for none), with its permissions. */
function withPermissions(rows: { id: string; name: string; resource: string | null; permission: string | null }[]): RoleForImport[] {
  const byId = new Map<string, RoleForImport>();
  for (const row of rows) {
    const entry = byId.get(row.id) ?? { id: row.id, name: row.name, permissions: [] };
    if (row.resource && row.permission) entry.permissions.push({ resource: row.resource, permission: row.permission });
    byId.set(row.id, entry);
  }
  return [...byId.values()];
}

export function createUserImportQueries(knex: Knex) {
  return {
    async roles(tenantId: string): Promise<RoleForImport[]> {
      return withPermissions(await knex('roles as r').leftJoin('role_permissions as p', 'p.role_id', 'r.id').where('r.tenant_id', tenantId).select('r.id', 'r.name', 'p.resource', 'p.permission'));
    },

    async groups(tenantId: string): Promise<GroupForImport[]> {
      return withPermissions(
        await knex('groups as g').leftJoin('group_roles as gr', 'gr.group_id', 'g.id').leftJoin('role_permissions as p', 'p.role_id', 'gr.role_id').where('g.tenant_id', tenantId).select('g.id', 'g.name', 'p.resource', 'p.permission'),
      );
    },

    async identityKinds(tenantId: string): Promise<string[]> {
      return (await knex('identity_kinds').where({ tenant_id: tenantId }).select('kind')).map((r: { kind: string }) => r.kind);
    },

    async dataScopeKeys(tenantId: string): Promise<string[]> {
      return (await knex('data_scope_keys').where({ tenant_id: tenantId }).select('key')).map((r: { key: string }) => r.key);
    },

    /** The default account policy's roles, each for one identity kind or (null) every kind. */
    async defaultPolicyRoles(tenantId: string): Promise<{ roleId: string; identityKind: string | null }[]> {
      const rows: { role_id: string; identity_kind: string | null }[] = await knex('default_policy_roles').where({ tenant_id: tenantId }).select('role_id', 'identity_kind');
      return rows.map((r) => ({ roleId: r.role_id, identityKind: r.identity_kind }));
    },

    /** Groups that hold the system role named `roleName` (compared case-insensitively). */
    async groupsWithSystemRole(tenantId: string, roleName: string): Promise<string[]> {
      const rows: { group_id: string }[] = await knex('group_roles as gr')
        .join('roles as r', 'r.id', 'gr.role_id')
        .where('r.tenant_id', tenantId)
        .andWhere('r.system', true)
        .whereRaw('lower(r.name) = ?', [roleName.toLowerCase()])
        .select('gr.group_id');
      return rows.map((g) => g.group_id);
    },

    /** Lower-cased usernames of `lowered` that exist in the tenant. */
    async existingUsernames(tenantId: string, lowered: string[], db: Knex = knex): Promise<Set<string>> {
      return existingLowered(db, tenantId, 'username', lowered);
    },

    /** Lower-cased emails of `lowered` that some user of the tenant has. */
    async existingEmails(tenantId: string, lowered: string[], db: Knex = knex): Promise<Set<string>> {
      return existingLowered(db, tenantId, 'email', lowered);
    },

    /** Each user with its default identity, roles, groups and data scope, and its status history. */
    async insertUsers(trx: Knex, users: ImportedUserRow[], actorId: string | null, onChunk?: (written: number) => void): Promise<void> {
      let written = 0;
      await inChunks(users, async (chunk) => {
        await trx('users').insert(
          chunk.map((u) => ({
            id: u.id,
            tenant_id: u.tenantId,
            username: u.username,
            email: u.email,
            name: u.name,
            phone: u.phone,
            department: u.department,
            password_hash: u.passwordHash,
            // Account security: the imported password's expiry cycle starts at the import.
            password_changed_at: u.passwordHash ? trx.fn.now() : null,
            status: 'active',
            default_identity_id: u.identityId,
          })),
        );
        await trx('identities').insert(chunk.map((u) => ({ id: u.identityId, tenant_id: u.tenantId, user_id: u.id, kind: u.identityKind, alias: u.identityAlias })));
        await trx('user_status_history').insert(chunk.map((u) => ({ tenant_id: u.tenantId, user_id: u.id, from_status: null, to_status: 'active', reason: 'imported', actor_id: actorId })));
        const roles = chunk.flatMap((u) => u.roleIds.map((roleId) => ({ tenant_id: u.tenantId, identity_id: u.identityId, role_id: roleId })));
        if (roles.length) await trx('identity_roles').insert(roles);
        const members = chunk.flatMap((u) => u.groupIds.map((groupId) => ({ tenant_id: u.tenantId, group_id: groupId, identity_id: u.identityId })));
        if (members.length) await trx('group_members').insert(members);
        const scopes = chunk.flatMap((u) => Object.entries(u.dataScope).map(([key, values]) => ({ tenant_id: u.tenantId, identity_id: u.identityId, key, values: JSON.stringify(values) })));
        if (scopes.length) await trx('identity_data_scopes').insert(scopes);
        written += chunk.length;
        onChunk?.(written);
      });
    },
  };
}
