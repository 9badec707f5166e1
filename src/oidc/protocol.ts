// Protocol details oidc-provider leaves to the deployment: POST on the authorization and logout
// endpoints over plain http, the revocation response's content type, and introspection of JWT
// access tokens (which oidc-provider does not store, so it refuses to introspect them).
import type { KoaContextWithOIDC } from 'oidc-provider';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { readForm } from '../middleware/form-body.ts';
import type { SessionService } from '../services/sessions.ts';

type Next = () => Promise<unknown>;

/** POST on /auth and /session/end needs SameSite=None session cookies, which browsers keep only when Secure. */
export const nativePostMethods = (issuer: string): boolean => new URL(issuer).protocol === 'https:';

const POST_AS_GET_PATHS = new Set(['/auth', '/session/end']);

/**
 * OIDC Core §3.1.2.1 and RP-Initiated Logout §2: the authorization and logout endpoints MUST
 * accept POST. With an https issuer oidc-provider answers it itself (session cookies SameSite=None;
 * Secure). With a plain-http issuer (development), browsers drop SameSite=None cookies that are not
 * Secure, so the form is answered with a 303 to the same endpoint with its parameters in the
 * query: a top-level GET, which carries the SameSite=Lax session cookie.
 */
export function postAsGet() {
  return async (ctx: KoaContextWithOIDC, next: Next) => {
    if (ctx.method !== 'POST' || !POST_AS_GET_PATHS.has(ctx.path)) return next();
    const form = await readForm(ctx);
    ctx.status = 303;
    ctx.redirect(`${ctx.path}?${form.toString()}`);
  };
}

/**
 * RFC 7009 §2.2 answers a revocation with 200 and no content; oidc-provider sends an empty string,
 * which Koa labels text/plain. Relying parties that check the content type of every response
 * (oidc-client-ts accepts application/json or none) refused it: send no content type at all.
 */
export function revocationWithoutContentType() {
  return async (ctx: KoaContextWithOIDC, next: Next) => {
    await next();
    if (ctx.oidc?.route === 'revocation' && ctx.status === 200 && ctx.body === '') ctx.remove('Content-Type');
  };
}

export interface JwtIntrospectionDeps {
  issuer: string;
  publicJwks: JWK[];
  sessions: Pick<SessionService, 'check'>;
  /** Whether this identity of this user may still use the client (the token's identity claim). */
  identityEligible(userId: string, identityId: string, clientId: string): Promise<boolean>;
  userActive(userId: string): Promise<boolean>;
}

/**
 * RFC 7662 §2.2: the introspection endpoint answers for every token it issued. oidc-provider
 * refuses JWT access tokens (unsupported_token_type) after authenticating the client; this
 * answers them instead: `active` with the token's claims when the signature, issuer, type and
 * expiry verify, the session it belongs to is open and its identity may still use the client;
 * `active: false` otherwise, and for a public client asking about another client's token (the
 * same policy as for opaque tokens).
 */
export function introspectJwtAccessTokens(deps: JwtIntrospectionDeps) {
  const keySet = createLocalJWKSet({ keys: deps.publicJwks });
  return async (ctx: KoaContextWithOIDC, next: Next) => {
    await next();
    if (ctx.oidc?.route !== 'introspection' || ctx.status !== 400) return;
    if ((ctx.body as { error?: string } | undefined)?.error !== 'unsupported_token_type') return;
    const client = ctx.oidc.client;
    const token = (ctx.oidc.params as { token?: unknown } | undefined)?.token;
    if (!client || typeof token !== 'string') return;
    ctx.status = 200;
    ctx.body = await answer(token, client);
  };

  async function answer(token: string, client: { clientId: string; clientAuthMethod?: string }): Promise<Record<string, unknown>> {
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, keySet, { issuer: deps.issuer, typ: 'at+jwt', algorithms: ['RS256', 'ES256'] }));
    } catch {
      return { active: false };
    }
    const clientId = typeof claims.client_id === 'string' ? claims.client_id : undefined;
    if (client.clientAuthMethod === 'none' && clientId !== client.clientId) return { active: false };
    const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
    const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
    if (sid && !(await deps.sessions.check(sid)).alive) return { active: false };
    const identityId = (claims.identity as { id?: unknown } | undefined)?.id;
    // A user's token (sub is the user; client credentials have sub = client_id).
    if (sub && clientId && sub !== clientId) {
      if (!(await deps.userActive(sub))) return { active: false };
      if (typeof identityId === 'string' && !(await deps.identityEligible(sub, identityId, clientId))) return { active: false };
    }
    return { ...claims, active: true, token_type: 'Bearer' };
  }
}
