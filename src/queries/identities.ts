// SQL for identities (the personas of users and service accounts), the tenant's identity kinds,
// and the direct role assignments and group memberships a clone copies. No business rules here.
import type { Knex } from 'knex';
import { addLinkPairs, GROUP_MEMBERS, IDENTITY_ROLES } from './links.ts';
import { fieldsOf, type TenantOwned } from './rows.ts';

export interface Identity extends TenantOwned {
  userId: string | null;
  serviceAccountId: string | null;
  kind: string;
  alias: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A row of `identities`. */
export interface IdentityRow {
  id: string;
  tenant_id: string;
  user_id: string | null;
  service_account_id: string | null;
  kind: string;
  alias: string;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface IdentityKind {
  kind: string;
  label: string;
  builtin: boolean;
}

/** An identity as listed under its user, with the roles given to it directly. */
export interface UserIdentitySummary {
  id: string;
  userId: string;
  kind: string;
  alias: string;
  /** Roles given to the identity directly (not those from groups or the default policy). */
  roles: { id: string; name: string }[];
  /** Groups the identity is a member of. */
  groups: { id: string; name: string }[];
}

function toIdentity(row: IdentityRow): Identity {
  return {
    ...fieldsOf(row, ['id', 'tenantId', 'userId', 'serviceAccountId', 'kind', 'alias']),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

// Counts come from `returning`: with PGlite (knex-pglite) `.delete()` resolves to the driver's
// result object instead of the row count.
export function createIdentityQueries(knex: Knex) {
  return {
    /** The id of one identity of the user (the oldest). */
    async firstIdOfUser(userId: string, db: Knex = knex): Promise<string | undefined> {
      const row: { id: string } | undefined = await db('identities')
        .where({ user_id: userId })
        .orderBy([{ column: 'created_at' }, { column: 'id' }])
        .first('id');
      return row?.id;
    },
    async findById(tenantId: string, id: string, db: Knex = knex): Promise<Identity | undefined> {
      const row: IdentityRow | undefined = await db('identities').where({ tenant_id: tenantId, id }).first();
      return row ? toIdentity(row) : undefined;
    },
    /** The user's identity of this kind and alias (alias compared case-insensitively, as the unique index does). */
    async findByUserKindAlias(tenantId: string, userId: string, kind: string, alias: string, db: Knex = knex): Promise<Identity | undefined> {
      const row: IdentityRow | undefined = await db('identities').where({ tenant_id: tenantId, user_id: userId, kind }).whereRaw('lower(alias) = ?', [alias.toLowerCase()]).first();
      return row ? toIdentity(row) : undefined;
    },
    /** Oldest first, so "the first identity" is stable. */
    async listByUser(tenantId: string, userId: string, db: Knex = knex): Promise<Identity[]> {
      const rows: IdentityRow[] = await db('identities')
        .where({ tenant_id: tenantId, user_id: userId })
        .orderBy([{ column: 'created_at' }, { column: 'id' }]);
      return rows.map(toIdentity);
    },
    /** Identities of several users with their direct roles: one query each for a whole page of users. */
    async summariesForUsers(tenantId: string, userIds: string[], db: Knex = knex): Promise<UserIdentitySummary[]> {
      if (!userIds.length) return [];
      const rows: IdentityRow[] = await db('identities')
        .where({ tenant_id: tenantId })
        .whereIn('user_id', userIds)
        .orderBy([{ column: 'created_at' }, { column: 'id' }]);
      /** Per identity, the id and name of each row of `target` a link table ties it to, by name. */
      const linkedByIdentity = async (links: string, target: string, targetId: string): Promise<Map<string, { id: string; name: string }[]>> => {
        const linked: { identity_id: string; id: string; name: string }[] = rows.length
          ? await db(`${links} as l`)
              .join(`${target} as t`, 't.id', `l.${targetId}`)
              .whereIn(
                'l.identity_id',
                rows.map((r) => r.id),
              )
              .select('l.identity_id', 't.id', 't.name')
              .orderBy('t.name')
          : [];
        const byIdentity = new Map<string, { id: string; name: string }[]>();
        for (const row of linked) {
          const list = byIdentity.get(row.identity_id) ?? [];
          list.push({ id: row.id, name: row.name });
          byIdentity.set(row.identity_id, list);
        }
        return byIdentity;
      };
      const rolesByIdentity = await linkedByIdentity('identity_roles', 'roles', 'role_id');
      const groupsByIdentity = await linkedByIdentity('group_members', 'groups', 'group_id');
      return rows.map((row) => ({ id: row.id, userId: row.user_id as string, kind: row.kind, alias: row.alias, roles: rolesByIdentity.get(row.id) ?? [], groups: groupsByIdentity.get(row.id) ?? [] }));
    },
    /**
     * "Oldest first" decides which identity becomes the default after a deletion, so creation
     * order must survive several inserts in one transaction (a clone): clock_timestamp() rather
     * than now(), plus `sequence` microseconds because PGlite's clock ticks in milliseconds.
     */
    async insert(identity: { id: string; tenantId: string; userId: string; kind: string; alias: string }, db: Knex = knex, sequence = 0): Promise<Identity> {
      const createdAt = db.raw("clock_timestamp() + ? * interval '1 microsecond'", [sequence]);
      const [row] = await db('identities').insert({ id: identity.id, tenant_id: identity.tenantId, user_id: identity.userId, kind: identity.kind, alias: identity.alias, created_at: createdAt, updated_at: createdAt }).returning('*');
      return toIdentity(row as IdentityRow);
    },
    async update(tenantId: string, id: string, patch: { kind?: string; alias?: string }, db: Knex = knex): Promise<Identity | undefined> {
      const [row] = await db('identities')
        .where({ tenant_id: tenantId, id })
        .update({ ...(patch.kind !== undefined ? { kind: patch.kind } : {}), ...(patch.alias !== undefined ? { alias: patch.alias } : {}), updated_at: db.fn.now() })
        .returning('*');
      return row ? toIdentity(row as IdentityRow) : undefined;
    },
    async deleteById(tenantId: string, id: string, db: Knex = knex): Promise<boolean> {
      return (await db('identities').where({ tenant_id: tenantId, id }).delete().returning('id')).length > 0;
    },

    async listKinds(tenantId: string, db: Knex = knex): Promise<IdentityKind[]> {
      const rows: IdentityKind[] = await db('identity_kinds')
        .where({ tenant_id: tenantId })
        .select('kind', 'label', 'builtin')
        .orderBy([{ column: 'builtin', order: 'desc' }, { column: 'kind' }]);
      return rows.map((r) => ({ kind: r.kind, label: r.label, builtin: Boolean(r.builtin) }));
    },
    async findKind(tenantId: string, kind: string, db: Knex = knex): Promise<IdentityKind | undefined> {
      const row: IdentityKind | undefined = await db('identity_kinds').where({ tenant_id: tenantId, kind }).first('kind', 'label', 'builtin');
      return row ? { kind: row.kind, label: row.label, builtin: Boolean(row.builtin) } : undefined;
    },
    /** False when the kind already exists. */
    async insertKind(tenantId: string, kind: { kind: string; label: string }, db: Knex = knex): Promise<boolean> {
      const rows = await db('identity_kinds').insert({ tenant_id: tenantId, kind: kind.kind, label: kind.label, builtin: false }).onConflict(['tenant_id', 'kind']).ignore().returning('kind');
      return rows.length > 0;
    },

    /** Direct role assignments of the identities. */
    async directRoleIds(identityIds: string[], db: Knex = knex): Promise<{ identityId: string; roleId: string }[]> {
      if (!identityIds.length) return [];
      const rows: { identity_id: string; role_id: string }[] = await db('identity_roles').whereIn('identity_id', identityIds).select('identity_id', 'role_id');
      return rows.map((r) => ({ identityId: r.identity_id, roleId: r.role_id }));
    },
    /** Group memberships of the identities. */
    async memberships(identityIds: string[], db: Knex = knex): Promise<{ identityId: string; groupId: string }[]> {
      if (!identityIds.length) return [];
      const rows: { identity_id: string; group_id: string }[] = await db('group_members').whereIn('identity_id', identityIds).select('identity_id', 'group_id');
      return rows.map((r) => ({ identityId: r.identity_id, groupId: r.group_id }));
    },
    /** Roles the groups pass on to their members. */
    async groupRoleIds(groupIds: string[], db: Knex = knex): Promise<string[]> {
      if (!groupIds.length) return [];
      const rows: { role_id: string }[] = await db('group_roles').whereIn('group_id', groupIds).distinct('role_id');
      return rows.map((r) => r.role_id);
    },
    async insertRoles(tenantId: string, rows: { identityId: string; roleId: string }[], db: Knex = knex): Promise<void> {
      const pairs = rows.map((r): [string, string] => [r.identityId, r.roleId]);
      await addLinkPairs(db, IDENTITY_ROLES, tenantId, pairs);
    },
    async insertMemberships(tenantId: string, rows: { identityId: string; groupId: string }[], db: Knex = knex): Promise<void> {
      const pairs = rows.map((r): [string, string] => [r.groupId, r.identityId]);
      await addLinkPairs(db, GROUP_MEMBERS, tenantId, pairs);
    },
  };
}

export type IdentityQueries = ReturnType<typeof createIdentityQueries>;
