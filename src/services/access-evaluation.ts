// Access decisions for other modules, following the OpenID AuthZEN Authorization API 1.0
// (§6 Access Evaluation, §7 Access Evaluations). A decision uses the same effective
// authorization as the tokens (direct roles ∪ group roles ∪ default-policy roles, their
// permissions, the identity's data scope), read through the same per-node cache that every node
// drops at once on a directory change, so a decision never lags behind a role change.
//
//   subject   {type: 'identity' | 'user' | 'service_account', id}; a user is judged through its
//             default identity; a deactivated, locked or deleted account is denied.
//   action    {name: a permission, properties?: {resource?: an API resource identifier}}; without
//             `resource` the permission counts on any API resource the subject holds it for.
//   resource  {type, id?, properties?}: every property is a data-scope key and its value (a
//             string or a list of strings) the row's value(s); each must be covered by the
//             subject's scope for that key (`*` covers every value). A key the subject holds no
//             scope for covers nothing: the same rows a resource server filtering by the token's
//             data scope would hide.
import type { AuthorizationService, EffectiveAuthorization } from './authorization.ts';
import type { ServiceAccountService } from './service-accounts.ts';
import type { UserService } from './users.ts';

export interface AccessSubject {
  type: string;
  id: string;
  properties?: Record<string, unknown>;
}
export interface AccessAction {
  name: string;
  properties?: Record<string, unknown>;
}
export interface AccessResource {
  type: string;
  id?: string;
  properties?: Record<string, unknown>;
}
export interface AccessRequest {
  subject: AccessSubject;
  action: AccessAction;
  resource: AccessResource;
  context?: Record<string, unknown>;
}

/** Why a request was denied: a stable code and a sentence for the administrator (AuthZEN §6.2 `reason_admin`). */
export type DenialCode = 'subject_not_found' | 'subject_inactive' | 'permission_missing' | 'data_scope_not_covered';

export interface AccessDecision {
  decision: boolean;
  context?: { code: DenialCode; reason_admin: { en: string }; key?: string };
}

export const SUBJECT_TYPES = ['identity', 'user', 'service_account'] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function deny(code: DenialCode, en: string, key?: string): AccessDecision {
  return { decision: false, context: { code, reason_admin: { en }, ...(key === undefined ? {} : { key }) } };
}

export function createAccessEvaluationService(deps: { tenantId: string; authorization: Pick<AuthorizationService, 'forIdentity'>; users: Pick<UserService, 'findForOidc'>; serviceAccounts: Pick<ServiceAccountService, 'findForOidc'> }) {
  /** The subject's identity and whether its account may act at all. */
  async function resolveSubject(subject: AccessSubject): Promise<EffectiveAuthorization | AccessDecision> {
    // Ids are uuids; anything else names no subject (and must not reach SQL as a uuid).
    if (!UUID.test(subject.id)) return deny('subject_not_found', `no ${subject.type} with this id`);
    let identityId: string | null | undefined;
    if (subject.type === 'user') {
      const user = await deps.users.findForOidc(subject.id);
      if (!user || user.tenantId !== deps.tenantId) return deny('subject_not_found', 'no user with this id');
      if (user.status !== 'active') return deny('subject_inactive', `the user is ${user.status}`);
      identityId = user.defaultIdentityId;
      if (!identityId) return deny('subject_not_found', 'the user has no default identity');
    } else if (subject.type === 'service_account') {
      const account = await deps.serviceAccounts.findForOidc(subject.id);
      // findForOidc finds only active accounts of this tenant.
      if (!account?.identityId) return deny('subject_not_found', 'no active service account with this id');
      identityId = account.identityId;
    } else {
      identityId = subject.id;
    }
    const authz = await deps.authorization.forIdentity(identityId);
    if (!authz || authz.tenantId !== deps.tenantId) return deny('subject_not_found', 'no identity with this id');
    if (subject.type === 'identity') {
      const active = authz.ownerType === 'user' ? (await deps.users.findForOidc(authz.ownerId))?.status === 'active' : (await deps.serviceAccounts.findForOidc(authz.ownerId)) !== undefined;
      if (!active) return deny('subject_inactive', 'the account of this identity is not active');
    }
    return authz;
  }

  function holdsPermission(authz: EffectiveAuthorization, action: AccessAction): boolean {
    const resource = action.properties?.resource;
    if (typeof resource === 'string') return authz.permissionsByResource[resource]?.includes(action.name) ?? false;
    for (const permissions of Object.values(authz.permissionsByResource)) if (permissions.includes(action.name)) return true;
    return false;
  }

  /** The first property the subject's data scope does not cover, if any. */
  function uncoveredKey(authz: EffectiveAuthorization, properties: Record<string, unknown> | undefined): string | undefined {
    if (!properties) return undefined;
    for (const [key, value] of Object.entries(properties)) {
      const held = authz.dataScope[key];
      if (!held) return key;
      if (held.includes('*')) continue;
      const values = Array.isArray(value) ? value : [value];
      if (!values.every((v) => typeof v === 'string' && held.includes(v))) return key;
    }
    return undefined;
  }

  async function evaluate(request: AccessRequest): Promise<AccessDecision> {
    const subject = await resolveSubject(request.subject);
    if ('decision' in subject) return subject;
    if (!holdsPermission(subject, request.action)) return deny('permission_missing', `the subject does not hold the permission "${request.action.name}"`);
    const key = uncoveredKey(subject, request.resource.properties);
    if (key !== undefined) return deny('data_scope_not_covered', `the subject's data scope does not cover the resource's "${key}"`, key);
    return { decision: true };
  }

  return { evaluate };
}

export type AccessEvaluationService = ReturnType<typeof createAccessEvaluationService>;
