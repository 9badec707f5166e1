import type { Knex } from 'knex';

export interface SigningKeyRow {
  id: string;
  tenant_id: string;
  alg: string;
  status: 'active' | 'retired';
  private_jwk_encrypted: string;
  public_jwk: Record<string, unknown> | string;
  created_at: Date | string;
}

export function createSigningKeyQueries(knex: Knex) {
  return {
    async listActive(tenantId: string, trx: Knex = knex): Promise<SigningKeyRow[]> {
      // Newest first: oidc-provider signs with the first key of a matching algorithm.
      return trx<SigningKeyRow>('signing_keys').where({ tenant_id: tenantId, status: 'active' }).orderBy('created_at', 'desc');
    },
    async insert(row: Omit<SigningKeyRow, 'created_at' | 'status'>, trx: Knex = knex): Promise<void> {
      await trx('signing_keys').insert({ ...row, public_jwk: JSON.stringify(row.public_jwk), status: 'active' });
    },
  };
}
