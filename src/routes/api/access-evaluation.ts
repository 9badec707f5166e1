// The OpenID AuthZEN Authorization API 1.0 endpoints, served from the admin API's route table (so
// their permissions are in Gatehouse's catalog and they are in the OpenAPI document) at the
// paths the standard names: §6 `POST /access/v1/evaluation`, §7 `POST /access/v1/evaluations`.
// Callers authenticate like every admin-API caller: a bearer token Gatehouse issued for
// `{issuer}/api`, whose identity holds the route's permission.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import { z } from 'zod';
import type { Logger } from '../../logger.ts';
import { readBody } from '../../middleware/form-body.ts';
import { controlCharacterError, findInJson, findInParams, jsonMayHoldControl } from '../../middleware/control-chars.ts';
import { apiProblemOf, RETRY_AFTER_SECONDS, UNAVAILABLE_PROBLEM } from '../../middleware/error-handler.ts';
import { apiSecurityHeaders } from '../../middleware/security-headers.ts';
import { isUnavailableError } from '../../services/availability.ts';
import { SUBJECT_TYPES, type AccessDecision, type AccessEvaluationService, type AccessRequest } from '../../services/access-evaluation.ts';
import { AppError } from '../../services/errors.ts';
import { API_CACHE_CONTROL, defineRoute, JSON_TYPES, jsonBodyOf, parseWith, requirePermission, respond, routeUrl, statusOf, type ApiRoute, type Authenticate, type HeaderAccess } from './framework.ts';

/** Evaluations per batch request: enough for a page of rows, bounded so one call stays short. */
export const MAX_EVALUATIONS = 1000;

const properties = z.record(z.string().min(1).max(200), z.unknown());
const subject = z.object({
  type: z.enum(SUBJECT_TYPES).describe("'identity' (an identity id), 'user' (a user id: its default identity) or 'service_account' (a service account id)"),
  id: z.string().min(1).max(200),
  properties: properties.optional(),
});
const action = z.object({
  name: z.string().min(1).max(200).describe('a permission, e.g. bookings:create'),
  properties: z
    .object({ resource: z.string().min(1).max(2000).optional().describe('the API resource identifier the permission belongs to; without it, any') })
    .catchall(z.unknown())
    .optional(),
});
const scopeValue = z.union([z.string().max(1000), z.array(z.string().max(1000)).max(1000)]);
const resource = z.object({
  type: z.string().min(1).max(200),
  id: z.string().max(1000).optional(),
  properties: z.record(z.string().min(1).max(200), scopeValue).optional().describe("data-scope key → the row's value (or values); each must be covered by the subject's data scope"),
});
const context = z.record(z.string(), z.unknown());

export const evaluationRequest = z.object({ subject, action, resource, context: context.optional() });
const decisionView = z.object({
  decision: z.boolean(),
  context: z
    .object({
      code: z.enum(['subject_not_found', 'subject_inactive', 'permission_missing', 'data_scope_not_covered']),
      reason_admin: z.object({ en: z.string() }),
      key: z.string().optional().describe('the resource property the data scope does not cover'),
    })
    .optional()
    .describe('present when denied: why'),
});

const semantics = ['execute_all', 'deny_on_first_deny', 'permit_on_first_permit'] as const;
// §7.1: top-level subject, action, resource and context are defaults each evaluation may replace.
const evaluationsRequest = z.object({
  subject: subject.optional(),
  action: action.optional(),
  resource: resource.optional(),
  context: context.optional(),
  evaluations: z
    .array(z.object({ subject: subject.optional(), action: action.optional(), resource: resource.optional(), context: context.optional() }))
    .max(MAX_EVALUATIONS)
    .optional(),
  options: z
    .object({ evaluations_semantic: z.enum(semantics).default('execute_all') })
    .catchall(z.unknown())
    .optional(),
});

