// Admin API: the audit log. Search with keyset pagination, a streamed export as CSV or JSON,
// verification of the hash chain, and sign-ins counted over time. The CSV is safe to open in a
// spreadsheet: see csvCell.
import { Readable } from 'node:stream';
import { z } from 'zod';
import { MAX_ACTIVITY_BUCKETS, type AuditEvent, type AuditSearchInput } from '../../services/audit.ts';
import { actorOf } from './caller.ts';
import { defineRoute, presenter, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';

const filterFields = {
  from: z.iso.datetime({ offset: true }).optional().describe('events at or after this time (ISO 8601)'),
  to: z.iso.datetime({ offset: true }).optional().describe('events before this time (ISO 8601)'),
  actor: z.string().min(1).max(300).optional().describe('actor id (user, service account)'),
  target: z.string().min(1).max(500).optional().describe('target id'),
  action: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_.:-]+(\.\*)?$/, 'an action name, or a prefix followed by ".*" (user.*)')
    .optional()
    .describe('exact action, or a prefix with ".*" (user.*)'),
  result: z.enum(['success', 'failure']).optional(),
};
const filterQuery = z.object(filterFields).strict();
type FilterQuery = z.infer<typeof filterQuery>;

const eventView = z.object({
  id: z.string(),
  occurredAt: z.string(),
  action: z.string(),
  result: z.enum(['success', 'failure']),
  actorType: z.string(),
  actorId: z.string().nullable(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  hash: z.string().describe("this event's link in the hash chain (see gatehouse audit verify)"),
});

const presentEvent = presenter(eventView);

function toSearch(query: FilterQuery): AuditSearchInput {
  return {
    from: query.from ? new Date(query.from) : undefined,
    to: query.to ? new Date(query.to) : undefined,
    actor: query.actor,
    target: query.target,
    action: query.action,
    result: query.result,
  };
}

const CSV_COLUMNS = ['id', 'occurred_at', 'action', 'result', 'actor_type', 'actor_id', 'target_type', 'target_id', 'ip', 'user_agent', 'details', 'hash'] as const;

// A cell a spreadsheet would read as a formula (OWASP "CSV Injection": = + - @ tab and carriage
// return) gets a leading single quote, so it shows as text and never runs.
const FORMULA_START = /^[=+\-@\t\r]/;

/** One field: neutralised, then always quoted with inner quotes doubled (RFC 4180 §2.5-2.7). */
export function csvCell(value: string | null): string {
  if (value === null) return '';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return `"${text.replace(/"/g, '""')}"`;
}

function csvRow(event: AuditEvent): string {
  const cells = [event.id, event.occurredAt.toISOString(), event.action, event.result, event.actorType, event.actorId, event.targetType, event.targetId, event.ip, event.userAgent, JSON.stringify(event.details), event.hash];
  // RFC 4180 §2.1: records end with CRLF.
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function auditRoutes(services: Pick<ApiServices, 'audit'>): ApiRoute[] {
  const { audit } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/audit-events',
      permission: 'audit-events:list',
      summary: 'Search the audit log, newest first by time (keyset pages: pass nextCursor back as cursor)',
      tag: 'audit-events',
      query: z
        .object({
          ...filterFields,
          limit: z.coerce.number().int().min(1).max(500).default(100),
          cursor: z.string().min(1).max(100).optional(),
        })
        .strict(),
      response: z.object({ events: z.array(eventView), nextCursor: z.string().nullable() }),
      async handler({ query, caller }) {
        const { limit, cursor, ...filters } = query;
        const page = await audit.search(caller.tenantId, toSearch(filters), { limit, cursor });
        return { events: page.events.map(presentEvent), nextCursor: page.nextCursor };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/audit-events/export',
      permission: 'audit-events:export',
      summary: 'Export the matching audit events, newest first by time, streamed as CSV (text/csv) or a JSON array (application/json)',
      tag: 'audit-events',
      query: filterQuery.extend({ format: z.enum(['csv', 'json']).default('csv') }),
      raw: true,
      async handler({ query, caller, ctx }) {
        const { format, ...filters } = query;
        const search = toSearch(filters);
        // Who took a copy of the log is itself worth knowing.
        await audit.record({ tenantId: caller.tenantId, action: 'audit.exported', ...actorOf(caller, ctx), targetType: 'audit_log', details: { format, filters } });
        const pages = audit.stream(caller.tenantId, search);
        // The first page is read before the response starts, so a failure still gets a proper
        // problem response; later failures can only cut the stream short.
        const first = await pages.next();
        async function* body(): AsyncGenerator<string> {
          if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
          else yield '[';
          let separator = '\n';
          const json = (event: AuditEvent) => {
            const text = `${separator}${JSON.stringify(presentEvent(event))}`;
            separator = ',\n';
            return text;
          };
          const write = (events: AuditEvent[]) => events.map(format === 'csv' ? csvRow : json).join('');
          if (!first.done) {
            yield write(first.value);
            for await (const events of pages) yield write(events);
          }
          yield format === 'csv' ? '' : '\n]\n';
        }
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        ctx.status = 200;
        ctx.type = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8';
        ctx.attachment(`audit-events-${stamp}.${format}`);
        // Readable.from pulls one page at a time as the client reads (back-pressure), and stops
        // the generator if the client goes away.
        ctx.body = Readable.from(body(), { objectMode: false });
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/audit-events/verification',
      permission: 'audit-chain:read',
      summary: "Verify the audit log's hash chain now (as `gatehouse audit verify` does): intact, or the first event where it breaks. Requests made while a verification runs share it.",
      tag: 'audit-events',
      response: z.object({
        intact: z.boolean(),
        checked: z.number().int().describe("this tenant's events verified (the chain spans every tenant and is verified whole)"),
        verifiedAt: z.string(),
        brokenAt: z
          .object({ id: z.string().nullable().describe("the event's id; null when it is another tenant's"), field: z.enum(['prev_hash', 'hash']).describe('prev_hash: an event removed or reordered before it; hash: its content changed') })
          .nullable(),
      }),
      async handler({ caller }) {
        const result = await audit.verifyShared();
        return {
          intact: result.ok,
          checked: result.countByTenant[caller.tenantId] ?? 0,
          verifiedAt: new Date().toISOString(),
          brokenAt: result.ok ? null : { id: result.brokenAt.tenantId === caller.tenantId ? result.brokenAt.id : null, field: result.brokenAt.field },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/audit-events/sign-in-activity',
      permission: 'sign-in-activity:read',
      summary: `Successful and failed sign-ins (user.sign_in events) per hour or day, oldest first, every bucket present; at most ${MAX_ACTIVITY_BUCKETS} buckets. Defaults: the last 24 hours by hour.`,
      tag: 'audit-events',
      query: z
        .object({
          from: z.iso.datetime({ offset: true }).optional().describe('start of the first bucket (ISO 8601); default: `to` less 24 hours'),
          to: z.iso.datetime({ offset: true }).optional().describe('end of the window, exclusive (ISO 8601); default: now'),
          bucket: z.enum(['hour', 'day']).default('hour'),
        })
        .strict(),
      response: z.object({
        from: z.string(),
        to: z.string(),
        bucket: z.enum(['hour', 'day']),
        buckets: z.array(z.object({ start: z.string(), succeeded: z.number().int(), failed: z.number().int() })),
      }),
      async handler({ query, caller }) {
        const to = query.to ? new Date(query.to) : new Date();
        const from = query.from ? new Date(query.from) : new Date(to.getTime() - 86_400_000);
        const activity = await audit.signInActivity(caller.tenantId, { from, to, bucketSeconds: query.bucket === 'day' ? 86_400 : 3_600 });
        return { from: activity.from.toISOString(), to: activity.to.toISOString(), bucket: query.bucket, buckets: activity.buckets.map((b) => ({ start: b.start.toISOString(), succeeded: b.succeeded, failed: b.failed })) };
      },
    }),
  ];
}
