// Webhooks (Standard Webhooks, https://www.standardwebhooks.com/): endpoints subscribe to event
// types; every audit event reaches the outbox (webhook_events) in the transaction of the change
// it reports (services/audit.ts); the scheduled job "webhook-delivery" (once across nodes) fans
// new events out to the subscribed endpoints and delivers them.
//
// - Signing: `webhook-id` (the event id, the same on every retry and replay, so receivers can
//   drop duplicates), `webhook-timestamp` (seconds), `webhook-signature: v1,<base64 HMAC-SHA256
//   of "id.timestamp.body">`, keyed with the base64 part of the endpoint's `whsec_` secret.
// - Retries: a delivery that fails (network error, timeout, non-2xx answer, a 3xx included: no
//   redirect is followed) is tried again after 10 s, 20 s, 40 s … up to 6 h, MAX_ATTEMPTS times.
// - An endpoint whose last DISABLE_AFTER attempts all failed is disabled (its deliveries wait),
//   with an audit event and a warning as the notice; re-enabling it resumes them.
// - Delivered once: deliveries are claimed with FOR UPDATE SKIP LOCKED and a lease, so two nodes
//   running the job at once never send the same delivery twice.
// - The same SSRF rules as back-channel logout (services/outbound.ts).
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { Queries } from '../queries/index.ts';
import type { WebhookDelivery, WebhookEndpoint, WebhookPayload } from '../queries/webhooks.ts';
import { SYSTEM_ACTOR, type Actor } from './actor.ts';
import { backchannelLogoutUriSchema } from './applications.ts';
import { assertAdmin, type Administrator } from './administration.ts';
import type { AuditService } from './audit.ts';
import { AppError } from './errors.ts';
import { postJson } from './outbound.ts';
import { decrypt, encrypt } from './secrets.ts';
import { recordWebhookDelivery } from '../telemetry/metrics.ts';

export type { WebhookDelivery, WebhookEndpoint, WebhookPayload };

export const WEBHOOK_JOB = 'webhook-delivery';
export const WEBHOOK_RETENTION_JOB = 'webhook-retention';
export const MAX_ATTEMPTS = 10;
export const DISABLE_AFTER = 15;
const FIRST_RETRY_SECONDS = 10;
const LONGEST_RETRY_SECONDS = 6 * 3600;
const TIMEOUT_MS = 10_000;
const BATCH = 50;
const CONCURRENCY = 8;
/** A claim outlasts the slowest batch (BATCH / CONCURRENCY rounds of TIMEOUT_MS). */
const CLAIM_MS = 5 * 60_000;
const RETENTION_DAYS = 30;

const eventTypeSchema = z.string().regex(/^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/, 'an event type (user.created), a prefix (user.*) or *');
export const newWebhookSchema = z
  .object({
    url: backchannelLogoutUriSchema,
    description: z.string().trim().max(500).nullable().optional(),
    eventTypes: z.array(eventTypeSchema).min(1).max(100),
  })
  .strict();
export const webhookPatchSchema = z
  .object({
    url: backchannelLogoutUriSchema.optional(),
    description: z.string().trim().max(500).nullable().optional(),
    eventTypes: z.array(eventTypeSchema).min(1).max(100).optional(),
    enabled: z.boolean().optional().describe('true re-enables a disabled endpoint (its waiting deliveries resume); false disables it'),
  })
  .strict();

/** Who changes an endpoint: the caller's rights are asked by the administration guard. */
export interface WebhookChange extends Administrator {
  actor: Actor;
}

