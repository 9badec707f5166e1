// Identities in the OIDC flow: recording the identity chosen for each grant (the selection
// prompt is a row of interaction-policy.ts), and the authorization claims tokens carry: identity,
// roles, groups, data_scope and the audience's permissions (docs/user-guide.md, "Tokens").
import type { KoaContextWithOIDC, Configuration } from 'oidc-provider';
import { ADMIN_API_RESOURCE, type AuthorizationService, type EffectiveAuthorization } from '../services/authorization.ts';
import type { GrantIdentityService } from '../services/grant-identities.ts';
import { ACCOUNT_CLIENT_ID } from '../services/applications.ts';

export interface EligibleIdentity {
  id: string;
  kind: string;
  alias: string;
}

/**
 * Answers that several steps of one request ask for with the same arguments (the identity
 * selection check and recording the grant's identity; an access token's and an ID token's
 * claims): looked up once per request. Keyed by the request's context object, so nothing
 * outlives the request and nothing is shared between requests.
 */
export function createRequestMemo() {
  const byRequest = new WeakMap<object, Map<string, Promise<unknown>>>();
  const entries = (ctx: object) => {
    let map = byRequest.get(ctx);
    if (!map) {
      map = new Map();
      byRequest.set(ctx, map);
    }
    return map;
  };
  return {
    get<T>(ctx: object | undefined, key: string, load: () => Promise<T>): Promise<T> {
      if (!ctx) return load();
      const map = entries(ctx);
      let pending = map.get(key) as Promise<T> | undefined;
      if (!pending) {
        pending = load();
        map.set(key, pending);
      }
      return pending;
    },
    /** What this request just wrote, so its later steps see it. */
    set<T>(ctx: object, key: string, value: T): void {
      entries(ctx).set(key, Promise.resolve(value));
    },
  };
}

export type RequestMemo = ReturnType<typeof createRequestMemo>;

const eligibleKey = (userId: string, clientId: string) => `eligible:${userId}:${clientId}`;
const grantIdentityKey = (grantId: string) => `grant-identity:${grantId}`;

/**
 * The user's identities that may use the client, looked up once per request: the interaction
 * policy's identity checks (src/oidc/interaction-policy.ts) and recordGrantIdentity ask for it.
 */
export function eligibleIdentitiesOf(deps: Pick<IdentityFlowDeps, 'requestMemo' | 'eligibleIdentities'>, ctx: object, userId: string, clientId: string): Promise<EligibleIdentity[]> {
  return deps.requestMemo.get(ctx, eligibleKey(userId, clientId), () => deps.eligibleIdentities(userId, clientId));
}

/** The identity a grant is for, looked up once per request (and what the request itself recorded). */
export function grantIdentityOf(deps: Pick<IdentityFlowDeps, 'requestMemo' | 'grantIdentities'>, ctx: object | undefined, grantId: string): Promise<string | undefined> {
  return deps.requestMemo.get(ctx, grantIdentityKey(grantId), () => deps.grantIdentities.get(grantId));
}

export interface IdentityFlowDeps {
  requestMemo: RequestMemo;
  authorization: AuthorizationService;
  /**
   * The identity of the active service account whose client_id this is; undefined for every
   * other client. Read through the service accounts' cache: client credentials query nothing.
   */
  serviceAccountIdentity(clientId: string): Promise<string | undefined>;
  grantIdentities: GrantIdentityService;
  eligibleIdentities(userId: string, clientId: string): Promise<EligibleIdentity[]>;
  /** Whether this identity of this user may still use the client (cached reads only). */
  identityEligible(userId: string, identityId: string, clientId: string): Promise<boolean>;
  /** Whether the user exists and is active (cached). */
  userActive(userId: string): Promise<boolean>;
  /** Revokes a grant and every token issued from it; `ineligible` names whose grant stopped being allowed. */
  revokeGrant(grantId: string, ineligible?: { accountId: string; clientId: string }): Promise<void>;
  adminApiAudience: string;
}

/**
 * A user's token (refresh, access) of a grant: whether the identity the grant was issued for may
 * still use the client. When the application stopped accepting the identity's kind, the user left
 * its access list or the user is no longer active, the grant is revoked and every token of it
 * stops working (ASVS 5 V8.3.2). Asked on every refresh, userinfo and introspection request.
 */
