// Delegated administration: the roles a role's holders may assign without holding their
// permissions (an explicit list, e.g. a partner administrator hands out User and Client).
import type { Knex } from 'knex';
import { createLinkTable } from './lib/schema.ts';

export async function up(knex: Knex): Promise<void> {
  await createLinkTable(knex, 'role_assignable_roles', ['role_id', 'roles'], ['assignable_role_id', 'roles'], { tenant: true, secondSideIndex: 'role_assignable_roles_target_idx' });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('role_assignable_roles');
}
