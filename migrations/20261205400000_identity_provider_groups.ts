// The Gatehouse groups an upstream identity provider may manage: on each sign-in through the
// provider, membership of these groups (and only these) follows the mapped groups claim.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('identity_provider_groups', (t) => {
    t.uuid('provider_id').notNullable().references('identity_providers.id').onDelete('CASCADE');
    t.uuid('group_id').notNullable().references('groups.id').onDelete('CASCADE');
    t.primary(['provider_id', 'group_id']);
  });
  await knex.raw('create index identity_provider_groups_group_idx on identity_provider_groups (group_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('identity_provider_groups');
}
