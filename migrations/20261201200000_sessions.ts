// Session management: one record per signed-in browser or device with what it is and when it was
// last used, the grants issued in it (so ending it revokes them, and removing an identity finds the
// grants it was used for), and the idle timeout and absolute lifetime per tenant and, stricter, per
// application.
//
// user_id and identity_id carry no foreign key on purpose: the reactions to a deleted user or
// identity run after the row is gone and must still find the sessions and grants to end.
import type { Knex } from 'knex';
import { createdAt, tenantRef } from './lib/schema.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_sessions', (t) => {
    // oidc-provider's session uid: stable for the session's life (its id, the cookie value,
    // changes at every sign-in), and the `sid` Gatehouse puts in tokens.
    t.text('uid').primary();
    tenantRef(t);
    t.uuid('user_id').notNullable();
    // The identity of the last grant issued in this session (null until an application is used).
    t.uuid('identity_id');
    t.text('device_type').notNullable();
    t.text('browser');
    t.text('os');
    t.text('user_agent');
    t.text('ip');
    t.timestamp('created_at', { useTz: true }).notNullable();
    // The last password sign-in in this session: the absolute lifetime counts from here.
    t.timestamp('authenticated_at', { useTz: true }).notNullable();
    // Refreshed at most once a minute, not on every request.
    t.timestamp('last_active_at', { useTz: true }).notNullable();
    t.timestamp('ended_at', { useTz: true });
    t.text('end_reason');
    t.text('ended_by_type');
    t.text('ended_by_id');
  });
  await knex.raw('create index user_sessions_user_idx on user_sessions (tenant_id, user_id) where ended_at is null');
  await knex.raw('create index user_sessions_activity_idx on user_sessions (tenant_id, last_active_at desc, uid desc) where ended_at is null');
  await knex.raw('create index user_sessions_ended_idx on user_sessions (ended_at) where ended_at is not null');

  await knex.schema.createTable('session_grants', (t) => {
    t.text('grant_id').primary();
    tenantRef(t);
    t.text('session_uid').notNullable();
    t.uuid('user_id').notNullable();
    t.text('client_id').notNullable();
    t.uuid('identity_id');
    createdAt(t, knex);
  });
  await knex.raw('create index session_grants_session_idx on session_grants (session_uid)');
  await knex.raw('create index session_grants_identity_idx on session_grants (identity_id) where identity_id is not null');
  await knex.raw('create index session_grants_user_idx on session_grants (tenant_id, user_id)');

  await knex.schema.createTable('session_settings', (t) => {
    t.text('tenant_id').primary().references('tenants.id').onDelete('CASCADE');
    t.integer('idle_timeout_seconds').notNullable();
    t.integer('absolute_lifetime_seconds').notNullable();
    t.boolean('end_sessions_on_password_change').notNullable().defaultTo(true);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('idle_timeout_seconds > 0 and absolute_lifetime_seconds > 0', [], 'session_settings_positive_check');
  });

  await knex.schema.createTable('application_session_settings', (t) => {
    t.text('application_id').primary().references('applications.id').onDelete('CASCADE');
    tenantRef(t);
    // Null: the tenant's value applies. Only ever stricter than the tenant's (checked on write
    // and again on use: the smaller of the two wins).
    t.integer('idle_timeout_seconds');
    t.integer('absolute_lifetime_seconds');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('coalesce(idle_timeout_seconds, 1) > 0 and coalesce(absolute_lifetime_seconds, 1) > 0', [], 'application_session_settings_positive_check');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['application_session_settings', 'session_settings', 'session_grants', 'user_sessions']) {
    await knex.schema.dropTableIfExists(table);
  }
}
