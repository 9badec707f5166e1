// Data for the identity model, separate from the schema change: built-in identity kinds, the
// seeded system roles, and a default identity for every user that existed before.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  const tenants: { id: string }[] = await knex('tenants').select('id');
  for (const { id: tenantId } of tenants) {
    await knex('identity_kinds')
      .insert([
        { tenant_id: tenantId, kind: 'internal', label: 'Internal user', builtin: true },
        { tenant_id: tenantId, kind: 'client', label: 'Client', builtin: true },
        { tenant_id: tenantId, kind: 'supplier', label: 'Supplier', builtin: true },
        { tenant_id: tenantId, kind: 'service', label: 'Service', builtin: true },
      ])
      .onConflict(['tenant_id', 'kind'])
      .ignore();
    const users: { id: string; username: string }[] = await knex('users').where({ tenant_id: tenantId }).select('id', 'username');
    for (const user of users) {
      const has = await knex('identities').where({ user_id: user.id }).first();
      if (has) continue;
      const identityId = randomUUID();
      await knex('identities').insert({ id: identityId, tenant_id: tenantId, user_id: user.id, kind: 'internal', alias: user.username });
      await knex('users').where({ id: user.id }).update({ default_identity_id: identityId });
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex('identity_kinds').where({ builtin: true }).delete();
}
