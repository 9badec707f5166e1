// SQL of the webhook outbox: endpoints, the events written with every audit event, and the
// deliveries of each event to each subscribed endpoint.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { ChainContent } from './audit.ts';
import { dateOrNull, fieldsOf, json, type TenantOwned } from './rows.ts';

export type EndpointStatus = 'active' | 'disabled';
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookEndpoint extends TenantOwned {
  url: string;
  description: string | null;
  eventTypes: string[];
  secretEncrypted: string;
  status: EndpointStatus;
  disabledReason: string | null;
  consecutiveFailures: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookDelivery extends TenantOwned {
  endpointId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

/** What a receiver gets (Standard Webhooks payload: type, timestamp, data). */
export interface WebhookPayload {
  type: string;
  timestamp: string;
  data: {
    tenantId: string;
    result: 'success' | 'failure';
    actor: { type: string; id: string | null };
    target: { type: string; id: string | null } | null;
    details: Record<string, unknown>;
  };
}

/**
 * The webhook payload of an audit event. The client's IP address and user agent stay in the
 * audit log: they are personal data that receivers do not need to react to a change.
 */
export function payloadOfAudit(content: ChainContent): WebhookPayload {
  return {
    type: content.action,
    timestamp: content.occurredAt,
    data: {
      tenantId: content.tenantId,
      result: content.result,
      actor: { type: content.actorType, id: content.actorId },
      target: content.targetType ? { type: content.targetType, id: content.targetId } : null,
      details: content.details,
    },
  };
}

interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  event_types: string[] | string;
  secret_encrypted: string;
  status: EndpointStatus;
  disabled_reason: string | null;
  consecutive_failures: number;
  created_at: Date;
  updated_at: Date;
}

function endpointOf(row: EndpointRow): WebhookEndpoint {
  return {
    ...fieldsOf(row, ['id', 'tenantId', 'url', 'description', 'secretEncrypted', 'status', 'disabledReason', 'consecutiveFailures']),
    eventTypes: json(row.event_types),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

interface DeliveryRow {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
}

function deliveryOf(row: DeliveryRow): WebhookDelivery {
  return {
    ...fieldsOf(row, ['id', 'tenantId', 'endpointId', 'eventId', 'eventType', 'status', 'attempts', 'lastStatusCode', 'lastError']),
    nextAttemptAt: new Date(row.next_attempt_at),
    lastAttemptAt: dateOrNull(row.last_attempt_at),
    deliveredAt: dateOrNull(row.delivered_at),
    createdAt: new Date(row.created_at),
  };
}

/** Whether an endpoint subscribed to `type`: an exact type, a prefix ending in `.*`, or `*`. */
export function subscribes(eventTypes: string[], type: string): boolean {
  return eventTypes.some((pattern) => pattern === '*' || pattern === type || (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))));
}

const DELIVERY_COLUMNS = ['d.id', 'd.tenant_id', 'd.endpoint_id', 'e.id as event_id', 'e.type as event_type', 'd.status', 'd.attempts', 'd.next_attempt_at', 'd.last_status_code', 'd.last_error', 'd.last_attempt_at', 'd.delivered_at', 'd.created_at'];

export function createWebhookQueries(knex: Knex) {
  return {
    async insertEndpoint(row: { id: string; tenantId: string; url: string; description: string | null; eventTypes: string[]; secretEncrypted: string }, trx: Knex = knex): Promise<void> {
      await trx('webhook_endpoints').insert({ id: row.id, tenant_id: row.tenantId, url: row.url, description: row.description, event_types: JSON.stringify(row.eventTypes), secret_encrypted: row.secretEncrypted });
    },

    async findEndpoint(tenantId: string, id: string, db: Knex = knex): Promise<WebhookEndpoint | undefined> {
      const row: EndpointRow | undefined = await db('webhook_endpoints').where({ tenant_id: tenantId, id }).first();
      return row ? endpointOf(row) : undefined;
    },

    async listEndpoints(tenantId: string): Promise<WebhookEndpoint[]> {
      const rows: EndpointRow[] = await knex('webhook_endpoints').where({ tenant_id: tenantId }).orderBy('created_at');
      return rows.map(endpointOf);
    },

    async updateEndpoint(
      tenantId: string,
      id: string,
      patch: { url?: string; description?: string | null; eventTypes?: string[]; status?: EndpointStatus; disabledReason?: string | null; consecutiveFailures?: number; secretEncrypted?: string },
      trx: Knex = knex,
    ): Promise<void> {
      await trx('webhook_endpoints')
        .where({ tenant_id: tenantId, id })
        .update({
          ...(patch.url !== undefined ? { url: patch.url } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.eventTypes !== undefined ? { event_types: JSON.stringify(patch.eventTypes) } : {}),
          ...(patch.status !== undefined ? { status: patch.status } : {}),
          ...(patch.disabledReason !== undefined ? { disabled_reason: patch.disabledReason } : {}),
          ...(patch.consecutiveFailures !== undefined ? { consecutive_failures: patch.consecutiveFailures } : {}),
          ...(patch.secretEncrypted !== undefined ? { secret_encrypted: patch.secretEncrypted } : {}),
          updated_at: trx.fn.now(),
        });
    },

    /** Disables an active endpoint; false when it was not active (another node got there first). */
    async disableIfActive(tenantId: string, id: string, reason: string, trx: Knex = knex): Promise<boolean> {
      const count = await trx('webhook_endpoints').where({ tenant_id: tenantId, id, status: 'active' }).update({ status: 'disabled', disabled_reason: reason, updated_at: trx.fn.now() });
      return count > 0;
    },

    async deleteEndpoint(tenantId: string, id: string, trx: Knex = knex): Promise<number> {
      return trx('webhook_endpoints').where({ tenant_id: tenantId, id }).delete();
    },

    /**
     * Fans out a batch of events not yet fanned out: one delivery per event and active endpoint
     * subscribed to its type. Rows are locked (SKIP LOCKED), so two nodes never fan out the same event.
     */
    async fanOut(limit: number, now: Date): Promise<number> {
      return knex.transaction(async (trx) => {
        const events: { seq: string; tenant_id: string; type: string }[] = await trx('webhook_events').where({ fanned_out: false }).orderBy('seq').limit(limit).forUpdate().skipLocked().select('seq', 'tenant_id', 'type');
        if (!events.length) return 0;
        const endpoints: EndpointRow[] = await trx('webhook_endpoints')
          .where({ status: 'active' })
          .whereIn('tenant_id', [...new Set(events.map((e) => e.tenant_id))]);
        const deliveries = [];
        for (const event of events) {
          for (const endpoint of endpoints.map(endpointOf)) {
            if (endpoint.tenantId === event.tenant_id && subscribes(endpoint.eventTypes, event.type)) {
              deliveries.push({ id: randomUUID(), tenant_id: event.tenant_id, endpoint_id: endpoint.id, event_seq: event.seq, next_attempt_at: now });
            }
          }
        }
        for (let i = 0; i < deliveries.length; i += 5000)
          await trx('webhook_deliveries')
            .insert(deliveries.slice(i, i + 5000))
            .onConflict(['endpoint_id', 'event_seq'])
            .ignore();
        await trx('webhook_events')
          .whereIn(
            'seq',
            events.map((e) => e.seq),
          )
          .update({ fanned_out: true });
        return events.length;
      });
    },

    /**
     * Claims up to `limit` due deliveries of active endpoints until `claimUntil`: a claimed row is
     * skipped by every other node until then (or until its result is written).
     */
    async claimDue(limit: number, now: Date, claimUntil: Date): Promise<(WebhookDelivery & { payload: WebhookPayload; url: string; secretEncrypted: string })[]> {
      return knex.transaction(async (trx) => {
        const ids: string[] = await trx('webhook_deliveries as d')
          .join('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
          .where('d.status', 'pending')
          .andWhere('w.status', 'active')
          .andWhere('d.next_attempt_at', '<=', now)
          .andWhere((q) => q.whereNull('d.claimed_until').orWhere('d.claimed_until', '<=', now))
          .orderBy('d.next_attempt_at')
          .limit(limit)
          .forUpdate('d')
          .skipLocked()
          .pluck('d.id');
        if (!ids.length) return [];
        await trx('webhook_deliveries').whereIn('id', ids).update({ claimed_until: claimUntil });
        const rows: (DeliveryRow & { payload: WebhookPayload | string; url: string; secret_encrypted: string })[] = await trx('webhook_deliveries as d')
          .join('webhook_events as e', 'e.seq', 'd.event_seq')
          .join('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
          .whereIn('d.id', ids)
          .select(...DELIVERY_COLUMNS, 'e.payload', 'w.url', 'w.secret_encrypted');
        return rows.map((row) => ({ ...deliveryOf(row), payload: json<WebhookPayload>(row.payload), url: row.url, secretEncrypted: row.secret_encrypted }));
      });
    },

    async recordAttempt(id: string, result: { status: DeliveryStatus; statusCode: number | null; error: string | null; at: Date; nextAttemptAt: Date }): Promise<void> {
      await knex('webhook_deliveries')
        .where({ id })
        .update({
          status: result.status,
          attempts: knex.raw('attempts + 1'),
          last_status_code: result.statusCode,
          last_error: result.error,
          last_attempt_at: result.at,
          next_attempt_at: result.nextAttemptAt,
          claimed_until: null,
          ...(result.status === 'succeeded' ? { delivered_at: result.at } : {}),
        });
    },

    /** Counts a failed attempt against the endpoint; returns the new count. */
    async countFailure(endpointId: string): Promise<number> {
      const [row] = (await knex('webhook_endpoints').where({ id: endpointId }).increment('consecutive_failures', 1).returning('consecutive_failures')) as { consecutive_failures: number }[];
      return row?.consecutive_failures ?? 0;
    },

    async resetFailures(endpointId: string): Promise<void> {
      await knex('webhook_endpoints').where({ id: endpointId }).andWhere('consecutive_failures', '>', 0).update({ consecutive_failures: 0 });
    },

    async listDeliveries(tenantId: string, endpointId: string, limit: number): Promise<WebhookDelivery[]> {
      const rows: DeliveryRow[] = await knex('webhook_deliveries as d')
        .join('webhook_events as e', 'e.seq', 'd.event_seq')
        .where({ 'd.tenant_id': tenantId, 'd.endpoint_id': endpointId })
        .orderBy('d.created_at', 'desc')
        .orderBy('e.seq', 'desc')
        .limit(limit)
        .select(...DELIVERY_COLUMNS);
      return rows.map(deliveryOf);
    },

    async findDelivery(tenantId: string, endpointId: string, id: string): Promise<WebhookDelivery | undefined> {
      const row: DeliveryRow | undefined = await knex('webhook_deliveries as d')
        .join('webhook_events as e', 'e.seq', 'd.event_seq')
        .where({ 'd.tenant_id': tenantId, 'd.endpoint_id': endpointId, 'd.id': id })
        .first(...DELIVERY_COLUMNS);
      return row ? deliveryOf(row) : undefined;
    },

    /** Queues a delivery again now (a manual replay): a fresh attempt budget. */
    async requeue(id: string, now: Date, trx: Knex = knex): Promise<void> {
      await trx('webhook_deliveries').where({ id }).update({ status: 'pending', attempts: 0, next_attempt_at: now, claimed_until: null });
    },

    /** Removes events (and their deliveries) older than the cutoff that have been fanned out. */
    async purgeEvents(cutoff: Date): Promise<number> {
      return knex('webhook_events').where('created_at', '<', cutoff).andWhere({ fanned_out: true }).delete();
    },
  };
}

export type WebhookQueries = ReturnType<typeof createWebhookQueries>;