// The common request in the shape the schemas above accept, checked by hand: a decision is a few
// microseconds of work, and a zod parse of the request cost more than that. Whatever these do not
// recognise as certainly valid goes through the schemas, which give the 400 and its issues.
const SUBJECT_TYPE_SET: ReadonlySet<unknown> = new Set(SUBJECT_TYPES);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isText = (value: unknown, min: number, max: number): boolean => typeof value === 'string' && value.length >= min && value.length <= max;
function hasKeysWithin(value: Record<string, unknown>, max: number): boolean {
  for (const key in value) if (key.length < 1 || key.length > max) return false;
  return true;
}
function plainSubject(value: unknown): boolean {
  return isObject(value) && SUBJECT_TYPE_SET.has(value.type) && isText(value.id, 1, 200) && (value.properties === undefined || (isObject(value.properties) && hasKeysWithin(value.properties, 200)));
}
function plainAction(value: unknown): boolean {
  if (!isObject(value) || !isText(value.name, 1, 200)) return false;
  const { properties } = value;
  return properties === undefined || (isObject(properties) && (properties.resource === undefined || isText(properties.resource, 1, 2000)));
}
function plainResource(value: unknown): boolean {
  if (!isObject(value) || !isText(value.type, 1, 200) || (value.id !== undefined && !isText(value.id, 0, 1000))) return false;
  const { properties } = value;
  if (properties === undefined) return true;
  if (!isObject(properties)) return false;
  for (const key in properties) {
    if (key.length < 1 || key.length > 200) return false;
    const held = properties[key];
    if (typeof held === 'string') {
      if (held.length > 1000) return false;
    } else if (!Array.isArray(held) || held.length > 1000 || !held.every((v) => isText(v, 0, 1000))) return false;
  }
  return true;
}
const plainContext = (value: unknown): boolean => value === undefined || isObject(value);
const plainOptional = (value: unknown, check: (v: unknown) => boolean): boolean => value === undefined || check(value);

/** The body of §6, when it is certainly valid. */
function plainEvaluation(value: unknown): boolean {
  return isObject(value) && plainSubject(value.subject) && plainAction(value.action) && plainResource(value.resource) && plainContext(value.context);
}
/** The body of §7, when it is certainly valid. */
function plainEvaluations(value: unknown): boolean {
  if (!isObject(value) || !plainOptional(value.subject, plainSubject) || !plainOptional(value.action, plainAction) || !plainOptional(value.resource, plainResource) || !plainContext(value.context)) return false;
  const { evaluations, options } = value;
  if (evaluations !== undefined) {
    if (!Array.isArray(evaluations) || evaluations.length > MAX_EVALUATIONS) return false;
    for (const item of evaluations) {
      if (!isObject(item) || !plainOptional(item.subject, plainSubject) || !plainOptional(item.action, plainAction) || !plainOptional(item.resource, plainResource) || !plainContext(item.context)) return false;
    }
  }
  return options === undefined || (isObject(options) && (options.evaluations_semantic === undefined || (semantics as readonly unknown[]).includes(options.evaluations_semantic)));
}

/** §10.1.3: a request id the PEP sends is returned unchanged (printable ASCII only). */
function echoRequestId(headers: HeaderAccess): void {
  const id = headers.get('x-request-id');
  if (id && /^[\x21-\x7e]{1,200}$/.test(id)) headers.set('x-request-id', id);
}

