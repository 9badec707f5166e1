// Upstream OpenID Connect providers users may sign in through, which of them each application
// offers on its sign-in page, and the links between upstream accounts and Gatehouse users.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('identity_providers', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    // Short name used in URLs and on buttons' ids (e.g. "google").
    t.text('slug').notNullable();
    t.text('name').notNullable();
    // 'oidc': discovery + ID token; 'github': OAuth 2.0 with the GitHub user API.
    t.text('protocol').notNullable().defaultTo('oidc');
    t.text('issuer').notNullable();
    t.text('client_id').notNullable();
    // AES-256-GCM under the key derived from GATEHOUSE_SECRET (services/secrets.ts).
    t.text('client_secret_encrypted');
    t.jsonb('scopes').notNullable();
    t.jsonb('claim_mapping').notNullable();
    t.text('identity_kind').notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['tenant_id', 'slug']);
  });
  await knex.schema.createTable('identity_provider_roles', (t) => {
    t.uuid('provider_id').notNullable().references('identity_providers.id').onDelete('CASCADE');
    t.uuid('role_id').notNullable().references('roles.id').onDelete('CASCADE');
    t.primary(['provider_id', 'role_id']);
  });
  await knex.schema.createTable('application_identity_providers', (t) => {
    t.text('application_id').notNullable().references('applications.id').onDelete('CASCADE');
    t.uuid('provider_id').notNullable().references('identity_providers.id').onDelete('CASCADE');
    t.integer('position').notNullable().defaultTo(0);
    t.primary(['application_id', 'provider_id']);
  });
  await knex.schema.createTable('federated_links', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('provider_id').notNullable().references('identity_providers.id').onDelete('CASCADE');
    // The upstream's `sub` (OIDC Core §2: unique per issuer, never reassigned).
    t.text('subject').notNullable();
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('email');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.unique(['provider_id', 'subject']);
    t.index(['user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('federated_links');
  await knex.schema.dropTableIfExists('application_identity_providers');
  await knex.schema.dropTableIfExists('identity_provider_roles');
  await knex.schema.dropTableIfExists('identity_providers');
}
