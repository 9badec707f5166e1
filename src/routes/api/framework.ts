// The admin API's route table. Every route declares its method, path, the one permission it
// requires, and zod schemas for its input and output; from the same table come the Koa routes,
// the permission catalog and the OpenAPI 3.1 document, so they cannot drift apart.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { readBody } from '../../middleware/form-body.ts';
import { AppError, invalidInput } from '../../services/errors.ts';
import type { Caller } from './caller.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  caller: Caller;
  ctx: Context;
}

export interface ApiRoute<P = unknown, Q = unknown, B = unknown> {
  method: HttpMethod;
  /** Koa-style path under /api/v1, e.g. `/users/:id` (or the whole path when `absolute`). */
  path: string;
  /** The path is served as written, outside /api/v1 (a standard's own endpoint, e.g. AuthZEN's). */
  absolute?: boolean;
  /** The permission this route requires (`resource:action`); null: any authenticated caller (`/me/...`). */
  permission: string | null;
  summary: string;
  tag: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Content type of the body when it is not JSON (e.g. text/csv): the raw text is passed. */
  bodyType?: 'json' | 'text/csv' | 'scim';
  /** Largest body accepted, in bytes; 1 MiB by default. */
  bodyLimit?: number;
  response?: z.ZodType;
  /** Success status; 200 by default, 204 when the handler returns undefined. */
  status?: number;
  /** Status from the result, when it depends on it (e.g. 422 for an import with refused rows). */
  statusOf?(result: unknown): number;
  /** The handler writes the response itself (status, headers, a streamed ctx.body); its return value is ignored. */
  raw?: boolean;
  handler(input: RouteInput<P, Q, B>): Promise<unknown>;
}

/** Keeps the generic types of one route while storing it in a list of routes. */
export function defineRoute<P = Record<string, never>, Q = Record<string, never>, B = undefined>(route: ApiRoute<P, Q, B>): ApiRoute {
  return route as unknown as ApiRoute;
}

/** A view's field as the object it is presented from holds it: a Date where the view has a string. */
type Unpresented<T> = T extends string ? (string extends T ? T | Date : T) : T;

/**
 * The presenter of an output view: each of the view's fields copied from the object, a Date as
 * its ISO 8601 string. Nothing else the object holds (tenant ids, hashes) reaches the answer.
 */
export function presenter<V extends z.ZodObject>(view: V): (source: { [K in keyof z.output<V>]: Unpresented<z.output<V>[K]> }) => z.output<V> {
  const fields = Object.keys(view.shape);
  return (source) => {
    const values = source as Record<string, unknown>;
    return Object.fromEntries(fields.map((field) => [field, values[field] instanceof Date ? values[field].toISOString() : values[field]])) as z.output<V>;
  };
}

/** The path a route is served at. */
export function routeUrl(route: Pick<ApiRoute, 'path' | 'absolute'>): string {
  return route.absolute ? route.path : `/api/v1${route.path}`;
}

/** Largest body a route accepts unless it declares its own bodyLimit, in bytes. */
const BODY_LIMIT = 1024 * 1024;

/** `value` checked against `schema` (400 `request.invalid` naming the fields under `where`). */
export function parseWith<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return value as T;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput('request.invalid', parsed.error, where);
  return parsed.data;
}

/** What authentication reads and writes of a request: its headers, and the answer's (WWW-Authenticate). */
export interface HeaderAccess {
  get(name: string): string;
  set(name: string, value: string): void;
}

export type Authenticate = (ctx: HeaderAccess) => Promise<Caller>;

/** 403 unless the caller holds the route's permission. */
export function requirePermission(route: Pick<ApiRoute, 'permission'>, caller: Caller): void {
  if (route.permission && !caller.adminPermissions.has(route.permission)) {
    throw new AppError('auth.forbidden', 403, `this action requires the permission "${route.permission}"`);
  }
}

/**
 * The value of a JSON request body: {} when the body is empty, 415 when one was sent as another
 * type than `types` (`typeAccepted` false), 400 when it is not JSON. `parsed`: the body's value
 * when the caller parsed it already.
 */
export function jsonBodyOf(text: string, typeAccepted: boolean, types: readonly string[], parsed?: { value: unknown }): unknown {
  if (text.length > 0 && !typeAccepted) throw new AppError('request.unsupported_media_type', 415, `send the body as ${types.join(' or ')}`);
  if (text.length === 0) return {};
  if (parsed) return parsed.value;
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('request.malformed_json', 400, 'the request body is not valid JSON');
  }
}

/** Every admin API answer is per caller: never stored by a cache. */
export const API_CACHE_CONTROL = 'no-store';

/** The success status of a route's answer to `result`. */
export function statusOf(route: Pick<ApiRoute, 'status' | 'statusOf'>, result: unknown): number {
  if (result === undefined) return route.status ?? 204;
  return route.statusOf?.(result) ?? route.status ?? 200;
}

/** Answers with a route's result: no-store, its status, the result as the body. */
export function respond(ctx: Context, route: ApiRoute, result: unknown): void {
  ctx.set('cache-control', API_CACHE_CONTROL);
  if (route.raw) return;
  ctx.status = statusOf(route, result);
  if (result !== undefined) ctx.body = result;
}

export const JSON_TYPES = ['application/json'] as const;
/** SCIM (RFC 7644 §3.1): application/scim+json, and plain JSON as many clients send it. */
const SCIM_TYPES = ['application/scim+json', 'application/json'] as const;

