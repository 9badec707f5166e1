// The identity model: identities (personas) of users and service accounts, roles with
// permissions, groups, data scopes, the default account policy, who may use which application,
// service accounts and their access keys, and the identity chosen for each grant.
import type { Knex } from 'knex';

const tenantRef = (t: Knex.CreateTableBuilder) => t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
const timestamps = (t: Knex.CreateTableBuilder, knex: Knex) => {
  t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.text('phone');
    t.text('department');
    t.uuid('default_identity_id');
  });

  await knex.schema.createTable('user_status_history', (t) => {
    t.bigIncrements('id').primary();
    tenantRef(t);
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('from_status');
    t.text('to_status').notNullable();
    t.text('reason');
    t.text('actor_id');
    t.timestamp('changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('create index user_status_history_user_idx on user_status_history (user_id, changed_at)');

  await knex.schema.createTable('identity_kinds', (t) => {
    tenantRef(t);
    t.text('kind').notNullable();
    t.text('label').notNullable();
    t.boolean('builtin').notNullable().defaultTo(false);
    t.primary(['tenant_id', 'kind']);
  });

  await knex.schema.createTable('service_accounts', (t) => {
    t.uuid('id').primary();
    tenantRef(t);
    t.text('name').notNullable();
    t.text('description');
    t.text('status').notNullable().defaultTo('active');
    timestamps(t, knex);
    t.check("status in ('active', 'inactive')", [], 'service_accounts_status_check');
  });
  await knex.raw('create unique index service_accounts_tenant_name_unique on service_accounts (tenant_id, lower(name))');

  // An identity belongs to a user or to a service account (exactly one of the two).
  await knex.schema.createTable('identities', (t) => {
    t.uuid('id').primary();
    tenantRef(t);
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

  await knex.schema.createTable('roles', (t) => {
    t.uuid('id').primary();
    tenantRef(t);
    t.text('name').notNullable();
    t.text('description');
    t.boolean('system').notNullable().defaultTo(false);
    timestamps(t, knex);
  });
  await knex.raw('create unique index roles_tenant_name_unique on roles (tenant_id, lower(name))');

  // A permission is a name in the catalog of one API resource (the admin API's identifier for
  // Gatehouse's own), so the same name in two resources never collides.
  await knex.schema.createTable('role_permissions', (t) => {
    tenantRef(t);
    t.uuid('role_id').notNullable().references('roles.id').onDelete('CASCADE');
    t.text('resource').notNullable();
    t.text('permission').notNullable();
    t.primary(['role_id', 'resource', 'permission']);
  });

  await knex.schema.createTable('identity_roles', (t) => {
    tenantRef(t);
    t.uuid('identity_id').notNullable().references('identities.id').onDelete('CASCADE');
    t.uuid('role_id').notNullable().references('roles.id').onDelete('CASCADE');
    t.primary(['identity_id', 'role_id']);
  });
  await knex.raw('create index identity_roles_role_idx on identity_roles (role_id)');

  await knex.schema.createTable('groups', (t) => {
    t.uuid('id').primary();
    tenantRef(t);
    t.text('name').notNullable();
    t.text('type').notNullable().defaultTo('team');
    t.text('description');
    timestamps(t, knex);
    t.check("type in ('department', 'team')", [], 'groups_type_check');
  });
  await knex.raw('create unique index groups_tenant_name_unique on groups (tenant_id, lower(name))');

  await knex.schema.createTable('group_members', (t) => {
    tenantRef(t);
    t.uuid('group_id').notNullable().references('groups.id').onDelete('CASCADE');
    t.uuid('identity_id').notNullable().references('identities.id').onDelete('CASCADE');
    t.primary(['group_id', 'identity_id']);
  });
  await knex.raw('create index group_members_identity_idx on group_members (identity_id)');

  await knex.schema.createTable('group_roles', (t) => {
    tenantRef(t);
    t.uuid('group_id').notNullable().references('groups.id').onDelete('CASCADE');
    t.uuid('role_id').notNullable().references('roles.id').onDelete('CASCADE');
    t.primary(['group_id', 'role_id']);
  });

  // Default account policy: roles every identity of the tenant gets, or only those of one kind.
  await knex.schema.createTable('default_policy_roles', (t) => {
    t.bigIncrements('id').primary();
    tenantRef(t);
    t.uuid('role_id').notNullable().references('roles.id').onDelete('CASCADE');
    t.text('identity_kind');
  });
  await knex.raw("create unique index default_policy_roles_unique on default_policy_roles (tenant_id, role_id, coalesce(identity_kind, ''))");

  await knex.schema.createTable('data_scope_keys', (t) => {
    tenantRef(t);
    t.text('key').notNullable();
    t.text('description');
    t.primary(['tenant_id', 'key']);
  });

  await knex.schema.createTable('identity_data_scopes', (t) => {
    tenantRef(t);
    t.uuid('identity_id').notNullable().references('identities.id').onDelete('CASCADE');
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
  await knex.schema.createTable('application_access_rules', (t) => {
    tenantRef(t);
    t.text('application_id').notNullable().references('applications.id').onDelete('CASCADE');
    t.text('subject_type').notNullable();
    t.text('subject_id').notNullable();
    t.primary(['application_id', 'subject_type', 'subject_id']);
    t.check("subject_type in ('user', 'group', 'identity_kind')", [], 'application_access_rules_type_check');
  });

  await knex.schema.createTable('access_keys', (t) => {
    t.uuid('id').primary();
    tenantRef(t);
    t.uuid('service_account_id').notNullable().references('service_accounts.id').onDelete('CASCADE');
    t.text('prefix').notNullable();
    t.text('key_hash').notNullable().unique();
    t.text('description');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });
  await knex.raw('create index access_keys_account_idx on access_keys (service_account_id)');

  // The identity a grant was issued for: refreshed tokens keep carrying it.
  await knex.schema.createTable('grant_identities', (t) => {
    t.text('grant_id').primary();
    tenantRef(t);
    t.uuid('identity_id').notNullable().references('identities.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
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
