// The audit log: the writer every service calls, search and export, chain verification and the
// retention purge.
//
// - Writing: a failed audit write is logged but never breaks the caller's request (the event
//   that happened has happened), except inside the caller's transaction, where the caller decides.
// - Hash chain: each row links to the previous row's hash. An append is one statement (the
//   database function gatehouse_audit_append, through queries/audit.ts) that takes one advisory
//   lock, reads the head inside it and inserts the linked rows, so two nodes appending at once
//   cannot both link to the same row (a fork). The lock is transaction-scoped: when the caller
//   passes its transaction, the chain is held until that transaction ends, which is why services
//   record their event last.
// - Throughput: the chain is one sequence, so appends are serialised across all nodes and each
//   holds the lock through its commit. Events recorded outside a caller's transaction (sign-ins,
//   failures, sign-outs: the hot path) are therefore queued per node and written in batches, one
//   statement (its own transaction) per batch; a lone event is written at once, and events
//   arriving meanwhile ride on the next batch. This also keeps concurrent writers from each
//   holding a pooled connection while they wait for the lock.
// - Webhooks: every appended event is also written to the webhook outbox (webhook_events) by the
//   same statement; services/webhooks.ts delivers it.
// - Retention: purgeExpired() deletes the oldest rows (always a prefix of the chain) through the
//   one path the append-only trigger allows, moves the chain anchor, and audits itself.
//   It runs daily as the scheduled job "audit-retention" (once across all nodes), and on demand
//   from `gatehouse audit purge`.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { Executor, Queries } from '../queries/index.ts';
import { chainHash, contentOfInput, contentOfRow, type AuditEvent, type AuditEventInput, type AuditFilter, type ChainAnchor, type ChainContent } from '../queries/audit.ts';
import { payloadOfAudit } from '../queries/webhooks.ts';
import { SYSTEM_ACTOR, type Actor } from './actor.ts';
import { decodeCursor, encodeCursor, pageOf } from './cursor.ts';
import { AppError } from './errors.ts';

export type { AuditEvent, AuditEventInput, AuditFilter };

const DAY_MS = 86_400_000;
const VERIFY_PAGE = 1000;
const PURGE_BATCH = 10_000;
/** Events per write when the queue has backed up. */
const MAX_BATCH = 500;
/** Events per statement in recordMany. */
const BULK_BATCH = 4000;

/** What the API and the CLI accept: `action` ending in `.*` matches by prefix. */
export interface AuditSearchInput {
  from?: Date;
  to?: Date;
  actor?: string;
  target?: string;
  action?: string;
  result?: 'success' | 'failure';
}

export interface AuditPage {
  events: AuditEvent[];
  /** Opaque; pass it back as `cursor` for the next (older) page. null: no more. */
  nextCursor: string | null;
}

/** `countByTenant`: the rows checked, per tenant (the chain spans every tenant). */
export type ChainVerification =
  | { ok: true; count: number; countByTenant: Record<string, number>; anchor: ChainAnchor; headHash: string }
  | { ok: false; count: number; countByTenant: Record<string, number>; anchor: ChainAnchor; brokenAt: { id: string; tenantId: string; field: 'prev_hash' | 'hash'; expected: string; found: string } };

/** Sign-ins per time bucket: what an overview charts. */
export interface SignInActivity {
  from: Date;
  to: Date;
  bucketSeconds: number;
  buckets: { start: Date; succeeded: number; failed: number }[];
}

/** The most buckets one activity query returns. */
export const MAX_ACTIVITY_BUCKETS = 400;

export interface PurgeReport {
  count: number;
  cutoff: Date;
  retentionDays: number;
  /** The id of the last row removed, if any. */
  throughId: string | null;
}

function toFilter(input: AuditSearchInput): AuditFilter {
  const filter: AuditFilter = { from: input.from, to: input.to, actorId: input.actor, targetId: input.target, result: input.result };
  if (input.action?.endsWith('.*')) filter.actionPrefix = input.action.slice(0, -1);
  else filter.action = input.action;
  return filter;
}

// The cursor is the last id of the page, in the keyset cursor's opaque form (./cursor.ts), tagged
// with the order it pages in so a change of ordering rejects old cursors instead of misreading
// them. v2: pages in (occurred_at, id) order (v1 paged by id alone).
const auditCursor = z.tuple([z.literal('v2'), z.string().regex(/^[1-9][0-9]{0,18}$/)]);
const encodeAuditCursor = (id: string) => encodeCursor(['v2', id]);
const decodeAuditCursor = (cursor: string) => decodeCursor(cursor, auditCursor, 'audit.invalid_cursor')[1];

