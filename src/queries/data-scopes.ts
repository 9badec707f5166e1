// SQL for data scopes: the keys a tenant defines (data_scope_keys) and the values each identity
// holds per key (identity_data_scopes, one jsonb array per key). No business rules here.
import type { Knex } from 'knex';
import { json } from './rows.ts';

export type DataScope = Record<string, string[]>;

export interface DataScopeKey {
  key: string;
  description: string | null;
}

interface ScopeRow {
  identity_id: string;
  key: string;
  values: string[] | string;
}

// Counts come from `returning`: with PGlite (knex-pglite) `.delete()` resolves to the driver's
// result object instead of the row count.
export function createDataScopeQueries(knex: Knex) {
  return {
    /** Row-locks the identity in `db` (a transaction), so changes to its scope take turns. */
    async lockIdentity(identityId: string, db: Knex = knex): Promise<void> {
      await db('identities').where({ id: identityId }).forUpdate().first('id');
    },
    async forIdentity(identityId: string, db: Knex = knex): Promise<DataScope> {
      const rows: ScopeRow[] = await db('identity_data_scopes').where({ identity_id: identityId }).select('identity_id', 'key', 'values').orderBy('key');
      return Object.fromEntries(rows.map((row) => [row.key, json(row.values)]));
    },
    async forIdentities(identityIds: string[], db: Knex = knex): Promise<Map<string, DataScope>> {
      const result = new Map<string, DataScope>();
      if (!identityIds.length) return result;
      const rows: ScopeRow[] = await db('identity_data_scopes').whereIn('identity_id', identityIds).select('identity_id', 'key', 'values').orderBy('key');
      for (const row of rows) {
        const scope = result.get(row.identity_id) ?? {};
        scope[row.key] = json(row.values);
        result.set(row.identity_id, scope);
      }
      return result;
    },
    async set(tenantId: string, identityId: string, key: string, values: string[], db: Knex = knex): Promise<void> {
      await db('identity_data_scopes')
        .insert({ tenant_id: tenantId, identity_id: identityId, key, values: JSON.stringify(values) })
        .onConflict(['identity_id', 'key'])
        .merge(['values']);
    },
    /** Replaces every key of the identity with `scope`; run it inside a transaction. */
    async replace(tenantId: string, identityId: string, scope: DataScope, db: Knex = knex): Promise<void> {
      await db('identity_data_scopes').where({ identity_id: identityId }).delete();
      const rows = Object.entries(scope).map(([key, values]) => ({ tenant_id: tenantId, identity_id: identityId, key, values: JSON.stringify(values) }));
      if (rows.length) await db('identity_data_scopes').insert(rows);
    },
    async remove(identityId: string, key: string, db: Knex = knex): Promise<boolean> {
      return (await db('identity_data_scopes').where({ identity_id: identityId, key }).delete().returning('key')).length > 0;
    },

    async listKeys(tenantId: string, db: Knex = knex): Promise<DataScopeKey[]> {
      const rows: DataScopeKey[] = await db('data_scope_keys').where({ tenant_id: tenantId }).select('key', 'description').orderBy('key');
      return rows.map((r) => ({ key: r.key, description: r.description ?? null }));
    },
    /** The ones among `keys` that the tenant defines. */
    async existingKeys(tenantId: string, keys: string[], db: Knex = knex): Promise<string[]> {
      if (!keys.length) return [];
      const rows: { key: string }[] = await db('data_scope_keys').where({ tenant_id: tenantId }).whereIn('key', keys).select('key');
      return rows.map((r) => r.key);
    },
    /** False when the key already exists. */
    async insertKey(tenantId: string, key: DataScopeKey, db: Knex = knex): Promise<boolean> {
      const rows = await db('data_scope_keys').insert({ tenant_id: tenantId, key: key.key, description: key.description }).onConflict(['tenant_id', 'key']).ignore().returning('key');
      return rows.length > 0;
    },
    async findKey(tenantId: string, key: string, db: Knex = knex): Promise<DataScopeKey | undefined> {
      const row: DataScopeKey | undefined = await db('data_scope_keys').where({ tenant_id: tenantId, key }).first('key', 'description');
      return row ? { key: row.key, description: row.description ?? null } : undefined;
    },
    async updateKeyDescription(tenantId: string, key: string, description: string | null, db: Knex = knex): Promise<void> {
      await db('data_scope_keys').where({ tenant_id: tenantId, key }).update({ description });
    },
    /** How many identities of the tenant hold values for the key. */
    async countHolders(tenantId: string, key: string, db: Knex = knex): Promise<number> {
      const row = await db('identity_data_scopes').where({ tenant_id: tenantId, key }).count<{ count: string | number }[]>({ count: '*' }).first();
      return Number(row?.count ?? 0);
    },
    async deleteKey(tenantId: string, key: string, db: Knex = knex): Promise<boolean> {
      return (await db('data_scope_keys').where({ tenant_id: tenantId, key }).delete().returning('key')).length > 0;
    },
  };
}

export type DataScopeQueries = ReturnType<typeof createDataScopeQueries>;
