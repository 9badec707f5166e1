// What ending a session removes from oidc-provider's storage, outside any request: the session
// itself (every id it had: its id changes at each sign-in, its uid does not) and grants with all
// their tokens, in the store and in the durable PostgreSQL copy. Works on the same keys and rows
// as the adapter, without going through it, so no session check runs while a session is ended.
import type { OidcPayloadQueries } from '../queries/oidc-payloads.ts';
import type { SessionArtefacts } from '../services/sessions.ts';
import type { KeyValueStore } from '../store/types.ts';
import { consumedKey, payloadKey, revokeGrant, sessionUidKey } from './adapter.ts';

export function createSessionArtefacts(deps: { store: KeyValueStore; payloads: OidcPayloadQueries }): SessionArtefacts {
  return {
    async destroySession(uid) {
      const hotId = await deps.store.get(sessionUidKey(uid));
      const ids = new Set([...(hotId ? [hotId] : []), ...(await deps.payloads.idsByUid('Session', uid))]);
      const keys = [...ids].flatMap((id) => [payloadKey('Session', id), consumedKey('Session', id)]);
      // PostgreSQL first, as the adapter does (see revokeGrant in adapter.ts).
      await deps.payloads.destroyByUid('Session', uid);
      await deps.store.del(sessionUidKey(uid), ...keys);
    },
    revokeGrant: (grantId) => revokeGrant(deps, grantId),
    grantIdsOfAccount: (tenantId, accountId) => deps.payloads.idsByAccount('Grant', tenantId, accountId),
    deleteExpired: () => deps.payloads.deleteExpired(),
  };
}
