// SCIM externalId (RFC 7643 §3.1): the provisioning client's own identifier of a user or a group,
// kept as it was sent (caseExact) next to the resource it names; it goes with the resource.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('scim_external_ids', (t) => {
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('user_id').references('users.id').onDelete('CASCADE').unique();
    t.uuid('group_id').references('groups.id').onDelete('CASCADE').unique();
    t.text('external_id').notNullable();
    t.index(['tenant_id', 'external_id']);
  });
  await knex.raw('alter table scim_external_ids add constraint scim_external_ids_one_resource check ((user_id is null) <> (group_id is null))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('scim_external_ids');
}
