// Which identity each grant was issued for (`grant_identities`).
import type { Knex } from 'knex';

export function createGrantIdentityQueries(knex: Knex) {
  return {
    async upsert(tenantId: string, grantId: string, identityId: string): Promise<void> {
      await knex('grant_identities').insert({ grant_id: grantId, tenant_id: tenantId, identity_id: identityId }).onConflict('grant_id').merge(['identity_id']);
    },
    async identityOf(grantId: string): Promise<string | undefined> {
      const row: { identity_id: string } | undefined = await knex('grant_identities').where({ grant_id: grantId }).first('identity_id');
      return row?.identity_id;
    },
  };
}
