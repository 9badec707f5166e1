// Who may use which application, and so which applications a user can see.
// An identity of a user is eligible for an application when
//   1. its kind is one the application accepts (any kind, when accepted_identity_kinds is null), and
//   2. the application is open to everyone, or (access_mode 'restricted') an access rule names
//      the user, a group the identity is a member of, or the identity's kind.
// Both entry points read a fixed number of queries, however many applications and rules exist,
// and decide with the same function, so the sign-in step and /me/applications cannot disagree.
import type { Queries } from '../queries/index.ts';
import { type AccessPolicy, type AccessRuleRow, type ApplicationType, type IdentityWithGroups } from '../queries/applications.ts';

export interface EligibleIdentity {
  id: string;
  kind: string;
  alias: string;
}

export interface UserApplication {
  clientId: string;
  name: string;
  type: ApplicationType;
  identities: EligibleIdentity[];
}

/** The access rules of one application that name this user, their groups or their kinds. */
interface MatchingRules {
  user: boolean;
  groups: Set<string>;
  kinds: Set<string>;
}

const NO_RULES: MatchingRules = { user: false, groups: new Set(), kinds: new Set() };

function eligibleAmong(policy: AccessPolicy, identities: IdentityWithGroups[], rules: MatchingRules): EligibleIdentity[] {
  const accepted = policy.acceptedIdentityKinds ? new Set(policy.acceptedIdentityKinds) : undefined;
  return identities
    .filter((identity) => !accepted || accepted.has(identity.kind))
    .filter((identity) => policy.accessMode === 'everyone' || rules.user || rules.kinds.has(identity.kind) || identity.groups.some((g) => rules.groups.has(g)))
    .map(({ id, kind, alias }) => ({ id, kind, alias }));
}

function groupRules(rows: AccessRuleRow[]): Map<string, MatchingRules> {
  const byApp = new Map<string, MatchingRules>();
  for (const row of rows) {
    let rules = byApp.get(row.application_id);
    if (!rules) byApp.set(row.application_id, (rules = { user: false, groups: new Set(), kinds: new Set() }));
    if (row.subject_type === 'user') rules.user = true;
    else if (row.subject_type === 'group') rules.groups.add(row.subject_id);
    else rules.kinds.add(row.subject_id);
  }
  return byApp;
}

const subjectOf = (userId: string, identities: IdentityWithGroups[]) => ({
  userId,
  groupIds: [...new Set(identities.flatMap((i) => i.groups))],
  kinds: [...new Set(identities.map((i) => i.kind))],
});

/** What identityEligible reads, each through its per-node cache. */
export interface EligibilityReaders {
  application(clientId: string): Promise<{ type: ApplicationType; acceptedIdentityKinds: string[] | null; accessMode: 'everyone' | 'restricted' } | undefined>;
  accessRules(clientId: string): Promise<{ users: string[]; groups: string[]; identityKinds: string[] }>;
  authorization(identityId: string): Promise<{ identity: { kind: string }; ownerType: 'user' | 'service'; ownerId: string; groupIds: string[] } | undefined>;
  userStatus(userId: string): Promise<string | undefined>;
}

export function createAppAccessService(deps: { queries: Queries; tenantId: string; readers?: EligibilityReaders }) {
  const { tenantId } = deps;
  const queries = deps.queries.applications;

  return {
    /**
     * Whether this identity of this user may still use the application: the user is active, the
     * identity is theirs, of a kind the application accepts and (restricted) listed by a rule.
     * The same decision as eligibleIdentities, from per-node caches only, so it is cheap enough
     * for every refresh, userinfo and introspection request (ASVS 5 V8.3.2).
     */
    async identityEligible(userId: string, identityId: string, clientId: string): Promise<boolean> {
      const readers = deps.readers;
      if (!readers) throw new Error('identityEligible needs the cached readers');
      const [app, authz, status] = await Promise.all([readers.application(clientId), readers.authorization(identityId), readers.userStatus(userId)]);
      if (!app || app.type === 'service' || !authz || status !== 'active') return false;
      if (authz.ownerType !== 'user' || authz.ownerId !== userId) return false;
      const kind = authz.identity.kind;
      if (app.acceptedIdentityKinds && !app.acceptedIdentityKinds.includes(kind)) return false;
      if (app.accessMode === 'everyone') return true;
      const rules = await readers.accessRules(clientId);
      return rules.users.includes(userId) || rules.identityKinds.includes(kind) || authz.groupIds.some((g) => rules.groups.includes(g));
    },
    /** The user's identities that may use the application (none for an unknown application). */
    async eligibleIdentities(userId: string, clientId: string): Promise<EligibleIdentity[]> {
      const [policy, identities] = await Promise.all([queries.findAccessPolicy(tenantId, clientId), queries.identitiesWithGroups(tenantId, userId)]);
      if (!policy || identities.length === 0) return [];
      if (policy.accessMode === 'everyone') return eligibleAmong(policy, identities, NO_RULES);
      const rows = await queries.accessRulesMatching(tenantId, subjectOf(userId, identities), [policy.id]);
      return eligibleAmong(policy, identities, groupRules(rows).get(policy.id) ?? NO_RULES);
    },

    /** The applications the user may sign in to, by name, each with the identities that qualify. */
    async applicationsForUser(userId: string): Promise<UserApplication[]> {
      const [policies, identities] = await Promise.all([queries.listUserFacingAccessPolicies(tenantId), queries.identitiesWithGroups(tenantId, userId)]);
      if (identities.length === 0) return [];
      const restricted = policies.filter((p) => p.accessMode === 'restricted').map((p) => p.id);
      const rules = restricted.length ? groupRules(await queries.accessRulesMatching(tenantId, subjectOf(userId, identities), restricted)) : new Map<string, MatchingRules>();
      const result: UserApplication[] = [];
      for (const policy of policies) {
        const eligible = eligibleAmong(policy, identities, rules.get(policy.id) ?? NO_RULES);
        if (eligible.length) result.push({ clientId: policy.id, name: policy.name, type: policy.type, identities: eligible });
      }
      return result;
    },
  };
}

export type AppAccessService = ReturnType<typeof createAppAccessService>;
