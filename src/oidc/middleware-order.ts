// The app's middleware, outermost first, and why each one sits where it does. The app is
// oidc-provider's Koa app: Provider#use (lib/provider.js) puts each middleware before the
// provider's own routes, so everything listed runs around them, in this order. src/server.ts
// builds each middleware and mounts them only through mountMiddleware; test/unit/middleware-order.test.ts
// checks the order and the constraints stated here.
//
// Several act after `await next()`, on the response oidc-provider produced; among those the
// order matters where one reads what another wrote: recordSessions must be outside
// recordGrantIdentity (see below).

export interface MiddlewareSlot {
  name: string;
  why: string;
}

export const MIDDLEWARE_ORDER = [
  {
    name: 'requestLog',
    why: 'debug-level request lines (mounted only at that level): outermost, so it logs the final status and the whole duration',
  },
  {
    name: 'telemetry',
    why: 'HTTP metrics and traces (only when configured): outside everything that may change the status, so they see the final one',
  },
  {
    name: 'securityHeaders',
    why: 'CSP (with the nonce the pages use) and the other headers, on every response including the error handler’s pages',
  },
  {
    name: 'errorHandler',
    why: 'problem+json for the API, an error page for browsers: everything below may throw',
  },
  {
    name: 'decisions',
    why: 'the AuthZEN decision endpoints, called on every request a resource server guards (the common request, POST as application/json without a query, is answered before Koa by decisionListener in src/server.ts, unless the request log or telemetry is on; this serves the rest): ahead of the protocol, session and page middleware (none applies to them) and of the admin API router’s match; they make the control-character check themselves on the body they read once, so they sit just above rejectControlCharacters, which would otherwise read and parse every JSON body a first time',
  },
  {
    name: 'rejectControlCharacters',
    why: 'NUL and control characters in the path, query or body refused before anything below reads the request',
  },
  {
    name: 'postAsGet',
    why: 'plain-http issuer only: POST on /auth and /session/end answered with a 303 to GET before oidc-provider sees it (src/oidc/protocol.ts)',
  },
  {
    name: 'revocationWithoutContentType',
    why: 'after next(): drops the content type of oidc-provider’s empty revocation response',
  },
  {
    name: 'introspectJwtAccessTokens',
    why: 'after next(): answers the introspection of a JWT access token that oidc-provider refused as unsupported_token_type',
  },
  { name: 'health', why: '/healthz and /readyz: cheap, no session or protocol work' },
  { name: 'assets', why: 'static files of the pages' },
  {
    name: 'recordSessions',
    why: 'after next(), on an authorization response: writes the session record and the grant it issued; outside recordGrantIdentity, so by the time it runs the grant’s identity is recorded (it reads it from the request memo)',
  },
  {
    name: 'recordGrantIdentity',
    why: 'after next(), on an authorization response that issued a code: records which identity the grant is for, before the response leaves',
  },
  { name: 'api', why: 'the admin API, AuthZEN metadata and SCIM (one route table), under their path prefixes' },
  { name: 'console', why: 'the admin console’s files' },
  { name: 'account', why: 'the account pages (under /account)' },
  { name: 'accountSecurity', why: 'account security pages: password, two-step verification, forgotten password (under /account)' },
  { name: 'accountPasskeys', why: 'account passkey pages (under /account)' },
  { name: 'accountSessions', why: 'account session list (under /account)' },
  { name: 'interactions', why: 'the sign-in pages oidc-provider sends the browser to (/interaction, /federation); then oidc-provider’s own routes' },
] as const satisfies readonly MiddlewareSlot[];

export type MiddlewareName = (typeof MIDDLEWARE_ORDER)[number]['name'];

/** Any Koa middleware, whatever its context type (each is typed where it is written). */
export type AnyMiddleware = (ctx: never, next: never) => unknown;

/**
 * Mounts the middleware through `use` in MIDDLEWARE_ORDER's order; a slot left undefined (not
 * configured) is skipped. Returns the names mounted, in order.
 */
export function mountMiddleware(use: (middleware: AnyMiddleware) => void, built: Record<MiddlewareName, AnyMiddleware | undefined>): MiddlewareName[] {
  const mounted: MiddlewareName[] = [];
  for (const { name } of MIDDLEWARE_ORDER) {
    const middleware = built[name];
    if (!middleware) continue;
    use(middleware);
    mounted.push(name);
  }
  return mounted;
}
