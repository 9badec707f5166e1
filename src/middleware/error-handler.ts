// Turns errors from our own routes into a clear response: problem+json (RFC 9457) for the API,
// an HTML error page elsewhere. Nothing leaks a stack trace; unexpected errors are logged.
// PostgreSQL or Redis out of reach is not a bug: 503 with Retry-After (RFC 9110 §15.6.4), also
// for oidc-provider's own endpoints, whose errors oidc-provider answers itself (as a 500
// server_error): it reports them through its `server_error` event, which marks the request
// (markUnavailable), and the answer is rewritten here on the way out.
import type { Context, Next } from 'koa';
import type { Logger } from '../logger.ts';
import { isUnavailableError, markedUnavailable, UNAVAILABLE_MESSAGE } from '../services/availability.ts';
import { AppError } from '../services/errors.ts';
import type { Renderer } from '../views/render.ts';
import { localeOf } from '../views/i18n.ts';

export const RETRY_AFTER_SECONDS = '5';
/** JSON APIs answer errors as problem details: the admin API and the AuthZEN endpoints. */
const API_PATHS = /^\/(api|access|scim)\//i;
/** The SCIM service provider answers errors in its own schema. */
const SCIM_PATHS = /^\/scim\//i;

/** The problem details (RFC 9457) of an API answer to storage out of reach (with Retry-After). */
export const UNAVAILABLE_PROBLEM = { type: 'about:blank', title: UNAVAILABLE_MESSAGE, status: 503, code: 'service.unavailable' } as const;

/** What an error is answered with: an AppError's own status and code, otherwise 500. */
function describe(error: unknown): { known: AppError | undefined; status: number; code: string; message: string } {
  const known = error instanceof AppError ? error : undefined;
  return { known, status: known?.status ?? 500, code: known?.code ?? 'internal_error', message: known?.message ?? 'An unexpected error occurred. Please try again later.' };
}

/** The problem details (RFC 9457) an API path answers `error` with (not storage out of reach: UNAVAILABLE_PROBLEM). */
export function apiProblemOf(error: unknown): { status: number; type: 'about:blank'; title: string; code: string; details?: unknown } {
  const { known, status, code, message } = describe(error);
  return { type: 'about:blank', title: message, status, code, ...(known?.details ? { details: known.details } : {}) };
}

export function errorHandler(deps: { logger: Logger; renderer: Renderer }) {
  const nonceOf = (ctx: Context) => String((ctx.state as { nonce?: string }).nonce ?? '');

  async function respondUnavailable(ctx: Context): Promise<void> {
    ctx.status = 503;
    ctx.remove('location');
    ctx.set('retry-after', RETRY_AFTER_SECONDS);
    ctx.set('cache-control', 'no-store');
    if (API_PATHS.test(ctx.path)) {
      ctx.type = 'application/problem+json';
      ctx.body = UNAVAILABLE_PROBLEM;
    } else if (ctx.accepts('json', 'html') === 'html') {
      ctx.type = 'html';
      ctx.body = await deps.renderer.render('error', { nonce: nonceOf(ctx), locale: localeOf(ctx), title: 'Temporarily unavailable', heading: 'Temporarily unavailable', message: UNAVAILABLE_MESSAGE });
    } else {
      // The OAuth error code for this (RFC 6749 §4.1.2.1), on every OIDC endpoint.
      ctx.type = 'application/json';
      ctx.body = { error: 'temporarily_unavailable', error_description: UNAVAILABLE_MESSAGE };
    }
  }

  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (markedUnavailable(ctx)) await respondUnavailable(ctx);
    } catch (error) {
      if (isUnavailableError(error)) {
        deps.logger.warn({ path: ctx.path, error: (error as Error).message }, 'storage unavailable');
        await respondUnavailable(ctx);
        return;
      }
      const { known, status, code, message } = describe(error);
      if (!known) deps.logger.error({ err: error, path: ctx.path }, 'unhandled error');
      ctx.status = status;
      // A refusal for load (the password hashing line is full) says when to come back.
      if (status === 503) ctx.set('retry-after', RETRY_AFTER_SECONDS);
      if (SCIM_PATHS.test(ctx.path)) {
        // RFC 7644 §3.12: SCIM's own error schema, the status as a string, scimType when it has one.
        const scimType = (known?.details as { scimType?: unknown } | undefined)?.scimType ?? (code === 'request.malformed_json' ? 'invalidSyntax' : status === 400 ? 'invalidValue' : status === 409 ? 'uniqueness' : undefined);
        ctx.type = 'application/scim+json';
        ctx.body = { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), ...(typeof scimType === 'string' ? { scimType } : {}), detail: message };
      } else if (API_PATHS.test(ctx.path)) {
        ctx.type = 'application/problem+json';
        ctx.body = apiProblemOf(error);
      } else {
        ctx.type = 'html';
        ctx.body = await deps.renderer.render('error', {
          nonce: nonceOf(ctx),
          locale: localeOf(ctx),
          title: 'Something went wrong',
          heading: status === 404 ? 'Not found' : 'Something went wrong',
          message,
        });
      }
    }
  };
}
