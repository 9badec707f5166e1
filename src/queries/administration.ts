// SQL the administration guard reads inside a write's transaction: roles with their
// permissions, the identities of a user or service account, the owner of an identity, and the
// active holders of the Admin role. No business rules here.
import type { Knex } from 'knex';

export function createAdministrationQueries(knex: Knex) {
  return {
    /** Roles with their permissions, by id, ordered by name (any tenant: the ids come from the caller). */
    async rolesWithPermissions(roleIds: string[], db: Knex = knex): Promise<{ id: string; name: string; permissions: { resource: string; permission: string }[] }[]> {
      if (!roleIds.length) return [];
      const rows: { id: string; name: string }[] = await db('roles').whereIn('id', roleIds).select('id', 'name').orderBy('name');
      const permissions: { role_id: string; resource: string; permission: string }[] = await db('role_permissions').whereIn('role_id', roleIds).select('role_id', 'resource', 'permission');
      return rows.map((r) => ({ id: r.id, name: r.name, permissions: permissions.filter((p) => p.role_id === r.id).map((p) => ({ resource: p.resource, permission: p.permission })) }));
    },

    /** The user's username and the ids of its identities; undefined when the user is not in the tenant. */
    async userWithIdentities(tenantId: string, userId: string, db: Knex = knex): Promise<{ username: string; identityIds: string[] } | undefined> {
      const user: { username: string } | undefined = await db('users').where({ tenant_id: tenantId, id: userId }).first('username');
      if (!user) return undefined;
      const ids: { id: string }[] = await db('identities').where({ tenant_id: tenantId, user_id: userId }).select('id');
      return { username: user.username, identityIds: ids.map((i) => i.id) };
    },

    /** The service account's name and the ids of its identities; undefined when it is not in the tenant. */
    async serviceAccountWithIdentities(tenantId: string, serviceAccountId: string, db: Knex = knex): Promise<{ name: string; identityIds: string[] } | undefined> {
      const account: { name: string } | undefined = await db('service_accounts').where({ tenant_id: tenantId, id: serviceAccountId }).first('name');
      if (!account) return undefined;
      const ids: { id: string }[] = await db('identities').where({ tenant_id: tenantId, service_account_id: serviceAccountId }).select('id');
      return { name: account.name, identityIds: ids.map((i) => i.id) };
    },

    /** The user or service account that owns the identity; undefined when the identity is not in the tenant. */
    async identityOwner(tenantId: string, identityId: string, db: Knex = knex): Promise<{ userId: string | null; serviceAccountId: string | null } | undefined> {
      const identity: { user_id: string | null; service_account_id: string | null } | undefined = await db('identities').where({ tenant_id: tenantId, id: identityId }).first('user_id', 'service_account_id');
      return identity ? { userId: identity.user_id, serviceAccountId: identity.service_account_id } : undefined;
    },

    /**
     * Active users and service accounts holding the tenant's system role named `roleName`
     * (compared in lower case) by any path: directly, through a group, or through the default
     * policy for every kind or their identity's kind.
     */
    async activeHolderCount(tenantId: string, roleName: string, db: Knex = knex): Promise<number> {
      const admin: { id: string } | undefined = await db('roles').where({ tenant_id: tenantId, system: true }).whereRaw('lower(name) = ?', [roleName.toLowerCase()]).first('id');
      if (!admin) return 0;
      const row = await db('identities as i')
        .leftJoin('users as u', 'u.id', 'i.user_id')
        .leftJoin('service_accounts as s', 's.id', 'i.service_account_id')
        .where('i.tenant_id', tenantId)
        .andWhere((q) => q.where('u.status', 'active').orWhere('s.status', 'active'))
        .andWhere((q) =>
          q
            .whereExists(function direct() {
              this.select(db.raw('1')).from('identity_roles as ir').whereRaw('ir.identity_id = i.id').andWhere('ir.role_id', admin.id);
            })
            .orWhereExists(function viaGroup() {
              this.select(db.raw('1')).from('group_members as gm').join('group_roles as gr', 'gr.group_id', 'gm.group_id').whereRaw('gm.identity_id = i.id').andWhere('gr.role_id', admin.id);
            })
            .orWhereExists(function viaPolicy() {
              this.select(db.raw('1'))
                .from('default_policy_roles as dp')
                .where('dp.tenant_id', tenantId)
                .andWhere('dp.role_id', admin.id)
                .andWhere((k) => k.whereNull('dp.identity_kind').orWhereRaw('dp.identity_kind = i.kind'));
            }),
        )
        .countDistinct({ n: db.raw('coalesce(i.user_id, i.service_account_id)') })
        .first();
      return Number((row as { n?: number | string } | undefined)?.n ?? 0);
    },

    /** Takes a transaction-scoped advisory lock in `db` (released at commit or rollback). */
    async advisoryLock(key: number, db: Knex = knex): Promise<void> {
      await db.raw('select pg_advisory_xact_lock(?)', [key]);
    },
  };
}

export type AdministrationQueries = ReturnType<typeof createAdministrationQueries>;
