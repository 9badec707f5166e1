// The user-maintenance list, to see users with their identities and roles: in one call, for a page
// of users, what the list page shows — user id, credential state (password set, MFA enrolled,
// password expiry, lock), contact details, user type, associations (the clients and suppliers, and
// any other data-scope values, the user's identities may see), each identity with its effective
// roles and data scope, and status. The page itself, its search, filters and keyset cursor are the
// users list's.
import type { Queries } from '../queries/index.ts';
import type { AuthorizationService } from './authorization.ts';
import type { DirectoryUserService, UserListQuery } from './directory-users.ts';
import { passwordExpiresAt, type PasswordPolicyService } from './password-policy.ts';

export interface MaintenanceIdentity {
  id: string;
  kind: string;
  alias: string;
  isDefault: boolean;
  /** Effective roles: direct ∪ groups ∪ default policy. */
  roles: string[];
  /** Roles given to this identity directly. */
  directRoles: string[];
  groups: string[];
  dataScope: Record<string, string[]>;
}

export interface MaintenanceRow {
  id: string;
  username: string;
  status: 'active' | 'inactive' | 'locked';
  /** The user type: the kind of the user's default identity. */
  userType: string | null;
  contact: { name: string | null; email: string | null; phone: string | null; department: string | null };
  credentials: { passwordSet: boolean; passwordChangedAt: Date | null; passwordExpiresAt: Date | null; mfaEnrolled: boolean; lockedUntil: Date | null };
  /** Union over the identities of each data-scope key's values ("*": all), e.g. { client: [...], supplier: [...] }. */
  associations: Record<string, string[]>;
  identities: MaintenanceIdentity[];
}

function union(scopes: Record<string, string[]>[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const scope of scopes) for (const [key, values] of Object.entries(scope)) for (const v of values) (out[key] ??= new Set()).add(v);
  return Object.fromEntries(
    Object.entries(out)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, values]) => [key, values.has('*') ? ['*'] : [...values].sort()]),
  );
}

export function createUserMaintenanceService(deps: { queries: Queries; directoryUsers: Pick<DirectoryUserService, 'list'>; authorization: Pick<AuthorizationService, 'forIdentity'>; passwordPolicies: Pick<PasswordPolicyService, 'get'> }) {
  const queries = deps.queries.userMaintenance;
  return {
    async list(tenantId: string, input: UserListQuery): Promise<{ items: MaintenanceRow[]; nextCursor: string | null }> {
      const page = await deps.directoryUsers.list(tenantId, input);
      const identityIds = page.items.flatMap((u) => u.identities.map((i) => i.id));
      const [states, policy, authorizations] = await Promise.all([
        queries.credentialStates(
          tenantId,
          page.items.map((u) => u.id),
        ),
        deps.passwordPolicies.get(tenantId),
        // Through the claims cache that token issuance uses: warm after the first view.
        Promise.all(identityIds.map((id) => deps.authorization.forIdentity(id))),
      ]);
      const authzOf = new Map(identityIds.map((id, i) => [id, authorizations[i]]));
      const items: MaintenanceRow[] = [];
      for (const user of page.items) {
        const identities: MaintenanceIdentity[] = [];
        for (const identity of user.identities) {
          const authz = authzOf.get(identity.id);
          identities.push({
            id: identity.id,
            kind: identity.kind,
            alias: identity.alias,
            isDefault: identity.isDefault,
            roles: authz?.roles ?? [],
            directRoles: identity.roles.map((r) => r.name).sort(),
            groups: authz?.groups ?? [],
            dataScope: authz?.dataScope ?? {},
          });
        }
        const state = states.get(user.id);
        items.push({
          id: user.id,
          username: user.username,
          status: user.status,
          userType: identities.find((i) => i.isDefault)?.kind ?? identities[0]?.kind ?? null,
          contact: { name: user.name, email: user.email, phone: user.phone, department: user.department },
          credentials: {
            passwordSet: state?.passwordSet ?? user.hasPassword,
            passwordChangedAt: state?.passwordChangedAt ?? null,
            passwordExpiresAt: state?.passwordSet ? passwordExpiresAt(policy, state.passwordChangedAt) : null,
            mfaEnrolled: state?.mfaEnrolled ?? false,
            lockedUntil: state?.lockedUntil ?? null,
          },
          associations: union(identities.map((i) => i.dataScope)),
          identities,
        });
      }
      return { items, nextCursor: page.nextCursor };
    },
  };
}

export type UserMaintenanceService = ReturnType<typeof createUserMaintenanceService>;
