// The Gatehouse groups an upstream identity provider may manage: on each sign-in through the
// provider, membership of these groups (and only these) follows the mapped groups claim.
import type { Knex } from 'knex';
import { createLinkTable } from './lib/schema.ts';

export async function up(knex: Knex): Promise<void> {
  await createLinkTable(knex, 'identity_provider_groups', ['provider_id', 'identity_providers'], ['group_id', 'groups'], { tenant: false, secondSideIndex: 'identity_provider_groups_group_idx' });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('identity_provider_groups');
}
