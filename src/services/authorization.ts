// Effective authorization of an identity (docs/user-guide.md, "The identity model"):
//   roles       = direct roles ∪ roles of its groups ∪ the tenant's default-policy roles
//   permissions = the union of those roles' permissions, per API resource
// Computed through a per-node cache that every node drops at once when the directory changes,
// so issuing a token does not query five tables each time.
import type { Queries } from '../queries/index.ts';
import type { EffectiveAuthorization, IdentityRef } from '../queries/authorization.ts';
import type { KeyValueStore } from '../store/types.ts';
import { createInvalidatingCache } from './cache.ts';

export type { EffectiveAuthorization, IdentityRef };

/** Resource under which Gatehouse's own admin-API permissions are stored. */
export const ADMIN_API_RESOURCE = 'urn:gatehouse:api';

export async function createAuthorizationService(deps: { queries: Queries; store: KeyValueStore }) {
  const cache = await createInvalidatingCache<EffectiveAuthorization>({ store: deps.store, name: 'authz', load: (id) => deps.queries.authorization.effective(id), ttlMs: 5 * 60_000 });
  return {
    cache,
    forIdentity: (identityId: string) => cache.get(identityId),
    /**
     * Any change to roles, groups, memberships, scopes or the default policy calls this: a
     * change can touch many identities, and dropping everything is cheap and always correct.
     */
    invalidateAll: () => cache.invalidate('*'),
    /** Permissions for one token audience (the admin API's resource maps to ADMIN_API_RESOURCE). */
    permissionsFor(authz: EffectiveAuthorization, resource: string | undefined): string[] {
      return resource ? (authz.permissionsByResource[resource] ?? []) : [];
    },
  };
}

export type AuthorizationService = Awaited<ReturnType<typeof createAuthorizationService>>;
