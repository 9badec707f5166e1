// Turns errors from our own routes into a clear response: problem+json (RFC 9457) for the API,
// an HTML error page elsewhere. Nothing leaks a stack trace; unexpected errors are logged.
import type { Context, Next } from 'koa';
import type { Logger } from '../logger.ts';
import { AppError } from '../services/errors.ts';
import type { Renderer } from '../views/render.ts';

export function errorHandler(deps: { logger: Logger; renderer: Renderer }) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      const known = error instanceof AppError ? error : undefined;
      const status = known?.status ?? 500;
      const code = known?.code ?? 'internal_error';
      const message = known?.message ?? 'An unexpected error occurred. Please try again later.';
      if (!known) deps.logger.error({ err: error, path: ctx.path }, 'unhandled error');
      ctx.status = status;
      if (ctx.path.startsWith('/api/')) {
        ctx.type = 'application/problem+json';
        ctx.body = { type: 'about:blank', title: message, status, code, ...(known?.details ? { details: known.details } : {}) };
      } else {
        ctx.type = 'html';
        ctx.body = await deps.renderer.render('error', {
          nonce: String((ctx.state as { nonce?: string }).nonce ?? ''),
          title: 'Something went wrong',
          heading: status === 404 ? 'Not found' : 'Something went wrong',
          message,
        });
      }
    }
  };
}
