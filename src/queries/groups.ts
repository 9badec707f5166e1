// SQL for groups (departments and teams), their member identities and their roles, with
// row <-> object mapping. No business rules here. Every function takes the tenant and an
// optional transaction (PGlite has one connection: inside a transaction, use only it).
import type { Knex } from 'knex';

// Deletes that report whether a row went use `.returning(...)`: under knex-pglite a bare
// `.delete()` resolves to the driver's result object instead of the row count.
import type { RoleRef } from './roles.ts';
import { addLinks, GROUP_MEMBERS, GROUP_ROLES, removeLink } from './links.ts';
import { runAll } from './run-all.ts';
import type { TenantOwned } from './rows.ts';

export type GroupType = 'department' | 'team';

export interface Group extends TenantOwned {
  name: string;
  type: GroupType;
  description: string | null;
  roles: RoleRef[];
  memberCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface GroupMember {
  identityId: string;
  kind: string;
  alias: string;
  userId: string | null;
  username: string | null;
  serviceAccountId: string | null;
  serviceAccountName: string | null;
}

interface GroupRow {
  id: string;
  tenant_id: string;
  name: string;
  type: GroupType;
  description: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export function createGroupQueries(knex: Knex) {
  async function decorate(rows: GroupRow[], db: Knex): Promise<Group[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const [roleRows, countRows] = await runAll(db, [
      db('group_roles as gr').join('roles', 'roles.id', 'gr.role_id').whereIn('gr.group_id', ids).select('gr.group_id', 'roles.id', 'roles.name', 'roles.system').orderByRaw('lower(roles.name)') as Promise<(RoleRef & { group_id: string })[]>,
      db('group_members').whereIn('group_id', ids).groupBy('group_id').select('group_id').count({ n: '*' }) as Promise<{ group_id: string; n: string | number }[]>,
    ]);
    const counts = new Map(countRows.map((r) => [r.group_id, Number(r.n)]));
    return rows.map((row) => ({
      id: row.id,
      tenantId: row.tenant_id,
      name: row.name,
      type: row.type,
      description: row.description,
      roles: roleRows.filter((r) => r.group_id === row.id).map((r) => ({ id: r.id, name: r.name, system: r.system })),
      memberCount: counts.get(row.id) ?? 0,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    }));
  }

  return {
    async list(tenantId: string, filter: { type?: GroupType } = {}, db: Knex = knex): Promise<Group[]> {
      const query = db('groups').where({ tenant_id: tenantId }).orderByRaw('lower(name)');
      if (filter.type) query.andWhere({ type: filter.type });
      return decorate((await query) as GroupRow[], db);
    },
    async findById(tenantId: string, id: string, db: Knex = knex): Promise<Group | undefined> {
      const row: GroupRow | undefined = await db('groups').where({ tenant_id: tenantId, id }).first();
      return row ? (await decorate([row], db))[0] : undefined;
    },
    async findIdByName(tenantId: string, name: string, db: Knex = knex): Promise<string | undefined> {
      const row: { id: string } | undefined = await db('groups').where({ tenant_id: tenantId }).whereRaw('lower(name) = ?', [name.toLowerCase()]).first('id');
      return row?.id;
    },
    async insert(group: { id: string; tenantId: string; name: string; type: GroupType; description: string | null }, db: Knex = knex): Promise<void> {
      await db('groups').insert({ id: group.id, tenant_id: group.tenantId, name: group.name, type: group.type, description: group.description });
    },
    async update(tenantId: string, id: string, patch: { name?: string; type?: GroupType; description?: string | null }, db: Knex = knex): Promise<void> {
      const changes = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
      await db('groups')
        .where({ tenant_id: tenantId, id })
        .update({ ...changes, updated_at: db.fn.now() });
    },
    /** Memberships and group roles go with it (ON DELETE CASCADE). */
    async deleteById(tenantId: string, id: string, db: Knex = knex): Promise<boolean> {
      return (await db('groups').where({ tenant_id: tenantId, id }).delete().returning('tenant_id')).length > 0;
    },

    async members(tenantId: string, groupId: string, page: { limit: number; offset: number }, db: Knex = knex): Promise<GroupMember[]> {
      const rows: { identity_id: string; kind: string; alias: string; user_id: string | null; username: string | null; service_account_id: string | null; service_account_name: string | null }[] = await db('group_members as gm')
        .join('identities as i', 'i.id', 'gm.identity_id')
        .leftJoin('users as u', 'u.id', 'i.user_id')
        .leftJoin('service_accounts as sa', 'sa.id', 'i.service_account_id')
        .where({ 'gm.tenant_id': tenantId, 'gm.group_id': groupId })
        .select('gm.identity_id', 'i.kind', 'i.alias', 'i.user_id', 'u.username', 'i.service_account_id', 'sa.name as service_account_name')
        .orderByRaw('lower(coalesce(u.username, sa.name)), lower(i.alias), gm.identity_id')
        .limit(page.limit)
        .offset(page.offset);
      return rows.map((r) => ({
        identityId: r.identity_id,
        kind: r.kind,
        alias: r.alias,
        userId: r.user_id,
        username: r.username,
        serviceAccountId: r.service_account_id,
        serviceAccountName: r.service_account_name,
      }));
    },
    /** The ids among `identityIds` that are already members. */
    async memberIdsAmong(groupId: string, identityIds: string[], db: Knex = knex): Promise<string[]> {
      if (!identityIds.length) return [];
      const rows: { identity_id: string }[] = await db('group_members').where({ group_id: groupId }).whereIn('identity_id', identityIds).select('identity_id');
      return rows.map((r) => r.identity_id);
    },
    /** Adds the memberships that are missing; returns the identity ids actually added. */
    async addMembers(tenantId: string, groupId: string, identityIds: string[], db: Knex = knex): Promise<string[]> {
      return addLinks(db, GROUP_MEMBERS, tenantId, groupId, identityIds);
    },
    async removeMember(tenantId: string, groupId: string, identityId: string, db: Knex = knex): Promise<boolean> {
      return removeLink(db, GROUP_MEMBERS, tenantId, groupId, identityId);
    },

    async roleIds(groupId: string, db: Knex = knex): Promise<string[]> {
      const rows: { role_id: string }[] = await db('group_roles').where({ group_id: groupId }).select('role_id');
      return rows.map((r) => r.role_id);
    },
    /** Adds the group roles that are missing; returns the role ids actually added. */
    async assignRoles(tenantId: string, groupId: string, roleIds: string[], db: Knex = knex): Promise<string[]> {
      return addLinks(db, GROUP_ROLES, tenantId, groupId, roleIds);
    },
    async unassignRole(tenantId: string, groupId: string, roleId: string, db: Knex = knex): Promise<boolean> {
      return removeLink(db, GROUP_ROLES, tenantId, groupId, roleId);
    },
  };
}

export type GroupQueries = ReturnType<typeof createGroupQueries>;