function completeRequest(defaults: z.infer<typeof evaluationsRequest>, item: NonNullable<z.infer<typeof evaluationsRequest>['evaluations']>[number], where: string): AccessRequest {
  const merged = { subject: item.subject ?? defaults.subject, action: item.action ?? defaults.action, resource: item.resource ?? defaults.resource, context: item.context ?? defaults.context };
  const missing = (['subject', 'action', 'resource'] as const).filter((field) => merged[field] === undefined);
  if (missing.length) {
    const issues = missing.map((field) => ({ path: `${where}${field}`, message: `required: give it in the evaluation or at the top level` }));
    throw new AppError('request.invalid', 400, issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
  }
  return merged as AccessRequest;
}

export function accessEvaluationRoutes(services: { accessEvaluation: AccessEvaluationService }): ApiRoute[] {
  const { accessEvaluation } = services;
  return [
    defineRoute({
      method: 'post',
      path: '/access/v1/evaluation',
      absolute: true,
      permission: 'access:evaluate',
      summary: "AuthZEN Access Evaluation (§6): may this subject perform this action on this resource? The resource's properties are checked against the subject's data scope.",
      tag: 'authzen',
      body: evaluationRequest,
      response: decisionView,
      async handler({ body }) {
        return accessEvaluation.evaluate(body);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/access/v1/evaluations',
      absolute: true,
      permission: 'access:evaluate-many',
      summary: `AuthZEN Access Evaluations (§7): up to ${MAX_EVALUATIONS} decisions in one call; top-level subject, action, resource and context are defaults each evaluation may replace. options.evaluations_semantic: execute_all (default), deny_on_first_deny or permit_on_first_permit (the answer stops after the first deny, or permit).`,
      tag: 'authzen',
      body: evaluationsRequest,
      response: z.union([z.object({ evaluations: z.array(decisionView) }), decisionView]),
      async handler({ body }) {
        // §7.1: without evaluations the request is a single evaluation and so is its answer.
        if (!body.evaluations?.length) return accessEvaluation.evaluate(completeRequest(body, {}, 'body.'));
        // Every evaluation is checked before any is decided: a malformed one fails the whole call.
        const requests = body.evaluations.map((item, index) => completeRequest(body, item, `body.evaluations.${index}.`));
        const semantic = body.options?.evaluations_semantic ?? 'execute_all';
        const evaluations: AccessDecision[] = [];
        for (const request of requests) {
          const decision = await accessEvaluation.evaluate(request);
          evaluations.push(decision);
          if (semantic === 'deny_on_first_deny' && !decision.decision) break;
          if (semantic === 'permit_on_first_permit' && decision.decision) break;
        }
        return { evaluations };
      },
    }),
  ];
}

/** The largest request body read (the admin API's own limit). */
const BODY_LIMIT = 1024 * 1024;
const FAST_CHECKS: Record<string, (body: unknown) => boolean> = { '/access/v1/evaluation': plainEvaluation, '/access/v1/evaluations': plainEvaluations };
/** Plain JSON as clients spell it: answered before Koa, and accepted without Koa's type check. */
const PLAIN_JSON: ReadonlySet<string | undefined> = new Set(['application/json', 'application/json; charset=utf-8']);
const tooLargeError = () => new AppError('request.too_large', 413, `the request body is larger than ${BODY_LIMIT} bytes`);

/** A decision request, read: what the checks below need of it, whoever served it. */
interface DecisionRequest {
  route: ApiRoute;
  /** The request's headers; the answer's headers are set through it. */
  headers: HeaderAccess;
  querystring: string;
  /** Sent as JSON (application/json or a +json type): looked at for control characters. */
  jsonLike: boolean;
  /** Sent as application/json: the type the endpoints accept. */
  jsonAccepted: boolean;
  form: boolean;
  text: string;
  tooLarge: boolean;
  /** For the route handler (the decision handlers read nothing of it). */
  ctx: Context;
}

/**
 * A decision, with the same checks and answers as the admin API's route handling
 * (src/routes/api/framework.ts) and the edge check (src/middleware/control-chars.ts), in the same
 * order: control characters in the body (its server checked the query before reading it), the
 * caller and its permission, the body's size, type, JSON and shape. Returns the handler's result.
 */
async function decide(request: DecisionRequest, authenticate: Authenticate): Promise<unknown> {
  const { route, headers, text, tooLarge } = request;
  let parsed: { value: unknown } | undefined;
  if (!tooLarge && text.length > 0) {
    if (request.jsonLike) {
      try {
        parsed = { value: JSON.parse(text) };
      } catch {
        // Not JSON: answered below, after authentication.
      }
      const found = parsed && jsonMayHoldControl(text) ? findInJson(parsed.value, '') : undefined;
      if (found) throw controlCharacterError(found);
    } else if (request.form) {
      const found = findInParams(new URLSearchParams(text));
      if (found) throw controlCharacterError(found);
    }
  }
  const caller = await authenticate(headers);
  requirePermission(route, caller);
  if (tooLarge) throw tooLargeError();
  let body = jsonBodyOf(text, request.jsonAccepted, JSON_TYPES, parsed);
  if (!FAST_CHECKS[routeUrl(route)]?.(body)) body = parseWith(route.body, body, 'body');
  echoRequestId(headers);
  const query = request.querystring ? Object.fromEntries(new URLSearchParams(request.querystring)) : {};
  return route.handler({ params: {}, query, body, caller, ctx: request.ctx });
}

/** The body through the app's one reader; `tooLarge` instead of its 413, which comes after authentication here. */
async function readDecisionBody(ctx: Context): Promise<{ text: string; tooLarge: boolean }> {
  try {
    return { text: await readBody(ctx, BODY_LIMIT), tooLarge: false };
  } catch (error) {
    if (error instanceof AppError && error.code === 'request.too_large') return { text: '', tooLarge: true };
    throw error;
  }
}

const postRoutesByPath = (routes: ApiRoute[]) => new Map(routes.filter((route) => route.method === 'post').map((route) => [routeUrl(route).toLowerCase(), route]));

/**
 * The decision routes (POST only) in Koa, served ahead of the protocol, session and page
 * middleware and ahead of the control-character check, which they make themselves on the body
 * they read once. Most decision requests are answered before Koa by decisionListener; this serves
 * the others (a query string, another spelling of the content type, telemetry or request logging
 * configured). Every other method on these paths goes on to the admin API router.
 */
export function decisionEndpoints(routes: ApiRoute[], authenticate: Authenticate) {
  const byPath = postRoutesByPath(routes);
  return async function decisions(ctx: Context, next: Next): Promise<void> {
    const route = ctx.method === 'POST' ? byPath.get(ctx.path.toLowerCase()) : undefined;
    if (!route) return next();
    // For the telemetry's route label, as the router would set it.
    (ctx as { _matchedRoute?: string })._matchedRoute = routeUrl(route);
    const plainJson = PLAIN_JSON.has(ctx.get('content-type'));
    const jsonLike = plainJson || Boolean(ctx.is('application/json', '+json'));
    const form = !jsonLike && Boolean(ctx.is('application/x-www-form-urlencoded'));
    // The query's control characters are refused before the body is read, as by the edge check.
    const field = ctx.querystring ? findInParams(new URLSearchParams(ctx.querystring)) : undefined;
    if (field) throw controlCharacterError(field);
    const { text, tooLarge } = await readDecisionBody(ctx);
    const result = await decide({ route, headers: ctx, querystring: ctx.querystring, jsonLike, jsonAccepted: plainJson || Boolean(ctx.is('application/json')), form, text, tooLarge, ctx }, authenticate);
    respond(ctx, route, result);
  };
}

/** The body of a request answered before Koa: whole, or `tooLarge` (the rest is left unread). */
function readRequestBody(req: IncomingMessage, limit: number): Promise<{ text: string; tooLarge: boolean }> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.resolve({ text: '', tooLarge: true });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (outcome: { text: string; tooLarge: boolean } | Error) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish({ text: '', tooLarge: true });
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish({ text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'), tooLarge: false }));
    req.once('error', (error) => finish(error));
    req.once('close', () => finish(new Error('the request was closed before its body was read')));
  });
}

/** The request's headers and the answer's extra headers, for a request answered before Koa. */
class RawExchange implements HeaderAccess {
  /** Names and values, in turn. */
  readonly extra: string[] = [];
  constructor(private readonly req: IncomingMessage) {}
  get(name: string): string {
    const value = this.req.headers[name.toLowerCase()];
    return value === undefined ? '' : Array.isArray(value) ? value.join(', ') : value;
  }
  set(name: string, value: string): void {
    this.extra.push(name, value);
  }
}

/**
 * The decision endpoints answered from the HTTP server's request handler, before Koa and the
 * app's middleware, for the common request: a POST to the path exactly, without a query string,
 * sent as application/json. It makes decide()'s checks and gives the answers the Koa stack gives
 * (the security headers of src/middleware/security-headers.ts, no-store on success, problem
 * details from src/middleware/error-handler.ts on error). Returns false for any other request,
 * which then goes to Koa (where decisionEndpoints serves the decision requests this does not).
 */
export function decisionListener(routes: ApiRoute[], authenticate: Authenticate, deps: { logger: Logger }): (req: IncomingMessage, res: ServerResponse) => boolean {
  const byPath = postRoutesByPath(routes);
  const security = apiSecurityHeaders().flat();
  const successHeaders = [...security, 'cache-control', API_CACHE_CONTROL, 'content-type', 'application/json; charset=utf-8'];
  const problemHeaders = [...security, 'content-type', 'application/problem+json'];

  function send(res: ServerResponse, status: number, fixed: string[], extra: string[], body: string, close: boolean): void {
    const headers = [...fixed, ...extra, 'content-length', String(Buffer.byteLength(body))];
    if (close) headers.push('connection', 'close');
    res.writeHead(status, headers);
    res.end(body);
  }

  async function serve(route: ApiRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const exchange = new RawExchange(req);
    let tooLarge = false;
    try {
      const read = await readRequestBody(req, BODY_LIMIT);
      tooLarge = read.tooLarge;
      const request: DecisionRequest = { route, headers: exchange, querystring: '', jsonLike: true, jsonAccepted: true, form: false, text: read.text, tooLarge, ctx: exchange as unknown as Context };
      const result = await decide(request, authenticate);
      send(res, statusOf(route, result), successHeaders, exchange.extra, JSON.stringify(result), false);
    } catch (error) {
      if (res.headersSent || res.destroyed) return;
      const path = req.url ?? '';
      if (isUnavailableError(error)) {
        deps.logger.warn({ path, error: (error as Error).message }, 'storage unavailable');
        send(res, 503, problemHeaders, ['retry-after', RETRY_AFTER_SECONDS, 'cache-control', 'no-store'], JSON.stringify(UNAVAILABLE_PROBLEM), tooLarge);
        return;
      }
      if (!(error instanceof AppError)) deps.logger.error({ err: error, path }, 'unhandled error');
      const problem = apiProblemOf(error);
      // A body left unread (too large) ends the connection with the answer.
      send(res, problem.status, problemHeaders, problem.status === 503 ? [...exchange.extra, 'retry-after', RETRY_AFTER_SECONDS] : exchange.extra, JSON.stringify(problem), tooLarge);
    }
  }

  return function decisionRequest(req, res) {
    if (req.method !== 'POST' || !PLAIN_JSON.has(req.headers['content-type'])) return false;
    const route = byPath.get((req.url ?? '').toLowerCase());
    if (!route) return false;
    serve(route, req, res).catch((error: unknown) => {
      // Writing the answer itself failed: nothing more can be sent on this connection.
      deps.logger.error({ err: error, path: req.url }, 'unhandled error');
      res.destroy();
    });
    return true;
  };
}

/** AuthZEN §9 PDP metadata, served at /.well-known/authzen-configuration. */
export function authzenMetadata(issuer: string): Record<string, unknown> {
  return {
    policy_decision_point: issuer,
    access_evaluation_endpoint: `${issuer}/access/v1/evaluation`,
    access_evaluations_endpoint: `${issuer}/access/v1/evaluations`,
  };
}
