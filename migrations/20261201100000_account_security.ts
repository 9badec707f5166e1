// Account security: the tenant's password policy, password age and forced change,
// lockout state, password history, TOTP, recovery codes, password reset tokens and the record of
// expiry reminders sent (one row per user and password cycle: what makes "exactly once" hold
// across nodes). Schema only; the backfill of existing users is the next migration.
import type { Knex } from 'knex';
import { createdAt, createTenantTable, ownerRef, tenantRef } from './lib/schema.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    // When the current password was set: the start of its expiry cycle.
    t.timestamp('password_changed_at', { useTz: true });
    // Set by an administrator (or an imported account): the next sign-in asks for a new password.
    t.boolean('password_change_required').notNullable().defaultTo(false);
    // A lockout after repeated failures ends here; null while not locked by failures.
    t.timestamp('locked_until', { useTz: true });
    // Locks since the last successful sign-in: each one lengthens the next cool-down.
    t.integer('lockout_count').notNullable().defaultTo(0);
  });

  // One row per tenant; absent means the NIST SP 800-63B rev 4 defaults.
  await knex.schema.createTable('password_policies', (t) => {
    t.text('tenant_id').primary().references('tenants.id').onDelete('CASCADE');
    t.jsonb('settings').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await createTenantTable(knex, 'password_history', 'bigserial', (t) => {
    ownerRef(t, 'user_id', 'users');
    t.text('password_hash').notNullable();
    createdAt(t, knex);
  });
  await knex.raw('create index password_history_user_idx on password_history (user_id, id desc)');

  // The TOTP secret, encrypted at rest (AES-256-GCM under a key derived from GATEHOUSE_SECRET).
  // confirmed_at null: enrollment started, not yet confirmed with a code.
  await knex.schema.createTable('user_totp', (t) => {
    t.uuid('user_id').primary().references('users.id').onDelete('CASCADE');
    tenantRef(t);
    t.text('secret_encrypted').notNullable();
    createdAt(t, knex);
    t.timestamp('confirmed_at', { useTz: true });
  });

  await createTenantTable(knex, 'recovery_codes', 'bigserial', (t) => {
    ownerRef(t, 'user_id', 'users');
    t.text('code_hash').notNullable();
    createdAt(t, knex);
    t.timestamp('used_at', { useTz: true });
  });
  await knex.raw('create unique index recovery_codes_user_hash_unique on recovery_codes (user_id, code_hash)');

  await createTenantTable(knex, 'password_reset_tokens', 'bigserial', (t) => {
    ownerRef(t, 'user_id', 'users');
    // Keyed hash of the token: the token itself exists only in the mail.
    t.text('token_hash').notNullable().unique();
    createdAt(t, knex);
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
  });
  await knex.raw('create index password_reset_tokens_user_idx on password_reset_tokens (user_id)');

  // The unique key (user, cycle) is the guarantee: of two nodes sending the same reminder, one
  // insert wins and the other finds the row.
  await createTenantTable(knex, 'password_expiry_reminders', 'none', (t) => {
    ownerRef(t, 'user_id', 'users');
    // password_changed_at of the cycle the reminder is about.
    t.timestamp('cycle', { useTz: true }).notNullable();
    t.timestamp('sent_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'cycle']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['password_expiry_reminders', 'password_reset_tokens', 'recovery_codes', 'user_totp', 'password_history', 'password_policies']) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('password_changed_at');
    t.dropColumn('password_change_required');
    t.dropColumn('locked_until');
    t.dropColumn('lockout_count');
  });
}
