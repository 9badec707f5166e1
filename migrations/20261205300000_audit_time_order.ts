// The audit log is searched newest first by occurrence time, (occurred_at desc, id desc), with
// keyset pages on the same pair. Each index an investigation starts from (the whole tenant, an
// actor, a target, an action) ends in that pair, so a time window is one range scan of the index
// that stops after a page, whatever the filter. They replace the indexes that ended in id alone.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index audit_events_tenant_actor_time_idx on audit_events (tenant_id, actor_id, occurred_at desc, id desc)');
  await knex.raw('create index audit_events_tenant_target_time_idx on audit_events (tenant_id, target_id, occurred_at desc, id desc)');
  await knex.raw('create index audit_events_tenant_action_time_idx on audit_events (tenant_id, action, occurred_at desc, id desc)');
  await knex.raw('drop index if exists audit_events_tenant_id_idx');
  await knex.raw('drop index if exists audit_events_tenant_actor_idx');
  await knex.raw('drop index if exists audit_events_tenant_target_idx');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('create index audit_events_tenant_id_idx on audit_events (tenant_id, id)');
  await knex.raw('create index audit_events_tenant_actor_idx on audit_events (tenant_id, actor_id, id)');
  await knex.raw('create index audit_events_tenant_target_idx on audit_events (tenant_id, target_id, id)');
  await knex.raw('drop index if exists audit_events_tenant_actor_time_idx');
  await knex.raw('drop index if exists audit_events_tenant_target_time_idx');
  await knex.raw('drop index if exists audit_events_tenant_action_time_idx');
}
