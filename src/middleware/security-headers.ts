// Security headers for every response: a strict, nonce-based Content-Security-Policy plus the
// usual framing/sniffing/referrer headers, and no-store caching for pages that carry per-user
// state (sign-in forms, CSRF/xsrf values, consent decisions).
import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import type { Middleware } from 'koa';

/** What this middleware puts into ctx.state; views read the nonce for their inline <style>. */
export interface SecurityHeadersState {
  nonce: string;
}

export interface SecurityHeadersOptions {
  /**
   * Path prefixes whose pages hold forms that end up at a relying party: the sign-in/consent/
   * abort forms (POST /interaction/... → 303 /auth/:uid → 303 redirect_uri), oidc-provider's
   * response_mode=form_post page (served from /auth and /auth/:uid, posts straight to the
   * redirect_uri) and the RP-initiated logout page (POST /session/end/confirm → 303
   * post_logout_redirect_uri). Matched per path segment. Defaults to oidc-provider's default
   * routes; pass the mounted paths if the provider lives under a prefix.
   */
  redirectingFormPaths?: readonly string[];
  /** Path prefixes that are always no-store, whatever the content type. Default: /interaction. */
  noStorePaths?: readonly string[];
}

const DEFAULT_REDIRECTING_FORM_PATHS = ['/interaction', '/auth', '/session/end'] as const;
const DEFAULT_NO_STORE_PATHS = ['/interaction'] as const;

// Why form-action is not simply 'self' everywhere: Chromium-based browsers apply form-action to
// every hop of the redirect chain that follows a form submission, so
// "POST /interaction/x/login → 303 /auth/x → 303 https://rp.example/cb?code=…" is blocked at the
// last hop unless the relying party is allowed — and the chain does not end there: the RP's
// callback usually redirects again (to its app, sometimes on another origin, or from an https
// callback on to a native app's custom scheme), and those hops are checked too. Narrowing to the
// redirect_uri's origin would therefore break legitimate RPs in ways we cannot test for.
// So: on the few paths listed above, form-action is the scheme-only `'self' https: http:`;
// everywhere else (account and admin pages, errors) it stays 'self'. http: costs nothing once
// https: is allowed (an attacker can host an https endpoint as easily as an http one) and is
// needed for RFC 8252 loopback redirects (http://127.0.0.1:<port>) and local development RPs.
// Native apps with private-use schemes (com.example.app:/cb) are the one case this cannot cover;
// the interaction handler adds them with allowFormActionTargets(ctx, [redirectUri]).
// form-action is defence in depth here: it only matters once an attacker can inject markup
// (a <form> posting the password elsewhere) despite auto-escaping and default-src 'none'.
const RELAXED_FORM_ACTION = ["'self'", 'https:', 'http:'];
const STRICT_FORM_ACTION = ["'self'"];

const CSP_HEADER = 'Content-Security-Policy';

/** Directive name → source list, in insertion order (the order is kept when serialised). */
type CspDirectives = Map<string, string[]>;

function parseCsp(header: string): CspDirectives {
  const directives: CspDirectives = new Map();
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), values);
  }
  return directives;
}

function serializeCsp(directives: CspDirectives): string {
  return [...directives].map(([name, values]) => [name, ...values].join(' ')).join('; ');
}

/** style-src of a response that renders no page: no inline style is allowed at all. */
const NO_STYLE = "'none'";

function buildCsp(styleSource: string, formAction: readonly string[]): string {
  return serializeCsp(
    new Map([
      ['default-src', ["'none'"]],
      // script-src is spelled out (rather than left to default-src) because oidc-provider's
      // form_post and web_message pages add the sha256 of their inline auto-submit script to an
      // existing script-src directive; without one, the script would be blocked by default-src,
      // and as JavaScript is "enabled" the <noscript> fallback button would not show either —
      // a blank page. Our own templates use no JavaScript, so 'none' it is.
      ['script-src', ["'none'"]],
      ['style-src', [styleSource]],
      ['img-src', ["'self'", 'data:']],
      ['form-action', [...formAction]],
      ['frame-ancestors', ["'none'"]],
      ['base-uri', ["'none'"]],
    ]),
  );
}

/** Segment-aware prefix match, so /auth matches /auth and /auth/x but not /authority. */
function underAny(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => {
    const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    return path === base || path.startsWith(`${base}/`);
  });
}

