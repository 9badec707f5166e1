// Delegated administration: the roles a role's holders may assign without holding their
// permissions (an explicit list, e.g. a partner administrator hands out User and Client).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('role_assignable_roles', (t) => {
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('role_id').notNullable().references('roles.id').onDelete('CASCADE');
    t.uuid('assignable_role_id').notNullable().references('roles.id').onDelete('CASCADE');
    t.primary(['role_id', 'assignable_role_id']);
  });
  await knex.raw('create index role_assignable_roles_target_idx on role_assignable_roles (assignable_role_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('role_assignable_roles');
}
