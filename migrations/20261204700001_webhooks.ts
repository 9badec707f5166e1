// Webhooks from a durable outbox: every audit event is also written to webhook_events in the
// same transaction (no change without its event, no event without its change); a scheduled job
// fans each event out to the endpoints subscribed to its type (webhook_deliveries) and delivers
// them, with retries, a log per endpoint and replay.
import type { Knex } from 'knex';
import { createdAt, createTenantTable, ownerRef, timestamps, uuidKey } from './lib/schema.ts';

export async function up(knex: Knex): Promise<void> {
  await createTenantTable(knex, 'webhook_endpoints', 'uuid', (t) => {
    t.text('url').notNullable();
    t.text('description');
    // Event types or prefixes ('user.*'); ['*'] is every event.
    t.jsonb('event_types').notNullable();
    // The signing secret, encrypted with the instance's key (it must be recovered to sign).
    t.text('secret_encrypted').notNullable();
    t.text('status').notNullable().defaultTo('active');
    t.text('disabled_reason');
    t.integer('consecutive_failures').notNullable().defaultTo(0);
    timestamps(t, knex);
  });
  await knex.schema.createTable('webhook_events', (t) => {
    t.bigIncrements('seq').primary();
    t.uuid('id').notNullable().unique();
    t.text('tenant_id').notNullable();
    t.text('type').notNullable();
    t.jsonb('payload').notNullable();
    createdAt(t, knex);
    t.boolean('fanned_out').notNullable().defaultTo(false);
  });
  await knex.raw('create index webhook_events_pending_idx on webhook_events (seq) where not fanned_out');
  await knex.raw('create index webhook_events_created_idx on webhook_events (created_at)');
  await knex.schema.createTable('webhook_deliveries', (t) => {
    uuidKey(t);
    t.text('tenant_id').notNullable();
    ownerRef(t, 'endpoint_id', 'webhook_endpoints');
    t.bigInteger('event_seq').notNullable().references('webhook_events.seq').onDelete('CASCADE');
    // pending → succeeded | failed (attempts used up, or the endpoint disabled)
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable();
    // A node delivering it holds it until then; another node skips it meanwhile.
    t.timestamp('claimed_until', { useTz: true });
    t.integer('last_status_code');
    t.text('last_error');
    t.timestamp('last_attempt_at', { useTz: true });
    t.timestamp('delivered_at', { useTz: true });
    createdAt(t, knex);
    t.unique(['endpoint_id', 'event_seq']);
  });
  await knex.raw("create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending'");
  await knex.raw('create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, created_at desc)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('webhook_deliveries');
  await knex.schema.dropTableIfExists('webhook_events');
  await knex.schema.dropTableIfExists('webhook_endpoints');
}
