// SQL for the users table and row <-> object mapping. No business rules here.
import type { Knex } from 'knex';

export type UserStatus = 'active' | 'inactive' | 'locked';

export interface User {
  id: string;
  tenantId: string;
  username: string;
  email: string | null;
  name: string | null;
  passwordHash: string | null;
  status: UserStatus;
  createdAt: Date;
  updatedAt: Date;
}

interface UserRow {
  id: string;
  tenant_id: string;
  username: string;
  email: string | null;
  name: string | null;
  password_hash: string | null;
  status: UserStatus;
  created_at: Date | string;
  updated_at: Date | string;
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    username: row.username,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    status: row.status,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export type NewUser = Pick<User, 'id' | 'tenantId' | 'username' | 'email' | 'name' | 'passwordHash' | 'status'>;

export function createUserQueries(knex: Knex) {
  return {
    async findById(tenantId: string, id: string, trx: Knex = knex): Promise<User | undefined> {
      const row = await trx<UserRow>('users').where({ tenant_id: tenantId, id }).first();
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
    async insert(user: NewUser, trx: Knex = knex): Promise<User> {
      const [row] = await trx<UserRow>('users')
        .insert({
          id: user.id,
          tenant_id: user.tenantId,
          username: user.username,
          email: user.email,
          name: user.name,
          password_hash: user.passwordHash,
          status: user.status,
        })
        .returning('*');
      return toUser(row as UserRow);
    },
    async updatePasswordHash(tenantId: string, id: string, passwordHash: string, trx: Knex = knex): Promise<boolean> {
      const count = await trx('users').where({ tenant_id: tenantId, id }).update({ password_hash: passwordHash, updated_at: knex.fn.now() });
      return count > 0;
    },
    async deleteById(tenantId: string, id: string, trx: Knex = knex): Promise<boolean> {
      const count = await trx('users').where({ tenant_id: tenantId, id }).delete();
      return count > 0;
    },
    async list(tenantId: string, limit = 100): Promise<User[]> {
      const rows = await knex<UserRow>('users').where({ tenant_id: tenantId }).orderBy('username').limit(limit);
      return rows.map((row) => toUser(row as UserRow));
    },
    async count(tenantId: string): Promise<number> {
      const row = await knex('users').where({ tenant_id: tenantId }).count<{ count: string | number }[]>('* as count').first();
      return Number(row?.count ?? 0);
    },
  };
}

export type UserQueries = ReturnType<typeof createUserQueries>;