export function mountRoutes(router: Router, routes: ApiRoute[], authenticate: Authenticate): void {
  for (const route of routes) {
    router[route.method](routeUrl(route), async (ctx) => {
      const caller = await authenticate(ctx);
      requirePermission(route, caller);
      const params = parseWith(route.params, ctx.params, 'params');
      const query = parseWith(route.query, Object.fromEntries(new URLSearchParams(ctx.querystring)), 'query');
      let body: unknown;
      if (route.body) {
        const text = await readBody(ctx, route.bodyLimit ?? BODY_LIMIT);
        if (route.bodyType === 'text/csv') {
          if (!ctx.is('text/csv')) throw new AppError('request.unsupported_media_type', 415, 'send the body as text/csv');
          body = parseWith(route.body, text, 'body');
        } else {
          const types = route.bodyType === 'scim' ? SCIM_TYPES : JSON_TYPES;
          body = parseWith(route.body, jsonBodyOf(text, text.length === 0 || Boolean(ctx.is([...types])), types), 'body');
        }
      }
      respond(ctx, route, await route.handler({ params, query, body, caller, ctx }));
    });
  }
}

/** Every distinct permission the routes require: Gatehouse's own catalog. */
export function permissionCatalog(routes: ApiRoute[]): { name: string; routes: string[] }[] {
  const byName = new Map<string, string[]>();
  for (const route of routes) {
    if (!route.permission) continue;
    const list = byName.get(route.permission) ?? [];
    list.push(`${route.method.toUpperCase()} ${routeUrl(route)}`);
    byName.set(route.permission, list);
  }
  return [...byName.entries()].map(([name, list]) => ({ name, routes: list })).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Named schemas (zod `.meta({ id })`) shared by the document's operations, under
 * components/schemas. A recursive schema must be named: zod puts it under the schema's own
 * `$defs`, which a `$ref` from the document root cannot reach (OpenAPI 3.1 §4.8.24 resolves
 * references against the document), so it is lifted into the components instead.
 */
type NamedSchemas = Record<string, Record<string, unknown>>;

function pointAtComponents(value: unknown, suffix: string): unknown {
  if (Array.isArray(value)) return value.map((inner) => pointAtComponents(inner, suffix));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, key === '$ref' && typeof inner === 'string' ? inner.replace(/^#\/\$defs\/(.+)$/, `#/components/schemas/$1${suffix}`) : pointAtComponents(inner, suffix)]));
  }
  return value;
}

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output', named: NamedSchemas): Record<string, unknown> {
  const { $defs, $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown> & { $defs?: NamedSchemas };
  const suffix = io === 'input' ? 'Input' : '';
  for (const [name, definition] of Object.entries($defs ?? {})) {
    if (name.startsWith('__schema')) throw new Error(`a recursive schema needs a name for the OpenAPI document: give it .meta({ id: '...' }) (${JSON.stringify(definition).slice(0, 120)})`);
    // Input and output forms differ for schemas with defaults or transforms: named apart.
    named[`${name}${suffix}`] = pointAtComponents(definition, suffix) as Record<string, unknown>;
  }
  return pointAtComponents(rest, suffix) as Record<string, unknown>;
}

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, code: { type: 'string' }, details: { type: 'object' } },
};

export function buildOpenApi(routes: ApiRoute[], issuer: string): Record<string, unknown> {
  const named: NamedSchemas = {};
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const openapiPath = routeUrl(route).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters: Record<string, unknown>[] = [];
    const paramSchema = route.params ? toJsonSchema(route.params, 'input', named) : undefined;
    for (const name of route.path.match(/:([A-Za-z0-9_]+)/g)?.map((p) => p.slice(1)) ?? []) {
      const props = (paramSchema?.properties ?? {}) as Record<string, unknown>;
      parameters.push({ name, in: 'path', required: true, schema: props[name] ?? { type: 'string' } });
    }
    if (route.query) {
      const q = toJsonSchema(route.query, 'input', named);
      const required = new Set((q.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((q.properties ?? {}) as Record<string, unknown>)) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    const success = String(route.status ?? (route.response ? 200 : 204));
    paths[openapiPath] ??= {};
    paths[openapiPath][route.method] = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method}${openapiPath.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      'x-permission': route.permission,
      security: [{ bearer: [] }],
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: route.bodyType === 'text/csv' ? { 'text/csv': { schema: { type: 'string' } } } : { [route.bodyType === 'scim' ? 'application/scim+json' : 'application/json']: { schema: toJsonSchema(route.body, 'input', named) } },
            },
          }
        : {}),
      responses: {
        [success]: route.response ? { description: 'Success', content: { 'application/json': { schema: toJsonSchema(route.response, 'output', named) } } } : { description: 'Success' },
        '400': { $ref: '#/components/responses/Problem' },
        '401': { $ref: '#/components/responses/Problem' },
        ...(route.permission ? { '403': { $ref: '#/components/responses/Problem' } } : {}),
        ...(route.statusOf && route.response ? { '422': { description: 'Done, with refused input listed in the body', content: { 'application/json': { schema: toJsonSchema(route.response, 'output', named) } } } } : {}),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse admin API', version: '1' },
    servers: [{ url: issuer }],
    paths,
    components: {
      schemas: named,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: `An access token issued by Gatehouse for the resource ${issuer}/api` } },
      responses: { Problem: { description: 'Error (RFC 9457 problem details)', content: { 'application/problem+json': { schema: problemSchema } } } },
    },
  };
}
