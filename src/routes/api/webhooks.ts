// Admin API: webhook endpoints (Standard Webhooks), their delivery log and replay. The payloads
// receivers get are documented in the OpenAPI document's `webhooks` section (webhookPayloadDocs).
import { z } from 'zod';
import { newWebhookSchema, webhookPatchSchema, MAX_ATTEMPTS, DISABLE_AFTER, type WebhookDelivery } from '../../services/webhooks.ts';
import { defineRoute, presenter, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { changeRequestOf } from './roles.ts';

const endpointView = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  eventTypes: z.array(z.string()),
  status: z.enum(['active', 'disabled']),
  disabledReason: z.string().nullable(),
  consecutiveFailures: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const deliveryView = z.object({
  id: z.string(),
  eventId: z.string().describe('the webhook-id header: the same on every retry and replay'),
  eventType: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable().describe('when the next attempt is due (pending only)'),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
});
const params = z.object({ id: z.guid() });
const deliveryParams = z.object({ id: z.guid(), deliveryId: z.guid() });

const presentEndpoint = presenter(endpointView);
const presentDeliveryFields = presenter(deliveryView);

function presentDelivery(d: WebhookDelivery): z.infer<typeof deliveryView> {
  return { ...presentDeliveryFields(d), nextAttemptAt: d.status === 'pending' ? d.nextAttemptAt.toISOString() : null };
}

export function webhookRoutes(services: Pick<ApiServices, 'webhooks'>): ApiRoute[] {
  const { webhooks } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/webhooks',
      permission: 'webhooks:list',
      summary: 'List webhook endpoints',
      tag: 'webhooks',
      response: z.object({ items: z.array(endpointView) }),
      async handler({ caller }) {
        return { items: (await webhooks.list(caller.tenantId)).map(presentEndpoint) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks',
      permission: 'webhooks:create',
      summary: 'Subscribe an endpoint to event types (exact, a prefix such as user.*, or *). The answer carries the signing secret (whsec_…) once: it is never shown again.',
      tag: 'webhooks',
      body: newWebhookSchema,
      response: endpointView.extend({ secret: z.string().describe('the Standard Webhooks signing secret, shown only now') }),
      status: 201,
      async handler({ body, caller, ctx }) {
        const { endpoint, secret } = await webhooks.create(body, changeRequestOf(caller, ctx));
        return { ...presentEndpoint(endpoint), secret };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/:id',
      permission: 'webhooks:read',
      summary: 'Read a webhook endpoint (without its secret)',
      tag: 'webhooks',
      params,
      response: endpointView,
      async handler({ params: p, caller }) {
        return presentEndpoint(await webhooks.get(caller.tenantId, p.id));
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/webhooks/:id',
      permission: 'webhooks:update',
      summary: `Change an endpoint's URL, description or event types, or enable or disable it. An endpoint is disabled by itself after ${DISABLE_AFTER} failed attempts in a row; enabling it again resumes its waiting deliveries.`,
      tag: 'webhooks',
      params,
      body: webhookPatchSchema,
      response: endpointView,
      async handler({ params: p, body, caller, ctx }) {
        return presentEndpoint(await webhooks.update(p.id, body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/webhooks/:id',
      permission: 'webhooks:delete',
      summary: 'Delete a webhook endpoint and its delivery log',
      tag: 'webhooks',
      params,
      async handler({ params: p, caller, ctx }) {
        await webhooks.remove(p.id, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/:id/deliveries',
      permission: 'webhook-deliveries:list',
      summary: `The endpoint's delivery log, newest first (the last 100): each event's status, attempts (at most ${MAX_ATTEMPTS}), last answer or error`,
      tag: 'webhooks',
      params,
      response: z.object({ items: z.array(deliveryView) }),
      async handler({ params: p, caller }) {
        return { items: (await webhooks.deliveries(caller.tenantId, p.id)).map(presentDelivery) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/:id/deliveries/:deliveryId/replay',
      permission: 'webhook-deliveries:replay',
      summary: 'Send a delivery again (delivered, failed or pending) on the next run of the delivery job, with the same webhook-id',
      tag: 'webhooks',
      params: deliveryParams,
      response: deliveryView,
      async handler({ params: p, caller, ctx }) {
        return presentDelivery(await webhooks.replay(p.id, p.deliveryId, changeRequestOf(caller, ctx)));
      },
    }),
  ];
}

/** OpenAPI 3.1 `webhooks`: what every endpoint receives, with the Standard Webhooks headers. */
export function webhookPayloadDocs(): Record<string, unknown> {
  const header = (description: string) => ({ required: true, schema: { type: 'string' }, description });
  return {
    event: {
      post: {
        summary:
          'An event: every audit event (user.created, user.updated, user.deleted, user.locked, user.password_changed, user.sign_in, session.ended, identity.*, identity.roles_assigned, identity.data_scope_set, group.members_added, role.*, …), sent to the endpoints subscribed to its type',
        parameters: [
          { name: 'webhook-id', in: 'header', ...header('the event id: the same on every retry and replay (deduplicate on it)') },
          { name: 'webhook-timestamp', in: 'header', ...header('seconds since the epoch when this attempt was sent (refuse old ones)') },
          { name: 'webhook-signature', in: 'header', ...header('v1,<base64 HMAC-SHA256 over "webhook-id.webhook-timestamp.body", keyed with the base64-decoded part of the whsec_ secret after the prefix>') },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['type', 'timestamp', 'data'],
                properties: {
                  type: { type: 'string', description: 'the event type: the audit action, e.g. user.deactivated' },
                  timestamp: { type: 'string', format: 'date-time', description: 'when the change happened' },
                  data: {
                    type: 'object',
                    required: ['tenantId', 'result', 'actor', 'target', 'details'],
                    properties: {
                      tenantId: { type: 'string' },
                      result: { enum: ['success', 'failure'] },
                      actor: { type: 'object', properties: { type: { enum: ['user', 'service', 'system', 'anonymous', 'cli'] }, id: { type: ['string', 'null'] } } },
                      target: { type: ['object', 'null'], properties: { type: { type: 'string' }, id: { type: ['string', 'null'] } } },
                      details: { type: 'object', description: "the audit event's details (e.g. before and after of a change)" },
                    },
                  },
                },
              },
            },
          },
        },
        responses: { '2XX': { description: 'Received; any other answer (or none within 10 s) is retried with exponential back-off' } },
      },
    },
  };
}
