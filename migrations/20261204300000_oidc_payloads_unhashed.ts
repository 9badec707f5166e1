// oidc-provider artefacts are stored under a keyed hash of their id (src/oidc/hashed-ids.ts).
// Rows written before that are re-keyed at start; this partial index holds exactly the rows still
// to do, so the start-up pass is an empty index scan once they are done.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create index oidc_payloads_unhashed_idx on oidc_payloads (model) where model <> 'Grant' and id not like 'hmac-sha256:%'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists oidc_payloads_unhashed_idx');
}