export async function grantStillEligible(deps: IdentityFlowDeps, ctx: object | undefined, token: { grantId?: string; accountId?: string; clientId?: string }): Promise<boolean> {
  const { grantId, accountId, clientId } = token;
  if (!grantId || !accountId || !clientId) return true;
  let eligible: boolean;
  if (clientId === ACCOUNT_CLIENT_ID) {
    // The account pages are about the person, not an identity: an active user is enough.
    eligible = await deps.userActive(accountId);
  } else {
    const identityId = await grantIdentityOf(deps, ctx, grantId);
    eligible = identityId ? await deps.identityEligible(accountId, identityId, clientId) : (await deps.userActive(accountId)) && (await deps.eligibleIdentities(accountId, clientId)).length > 0;
  }
  if (!eligible) await deps.revokeGrant(grantId, { accountId, clientId });
  return eligible;
}

interface SelectResult {
  select_account?: { identityId?: string };
}

const resultOf = (ctx: KoaContextWithOIDC) => (ctx.oidc.result ?? {}) as SelectResult;

/**
 * Runs after oidc-provider has answered an authorization request: when it issued a code, record
 * which identity the grant is for before the response leaves, so the token request that follows
 * can find it.
 */
export function recordGrantIdentity(deps: IdentityFlowDeps) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const route = ctx.oidc?.route;
    if (route !== 'authorization' && route !== 'resume') return;
    const grant = ctx.oidc.entities.Grant;
    const code = ctx.oidc.entities.AuthorizationCode;
    const accountId = ctx.oidc.session?.accountId;
    if (!grant?.jti || !code || !accountId || !ctx.oidc.client) return;
    const grantId = grant.jti;
    const clientId = ctx.oidc.client.clientId;
    const eligible = await eligibleIdentitiesOf(deps, ctx, accountId, clientId);
    const chosen = resultOf(ctx).select_account?.identityId;
    let identityId = chosen && eligible.some((e) => e.id === chosen) ? chosen : undefined;
    // With one eligible identity there is nothing to choose: the grant's current identity
    // would be kept only if it were that one.
    if (!identityId && eligible.length === 1) identityId = eligible[0]!.id;
    if (!identityId) {
      const current = await grantIdentityOf(deps, ctx, grantId);
      identityId = current && eligible.some((e) => e.id === current) ? current : undefined;
    }
    if (identityId) {
      await deps.grantIdentities.record(grantId, identityId);
      deps.requestMemo.set(ctx, grantIdentityKey(grantId), identityId);
    }
  };
}

export function authorizationClaims(authz: EffectiveAuthorization) {
  return {
    identity: { id: authz.identity.id, kind: authz.identity.kind, alias: authz.identity.alias },
    roles: authz.roles,
    groups: authz.groups,
    data_scope: authz.dataScope,
  };
}

/** extraTokenClaims: identity, roles, groups, data_scope and the audience's permissions. */
export function createExtraTokenClaims(deps: IdentityFlowDeps): NonNullable<Configuration['extraTokenClaims']> {
  return async (ctx, token) => {
    const t = token as unknown as { kind: string; grantId?: string; clientId?: string; resourceServer?: { audience?: string } };
    const { grantId } = t;
    const identityId = t.kind === 'ClientCredentials' ? (t.clientId ? await deps.serviceAccountIdentity(t.clientId) : undefined) : grantId ? await grantIdentityOf(deps, ctx, grantId) : undefined;
    if (!identityId) return undefined;
    const authz = await deps.authorization.forIdentity(identityId);
    if (!authz) return undefined;
    const audience = t.resourceServer?.audience;
    const resource = audience === deps.adminApiAudience ? ADMIN_API_RESOURCE : audience;
    return { ...authorizationClaims(authz), permissions: deps.authorization.permissionsFor(authz, resource) };
  };
}

/** The identity claims for the ID token and userinfo (scope `identity`), by the grant they belong to. */
export async function identityClaimsForGrant(deps: Pick<IdentityFlowDeps, 'authorization' | 'grantIdentities' | 'requestMemo'>, grantId: string | undefined, ctx?: object) {
  if (!grantId) return undefined;
  const identityId = await grantIdentityOf(deps, ctx, grantId);
  const authz = identityId ? await deps.authorization.forIdentity(identityId) : undefined;
  return authz ? authorizationClaims(authz) : undefined;
}