/** Standard Webhooks signature of one message. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** Seconds before attempt `attempts + 1`, after `attempts` failed ones. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(FIRST_RETRY_SECONDS * 2 ** Math.max(0, attempts - 1), LONGEST_RETRY_SECONDS);
}

export function createWebhookService(deps: { queries: Queries; audit: AuditService; logger: Logger; encryptionKey: Buffer; allowPrivate: boolean; now?: () => number }) {
  const queries = deps.queries.webhooks;
  const now = () => new Date((deps.now ?? Date.now)());

  /** The endpoint, read through `q` (a transaction's queries when given). */
  async function getEndpoint(tenantId: string, id: string, q: Queries['webhooks'] = queries): Promise<WebhookEndpoint> {
    const endpoint = await q.findEndpoint(tenantId, id);
    if (!endpoint) throw new AppError('webhook.not_found', 404, 'no webhook endpoint with this id');
    return endpoint;
  }

  function parse<T>(schema: z.ZodType<T>, input: unknown): T {
    const parsed = schema.safeParse(input);
    if (!parsed.success) throw new AppError('webhook.invalid', 400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    return parsed.data;
  }

  async function deliver(delivery: WebhookDelivery & { payload: WebhookPayload; url: string; secretEncrypted: string }): Promise<void> {
    const at = now();
    const body = JSON.stringify(delivery.payload);
    const timestamp = Math.floor(at.getTime() / 1000);
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const secret = decrypt(deps.encryptionKey, delivery.secretEncrypted);
      const result = await postJson(
        delivery.url,
        body,
        { 'webhook-id': delivery.eventId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, delivery.eventId, timestamp, body) },
        { allowPrivate: deps.allowPrivate, timeoutMs: TIMEOUT_MS },
      );
      statusCode = result.status;
      if (result.status < 200 || result.status > 299) error = `the endpoint answered ${result.status}`;
    } catch (err) {
      error = (err as Error).message.slice(0, 500);
    }
    const attempts = delivery.attempts + 1;
    if (!error) {
      await queries.recordAttempt(delivery.id, { status: 'succeeded', statusCode, error: null, at, nextAttemptAt: at });
      await queries.resetFailures(delivery.endpointId);
      recordWebhookDelivery('delivered');
      return;
    }
    const exhausted = attempts >= MAX_ATTEMPTS;
    recordWebhookDelivery(exhausted ? 'failed' : 'retried');
    await queries.recordAttempt(delivery.id, { status: exhausted ? 'failed' : 'pending', statusCode, error, at, nextAttemptAt: new Date(at.getTime() + retryDelaySeconds(attempts) * 1000) });
    const failures = await queries.countFailure(delivery.endpointId);
    if (failures >= DISABLE_AFTER) await disableForFailures(delivery.tenantId, delivery.endpointId, failures, error);
  }

  async function disableForFailures(tenantId: string, endpointId: string, failures: number, lastError: string): Promise<void> {
    const reason = `disabled after ${failures} failed attempts in a row; last: ${lastError}`;
    const flipped = await deps.queries.transaction(async (tx) => {
      // Only the attempt that flips the status records the notice.
      if (!(await tx.webhooks.disableIfActive(tenantId, endpointId, reason))) return false;
      const endpoint = (await tx.webhooks.findEndpoint(tenantId, endpointId))!;
      await deps.audit.record({ tenantId, action: 'webhook.endpoint_disabled', ...SYSTEM_ACTOR, result: 'failure', targetType: 'webhook_endpoint', targetId: endpointId, details: { url: endpoint.url, failures, lastError } }, tx.db);
      return true;
    });
    if (flipped) deps.logger.warn({ endpointId, failures }, 'webhook endpoint disabled after repeated failures');
  }

  return {
    async create(input: unknown, by: WebhookChange): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
      const value = parse(newWebhookSchema, input);
      const secret = `whsec_${randomBytes(32).toString('base64')}`;
      const id = randomUUID();
      await deps.queries.transaction(async (tx) => {
        // An endpoint receives events about every subject of the tenant (audit events included):
        // a read of everything, so only an Admin points one somewhere (ASVS 5 V8.2.2).
        assertAdmin(by, "subscribe a webhook endpoint to the tenant's events");
        await tx.webhooks.insertEndpoint({ id, tenantId: by.tenantId, url: value.url, description: value.description ?? null, eventTypes: value.eventTypes, secretEncrypted: encrypt(deps.encryptionKey, secret) });
        await deps.audit.record({ tenantId: by.tenantId, action: 'webhook.endpoint_created', ...by.actor, targetType: 'webhook_endpoint', targetId: id, details: { url: value.url, eventTypes: value.eventTypes } }, tx.db);
      });
      return { endpoint: await getEndpoint(by.tenantId, id), secret };
    },

    list: (tenantId: string) => queries.listEndpoints(tenantId),
    get: (tenantId: string, id: string) => getEndpoint(tenantId, id),

    async update(id: string, input: unknown, by: WebhookChange): Promise<WebhookEndpoint> {
      const patch = parse(webhookPatchSchema, input);
      await deps.queries.transaction(async (tx) => {
        assertAdmin(by, "change where a webhook endpoint sends the tenant's events");
        const before = await getEndpoint(by.tenantId, id, tx.webhooks);
        const status = patch.enabled === undefined ? undefined : patch.enabled ? 'active' : 'disabled';
        await tx.webhooks.updateEndpoint(by.tenantId, id, {
          url: patch.url,
          description: patch.description,
          eventTypes: patch.eventTypes,
          status,
          ...(status === 'active' ? { disabledReason: null, consecutiveFailures: 0 } : status === 'disabled' && before.status === 'active' ? { disabledReason: 'disabled by an administrator' } : {}),
        });
        await deps.audit.record(
          {
            tenantId: by.tenantId,
            action: 'webhook.endpoint_updated',
            ...by.actor,
            targetType: 'webhook_endpoint',
            targetId: id,
            details: { before: { url: before.url, eventTypes: before.eventTypes, status: before.status }, after: { url: patch.url ?? before.url, eventTypes: patch.eventTypes ?? before.eventTypes, status: status ?? before.status } },
          },
          tx.db,
        );
      });
      return getEndpoint(by.tenantId, id);
    },

    async remove(id: string, by: WebhookChange): Promise<void> {
      await deps.queries.transaction(async (tx) => {
        const before = await getEndpoint(by.tenantId, id, tx.webhooks);
        await tx.webhooks.deleteEndpoint(by.tenantId, id);
        await deps.audit.record({ tenantId: by.tenantId, action: 'webhook.endpoint_deleted', ...by.actor, targetType: 'webhook_endpoint', targetId: id, details: { url: before.url } }, tx.db);
      });
    },

    async deliveries(tenantId: string, endpointId: string, limit = 100): Promise<WebhookDelivery[]> {
      await getEndpoint(tenantId, endpointId);
      return queries.listDeliveries(tenantId, endpointId, limit);
    },

    /** Sends a delivery again (whatever its state) on the job's next run, with the same webhook-id. */
    async replay(endpointId: string, deliveryId: string, by: WebhookChange): Promise<WebhookDelivery> {
      const delivery = await queries.findDelivery(by.tenantId, endpointId, deliveryId);
      if (!delivery) throw new AppError('webhook.delivery_not_found', 404, 'this endpoint has no delivery with this id');
      await deps.queries.transaction(async (tx) => {
        await tx.webhooks.requeue(deliveryId, now());
        await deps.audit.record({ tenantId: by.tenantId, action: 'webhook.delivery_replayed', ...by.actor, targetType: 'webhook_endpoint', targetId: endpointId, details: { deliveryId, eventId: delivery.eventId } }, tx.db);
      });
      return (await queries.findDelivery(by.tenantId, endpointId, deliveryId))!;
    },

    /**
     * The job: fans new events out, then delivers what is due, batch after batch, until nothing
     * is due. Resolves with what it did.
     */
    async run(): Promise<{ fannedOut: number; attempted: number }> {
      let fannedOut = 0;
      for (;;) {
        const n = await queries.fanOut(1000, now());
        fannedOut += n;
        if (n < 1000) break;
      }
      let attempted = 0;
      for (;;) {
        const at = now();
        const batch = await queries.claimDue(BATCH, at, new Date(at.getTime() + CLAIM_MS));
        if (!batch.length) break;
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(CONCURRENCY, batch.length) }, async () => {
            while (next < batch.length) await deliver(batch[next++]!);
          }),
        );
        attempted += batch.length;
        if (batch.length < BATCH) break;
      }
      return { fannedOut, attempted };
    },

    /** Drops events (and their delivery log) older than the retention period. */
    async purge(): Promise<number> {
      return queries.purgeEvents(new Date(now().getTime() - RETENTION_DAYS * 86_400_000));
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
