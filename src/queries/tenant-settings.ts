// SQL of the per-tenant settings: one JSON object per tenant (validated by the service).
import type { Knex } from 'knex';
import { json } from './rows.ts';

export function createTenantSettingsQueries(knex: Knex) {
  return {
    /** The stored object, or undefined when the tenant has set nothing yet. */
    async find(tenantId: string, db: Knex = knex): Promise<unknown> {
      const row: { settings: unknown } | undefined = await db('tenant_settings').where({ tenant_id: tenantId }).first('settings');
      if (!row) return undefined;
      return json(row.settings);
    },

    /** Reads the row for update inside `trx`, so two concurrent changes are applied one after the other. */
    async findForUpdate(tenantId: string, trx: Knex): Promise<unknown> {
      const row: { settings: unknown } | undefined = await trx('tenant_settings').where({ tenant_id: tenantId }).forUpdate().first('settings');
      if (!row) return undefined;
      return json(row.settings);
    },

    async save(tenantId: string, settings: object, trx: Knex): Promise<void> {
      await trx('tenant_settings')
        .insert({ tenant_id: tenantId, settings: JSON.stringify(settings), updated_at: trx.fn.now() })
        .onConflict('tenant_id')
        .merge();
    },
  };
}

export type TenantSettingsQueries = ReturnType<typeof createTenantSettingsQueries>;
