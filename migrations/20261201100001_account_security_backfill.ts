// Backfill for 20261201100000_account_security: users who already have a password start their
// expiry cycle at their last update (the best record there is of when the password was set), so
// switching expiry on later ages their passwords like everyone else's.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex('users')
    .whereNotNull('password_hash')
    .whereNull('password_changed_at')
    .update({ password_changed_at: knex.ref('updated_at') });
}

export async function down(): Promise<void> {
  // Nothing to undo: the column goes away with the schema migration's down.
}