/**
 * The log reads and writes through the queries bag. A writer may hand record() its own
 * transaction (an executor), so that the event commits or rolls back with the change it reports.
 */
export function createAuditService(bag: Queries, logger: Logger, options: { retentionDays?: number } = {}) {
  const queries = bag.audit;
  const retentionDays = options.retentionDays ?? 365;

  /**
   * Links and writes events with their webhook outbox rows (services/webhooks.ts delivers them):
   * one statement, in `trx` when given (so the events commit or roll back with the change they
   * report), else a transaction of its own.
   */
  async function append(contents: ChainContent[], trx?: Executor): Promise<void> {
    await queries.append(
      contents.map((content) => ({ content, webhookId: randomUUID(), payload: payloadOfAudit(content) })),
      trx,
    );
  }

  interface Pending {
    content: ChainContent;
    done: (error?: unknown) => void;
  }
  let queue: Pending[] = [];
  let flushing: Promise<void> | undefined;

  async function writeBatch(batch: Pending[]): Promise<void> {
    try {
      await append(batch.map((p) => p.content));
      for (const p of batch) p.done();
    } catch (error) {
      // One event PostgreSQL refuses (SQLSTATE class 22 data exception, 23 integrity violation)
      // must not take the others with it: retry them one at a time. Anything else (database
      // unreachable) fails the batch at once.
      const sqlState = (error as { code?: unknown } | null)?.code;
      const dataError = typeof sqlState === 'string' && /^2[23]/.test(sqlState);
      if (batch.length > 1 && dataError) for (const p of batch) await writeBatch([p]);
      else for (const p of batch) p.done(error);
    }
  }

  async function flush(): Promise<void> {
    try {
      while (queue.length) {
        const batch = queue.slice(0, MAX_BATCH);
        queue = queue.slice(batch.length);
        await writeBatch(batch);
      }
    } finally {
      flushing = undefined;
    }
  }

  function enqueue(content: ChainContent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      queue.push({ content, done: (error) => (error === undefined ? resolve() : reject(error)) });
      flushing ??= flush();
    });
  }

  /**
   * Walks the whole chain from the anchor in id order and stops at the first row whose
   * prev_hash is not the previous row's hash (a row removed or reordered) or whose hash does
   * not match its content (a row changed). One snapshot for the whole walk (REPEATABLE READ),
   * so a purge or appends running meanwhile cannot look like a break.
   */
  async function verify(): Promise<ChainVerification> {
    return bag.transaction(
      async ({ db: trx }) => {
        const anchor = await queries.anchor(trx);
        let expectedPrev = anchor.prevHash;
        let count = 0;
        const countByTenant: Record<string, number> = {};
        let afterId: string | null = null;
        for (;;) {
          const rows = await queries.chainPage(afterId, VERIFY_PAGE, trx);
          for (const row of rows) {
            const id = String(row.id);
            const broken = (field: 'prev_hash' | 'hash', expected: string, found: string): ChainVerification => ({ ok: false, count, countByTenant, anchor, brokenAt: { id, tenantId: row.tenant_id, field, expected, found } });
            if (row.prev_hash !== expectedPrev) return broken('prev_hash', expectedPrev, row.prev_hash);
            const hash = chainHash(row.prev_hash, contentOfRow(row));
            if (hash !== row.hash) return broken('hash', hash, row.hash);
            expectedPrev = row.hash;
            count += 1;
            countByTenant[row.tenant_id] = (countByTenant[row.tenant_id] ?? 0) + 1;
          }
          if (rows.length < VERIFY_PAGE) return { ok: true, count, countByTenant, anchor, headHash: expectedPrev };
          afterId = String(rows[rows.length - 1]!.id);
        }
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  }
  let verifying: Promise<ChainVerification> | undefined;

  async function search(tenantId: string, input: AuditSearchInput, page: { limit: number; cursor?: string }): Promise<AuditPage> {
    const afterId = page.cursor === undefined ? undefined : decodeAuditCursor(page.cursor);
    const rows = await queries.search(tenantId, toFilter(input), { limit: page.limit + 1, afterId });
    const { page: events, nextCursor } = pageOf(rows, page.limit, (last) => encodeAuditCursor(last.id));
    return { events, nextCursor };
  }

  return {
    async record(event: AuditEventInput, trx?: Executor): Promise<void> {
      try {
        const content = contentOfInput(event, new Date());
        if (trx) await append([content], trx);
        else await enqueue(content);
      } catch (err) {
        if (trx) throw err; // inside a transaction the caller decides: nothing half-written
        logger.error({ err, action: event.action }, 'audit write failed');
      }
    },

    /**
     * Many events in the caller's transaction, chained in order (a bulk import audits every user
     * it creates): written in chunks so no statement grows past PostgreSQL's parameter limit.
     */
    async recordMany(events: AuditEventInput[], trx: Executor): Promise<void> {
      const now = new Date();
      // Chunks of 4,000 keep each statement's one JSON parameter to a few MiB.
      for (let i = 0; i < events.length; i += BULK_BATCH)
        await append(
          events.slice(i, i + BULK_BATCH).map((event) => contentOfInput(event, now)),
          trx,
        );
    },

    list: queries.list,

    /** Resolves once every queued event is written (call before closing the database). */
    async drain(): Promise<void> {
      while (flushing) await flushing;
    },
    search,

    /**
     * Every matching event, newest first, a page at a time: an export of millions of rows never
     * sits in memory. Pages are keyset-based, so rows written meanwhile neither repeat nor shift.
     */
    async *stream(tenantId: string, input: AuditSearchInput, pageSize = 1000): AsyncGenerator<AuditEvent[]> {
      const filter = toFilter(input);
      let afterId: string | undefined;
      for (;;) {
        const rows = await queries.search(tenantId, filter, { limit: pageSize, afterId });
        if (rows.length) yield rows;
        if (rows.length < pageSize) return;
        afterId = rows[rows.length - 1]!.id;
      }
    },

    verify,

    /**
     * verify(), with callers that ask while a walk is running sharing that walk: the admin API
     * offers verification on demand, and a walk reads the whole table.
     */
    verifyShared(): Promise<ChainVerification> {
      verifying ??= verify().finally(() => {
        verifying = undefined;
      });
      return verifying;
    },

    /**
     * Successful and failed sign-ins (the `user.sign_in` events) per bucket of `bucketSeconds`
     * from `from` to `to`, every bucket present (zeros included), oldest first.
     */
    async signInActivity(tenantId: string, window: { from: Date; to: Date; bucketSeconds: number }): Promise<SignInActivity> {
      const span = window.to.getTime() - window.from.getTime();
      if (span <= 0) throw new AppError('audit.invalid_window', 400, '"to" must be after "from"');
      const total = Math.ceil(span / (window.bucketSeconds * 1000));
      if (total > MAX_ACTIVITY_BUCKETS) throw new AppError('audit.too_many_buckets', 400, `the window holds ${total} buckets; at most ${MAX_ACTIVITY_BUCKETS}: choose a larger bucket or a shorter window`);
      const buckets = Array.from({ length: total }, (_, i) => ({ start: new Date(window.from.getTime() + i * window.bucketSeconds * 1000), succeeded: 0, failed: 0 }));
      for (const row of await queries.countByBucket(tenantId, 'user.sign_in', window)) {
        const index = Math.round((row.bucket.getTime() - window.from.getTime()) / (window.bucketSeconds * 1000));
        const bucket = buckets[index];
        if (!bucket) continue;
        if (row.result === 'success') bucket.succeeded += row.count;
        else bucket.failed += row.count;
      }
      return { ...window, buckets };
    },

    retentionDays,

    /**
     * Deletes events older than the retention period, oldest first, in batches (each its own
     * short transaction holding the chain lock, so sign-ins wait for one batch at most), then
     * records `audit.purged` (in `tenantId`: the chain and its retention span every tenant).
     * `now` is for tests.
     */
    async purgeExpired(options: { tenantId: string; actor?: Actor; now?: Date }): Promise<PurgeReport> {
      const cutoff = new Date((options.now ?? new Date()).getTime() - retentionDays * DAY_MS);
      const throughId = await queries.purgeBoundary(cutoff);
      let count = 0;
      if (throughId !== null) {
        for (;;) {
          const deleted = await bag.transaction(async ({ db: trx }) => {
            await queries.lockChain(trx);
            return queries.purgeBatch(throughId, PURGE_BATCH, trx);
          });
          count += deleted;
          if (deleted < PURGE_BATCH) break;
        }
      }
      const actor = options.actor ?? SYSTEM_ACTOR;
      const event: AuditEventInput = { tenantId: options.tenantId, action: 'audit.purged', ...actor, targetType: 'audit_log', targetId: null, details: { count, cutoff: cutoff.toISOString(), retentionDays, throughId } };
      // Not through record(): a purge that cannot be audited must fail loudly.
      await append([contentOfInput(event, new Date())]);
      return { count, cutoff, retentionDays, throughId };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
