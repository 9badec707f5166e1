// The identity model: identities (personas) of users and service accounts, roles with
// permissions, groups, data scopes, the default account policy, who may use which application,
// service accounts and their access keys, and the identity chosen for each grant.
import type { Knex } from 'knex';
import { createdAt, createLinkTable, createTenantTable, ownerRef, tenantRef, timestamps } from './lib/schema.ts';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.text('phone');
    t.text('department');
    t.uuid('default_identity_id');
  });

  await createTenantTable(knex, 'user_status_history', 'bigserial', (t) => {
    ownerRef(t, 'user_id', 'users');
    t.text('from_status');
    t.text('to_status').notNullable();
    t.text('reason');
    t.text('actor_id');
    t.timestamp('changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('create index user_status_history_user_idx on user_status_history (user_id, changed_at)');

  await createTenantTable(knex, 'identity_kinds', 'none', (t) => {
    t.text('kind').notNullable();
    t.text('label').notNullable();
    t.boolean('builtin').notNullable().defaultTo(false);
    t.primary(['tenant_id', 'kind']);
  });

  await createTenantTable(knex, 'service_accounts', 'uuid', (t) => {
    t.text('name').notNullable();
    t.text('description');
    t.text('status').notNullable().defaultTo('active');
    timestamps(t, knex);
    t.check("status in ('active', 'inactive')", [], 'service_accounts_status_check');
  });
  await knex.raw('create unique index service_accounts_tenant_name_unique on service_accounts (tenant_id, lower(name))');

  // An identity belongs to a user or to a service account (exactly one of the two).
  await createTenantTable(knex, 'identities', 'uuid', (t) => {
    t.uuid('user_id').references('users.id').onDelete('CASCADE');
    t.uuid('service_account_id').references('service_accounts.id').onDelete('CASCADE');
    t.text('kind').notNullable();
    t.text('alias').notNullable();
    timestamps(t, knex);
    t.check('(user_id is null) <> (service_account_id is null)', [], 'identities_owner_check');
  });
  await knex.raw('create unique index identities_user_kind_alias_unique on identities (user_id, kind, lower(alias)) where user_id is not null');
  await knex.raw('create unique index identities_service_account_unique on identities (service_account_id) where service_account_id is not null');
  await knex.raw('create index identities_tenant_kind_idx on identities (tenant_id, kind)');

  await createTenantTable(knex, 'roles', 'uuid', (t) => {
    t.text('name').notNullable();
    t.text('description');
    t.boolean('system').notNullable().defaultTo(false);
    timestamps(t, knex);
  });
  await knex.raw('create unique index roles_tenant_name_unique on roles (tenant_id, lower(name))');

  // A permission is a name in the catalog of one API resource (the admin API's identifier for
  // Gatehouse's own), so the same name in two resources never collides.
  await createTenantTable(knex, 'role_permissions', 'none', (t) => {
    ownerRef(t, 'role_id', 'roles');
    t.text('resource').notNullable();
    t.text('permission').notNullable();
    t.primary(['role_id', 'resource', 'permission']);
  });

  await createLinkTable(knex, 'identity_roles', ['identity_id', 'identities'], ['role_id', 'roles'], { tenant: true, secondSideIndex: 'identity_roles_role_idx' });

  await createTenantTable(knex, 'groups', 'uuid', (t) => {
    t.text('name').notNullable();
    t.text('type').notNullable().defaultTo('team');
    t.text('description');
    timestamps(t, knex);
    t.check("type in ('department', 'team')", [], 'groups_type_check');
  });
  await knex.raw('create unique index groups_tenant_name_unique on groups (tenant_id, lower(name))');

  await createLinkTable(knex, 'group_members', ['group_id', 'groups'], ['identity_id', 'identities'], { tenant: true, secondSideIndex: 'group_members_identity_idx' });
  await createLinkTable(knex, 'group_roles', ['group_id', 'groups'], ['role_id', 'roles'], { tenant: true });

  // Default account policy: roles every identity of the tenant gets, or only those of one kind.
  await createTenantTable(knex, 'default_policy_roles', 'bigserial', (t) => {
    ownerRef(t, 'role_id', 'roles');
    t.text('identity_kind');
  });
  await knex.raw("create unique index default_policy_roles_unique on default_policy_roles (tenant_id, role_id, coalesce(identity_kind, ''))");

  await createTenantTable(knex, 'data_scope_keys', 'none', (t) => {
    t.text('key').notNullable();
    t.text('description');
    t.primary(['tenant_id', 'key']);
  });

  await createTenantTable(knex, 'identity_data_scopes', 'none', (t) => {
    ownerRef(t, 'identity_id', 'identities');
    t.text('key').notNullable();
    t.jsonb('values').notNullable();
    t.primary(['identity_id', 'key']);
  });

  // Who may use an application: accepted identity kinds (null = any) and, when access_mode is
  // 'restricted', the listed users, groups and identity kinds.
  await knex.schema.alterTable('applications', (t) => {
    t.jsonb('accepted_identity_kinds');
    t.text('access_mode').notNullable().defaultTo('everyone');
  });
  await createTenantTable(knex, 'application_access_rules', 'none', (t) => {
    ownerRef(t, 'application_id', 'applications', 'text');
    t.text('subject_type').notNullable();
    t.text('subject_id').notNullable();
    t.primary(['application_id', 'subject_type', 'subject_id']);
    t.check("subject_type in ('user', 'group', 'identity_kind')", [], 'application_access_rules_type_check');
  });

  await createTenantTable(knex, 'access_keys', 'uuid', (t) => {
    ownerRef(t, 'service_account_id', 'service_accounts');
    t.text('prefix').notNullable();
    t.text('key_hash').notNullable().unique();
    t.text('description');
    createdAt(t, knex);
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });
  await knex.raw('create index access_keys_account_idx on access_keys (service_account_id)');

  // The identity a grant was issued for: refreshed tokens keep carrying it.
  await knex.schema.createTable('grant_identities', (t) => {
    t.text('grant_id').primary();
    tenantRef(t);
    ownerRef(t, 'identity_id', 'identities');
    createdAt(t, knex);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'grant_identities',
    'access_keys',
    'application_access_rules',
    'identity_data_scopes',
    'data_scope_keys',
    'default_policy_roles',
    'group_roles',
    'group_members',
    'groups',
    'identity_roles',
    'role_permissions',
    'roles',
    'identities',
    'service_accounts',
    'identity_kinds',
    'user_status_history',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.schema.alterTable('applications', (t) => {
    t.dropColumn('accepted_identity_kinds');
    t.dropColumn('access_mode');
  });
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('phone');
    t.dropColumn('department');
    t.dropColumn('default_identity_id');
  });
}
