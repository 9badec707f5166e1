// SQL for service accounts, their single identity and their access keys, and row <-> object
// mapping. No business rules here.
import type { Knex } from 'knex';
import { dateOrNull, fieldsOf, type TenantOwned } from './rows.ts';

export type ServiceAccountStatus = 'active' | 'inactive';

export interface ServiceAccount extends TenantOwned {
  name: string;
  description: string | null;
  status: ServiceAccountStatus;
  /** The account's one identity (kind 'service'): roles and data scopes are given through it. */
  identityId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AccessKey {
  id: string;
  serviceAccountId: string;
  prefix: string;
  description: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** What client authentication needs: the account and the hashes of its usable keys. */
export interface ServiceAccountCredentials extends TenantOwned {
  name: string;
  status: ServiceAccountStatus;
  /** The account's one identity (kind 'service'), whose roles and scopes its tokens carry. */
  identityId: string | null;
  keys: { id: string; hash: string; expiresAt: number | null; lastUsedAt: number | null }[];
}

interface ServiceAccountRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  status: ServiceAccountStatus;
  identity_id: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

interface AccessKeyRow {
  id: string;
  service_account_id: string;
  prefix: string;
  description: string | null;
  created_at: Date | string;
  expires_at: Date | string | null;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

function toServiceAccount(row: ServiceAccountRow): ServiceAccount {
  return {
    ...fieldsOf(row, ['id', 'tenantId', 'name', 'description', 'status', 'identityId']),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toAccessKey(row: AccessKeyRow): AccessKey {
  return {
    ...fieldsOf(row, ['id', 'serviceAccountId', 'prefix', 'description']),
    createdAt: new Date(row.created_at),
    expiresAt: dateOrNull(row.expires_at),
    lastUsedAt: dateOrNull(row.last_used_at),
    revokedAt: dateOrNull(row.revoked_at),
  };
}

const KEY_COLUMNS = ['id', 'service_account_id', 'prefix', 'description', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'];

export function createServiceAccountQueries(knex: Knex) {
  const accounts = (db: Knex = knex) =>
    db('service_accounts as sa').leftJoin('identities as i', 'i.service_account_id', 'sa.id').select('sa.id', 'sa.tenant_id', 'sa.name', 'sa.description', 'sa.status', 'sa.created_at', 'sa.updated_at', 'i.id as identity_id');

  return {
    async findById(tenantId: string, id: string, trx: Knex = knex): Promise<ServiceAccount | undefined> {
      const row: ServiceAccountRow | undefined = await accounts(trx).where({ 'sa.tenant_id': tenantId, 'sa.id': id }).first();
      return row ? toServiceAccount(row) : undefined;
    },
    async list(tenantId: string): Promise<ServiceAccount[]> {
      const rows: ServiceAccountRow[] = await accounts()
        .where({ 'sa.tenant_id': tenantId })
        .orderBy([{ column: 'sa.name' }, { column: 'sa.id' }]);
      return rows.map(toServiceAccount);
    },
    /** Inserts the account and its identity (call inside a transaction). */
    async insertWithIdentity(trx: Knex, account: { id: string; tenantId: string; name: string; description: string | null; identityId: string }): Promise<void> {
      await trx('service_accounts').insert({ id: account.id, tenant_id: account.tenantId, name: account.name, description: account.description, status: 'active' });
      await trx('identities').insert({ id: account.identityId, tenant_id: account.tenantId, service_account_id: account.id, kind: 'service', alias: account.name });
    },
    async update(trx: Knex, tenantId: string, id: string, patch: Partial<Pick<ServiceAccount, 'name' | 'description' | 'status'>>): Promise<boolean> {
      const update: Record<string, unknown> = { updated_at: knex.fn.now() };
      if (patch.name !== undefined) update.name = patch.name;
      if (patch.description !== undefined) update.description = patch.description;
      if (patch.status !== undefined) update.status = patch.status;
      return (await trx('service_accounts').where({ tenant_id: tenantId, id }).update(update)) > 0;
    },
    async setIdentityAlias(trx: Knex, tenantId: string, serviceAccountId: string, alias: string): Promise<void> {
      await trx('identities').where({ tenant_id: tenantId, service_account_id: serviceAccountId }).update({ alias, updated_at: knex.fn.now() });
    },
    /** Deletes the account; its identity and keys go with it (ON DELETE CASCADE). */
    async deleteById(tenantId: string, id: string, db: Knex = knex): Promise<boolean> {
      return (await db('service_accounts').where({ tenant_id: tenantId, id }).delete()) > 0;
    },

    async insertKey(key: { id: string; tenantId: string; serviceAccountId: string; prefix: string; keyHash: string; description: string | null; expiresAt: Date | null }): Promise<AccessKey> {
      const [row] = await knex('access_keys')
        .insert({ id: key.id, tenant_id: key.tenantId, service_account_id: key.serviceAccountId, prefix: key.prefix, key_hash: key.keyHash, description: key.description, expires_at: key.expiresAt })
        .returning(KEY_COLUMNS);
      return toAccessKey(row as AccessKeyRow);
    },
    async listKeys(tenantId: string, serviceAccountId: string): Promise<AccessKey[]> {
      const rows: AccessKeyRow[] = await knex('access_keys')
        .where({ tenant_id: tenantId, service_account_id: serviceAccountId })
        .select(KEY_COLUMNS)
        .orderBy([{ column: 'created_at' }, { column: 'id' }]);
      return rows.map(toAccessKey);
    },
    async findKey(tenantId: string, serviceAccountId: string, keyId: string): Promise<AccessKey | undefined> {
      const row: AccessKeyRow | undefined = await knex('access_keys').where({ tenant_id: tenantId, service_account_id: serviceAccountId, id: keyId }).first(KEY_COLUMNS);
      return row ? toAccessKey(row) : undefined;
    },
    async countUsableKeys(tenantId: string, serviceAccountId: string): Promise<number> {
      const row: { count?: string | number } | undefined = await knex('access_keys')
        .where({ tenant_id: tenantId, service_account_id: serviceAccountId })
        .whereNull('revoked_at')
        .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now()))
        .count({ count: '*' })
        .first();
      return Number(row?.count ?? 0);
    },
    /** Marks the key revoked; returns it as it is now, or undefined if it was already revoked or does not exist. */
    async revokeKey(tenantId: string, serviceAccountId: string, keyId: string): Promise<AccessKey | undefined> {
      const [row] = await knex('access_keys').where({ tenant_id: tenantId, service_account_id: serviceAccountId, id: keyId }).whereNull('revoked_at').update({ revoked_at: knex.fn.now() }).returning(KEY_COLUMNS);
      return row ? toAccessKey(row as AccessKeyRow) : undefined;
    },
    async touchKey(keyId: string, at: Date): Promise<void> {
      // Never move last_used_at backwards when two nodes write close together.
      await knex('access_keys')
        .where({ id: keyId })
        .andWhere((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', at))
        .update({ last_used_at: at });
    },

    /** One read: the account (any tenant) and its keys that are neither revoked nor expired. */
    async findCredentials(id: string): Promise<ServiceAccountCredentials | undefined> {
      const rows: { id: string; tenant_id: string; name: string; status: ServiceAccountStatus; identity_id: string | null; key_id: string | null; key_hash: string | null; expires_at: Date | string | null; last_used_at: Date | string | null }[] =
        await knex('service_accounts as sa')
          .leftJoin('identities as i', 'i.service_account_id', 'sa.id')
          .leftJoin('access_keys as k', function usableKeys() {
            this.on('k.service_account_id', '=', 'sa.id')
              .andOnNull('k.revoked_at')
              .andOn((q) => q.onNull('k.expires_at').orOn('k.expires_at', '>', knex.raw('now()')));
          })
          .where('sa.id', id)
          .select('sa.id', 'sa.tenant_id', 'sa.name', 'sa.status', 'i.id as identity_id', 'k.id as key_id', 'k.key_hash', 'k.expires_at', 'k.last_used_at');
      const first = rows[0];
      if (!first) return undefined;
      return {
        id: first.id,
        tenantId: first.tenant_id,
        name: first.name,
        status: first.status,
        identityId: first.identity_id,
        keys: rows
          .filter((row) => row.key_id !== null && row.key_hash !== null)
          .map((row) => ({ id: row.key_id as string, hash: row.key_hash as string, expiresAt: dateOrNull(row.expires_at)?.getTime() ?? null, lastUsedAt: dateOrNull(row.last_used_at)?.getTime() ?? null })),
      };
    },
  };
}

export type ServiceAccountQueries = ReturnType<typeof createServiceAccountQueries>;
