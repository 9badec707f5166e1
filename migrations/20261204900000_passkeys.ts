// Passkeys (WebAuthn Level 3 public-key credentials): one row per registered authenticator
// credential. The public key is the COSE key as the authenticator returned it; the counter is the
// last signature counter seen (WebAuthn L3 §6.1.1), the backup flags are BE/BS (§6.1).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_passkeys', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    /** The credential id, base64url as WebAuthn uses it. */
    t.text('credential_id').notNullable();
    t.binary('public_key').notNullable();
    t.bigInteger('counter').notNullable().defaultTo(0);
    t.specificType('transports', 'text[]').notNullable().defaultTo('{}');
    t.boolean('backup_eligible').notNullable().defaultTo(false);
    t.boolean('backup_state').notNullable().defaultTo(false);
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.unique(['tenant_id', 'credential_id']);
    t.index(['tenant_id', 'user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('user_passkeys');
}
