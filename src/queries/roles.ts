// SQL for roles, their permissions, their assignment to identities and the default account
// policy, with row <-> object mapping. No business rules here. Every function takes the tenant
// (rows of other tenants are invisible) and an optional transaction: with PGlite there is one
// connection, so inside a transaction every statement must go through it.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { IdentityRow as FullIdentityRow } from './identities.ts';
import { addLinks, IDENTITY_ROLES, removeLink } from './links.ts';
import { runAll } from './run-all.ts';
import type { TenantOwned } from './rows.ts';

// Deletes that report whether a row went use `.returning(...)`: under knex-pglite a bare
// `.delete()` resolves to the driver's result object instead of the row count.

export interface RolePermission {
  /** API resource identifier (ADMIN_API_RESOURCE for Gatehouse's own admin API). */
  resource: string;
  permission: string;
}

export interface Role extends TenantOwned {
  name: string;
  description: string | null;
  system: boolean;
  permissions: RolePermission[];
  createdAt: Date;
  updatedAt: Date;
}

export interface RoleRef {
  id: string;
  name: string;
  system: boolean;
}

export interface IdentitySummary extends TenantOwned {
  kind: string;
  alias: string;
  userId: string | null;
  serviceAccountId: string | null;
}

/** Where an effective role comes from: effective roles = direct ∪ groups' ∪ default-policy roles. */
export type RoleSource = { type: 'direct' } | { type: 'group'; groupId: string; groupName: string } | { type: 'default_policy'; identityKind: string | null };

export interface DefaultPolicyEntry {
  roleId: string;
  roleName: string;
  /** null: every identity of the tenant, whatever its kind. */
  identityKind: string | null;
}

interface RoleRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  system: boolean;
  created_at: Date | string;
  updated_at: Date | string;
}

interface PermissionRow {
  role_id: string;
  resource: string;
  permission: string;
}

type IdentityRow = Omit<FullIdentityRow, 'created_at' | 'updated_at'>;

