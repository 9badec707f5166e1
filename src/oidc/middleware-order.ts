// The app's middleware, outermost first, and why each one sits where it does. The app is
// oidc-provider's Koa app: Provider#use (lib/provider.js) puts each middleware before the
// provider's own routes, so everything listed runs around them, in this order. src/server.ts
// builds each middleware and mounts them only through mountMiddleware; test/unit/middleware-order.test.ts
// checks the order and the constraints stated here.
//
// Several act after `await next()`, on the response oidc-provider produced; among those the
// order matters where one reads what another wrote: recordSessions must be outside
// recordGrantIdentity (see below).

/** Each middleware by name, outermost first (the key order is the mount order), with why it sits there. */
export const MIDDLEWARE_ORDER = {
  requestLog: 'debug-level request lines (mounted only at that level): outermost, so it logs the final status and the whole duration',
  telemetry: 'HTTP metrics and traces (only when configured): outside everything that may change the status, so they see the final one',
  securityHeaders: 'CSP (with the nonce the pages use) and the other headers, on every response including the error handler’s pages',
  errorHandler: 'problem+json for the API, an error page for browsers: everything below may throw',
  decisions:
    'the AuthZEN decision endpoints, called on every request a resource server guards (the common request, POST as application/json without a query, is answered before Koa by decisionListener in src/server.ts, unless the request log or telemetry is on; this serves the rest): ahead of the protocol, session and page middleware (none applies to them) and of the admin API router’s match; they make the control-character check themselves on the body they read once, so they sit just above rejectControlCharacters, which would otherwise read and parse every JSON body a first time',
  rejectControlCharacters: 'NUL and control characters in the path, query or body refused before anything below reads the request',
  postAsGet: 'plain-http issuer only: POST on /auth and /session/end answered with a 303 to GET before oidc-provider sees it (src/oidc/protocol.ts)',
  revocationWithoutContentType: 'after next(): drops the content type of oidc-provider’s empty revocation response',
  introspectJwtAccessTokens: 'after next(): answers the introspection of a JWT access token that oidc-provider refused as unsupported_token_type',
  health: '/healthz and /readyz: cheap, no session or protocol work',
  assets: 'static files of the pages',
  recordSessions: 'after next(), on an authorization response: writes the session record and the grant it issued; outside recordGrantIdentity, so by the time it runs the grant’s identity is recorded (it reads it from the request memo)',
  recordGrantIdentity: 'after next(), on an authorization response that issued a code: records which identity the grant is for, before the response leaves',
  api: 'the admin API, AuthZEN metadata and SCIM (one route table), under their path prefixes',
  console: 'the admin console’s files',
  account: 'the account pages (under /account)',
  accountSecurity: 'account security pages: password, two-step verification, forgotten password (under /account)',
  accountPasskeys: 'account passkey pages (under /account)',
  accountSessions: 'account session list (under /account)',
  interactions: 'the sign-in pages oidc-provider sends the browser to (/interaction, /federation); then oidc-provider’s own routes',
} as const satisfies Record<string, string>;

export type MiddlewareName = keyof typeof MIDDLEWARE_ORDER;

/** The names in mount order. */
export const MIDDLEWARE_NAMES = Object.keys(MIDDLEWARE_ORDER) as MiddlewareName[];

/** Any Koa middleware, whatever its context type (each is typed where it is written). */
export type AnyMiddleware = (ctx: never, next: never) => unknown;

/**
 * Mounts the middleware through `use` in MIDDLEWARE_ORDER's order; a slot left undefined (not
 * configured) is skipped. Returns the names mounted, in order.
 */
export function mountMiddleware(use: (middleware: AnyMiddleware) => void, built: Record<MiddlewareName, AnyMiddleware | undefined>): MiddlewareName[] {
  const mounted: MiddlewareName[] = [];
  for (const name of MIDDLEWARE_NAMES) {
    const middleware = built[name];
    if (!middleware) continue;
    use(middleware);
    mounted.push(name);
  }
  return mounted;
}
