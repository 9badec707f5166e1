// The OpenID AuthZEN Authorization API 1.0 endpoints, served from the admin API's route table (so
// their permissions are in Gatehouse's catalog and they are in the OpenAPI document) at the
// paths the standard names: §6 `POST /access/v1/evaluation`, §7 `POST /access/v1/evaluations`.
// Callers authenticate like every admin-API caller: a bearer token Gatehouse issued for
// `{issuer}/api`, whose identity holds the route's permission.
import type { Context, Next } from 'koa';
import { z } from 'zod';
import { readBody } from '../../middleware/form-body.ts';
import { controlCharacterError, findInJson, findInParams, jsonMayHoldControl } from '../../middleware/control-chars.ts';
import { SUBJECT_TYPES, type AccessDecision, type AccessEvaluationService, type AccessRequest } from '../../services/access-evaluation.ts';
import { AppError, invalidInput } from '../../services/errors.ts';
import { defineRoute, routeUrl, type ApiRoute, type Authenticate } from './framework.ts';

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
function echoRequestId(ctx: Context): void {
  const id = ctx.get('x-request-id');
  if (id && /^[\x21-\x7e]{1,200}$/.test(id)) ctx.set('x-request-id', id);
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
      async handler({ body, ctx }) {
        echoRequestId(ctx);
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
      async handler({ body, ctx }) {
        echoRequestId(ctx);
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

/** The body through the app's one reader; `tooLarge` instead of its 413, which comes after authentication here. */
async function readDecisionBody(ctx: Context): Promise<{ text: string; tooLarge: boolean }> {
  try {
    return { text: await readBody(ctx, BODY_LIMIT), tooLarge: false };
  } catch (error) {
    if (error instanceof AppError && error.code === 'request.too_large') return { text: '', tooLarge: true };
    throw error;
  }
}

/**
 * The decision routes (POST only), served ahead of the protocol, session and page middleware
 * and ahead of the control-character check, which they make themselves on the body they read
 * once: the same answers as the admin API's route handling (src/routes/api/framework.ts) and the
 * edge check (src/middleware/control-chars.ts) give, in the same order, without reading and
 * parsing each request twice. Every other method on these paths goes on to the admin API router.
 */
export function decisionEndpoints(routes: ApiRoute[], authenticate: Authenticate) {
  const byPath = new Map(routes.filter((route) => route.method === 'post').map((route) => [routeUrl(route).toLowerCase(), route]));
  return async function decisions(ctx: Context, next: Next): Promise<void> {
    const route = ctx.method === 'POST' ? byPath.get(ctx.path.toLowerCase()) : undefined;
    if (!route) return next();
    // For the telemetry's route label, as the router would set it.
    (ctx as { _matchedRoute?: string })._matchedRoute = routeUrl(route);
    // The edge check first, as for every endpoint: query parameters, then a form or JSON body.
    const field = ctx.querystring ? findInParams(new URLSearchParams(ctx.querystring)) : undefined;
    if (field) throw controlCharacterError(field);
    const contentType = ctx.get('content-type');
    const plainJson = contentType === 'application/json' || contentType === 'application/json; charset=utf-8';
    const json = plainJson || Boolean(ctx.is('application/json', '+json'));
    const form = !json && Boolean(ctx.is('application/x-www-form-urlencoded'));
    const { text, tooLarge } = await readDecisionBody(ctx);
    let parsed: { value: unknown } | undefined;
    if (!tooLarge && text.length > 0) {
      if (json) {
        try {
          parsed = { value: JSON.parse(text) };
        } catch {
          // Not JSON: answered below, after authentication.
        }
        const found = parsed && jsonMayHoldControl(text) ? findInJson(parsed.value, '') : undefined;
        if (found) throw controlCharacterError(found);
      } else if (form) {
        const found = findInParams(new URLSearchParams(text));
        if (found) throw controlCharacterError(found);
      }
    }
    const caller = await authenticate(ctx);
    if (route.permission && !caller.adminPermissions.has(route.permission)) {
      throw new AppError('auth.forbidden', 403, `this action requires the permission "${route.permission}"`);
    }
    if (tooLarge) throw new AppError('request.too_large', 413, `the request body is larger than ${BODY_LIMIT} bytes`);
    if (text.length > 0 && !plainJson && !ctx.is('application/json')) throw new AppError('request.unsupported_media_type', 415, 'send the body as application/json');
    if (text.length === 0) parsed = { value: {} };
    if (!parsed) throw new AppError('request.malformed_json', 400, 'the request body is not valid JSON');
    let body = parsed.value;
    if (!FAST_CHECKS[routeUrl(route)]?.(body) && route.body) {
      const checked = route.body.safeParse(body);
      if (!checked.success) throw invalidInput('request.invalid', checked.error, 'body');
      body = checked.data;
    }
    const result = await route.handler({ params: {}, query: ctx.querystring ? Object.fromEntries(new URLSearchParams(ctx.querystring)) : {}, body, caller, ctx });
    ctx.set('cache-control', 'no-store');
    ctx.status = route.status ?? 200;
    ctx.body = result;
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
