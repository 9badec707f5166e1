// SQL for the users table and its status history, and row <-> object mapping. No business rules here.
import type { Knex } from 'knex';
import { columnsOf, fieldsOf, type TenantOwned } from './rows.ts';

export type UserStatus = 'active' | 'inactive' | 'locked';

export interface User extends TenantOwned {
  username: string;
  email: string | null;
  name: string | null;
  phone: string | null;
  department: string | null;
  passwordHash: string | null;
  status: UserStatus;
  defaultIdentityId: string | null;
  /** While locked after failed sign-ins: when the lock ends (account security). */
  lockedUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

interface UserRow {
  id: string;
  tenant_id: string;
  username: string;
  email: string | null;
  name: string | null;
  phone: string | null;
  department: string | null;
  password_hash: string | null;
  status: UserStatus;
  default_identity_id: string | null;
  password_changed_at?: Date | string | null;
  locked_until?: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export function toUser(row: UserRow): User {
  return {
    ...fieldsOf(row, ['id', 'tenantId', 'username', 'email', 'name', 'passwordHash', 'status']),
    phone: row.phone ?? null,
    department: row.department ?? null,
    defaultIdentityId: row.default_identity_id ?? null,
    lockedUntil: row.locked_until ? new Date(row.locked_until) : null,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export type NewUser = Pick<User, 'id' | 'tenantId' | 'username' | 'email' | 'name' | 'passwordHash' | 'status'> & Partial<Pick<User, 'phone' | 'department'>>;

/** Profile fields an administrator may change; `undefined` leaves a field as it is. */
export interface UserPatch {
  username?: string;
  email?: string | null;
  name?: string | null;
  phone?: string | null;
  department?: string | null;
}

export interface UserSearch {
  /** Substring matched case-insensitively against username, email and name. */
  q?: string;
  status?: UserStatus;
  identityKind?: string;
  groupId?: string;
  roleId?: string;
  /** Keyset position: rows strictly after (lower(username), id). */
  after?: { usernameLower: string; id: string };
  limit: number;
}

export interface StatusChange {
  id: string;
  userId: string;
  fromStatus: UserStatus | null;
  toStatus: UserStatus;
  reason: string | null;
  actorId: string | null;
  changedAt: Date;
}

interface StatusChangeRow {
  id: string | number;
  user_id: string;
  from_status: UserStatus | null;
  to_status: UserStatus;
  reason: string | null;
  actor_id: string | null;
  changed_at: Date | string;
}

/** Escapes LIKE's wildcards so a search for "50%" or "a_b" matches those characters literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Rows a search walks in order before it finds the matches first instead (see search()). */
const WALK_BUDGET = 5_000;

/**
 * The search's filters on `u` (the users table, or a bounded walk of it), selecting each row and
 * its sort key. The sort key comes from the database: lower() there and toLowerCase() here may
 * disagree outside ASCII, and the next page's cursor must compare exactly as the ORDER BY does.
 */
function matching(query: Knex.QueryBuilder, filter: UserSearch, db: Knex): Knex.QueryBuilder<UserRow & { username_lower: string }, (UserRow & { username_lower: string })[]> {
  query.select('u.*', db.raw('lower(u.username) as username_lower'));
  if (filter.q) {
    const pattern = `%${escapeLike(filter.q)}%`;
    query.andWhere((q) => q.where('u.username', 'ilike', pattern).orWhere('u.email', 'ilike', pattern).orWhere('u.name', 'ilike', pattern));
  }
  if (filter.status) query.andWhere('u.status', filter.status);
  if (filter.identityKind) {
    const kind = filter.identityKind;
    query.whereExists((sub) => sub.select(db.raw('1')).from('identities as i').whereRaw('i.user_id = u.id').andWhere('i.kind', kind));
  }
  if (filter.groupId) {
    const groupId = filter.groupId;
    query.whereExists((sub) => sub.select(db.raw('1')).from('identities as i').join('group_members as gm', 'gm.identity_id', 'i.id').whereRaw('i.user_id = u.id').andWhere('gm.group_id', groupId));
  }
  if (filter.roleId) {
    const roleId = filter.roleId;
    query.whereExists((sub) => sub.select(db.raw('1')).from('identities as i').join('identity_roles as ir', 'ir.identity_id', 'i.id').whereRaw('i.user_id = u.id').andWhere('ir.role_id', roleId));
  }
  return query;
}

// Counts come from `returning`: with PGlite (knex-pglite) `.update()` and `.delete()` resolve to
// the driver's result object instead of the row count.
export function createUserQueries(knex: Knex) {
  return {
    async findById(tenantId: string, id: string, trx: Knex = knex): Promise<User | undefined> {
      const row = await trx<UserRow>('users').where({ tenant_id: tenantId, id }).first();
      return row ? toUser(row) : undefined;
    },
    /** Locks the row until the transaction ends, so concurrent changes to one user serialize. */
    async findByIdForUpdate(tenantId: string, id: string, trx: Knex.Transaction): Promise<User | undefined> {
      const row = await trx<UserRow>('users').where({ tenant_id: tenantId, id }).forUpdate().first();
      return row ? toUser(row) : undefined;
    },
    /** Matches the username or the email, case-insensitively. */
    async findByLogin(tenantId: string, login: string): Promise<User | undefined> {
      const lowered = login.toLowerCase();
      const row = await knex<UserRow>('users')
        .where({ tenant_id: tenantId })
        .andWhere((q) => q.whereRaw('lower(username) = ?', [lowered]).orWhereRaw('lower(email) = ?', [lowered]))
        .orderByRaw('case when lower(username) = ? then 0 else 1 end', [lowered])
        .first();
      return row ? toUser(row) : undefined;
    },
    async findByUsername(tenantId: string, username: string, trx: Knex = knex): Promise<User | undefined> {
      const row = await trx<UserRow>('users').where({ tenant_id: tenantId }).whereRaw('lower(username) = ?', [username.toLowerCase()]).first();
      return row ? toUser(row) : undefined;
    },
    async findByEmail(tenantId: string, email: string, trx: Knex = knex): Promise<User | undefined> {
      const row = await trx<UserRow>('users').where({ tenant_id: tenantId }).whereRaw('lower(email) = ?', [email.toLowerCase()]).first();
      return row ? toUser(row) : undefined;
    },
    async insert(user: NewUser, trx: Knex = knex): Promise<User> {
      const [row] = await trx<UserRow>('users')
        .insert({
          ...columnsOf(user, ['id', 'tenantId', 'username', 'email', 'name', 'passwordHash', 'status']),
          phone: user.phone ?? null,
          department: user.department ?? null,
          // Account security: a password's expiry cycle starts when it is set.
          password_changed_at: user.passwordHash ? trx.fn.now() : null,
        })
        .returning('*');
      return toUser(row as UserRow);
    },
    async update(tenantId: string, id: string, patch: UserPatch, trx: Knex = knex): Promise<User | undefined> {
      const changes: Partial<Record<keyof UserRow, unknown>> = {};
      if (patch.username !== undefined) changes.username = patch.username;
      if (patch.email !== undefined) changes.email = patch.email;
      if (patch.name !== undefined) changes.name = patch.name;
      if (patch.phone !== undefined) changes.phone = patch.phone;
      if (patch.department !== undefined) changes.department = patch.department;
      const [row] = await trx('users')
        .where({ tenant_id: tenantId, id })
        .update({ ...changes, updated_at: trx.fn.now() })
        .returning('*');
      return row ? toUser(row as UserRow) : undefined;
    },
    async setStatus(tenantId: string, id: string, status: UserStatus, trx: Knex = knex): Promise<void> {
      await trx('users').where({ tenant_id: tenantId, id }).update({ status, updated_at: trx.fn.now() });
    },
    async defaultIdentityId(tenantId: string, id: string, trx: Knex = knex): Promise<string | null | undefined> {
      const row: { default_identity_id: string | null } | undefined = await trx('users').where({ tenant_id: tenantId, id }).first('default_identity_id');
      return row ? row.default_identity_id : undefined;
    },
    /** The identity chosen at sign-in: a choice, not an edit of the user, so `updated_at` stays. */
    async rememberIdentityChoice(tenantId: string, id: string, identityId: string, trx: Knex = knex): Promise<void> {
      await trx('users').where({ tenant_id: tenantId, id }).update({ default_identity_id: identityId });
    },
    /** What a notification mail needs of a user. */
    async recipient(tenantId: string, id: string, trx: Knex = knex): Promise<{ username: string; email: string | null; name: string | null } | undefined> {
      return trx('users').where({ tenant_id: tenantId, id }).first('username', 'email', 'name');
    },
    async setDefaultIdentity(tenantId: string, id: string, identityId: string, trx: Knex = knex): Promise<void> {
      await trx('users').where({ tenant_id: tenantId, id }).update({ default_identity_id: identityId, updated_at: trx.fn.now() });
    },
    /** Replaces the hash of the same password (a re-hash at sign-in): its expiry cycle stays. */
    async updatePasswordHash(tenantId: string, id: string, passwordHash: string, trx: Knex = knex): Promise<boolean> {
      const rows = await trx('users').where({ tenant_id: tenantId, id }).update({ password_hash: passwordHash, updated_at: knex.fn.now() }).returning('id');
      return rows.length > 0;
    },
    async deleteById(tenantId: string, id: string, trx: Knex = knex): Promise<boolean> {
      return (await trx('users').where({ tenant_id: tenantId, id }).delete().returning('id')).length > 0;
    },
    async list(tenantId: string, limit = 100): Promise<User[]> {
      const rows = await knex<UserRow>('users').where({ tenant_id: tenantId }).orderBy('username').limit(limit);
      return rows.map((row) => toUser(row as UserRow));
    },
    /**
     * One page of users in (lower(username), id) order: keyset pagination, so a page costs the
     * same however deep it is and rows inserted meanwhile neither repeat nor vanish.
     */
    async search(tenantId: string, filter: UserSearch, db: Knex = knex): Promise<{ user: User; usernameLower: string }[]> {
      // With a term the trigram indexes can serve (three letters or digits in a row: pg_trgm's
      // smallest unit), two plans compete. Walking the username index in order and filtering as
      // it goes fills a page of a common term ("smith": one user in fifty) after a few thousand
      // rows, whatever the directory's size, but reads most of the table for a rare one or one
      // whose matches sort late (every "wendy.…" after 90% of the usernames). Finding the matches
      // from the trigram indexes and sorting them is quick for a rare term, but sorts every match
      // of a common one (20,000 of a million users). So: first walk at most WALK_BUDGET rows in
      // order; a page found among them is the page (no earlier row was skipped), and only
      // otherwise are the matches found first and sorted.
      const matchesFirst = filter.q !== undefined && /[\p{L}\p{N}]{3}/u.test(filter.q);
      if (matchesFirst) {
        const walk = db('users').select('*').where('tenant_id', tenantId);
        if (filter.after) walk.andWhereRaw('(lower(username), id) > (?, ?::uuid)', [filter.after.usernameLower, filter.after.id]);
        walk.orderByRaw('lower(username), id').limit(WALK_BUDGET);
        const walked = await matching(db.from(walk.as('u')), filter, db)
          .orderByRaw('lower(u.username), u.id')
          .limit(filter.limit);
        if (walked.length === filter.limit) return walked.map((row) => ({ user: toUser(row), usernameLower: row.username_lower }));
      }
      const query = matching(db('users as u').where('u.tenant_id', tenantId), filter, db);
      if (filter.after) query.andWhereRaw('(lower(u.username), u.id) > (?, ?::uuid)', [filter.after.usernameLower, filter.after.id]);
      // `|| ''` keeps the order but stops the planner from walking the username index in order
      // (the plan above, without its bound). Without a term there is nothing to look up, and
      // walking in order until the page is full is the best there is.
      const rows = await query.orderByRaw(matchesFirst ? "lower(u.username) || '', u.id" : 'lower(u.username), u.id').limit(filter.limit);
      return rows.map((row) => ({ user: toUser(row), usernameLower: row.username_lower }));
    },
    async count(tenantId: string): Promise<number> {
      const row = await knex('users').where({ tenant_id: tenantId }).count<{ count: string | number }[]>('* as count').first();
      return Number(row?.count ?? 0);
    },
    async insertStatusChange(change: { tenantId: string; userId: string; fromStatus: UserStatus | null; toStatus: UserStatus; reason: string | null; actorId: string | null }, trx: Knex = knex): Promise<void> {
      await trx('user_status_history').insert({
        tenant_id: change.tenantId,
        user_id: change.userId,
        from_status: change.fromStatus,
        to_status: change.toStatus,
        reason: change.reason,
        actor_id: change.actorId,
      });
    },
    /** Newest first. */
    async statusHistory(tenantId: string, userId: string, limit: number, db: Knex = knex): Promise<StatusChange[]> {
      const rows: StatusChangeRow[] = await db('user_status_history')
        .where({ tenant_id: tenantId, user_id: userId })
        .orderBy([
          { column: 'changed_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .limit(limit);
      return rows.map((row) => ({
        id: String(row.id),
        userId: row.user_id,
        fromStatus: row.from_status,
        toStatus: row.to_status,
        reason: row.reason,
        actorId: row.actor_id,
        changedAt: new Date(row.changed_at),
      }));
    },
  };
}

export type UserQueries = ReturnType<typeof createUserQueries>;
