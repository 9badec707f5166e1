// The OpenID AuthZEN Authorization API 1.0 endpoints, served from the admin API's route table (so
// their permissions are in Gatehouse's catalog and they are in the OpenAPI document) at the
// paths the standard names: §6 `POST /access/v1/evaluation`, §7 `POST /access/v1/evaluations`.
// Callers authenticate like every admin-API caller: a bearer token Gatehouse issued for
// `{issuer}/api`, whose identity holds the route's permission.
import type { Context } from 'koa';
import { z } from 'zod';
import { SUBJECT_TYPES, type AccessDecision, type AccessEvaluationService, type AccessRequest } from '../../services/access-evaluation.ts';
import { AppError } from '../../services/errors.ts';
import { defineRoute, type ApiRoute } from './framework.ts';

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

/** AuthZEN §9 PDP metadata, served at /.well-known/authzen-configuration. */
export function authzenMetadata(issuer: string): Record<string, unknown> {
  return {
    policy_decision_point: issuer,
    access_evaluation_endpoint: `${issuer}/access/v1/evaluation`,
    access_evaluations_endpoint: `${issuer}/access/v1/evaluations`,
  };
}
