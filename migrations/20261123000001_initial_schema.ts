// First schema: tenants, users, applications (OIDC clients), API resources, signing keys, audit
// events, and the durable copy of oidc-provider artefacts. Every table carries tenant_id.
import type { Knex } from 'knex';
import { createdAt, createTenantTable, tenantRef, timestamps } from './lib/schema.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenants', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    createdAt(t, knex);
  });

  await createTenantTable(knex, 'users', 'uuid', (t) => {
    t.text('username').notNullable();
    t.text('email');
    t.text('name');
    t.text('password_hash');
    t.text('status').notNullable().defaultTo('active');
    timestamps(t, knex);
    t.check("status in ('active', 'inactive', 'locked')", [], 'users_status_check');
  });
  // Usernames and emails are unique per tenant regardless of case.
  await knex.raw('create unique index users_tenant_username_unique on users (tenant_id, lower(username))');
  await knex.raw('create unique index users_tenant_email_unique on users (tenant_id, lower(email)) where email is not null');

  await knex.schema.createTable('applications', (t) => {
    t.text('id').primary(); // the OIDC client_id
    tenantRef(t);
    t.text('name').notNullable();
    t.text('type').notNullable();
    // Keyed hash (HMAC-SHA-256) of the client secret; the secret itself is shown once.
    t.text('client_secret_hash');
    t.jsonb('redirect_uris').notNullable().defaultTo('[]');
    t.jsonb('post_logout_redirect_uris').notNullable().defaultTo('[]');
    t.boolean('first_party').notNullable().defaultTo(true);
    t.jsonb('metadata').notNullable().defaultTo('{}');
    timestamps(t, knex);
    t.check("type in ('web', 'spa', 'native', 'service')", [], 'applications_type_check');
  });
  await knex.raw('create index applications_tenant_idx on applications (tenant_id)');

  await createTenantTable(knex, 'api_resources', 'uuid', (t) => {
    // The RFC 8707 resource indicator: an absolute URI, unique across the issuer.
    t.text('identifier').notNullable().unique();
    t.text('name').notNullable();
    t.jsonb('scopes').notNullable().defaultTo('[]');
    t.text('access_token_format').notNullable().defaultTo('jwt');
    t.integer('access_token_ttl');
    createdAt(t, knex);
    t.check("access_token_format in ('jwt', 'opaque')", [], 'api_resources_format_check');
  });

  await knex.schema.createTable('signing_keys', (t) => {
    t.text('id').primary(); // kid
    tenantRef(t);
    t.text('alg').notNullable();
    t.text('status').notNullable().defaultTo('active');
    // Private JWK encrypted with AES-256-GCM under a key derived from GATEHOUSE_SECRET.
    t.text('private_jwk_encrypted').notNullable();
    t.jsonb('public_jwk').notNullable();
    createdAt(t, knex);
    t.timestamp('retired_at', { useTz: true });
    t.check("status in ('active', 'retired')", [], 'signing_keys_status_check');
  });

  await createTenantTable(knex, 'audit_events', 'bigserial', (t) => {
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('action').notNullable();
    t.text('result').notNullable().defaultTo('success');
    t.text('actor_type').notNullable();
    t.text('actor_id');
    t.text('target_type');
    t.text('target_id');
    t.text('ip');
    t.text('user_agent');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.check("result in ('success', 'failure')", [], 'audit_events_result_check');
  });
  await knex.raw('create index audit_events_tenant_time_idx on audit_events (tenant_id, occurred_at desc, id desc)');

  // Durable copy of oidc-provider artefacts that must survive a Redis loss (sessions, grants,
  // refresh tokens). Short-lived ones (codes, interactions) live only in the key-value store.
  await knex.schema.createTable('oidc_payloads', (t) => {
    t.text('model').notNullable();
    t.text('id').notNullable();
    tenantRef(t);
    t.jsonb('payload').notNullable();
    t.text('grant_id');
    t.text('uid');
    t.text('account_id');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    t.primary(['model', 'id']);
  });
  await knex.raw('create index oidc_payloads_grant_idx on oidc_payloads (grant_id) where grant_id is not null');
  await knex.raw('create index oidc_payloads_uid_idx on oidc_payloads (uid) where uid is not null');
  await knex.raw('create index oidc_payloads_expiry_idx on oidc_payloads (expires_at)');

  await knex('tenants').insert({ id: 'default', name: 'Default' });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['oidc_payloads', 'audit_events', 'signing_keys', 'api_resources', 'applications', 'users', 'tenants']) {
    await knex.schema.dropTableIfExists(table);
  }
}
