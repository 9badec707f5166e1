// Which identity each grant was issued for. Tokens refreshed from the grant keep carrying that
// identity; its roles and scopes are recomputed each time. Durable in the database, with a hot
// copy in the key-value store so token issuance does not query it.
import type { Knex } from 'knex';
import type { KeyValueStore } from '../store/types.ts';

const key = (grantId: string) => `gi:${grantId}`;
const HOT_TTL = 3600;

export function createGrantIdentityService(deps: { knex: Knex; store: KeyValueStore; tenantId: string }) {
  async function set(grantId: string, identityId: string): Promise<void> {
    await deps.knex('grant_identities')
      .insert({ grant_id: grantId, tenant_id: deps.tenantId, identity_id: identityId })
      .onConflict('grant_id')
      .merge(['identity_id']);
    await deps.store.set(key(grantId), identityId, HOT_TTL);
  }

  return {
    set,
    /**
     * As set, but only when the hot copy does not already say so: a grant authorized again
     * (another sign-in to the same app in the session) is not written again each time. The hot
     * copy is only ever written after the durable one.
     */
    async record(grantId: string, identityId: string): Promise<void> {
      if ((await deps.store.get(key(grantId))) === identityId) return;
      await set(grantId, identityId);
    },
    async get(grantId: string): Promise<string | undefined> {
      const hot = await deps.store.get(key(grantId));
      if (hot) return hot;
      const row: { identity_id: string } | undefined = await deps.knex('grant_identities').where({ grant_id: grantId }).first('identity_id');
      if (row) await deps.store.set(key(grantId), row.identity_id, HOT_TTL);
      return row?.identity_id;
    },
  };
}

export type GrantIdentityService = ReturnType<typeof createGrantIdentityService>;