// A CSP source expression built from a URL must not be able to smuggle in another directive
// or keyword, so the result is checked against the grammar we expect instead of trusting URL
// parsing to never produce ';', ',', quotes or whitespace.
const SCHEME_SOURCE = /^[a-z][a-z0-9+.-]*:$/;
// javascript: and friends must never become an allowed form target.
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'blob:', 'filesystem:', 'vbscript:', 'file:']);

const HOST_SOURCE = /^https?:\/\/[a-z0-9.-]+(?::\d{1,5})?$|^https?:\/\/\[[0-9a-f:.]+\](?::\d{1,5})?$/;

/**
 * The CSP source that allows navigating to `target`: its origin for http(s), its scheme for
 * anything else (native apps' private-use URI schemes such as com.example.app:/callback have
 * no meaningful host). undefined when `target` is not a usable absolute URL.
 */
function formActionSource(target: string): string | undefined {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return HOST_SOURCE.test(url.origin) ? url.origin : undefined;
  }
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return undefined;
  return SCHEME_SOURCE.test(url.protocol) ? url.protocol : undefined;
}

/** Minimal context shape, so router and provider contexts are accepted as well as Koa's own. */
type ResponseContext = Pick<Koa.Context, 'response' | 'set'>;

/**
 * Adds the destinations of `targets` (typically the interaction's validated redirect_uri, or the
 * logout's post_logout_redirect_uri) to form-action on the current response: their origin for
 * http(s), their scheme otherwise. Call it from the handler that renders a page whose form leads
 * to a relying party, before the response is sent; it is what makes native apps with private-use
 * URI schemes work. Unusable targets are skipped. Throws when securityHeaders() did not run for
 * this request, because there would be no policy to extend — a wiring mistake worth surfacing.
 */
export function allowFormActionTargets(ctx: ResponseContext, targets: readonly string[]): void {
  const header = ctx.response.get(CSP_HEADER);
  if (!header) {
    throw new Error('allowFormActionTargets: no Content-Security-Policy on this response; is securityHeaders() mounted?');
  }
  const directives = parseCsp(header);
  const sources = new Set(directives.get('form-action') ?? STRICT_FORM_ACTION);
  for (const target of targets) {
    const source = formActionSource(target);
    if (source) sources.add(source);
  }
  directives.set('form-action', [...sources]);
  ctx.set(CSP_HEADER, serializeCsp(directives));
}

/** Lets the page's inline styles with this nonce through (and nothing else inline). */
function allowStyleNonce(ctx: ResponseContext, nonce: string): void {
  const header = ctx.response.get(CSP_HEADER);
  if (!header) return;
  const directives = parseCsp(header);
  directives.set('style-src', [`'nonce-${nonce}'`]);
  ctx.set(CSP_HEADER, serializeCsp(directives));
}

/**
 * Lets the page's <script nonce> elements through: the passkey pages load two same-origin
 * scripts (no inline code). Every other page keeps script-src 'none'.
 */
export function allowScriptNonce(ctx: ResponseContext & { state: unknown }): string {
  const nonce = String((ctx.state as { nonce?: string }).nonce ?? '');
  const header = ctx.response.get(CSP_HEADER);
  if (!header || !nonce) return nonce;
  const directives = parseCsp(header);
  const sources = (directives.get('script-src') ?? []).filter((source) => source !== "'none'");
  directives.set('script-src', [...new Set([...sources, `'nonce-${nonce}'`])]);
  ctx.set(CSP_HEADER, serializeCsp(directives));
  return nonce;
}

/**
 * oidc-provider appends 'sha256-…' to our script-src 'none'. Browsers ignore 'none' when other
 * sources are present, but they also log a warning for it, so drop it once it is meaningless.
 */
function tidyScriptSrc(ctx: ResponseContext): void {
  const header = ctx.response.get(CSP_HEADER);
  // Nothing was appended (every response but a form_post or web_message page): nothing to tidy.
  if (!header || !/script-src 'none' [^;]/.test(header)) return;
  const directives = parseCsp(header);
  const scriptSrc = directives.get('script-src');
  if (scriptSrc && scriptSrc.length > 1 && scriptSrc.includes("'none'")) {
    directives.set(
      'script-src',
      scriptSrc.filter((source) => source !== "'none'"),
    );
    ctx.set(CSP_HEADER, serializeCsp(directives));
  }
}

function setNoStore(ctx: ResponseContext): void {
  ctx.set('Cache-Control', 'no-store');
  // Pragma for HTTP/1.0 caches and old proxies that ignore Cache-Control.
  ctx.set('Pragma', 'no-cache');
}