function toRole(row: RoleRow, permissions: RolePermission[]): Role {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    description: row.description,
    system: row.system,
    permissions,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toIdentity(row: IdentityRow): IdentitySummary {
  return { id: row.id, tenantId: row.tenant_id, kind: row.kind, alias: row.alias, userId: row.user_id, serviceAccountId: row.service_account_id };
}

export function createRoleQueries(knex: Knex) {
  async function withPermissions(rows: RoleRow[], db: Knex): Promise<Role[]> {
    if (!rows.length) return [];
    const permissionRows: PermissionRow[] = await db('role_permissions')
      .whereIn(
        'role_id',
        rows.map((r) => r.id),
      )
      .select('role_id', 'resource', 'permission')
      .orderBy(['resource', 'permission']);
    const byRole = new Map<string, RolePermission[]>();
    for (const p of permissionRows) {
      const list = byRole.get(p.role_id) ?? [];
      list.push({ resource: p.resource, permission: p.permission });
      byRole.set(p.role_id, list);
    }
    return rows.map((row) => toRole(row, byRole.get(row.id) ?? []));
  }

  return {
    /**
     * Every role, system roles first; with `q`, only names containing it (case-insensitive), the
     * exact name first, then those starting with it; with `limit`, at most that many, after the
     * first `offset`.
     */
    async list(tenantId: string, options: { q?: string; limit?: number; offset?: number } = {}, db: Knex = knex): Promise<Role[]> {
      const query = db('roles').where({ tenant_id: tenantId });
      if (options.q) {
        const q = options.q.toLowerCase();
        const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        query.whereRaw("lower(name) like ? escape '\\'", [pattern]).orderByRaw('(lower(name) = ?) desc, (lower(name) like ?) desc', [q, `${pattern.slice(1)}`]);
      }
      query.orderByRaw('system desc, lower(name)');
      // The id last, so that pages taken at successive offsets neither repeat nor skip a role.
      query.orderBy('id');
      if (options.limit) query.limit(options.limit);
      if (options.offset) query.offset(options.offset);
      const rows: RoleRow[] = await query;
      return withPermissions(rows, db);
    },
    async findById(tenantId: string, id: string, db: Knex = knex): Promise<Role | undefined> {
      const row: RoleRow | undefined = await db('roles').where({ tenant_id: tenantId, id }).first();
      return row ? (await withPermissions([row], db))[0] : undefined;
    },
    async findByIds(tenantId: string, ids: string[], db: Knex = knex): Promise<Role[]> {
      if (!ids.length) return [];
      const rows: RoleRow[] = await db('roles').where({ tenant_id: tenantId }).whereIn('id', ids).orderByRaw('lower(name)');
      return withPermissions(rows, db);
    },
    /** Ids and names of the tenant's roles among these names (case-insensitive). */
    async findByNames(tenantId: string, names: string[], db: Knex = knex): Promise<{ id: string; name: string }[]> {
      return db('roles')
        .where({ tenant_id: tenantId })
        .whereRaw('lower(name) = any(?)', [names.map((n) => n.toLowerCase())])
        .select('id', 'name');
    },
    /** The tenant's system role of this name. */
    async findSystemRoleId(tenantId: string, name: string, db: Knex = knex): Promise<string | undefined> {
      const row: { id: string } | undefined = await db('roles').where({ tenant_id: tenantId, name, system: true }).first('id');
      return row?.id;
    },
    async findIdByName(tenantId: string, name: string, db: Knex = knex): Promise<string | undefined> {
      const row: { id: string } | undefined = await db('roles').where({ tenant_id: tenantId }).whereRaw('lower(name) = ?', [name.toLowerCase()]).first('id');
      return row?.id;
    },
    /**
     * Makes the role of this name (case-insensitive) a system role, creating it when missing,
     * and sets its permissions on `resource` to exactly `permissions`. Returns its id.
     */
    async syncSystemRole(tenantId: string, name: string, resource: string, permissions: string[], db: Knex = knex): Promise<string> {
      let row: { id: string } | undefined = await db('roles').where({ tenant_id: tenantId }).whereRaw('lower(name) = ?', [name.toLowerCase()]).first('id');
      if (!row) {
        row = { id: randomUUID() };
        await db('roles').insert({ id: row.id, tenant_id: tenantId, name, system: true, description: `System role ${name}` });
      } else {
        await db('roles').where({ id: row.id }).update({ system: true });
      }
      const id = row.id;
      await db('role_permissions')
        .where({ role_id: id, resource })
        .whereNotIn('permission', permissions.length ? permissions : [''])
        .delete();
      if (permissions.length) {
        await db('role_permissions')
          .insert(permissions.map((permission) => ({ tenant_id: tenantId, role_id: id, resource, permission })))
          .onConflict(['role_id', 'resource', 'permission'])
          .ignore();
      }
      return id;
    },
    async insert(role: { id: string; tenantId: string; name: string; description: string | null }, db: Knex = knex): Promise<void> {
      await db('roles').insert({ id: role.id, tenant_id: role.tenantId, name: role.name, description: role.description, system: false });
    },
    async update(tenantId: string, id: string, patch: { name?: string; description?: string | null }, db: Knex = knex): Promise<void> {
      await db('roles')
        .where({ tenant_id: tenantId, id })
        .update({ ...patch, updated_at: db.fn.now() });
    },
    /** Assignments, group roles and default-policy entries go with it (ON DELETE CASCADE). */
    async deleteById(tenantId: string, id: string, db: Knex = knex): Promise<boolean> {
      return (await db('roles').where({ tenant_id: tenantId, id, system: false }).delete().returning('tenant_id')).length > 0;
    },
    async replacePermissions(tenantId: string, roleId: string, permissions: RolePermission[], db: Knex = knex): Promise<void> {
      await db('role_permissions').where({ tenant_id: tenantId, role_id: roleId }).delete();
      if (permissions.length) {
        await db('role_permissions').insert(permissions.map((p) => ({ tenant_id: tenantId, role_id: roleId, resource: p.resource, permission: p.permission })));
      }
      await db('roles').where({ tenant_id: tenantId, id: roleId }).update({ updated_at: db.fn.now() });
    },
    /** Ids of the roles this role's holders may assign (role_assignable_roles), unordered. */
    async assignableRoleIds(tenantId: string, roleId: string, db: Knex = knex): Promise<string[]> {
      const rows: { id: string }[] = await db('role_assignable_roles').where({ tenant_id: tenantId, role_id: roleId }).select({ id: 'assignable_role_id' });
      return rows.map((r) => r.id);
    },
    /** Replaces the roles this role's holders may assign; run it inside a transaction. */
    async replaceAssignableRoles(tenantId: string, roleId: string, assignableRoleIds: string[], db: Knex = knex): Promise<void> {
      await db('role_assignable_roles').where({ tenant_id: tenantId, role_id: roleId }).delete();
      if (assignableRoleIds.length) await db('role_assignable_roles').insert(assignableRoleIds.map((rid) => ({ tenant_id: tenantId, role_id: roleId, assignable_role_id: rid })));
    },
    /** The distinct permissions of these roles together. */
    async permissionsOf(tenantId: string, roleIds: string[], db: Knex = knex): Promise<RolePermission[]> {
      if (!roleIds.length) return [];
      return db('role_permissions').where({ tenant_id: tenantId }).whereIn('role_id', roleIds).distinct('resource', 'permission').orderBy(['resource', 'permission']);
    },
    /** How many identities, groups and default-policy entries use the role (for the audit trail of a deletion). */
    async usage(roleId: string, db: Knex = knex): Promise<{ identities: number; groups: number; defaultPolicy: number }> {
      const count = async (table: string): Promise<number> => {
        const row = (await db(table).where({ role_id: roleId }).count({ n: '*' }).first()) as { n: string | number } | undefined;
        return Number(row?.n ?? 0);
      };
      return { identities: await count('identity_roles'), groups: await count('group_roles'), defaultPolicy: await count('default_policy_roles') };
    },

    // Identities and their direct roles.
    async findIdentity(tenantId: string, id: string, db: Knex = knex): Promise<IdentitySummary | undefined> {
      const row: IdentityRow | undefined = await db('identities').where({ tenant_id: tenantId, id }).first('id', 'tenant_id', 'kind', 'alias', 'user_id', 'service_account_id');
      return row ? toIdentity(row) : undefined;
    },
    /** The ids among `ids` that are identities of the tenant. */
    async existingIdentityIds(tenantId: string, ids: string[], db: Knex = knex): Promise<string[]> {
      if (!ids.length) return [];
      const rows: { id: string }[] = await db('identities').where({ tenant_id: tenantId }).whereIn('id', ids).select('id');
      return rows.map((r) => r.id);
    },
    async directRoles(tenantId: string, identityId: string, db: Knex = knex): Promise<RoleRef[]> {
      return db('roles').join('identity_roles as ir', 'ir.role_id', 'roles.id').where({ 'ir.identity_id': identityId, 'ir.tenant_id': tenantId }).select('roles.id', 'roles.name', 'roles.system').orderByRaw('lower(roles.name)');
    },
    /** Adds the assignments that are missing; returns the role ids actually added. */
    async assignToIdentity(tenantId: string, identityId: string, roleIds: string[], db: Knex = knex): Promise<string[]> {
      return addLinks(db, IDENTITY_ROLES, tenantId, identityId, roleIds);
    },
    async unassignFromIdentity(tenantId: string, identityId: string, roleId: string, db: Knex = knex): Promise<boolean> {
      return removeLink(db, IDENTITY_ROLES, tenantId, identityId, roleId);
    },
    /**
     * Every role the identity holds and every path it holds it by, in the order of the same
     * union that authorization.ts computes: direct, through groups, through the default policy.
     */
    async effectiveRoleSources(identity: IdentitySummary, db: Knex = knex): Promise<{ role: RoleRef; source: RoleSource }[]> {
      const [direct, viaGroups, viaPolicy] = await runAll(db, [
        db('identity_roles as ir').join('roles', 'roles.id', 'ir.role_id').where({ 'ir.identity_id': identity.id }).select('roles.id', 'roles.name', 'roles.system') as Promise<RoleRef[]>,
        db('group_members as gm')
          .join('group_roles as gr', 'gr.group_id', 'gm.group_id')
          .join('groups as g', 'g.id', 'gm.group_id')
          .join('roles', 'roles.id', 'gr.role_id')
          .where({ 'gm.identity_id': identity.id })
          .select('roles.id', 'roles.name', 'roles.system', 'g.id as group_id', 'g.name as group_name')
          .orderByRaw('lower(g.name)') as Promise<(RoleRef & { group_id: string; group_name: string })[]>,
        db('default_policy_roles as dp')
          .join('roles', 'roles.id', 'dp.role_id')
          .where({ 'dp.tenant_id': identity.tenantId })
          .andWhere((q) => q.whereNull('dp.identity_kind').orWhere('dp.identity_kind', identity.kind))
          .select('roles.id', 'roles.name', 'roles.system', 'dp.identity_kind') as Promise<(RoleRef & { identity_kind: string | null })[]>,
      ]);
      const ref = (r: RoleRef): RoleRef => ({ id: r.id, name: r.name, system: r.system });
      return [
        ...direct.map((r) => ({ role: ref(r), source: { type: 'direct' } as const })),
        ...viaGroups.map((r) => ({ role: ref(r), source: { type: 'group', groupId: r.group_id, groupName: r.group_name } as const })),
        ...viaPolicy.map((r) => ({ role: ref(r), source: { type: 'default_policy', identityKind: r.identity_kind } as const })),
      ];
    },

    // The default account policy.
    async defaultPolicy(tenantId: string, db: Knex = knex): Promise<DefaultPolicyEntry[]> {
      const rows: { role_id: string; role_name: string; identity_kind: string | null }[] = await db('default_policy_roles as dp')
        .join('roles', 'roles.id', 'dp.role_id')
        .where({ 'dp.tenant_id': tenantId })
        .select('dp.role_id', 'roles.name as role_name', 'dp.identity_kind')
        .orderByRaw('lower(roles.name), dp.identity_kind nulls first');
      return rows.map((r) => ({ roleId: r.role_id, roleName: r.role_name, identityKind: r.identity_kind }));
    },
    async replaceDefaultPolicy(tenantId: string, entries: { roleId: string; identityKind: string | null }[], db: Knex = knex): Promise<void> {
      await db('default_policy_roles').where({ tenant_id: tenantId }).delete();
      if (entries.length) {
        await db('default_policy_roles').insert(entries.map((e) => ({ tenant_id: tenantId, role_id: e.roleId, identity_kind: e.identityKind })));
      }
    },
    /** The kinds among `kinds` that the tenant defines. */
    async existingIdentityKinds(tenantId: string, kinds: string[], db: Knex = knex): Promise<string[]> {
      if (!kinds.length) return [];
      const rows: { kind: string }[] = await db('identity_kinds').where({ tenant_id: tenantId }).whereIn('kind', kinds).select('kind');
      return rows.map((r) => r.kind);
    },
  };
}

export type RoleQueries = ReturnType<typeof createRoleQueries>;
