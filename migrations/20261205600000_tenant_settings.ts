// Per-tenant settings that used to be environment variables only (default page language,
// passkey relying party): one row per tenant, the values a tenant has set as a JSON object.
// A key absent from the object means "the configuration's default".
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenant_settings', (t) => {
    t.text('tenant_id').primary().references('tenants.id').onDelete('CASCADE');
    t.jsonb('settings').notNullable().defaultTo('{}');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('tenant_settings');
}