/** Headers that must survive Koa's default error handler (see the catch block below). */
const PRESERVED_ON_ERROR = [CSP_HEADER, 'X-Frame-Options', 'X-Content-Type-Options', 'Referrer-Policy', 'Cache-Control', 'Pragma'] as const;

function hasHeadersObject(value: unknown): value is { headers?: Record<string, unknown> } {
  return typeof value === 'object' && value !== null;
}

/** The headers every response carries whatever its path. */
const FIXED_HEADERS: readonly (readonly [string, string])[] = [
  // X-Frame-Options duplicates frame-ancestors for browsers that predate CSP level 2.
  ['X-Frame-Options', 'DENY'],
  ['X-Content-Type-Options', 'nosniff'],
  // No Referer: interaction URLs carry the interaction uid, and authorization requests carry
  // state/redirect_uri in the query; none of it should leak to the next site.
  ['Referrer-Policy', 'no-referrer'],
];

/**
 * The headers securityHeaders() gives an answer that renders no page, on a path outside the
 * redirecting-form and no-store paths (an API answer): for a handler that answers without Koa.
 */
export function apiSecurityHeaders(): [string, string][] {
  return [[CSP_HEADER, buildCsp(NO_STYLE, STRICT_FORM_ACTION)], ...FIXED_HEADERS.map(([name, value]): [string, string] => [name, value])];
}

/**
 * Mount first (outermost), so every response — including error responses and those written by
 * oidc-provider — passes through it.
 *
 * Cache-Control: under noStorePaths it is set to no-store *before* next(), so it is in place
 * even when a handler writes to ctx.res directly, and a handler can still override it on
 * purpose. For HTML elsewhere it is only known after next() that the response is HTML, so it is
 * set then, and only when no handler set one: JWKS, discovery or a deliberately cacheable page
 * keep whatever caching their handler chose, while every other HTML page (they all carry
 * per-request nonces, xsrf/CSRF values or user names) is never stored.
 */
export function securityHeaders(options: SecurityHeadersOptions = {}): Middleware<SecurityHeadersState> {
  const redirectingFormPaths = options.redirectingFormPaths ?? DEFAULT_REDIRECTING_FORM_PATHS;
  const noStorePaths = options.noStorePaths ?? DEFAULT_NO_STORE_PATHS;
  // The policy is the same for every response until a page asks for a nonce: built once.
  const relaxedCsp = buildCsp(NO_STYLE, RELAXED_FORM_ACTION);
  const strictCsp = buildCsp(NO_STYLE, STRICT_FORM_ACTION);

  return async function securityHeadersMiddleware(ctx, next) {
    // The nonce is made when a page first reads it, and put into the policy then: a token,
    // JWKS or JSON response renders no inline style and is spared the random bytes and the
    // rewrite. 16 random bytes: well above CSP's 128-bit guidance, fresh for every response so
    // a nonce seen in one page is useless for injecting into another.
    let nonce: string | undefined;
    Object.defineProperty(ctx.state, 'nonce', {
      configurable: true,
      enumerable: true,
      get(): string {
        if (nonce === undefined) {
          nonce = randomBytes(16).toString('base64');
          allowStyleNonce(ctx, nonce);
        }
        return nonce;
      },
    });

    // Set before next(): handlers that bypass Koa's response handling (ctx.respond = false and
    // writing to ctx.res) still send them, and handlers can adjust them (allowFormActionTargets).
    ctx.set(CSP_HEADER, underAny(ctx.path, redirectingFormPaths) ? relaxedCsp : strictCsp);
    for (const [name, value] of FIXED_HEADERS) ctx.set(name, value);
    if (underAny(ctx.path, noStorePaths)) setNoStore(ctx);

    try {
      await next();
    } catch (err) {
      // Koa's default error handler removes every header before writing the error response and
      // then sets only err.headers, so carry ours over (without overriding the error's own).
      // Error responses are never worth caching either.
      if (!ctx.response.get('Cache-Control')) setNoStore(ctx);
      if (hasHeadersObject(err)) {
        const preserved: Record<string, unknown> = {};
        for (const name of PRESERVED_ON_ERROR) {
          const value = ctx.response.get(name);
          if (value) preserved[name] = value;
        }
        err.headers = { ...preserved, ...err.headers };
      }
      throw err;
    }

    tidyScriptSrc(ctx);
    if (ctx.response.is('html') && !ctx.response.get('Cache-Control')) setNoStore(ctx);
  };
}
