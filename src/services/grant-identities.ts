// Which identity each grant was issued for. Tokens refreshed from the grant keep carrying that
// identity; its roles and scopes are recomputed each time. Durable in the database, with a hot
// copy in the key-value store so token issuance does not query it.
import type { Queries } from '../queries/index.ts';
import type { KeyValueStore } from '../store/types.ts';

const key = (grantId: string) => `gi:${grantId}`;
const HOT_TTL = 3600;

export function createGrantIdentityService(deps: { queries: Pick<Queries, 'grantIdentities'>; store: KeyValueStore; tenantId: string }) {
  // Hot copies read by someone else in the same round trip as the grant (the storage adapter reads
  // the grant and its identity together), handed to the get() that follows: taken once, by grant
  // id, and dropped at the next turn of the event loop if nobody took them, so an entry only ever
  // serves the burst of work that read it. A set() of the grant drops its entry.
  const offered = new Map<string, string>();
  let clearing = false;

  async function set(grantId: string, identityId: string): Promise<void> {
    offered.delete(grantId);
    await deps.queries.grantIdentities.upsert(deps.tenantId, grantId, identityId);
    await deps.store.set(key(grantId), identityId, HOT_TTL);
  }

  return {
    set,
    /** The store key of a grant's hot copy, for a reader that fetches it along with the grant. */
    hotKey: key,
    /** A hot copy just read along with its grant, for the get() that follows (see above). */
    offer(grantId: string, identityId: string): void {
      offered.set(grantId, identityId);
      if (clearing) return;
      clearing = true;
      setImmediate(() => {
        clearing = false;
        offered.clear();
      });
    },
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
      const handed = offered.get(grantId);
      if (handed !== undefined) {
        offered.delete(grantId);
        return handed;
      }
      const hot = await deps.store.get(key(grantId));
      if (hot) return hot;
      const identityId = await deps.queries.grantIdentities.identityOf(grantId);
      if (identityId) await deps.store.set(key(grantId), identityId, HOT_TTL);
      return identityId;
    },
  };
}

export type GrantIdentityService = ReturnType<typeof createGrantIdentityService>;
