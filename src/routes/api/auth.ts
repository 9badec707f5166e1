// Admin API authentication: a bearer JWT access token (RFC 9068) that Gatehouse itself issued for
// the resource `{issuer}/api`. The caller's permissions are recomputed from its identity's
// current roles (cached, invalidated on change) rather than read from the token, so removing a
// role takes effect on the next request.
import { hash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { ADMIN_API_RESOURCE, type AuthorizationService, type EffectiveAuthorization } from '../../services/authorization.ts';
import type { ServiceAccountService } from '../../services/service-accounts.ts';
import type { UserService } from '../../services/users.ts';
import { AppError } from '../../services/errors.ts';
import { ADMIN_ROLE } from '../../services/administration.ts';
import type { SessionService } from '../../services/sessions.ts';
import type { Caller } from './caller.ts';
import type { HeaderAccess } from './framework.ts';

/** Verified tokens remembered per node. */
const VERIFIED_TOKENS = 10_000;

export function adminApiAudience(issuer: string): string {
  return `${issuer}/api`;
}

export function createApiAuthenticator(deps: {
  issuer: string;
  publicJwks: JWK[];
  authorization: AuthorizationService;
  /** Both read through their per-node caches, which every change drops at once. */
  users: Pick<UserService, 'findForOidc'>;
  serviceAccounts: Pick<ServiceAccountService, 'findForOidc'>;
  tenantId: string;
  sessions: Pick<SessionService, 'check'>;
}) {
  const keySet = createLocalJWKSet({ keys: deps.publicJwks });
  const audience = adminApiAudience(deps.issuer);

  function unauthorized(ctx: HeaderAccess, description: string): AppError {
    // RFC 6750 §3: tell the client how to authenticate.
    ctx.set('WWW-Authenticate', `Bearer realm="gatehouse", error="invalid_token", error_description="${description}"`);
    return new AppError('auth.invalid_token', 401, description);
  }

  // A token's signature, issuer, audience and type do not change, and the signing keys are fixed
  // for the process's life: each token is verified once (an RS256 verification costs more than
  // the rest of an AuthZEN decision) and remembered until it expires, under a hash of the token
  // (the table holds no usable token). Everything that can change (the identity, its roles, the
  // account's status, the session) is still checked on every request, through the per-node
  // caches every change drops at once; only the Caller built from them is kept, and used again
  // while the authorization it was built from is still the one the cache answers.
  const verified = new Map<string, KnownToken>();
  function remember(key: string, payload: Record<string, unknown>): KnownToken {
    const entry: KnownToken = { payload, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : 0 };
    if (!entry.expiresAt) return entry;
    if (verified.size >= VERIFIED_TOKENS) {
      const now = Date.now();
      for (const [k, known] of verified) if (known.expiresAt <= now) verified.delete(k);
      if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value as string);
    }
    verified.set(key, entry);
    return entry;
  }

  return async function authenticate(ctx: HeaderAccess): Promise<Caller> {
    const header = ctx.get('authorization');
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (!match) {
      ctx.set('WWW-Authenticate', 'Bearer realm="gatehouse"');
      throw new AppError('auth.missing_token', 401, 'a bearer access token for the Gatehouse admin API is required');
    }
    const token = match[1]!;
    const key = hash('sha256', token, 'base64url');
    let known = verified.get(key);
    if (!known || known.expiresAt <= Date.now()) {
      if (known) verified.delete(key);
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, keySet, { issuer: deps.issuer, audience, typ: 'at+jwt', algorithms: ['RS256', 'ES256'] }));
      } catch {
        throw unauthorized(ctx, 'the access token is invalid, expired, or not issued for this API');
      }
      known = remember(key, payload);
    }
    const { payload } = known;
    const identityId = (payload.identity as { id?: unknown } | undefined)?.id;
    if (typeof identityId !== 'string') throw unauthorized(ctx, 'the access token carries no identity');
    const authz = await deps.authorization.forIdentity(identityId);
    if (!authz || authz.ownerId !== payload.sub || authz.tenantId !== deps.tenantId) throw unauthorized(ctx, 'the identity of this access token no longer exists');
    // A service account is found only while it is active (findForOidc refuses the others).
    const active = authz.ownerType === 'user' ? (await deps.users.findForOidc(authz.ownerId))?.status === 'active' : (await deps.serviceAccounts.findForOidc(authz.ownerId)) !== undefined;
    if (!active) throw unauthorized(ctx, 'the account of this access token is not active');
    // A JWT stays valid until it expires wherever it is checked offline; Gatehouse's own API
    // checks the session it was issued in (`sid`), so ending a session ends its API access at once.
    const sessionId = typeof payload.sid === 'string' ? payload.sid : undefined;
    if (sessionId && !(await deps.sessions.check(sessionId)).alive) throw unauthorized(ctx, 'the session of this access token has ended');
    if (known.caller?.from !== authz) known.caller = { from: authz, caller: callerOf(authz, sessionId) };
    return known.caller.caller;
  };
}

interface KnownToken {
  payload: Record<string, unknown>;
  /** Epoch ms; 0: not kept (a token without exp). */
  expiresAt: number;
  /** The caller last built for this token, and the authorization it was built from. */
  caller?: { from: EffectiveAuthorization; caller: Caller };
}

function callerOf(authz: EffectiveAuthorization, sessionId: string | undefined): Caller {
  return {
    sessionId,
    tenantId: authz.tenantId,
    subjectType: authz.ownerType,
    subjectId: authz.ownerId,
    identityId: authz.identity.id,
    adminPermissions: new Set(authz.permissionsByResource[ADMIN_API_RESOURCE] ?? []),
    roles: authz.roles,
    roleIds: new Set(authz.roleIds),
    permissionsByResource: authz.permissionsByResource,
    dataScope: authz.dataScope,
    isAdmin: authz.roles.includes(ADMIN_ROLE),
    assignableRoleIds: new Set(authz.assignableRoleIds),
  };
}
