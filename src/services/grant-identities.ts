// Which identity each grant was issued for. Tokens refreshed from the grant keep carrying that
// identity; its roles and scopes are recomputed each time. Durable in the database, with a hot
// copy in the key-value store so token issuance does not query it.
import type { Queries } from '../queries/index.ts';
import type { KeyValueStore } from '../store/types.ts';

const key = (grantId: string) => `gi:${grantId}`;
const HOT_TTL = 3600;

export function createGrantIdentityService(deps: { queries: Pick<Queries, 'grantIdentities'>; store: KeyValueStore; tenantId: string }) {
  async function set(grantId: string, identityId: string): Promise<void> {
    await deps.queries.grantIdentities.upsert(deps.tenantId, grantId, identityId);
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
      const identityId = await deps.queries.grantIdentities.identityOf(grantId);
      if (identityId) await deps.store.set(key(grantId), identityId, HOT_TTL);
      return identityId;
    },
  };
}

export type GrantIdentityService = ReturnType<typeof createGrantIdentityService>;
