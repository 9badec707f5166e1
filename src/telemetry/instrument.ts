// Where metrics and spans are taken: HTTP requests (a Koa middleware), database queries (knex's
// query events), key-value store operations (a wrapper around the store) and token grants
// (oidc-provider's events). Each returns nothing or passes things through unchanged when both
// metrics and tracing are off, so an unobserved server pays nothing.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Knex } from 'knex';
import type Koa from 'koa';
import { createHttpRecorder, metricsEnabled, observeDbQuery, observeStoreOperation, recordGrant, watchPool } from './metrics.ts';
import { activeTracer } from './tracing.ts';

/** The route template of a request: oidc-provider's route name or the router's path pattern. */
function routeOf(ctx: Koa.Context): string {
  const oidcRoute = (ctx as { oidc?: { route?: string } }).oidc?.route;
  if (oidcRoute) return `oidc:${oidcRoute}`;
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === 'string') return matched;
  return ctx.status === 404 ? 'unmatched' : 'other';
}

/** Request counts and durations by route template and status, and a server span per request. */
export function httpTelemetry(): Koa.Middleware | undefined {
  const record = createHttpRecorder();
  const tracer = activeTracer();
  if (!record && !tracer) return undefined;
  const finish = (ctx: Koa.Context, started: number, span: Span | undefined, failed: boolean) => {
    const route = routeOf(ctx);
    const status = failed ? 500 : ctx.status;
    record?.(ctx.method, route, status, (performance.now() - started) / 1000);
    if (span) {
      span.updateName(`${ctx.method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
  return async (ctx, next) => {
    const started = performance.now();
    if (!tracer) {
      try {
        await next();
      } catch (error) {
        finish(ctx, started, undefined, true);
        throw error;
      }
      finish(ctx, started, undefined, false);
      return;
    }
    // Continue the caller's trace (W3C traceparent) when it sends one.
    const parent = propagation.extract(ROOT_CONTEXT, ctx.headers);
    const span = tracer.startSpan(ctx.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': ctx.method, 'url.path': ctx.path } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } catch (error) {
      finish(ctx, started, span, true);
      throw error;
    }
    finish(ctx, started, span, false);
  };
}

interface KnexQuery {
  __knexQueryUid?: string;
  method?: string;
  sql?: string;
}

/** Query durations (and pool gauges) from knex's query events, and a client span per query. */
export function instrumentKnex(knex: Knex, _system: 'postgres' | 'pglite'): void {
  const tracer = activeTracer();
  if (!metricsEnabled() && !tracer) return;
  watchPool((knex.client as { pool?: Parameters<typeof watchPool>[0] }).pool);
  const running = new Map<string, { started: number; span: Span | undefined }>();
  knex.on('query', (query: KnexQuery) => {
    if (!query.__knexQueryUid) return;
    // The operation only (select, insert, ...): never the statement, which may carry values.
    const operation = (query.method ?? query.sql?.trimStart().split(/\s/, 1)[0] ?? 'query').toLowerCase();
    const span = tracer?.startSpan(`db ${operation}`, { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql', 'db.operation.name': operation } });
    running.set(query.__knexQueryUid, { started: performance.now(), span });
  });
  const done = (query: KnexQuery, ok: boolean) => {
    const entry = query.__knexQueryUid ? running.get(query.__knexQueryUid) : undefined;
    if (!entry) return;
    running.delete(query.__knexQueryUid!);
    observeDbQuery((performance.now() - entry.started) / 1000, ok);
    if (entry.span) {
      if (!ok) entry.span.setStatus({ code: SpanStatusCode.ERROR });
      entry.span.end();
    }
  };
  knex.on('query-response', (_response: unknown, query: KnexQuery) => done(query, true));
  knex.on('query-error', (_error: unknown, query: KnexQuery) => done(query, false));
}

/**
 * The store with every operation timed (and traced): each is one Redis round trip or script.
 * Each method is wrapped once, on first use; a call costs two clock reads and an observation.
 */
export function instrumentStore<S extends object>(store: S, system: 'redis' | 'memory'): S {
  const tracer = activeTracer();
  if (!metricsEnabled() && !tracer) return store;
  const wrap =
    (operation: string, fn: (...args: unknown[]) => unknown) =>
    (...args: unknown[]) => {
      const started = performance.now();
      const span = tracer?.startSpan(`${system} ${operation}`, { kind: SpanKind.CLIENT, attributes: { 'db.system.name': system, 'db.operation.name': operation } });
      const end = (ok: boolean) => {
        observeStoreOperation(operation, (performance.now() - started) / 1000, ok);
        if (!ok) span?.setStatus({ code: SpanStatusCode.ERROR });
        span?.end();
      };
      let result: unknown;
      try {
        result = fn.apply(store, args);
      } catch (error) {
        end(false);
        throw error;
      }
      if (!(result instanceof Promise)) {
        span?.end();
        return result;
      }
      return result.then(
        (resolved) => {
          end(true);
          return resolved;
        },
        (error: unknown) => {
          end(false);
          throw error;
        },
      );
    };
  // Each wrapper is kept with the method it wraps: a method replaced on the store later is
  // wrapped anew rather than bypassed.
  const wrapped = new Map<PropertyKey, { of: unknown; fn: unknown }>();
  return new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      let entry = wrapped.get(key);
      if (entry?.of !== value) wrapped.set(key, (entry = { of: value, fn: wrap(key, value as (...args: unknown[]) => unknown) }));
      return entry.fn;
    },
  });
}

interface GrantContext {
  oidc?: { params?: { grant_type?: unknown }; client?: { clientId?: string } };
}

/** Token grants by type, client and outcome, from oidc-provider's grant events. */
export function observeGrants(provider: { on(event: string, listener: (...args: never[]) => void): unknown }): void {
  if (!metricsEnabled()) return;
  const typeOf = (ctx: GrantContext) => (typeof ctx.oidc?.params?.grant_type === 'string' && /^[\w:.-]{1,100}$/.test(ctx.oidc.params.grant_type) ? ctx.oidc.params.grant_type : 'unknown');
  // A client id is recorded only once authenticated: registered clients bound the label's values.
  provider.on('grant.success', (ctx: GrantContext) => recordGrant(typeOf(ctx), ctx.oidc?.client?.clientId ?? 'unknown', 'success'));
  provider.on('grant.error', (ctx: GrantContext, error: { error?: unknown }) => recordGrant(typeOf(ctx), ctx.oidc?.client?.clientId ?? 'unknown', typeof error?.error === 'string' && /^[a-z_]{1,40}$/.test(error.error) ? error.error : 'error'));
}
