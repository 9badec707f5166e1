// The audit log is searched newest first by occurrence time, (occurred_at desc, id desc), with
// keyset pages on the same pair. Each index an investigation starts from (the whole tenant, an
// actor, a target, an action) ends in that pair, so a time window is one range scan of the index
// that stops after a page, whatever the filter. They replace the indexes that ended in id alone.
import type { Knex } from 'knex';

/** Each index by name and the columns it starts with; they all end in the keyset order. */
const TIME_ORDERED: Record<string, string> = {
  audit_events_tenant_actor_time_idx: 'tenant_id, actor_id',
  audit_events_tenant_target_time_idx: 'tenant_id, target_id',
  audit_events_tenant_action_time_idx: 'tenant_id, action',
};
/** The indexes they replace, which ended in id alone (what down() puts back). */
const ID_ORDERED: Record<string, string> = {
  audit_events_tenant_id_idx: 'tenant_id',
  audit_events_tenant_actor_idx: 'tenant_id, actor_id',
  audit_events_tenant_target_idx: 'tenant_id, target_id',
};

async function replaceIndexes(knex: Knex, create: Record<string, string>, order: string, drop: Record<string, string>): Promise<void> {
  for (const [name, columns] of Object.entries(create)) await knex.raw(`create index ${name} on audit_events (${columns}, ${order})`);
  for (const name of Object.keys(drop)) await knex.raw(`drop index if exists ${name}`);
}

export async function up(knex: Knex): Promise<void> {
  await replaceIndexes(knex, TIME_ORDERED, 'occurred_at desc, id desc', ID_ORDERED);
}

export async function down(knex: Knex): Promise<void> {
  await replaceIndexes(knex, ID_ORDERED, 'id', TIME_ORDERED);
}
