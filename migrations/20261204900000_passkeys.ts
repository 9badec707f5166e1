// Passkeys (WebAuthn Level 3 public-key credentials): one row per registered authenticator
// credential. The public key is the COSE key as the authenticator returned it; the counter is the
// last signature counter seen (WebAuthn L3 §6.1.1), the backup flags are BE/BS (§6.1).
import type { Knex } from 'knex';
import { createdAt, createTenantTable, ownerRef } from './lib/schema.ts';

export async function up(knex: Knex): Promise<void> {
  await createTenantTable(knex, 'user_passkeys', 'uuid', (t) => {
    ownerRef(t, 'user_id', 'users');
    /** The credential id, base64url as WebAuthn uses it. */
    t.text('credential_id').notNullable();
    t.binary('public_key').notNullable();
    t.bigInteger('counter').notNullable().defaultTo(0);
    t.specificType('transports', 'text[]').notNullable().defaultTo('{}');
    t.boolean('backup_eligible').notNullable().defaultTo(false);
    t.boolean('backup_state').notNullable().defaultTo(false);
    t.text('name').notNullable();
    createdAt(t, knex);
    t.timestamp('last_used_at', { useTz: true });
    t.unique(['tenant_id', 'credential_id']);
    t.index(['tenant_id', 'user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('user_passkeys');
}
