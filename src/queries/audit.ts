// SQL for the audit log (audit_events and its chain anchor), row <-> object mapping, and the
// chain's hash function. The rules (locking, retention, verification) live in services/audit.ts.
//
// The hash of a row is sha256(prev_hash ‖ canonical JSON of its content fields). It is part of
// the stored data's meaning: changing it would make every existing row fail verification, so it
// is defined once, here, and the migration that backfilled old rows uses it too.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { json } from './rows.ts';

export interface AuditEventInput {
  tenantId: string;
  action: string;
  result?: 'success' | 'failure';
  actorType: 'user' | 'service' | 'system' | 'anonymous' | 'cli';
  actorId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEvent extends Required<Omit<AuditEventInput, 'details'>> {
  id: string;
  occurredAt: Date;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** The fields a row's hash covers: everything but the id (its place is fixed by prev_hash). */
export interface ChainContent {
  tenantId: string;
  occurredAt: string;
  action: string;
  result: 'success' | 'failure';
  actorType: AuditEventInput['actorType'];
  actorId: string | null;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
}

export interface AuditFilter {
  /** Inclusive lower bound of occurred_at. */
  from?: Date;
  /** Exclusive upper bound of occurred_at. */
  to?: Date;
  actorId?: string;
  targetId?: string;
  action?: string;
  /** Matches every action starting with this text (`user.` for `user.*`). */
  actionPrefix?: string;
  result?: 'success' | 'failure';
}

/** What the first row after a purge links back to (GENESIS_HASH before any purge). */
export interface ChainAnchor {
  prevHash: string;
  lastPurgedId: string | null;
  purgedCount: number;
  updatedAt: Date;
}

/** prev_hash of the very first row of a chain that was never purged. */
export const GENESIS_HASH = '0'.repeat(64);

/** The advisory lock every chain append and purge takes, so two nodes never fork the chain (also the
 * administration guard's, src/services/administration.ts, which says why). */
const AUDIT_CHAIN_LOCK = 74203;

/** The session setting that lets the append-only trigger accept the purge's DELETE. */
const PURGE_SETTING = 'gatehouse.audit_purge';

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers and strings as
 * ECMAScript's JSON.stringify writes them, which is the JSON Canonicalization Scheme (RFC 8785)
 * for the values an audit event holds. Input is first put through a JSON round trip so that it
 * is exactly what PostgreSQL's jsonb will hand back (undefined dropped, dates as strings).
 */
export function canonicalJson(value: unknown): string {
  return canonical(JSON.parse(JSON.stringify(value ?? null)) as unknown);
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

export function chainHash(prevHash: string, content: ChainContent): string {
  return createHash('sha256').update(prevHash).update(canonicalJson(content)).digest('hex');
}

export interface AuditRow {
  id: string | number | bigint;
  tenant_id: string;
  occurred_at: Date | string;
  action: string;
  result: 'success' | 'failure';
  actor_type: AuditEventInput['actorType'];
  actor_id: string | null;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown> | string;
  prev_hash: string;
  hash: string;
}

/** The hashed content of a stored row. */
export function contentOfRow(row: Omit<AuditRow, 'id' | 'prev_hash' | 'hash'>): ChainContent {
  return {
    tenantId: row.tenant_id,
    occurredAt: new Date(row.occurred_at).toISOString(),
    action: row.action,
    result: row.result,
    actorType: row.actor_type,
    actorId: row.actor_id,
    targetType: row.target_type,
    targetId: row.target_id,
    ip: row.ip,
    userAgent: row.user_agent,
    details: json(row.details),
  };
}

/** The content of a new event as it will be stored (defaults applied, user agent cut to 512). */
export function contentOfInput(event: AuditEventInput, occurredAt: Date): ChainContent {
  return {
    tenantId: event.tenantId,
    occurredAt: occurredAt.toISOString(),
    action: event.action,
    result: event.result ?? 'success',
    actorType: event.actorType,
    actorId: event.actorId ?? null,
    targetType: event.targetType ?? null,
    targetId: event.targetId ?? null,
    ip: event.ip ?? null,
    userAgent: event.userAgent?.slice(0, 512) ?? null,
    details: JSON.parse(JSON.stringify(event.details ?? {})) as Record<string, unknown>,
  };
}

function toEvent(row: AuditRow): AuditEvent {
  return { id: String(row.id), ...contentOfRow(row), occurredAt: new Date(row.occurred_at), prevHash: row.prev_hash, hash: row.hash };
}

/** Escapes LIKE's wildcards so a prefix matches literally (backslash is PostgreSQL's default escape). */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function createAuditQueries(knex: Knex) {
  /**
   * One page of a tenant's events, newest first by (occurred_at, id), strictly after the event
   * `afterId` in that order when given (the last event of the previous page, whose own time the
   * database supplies, so the position is exact). Every index on audit_events ends in
   * (occurred_at desc, id desc), so a time window or a filter is one index range scan.
   */
  function searchQuery(tenantId: string, filter: AuditFilter, page: { limit: number; afterId?: string }, db: Knex = knex): Knex.QueryBuilder<AuditRow, AuditRow[]> {
    const query = db<AuditRow>('audit_events')
      .where({ tenant_id: tenantId })
      .orderBy([
        { column: 'occurred_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(page.limit);
    if (page.afterId !== undefined) query.andWhereRaw('(occurred_at, id) < (select c.occurred_at, c.id from audit_events c where c.id = ?)', [page.afterId]);
    if (filter.from) query.andWhere('occurred_at', '>=', filter.from);
    if (filter.to) query.andWhere('occurred_at', '<', filter.to);
    if (filter.actorId !== undefined) query.andWhere({ actor_id: filter.actorId });
    if (filter.targetId !== undefined) query.andWhere({ target_id: filter.targetId });
    if (filter.action !== undefined) query.andWhere({ action: filter.action });
    if (filter.actionPrefix !== undefined) query.andWhere('action', 'like', likePrefix(filter.actionPrefix));
    if (filter.result !== undefined) query.andWhere({ result: filter.result });
    return query;
  }

  async function search(tenantId: string, filter: AuditFilter, page: { limit: number; afterId?: string }, db: Knex = knex): Promise<AuditEvent[]> {
    return (await searchQuery(tenantId, filter, page, db)).map(toEvent);
  }

  /**
   * Events of one action counted per time bucket and result, for buckets of `bucketSeconds` from
   * `from` (inclusive) to `to` (exclusive); buckets without events are absent. One range scan of
   * the (tenant_id, action, occurred_at) index.
   */
  async function countByBucket(tenantId: string, action: string, window: { from: Date; to: Date; bucketSeconds: number }, db: Knex = knex): Promise<{ bucket: Date; result: 'success' | 'failure'; count: number }[]> {
    const result = await db.raw<{ rows: { bucket: Date | string; result: 'success' | 'failure'; count: string | number }[] }>(
      `select date_bin(make_interval(secs => ?), occurred_at, ?::timestamptz) as bucket, result, count(*) as count
         from audit_events
        where tenant_id = ? and action = ? and occurred_at >= ? and occurred_at < ?
        group by 1, 2`,
      [window.bucketSeconds, window.from.toISOString(), tenantId, action, window.from, window.to],
    );
    return result.rows.map((r) => ({ bucket: new Date(r.bucket), result: r.result, count: Number(r.count) }));
  }

  return {
    /** Serialises chain appends and purges until the end of `trx` (pg_advisory_xact_lock). */
    async lockChain(trx: Knex): Promise<void> {
      await trx.raw('select pg_advisory_xact_lock(?)', [AUDIT_CHAIN_LOCK]);
    },

    /**
     * Appends events to the chain in one statement (the gatehouse_audit_append function): it takes
     * the chain lock, reads the head, links the events in order with the hash chainHash defines
     * (computed in the database from the canonical JSON sent here) and inserts them with their
     * webhook outbox rows. In `db`'s transaction when it is one, else a transaction of its own.
     * Returns the new head hash.
     */
    async append(events: { content: ChainContent; webhookId: string; payload: unknown }[], db: Knex = knex): Promise<string> {
      const param = events.map(({ content, webhookId, payload }) => ({
        tenant_id: content.tenantId,
        occurred_at: content.occurredAt,
        action: content.action,
        result: content.result,
        actor_type: content.actorType,
        actor_id: content.actorId,
        target_type: content.targetType,
        target_id: content.targetId,
        ip: content.ip,
        user_agent: content.userAgent,
        details: content.details,
        canonical: canonicalJson(content),
        webhook_id: webhookId,
        payload,
      }));
      const result = await db.raw<{ rows: { head: string }[] }>('select gatehouse_audit_append(?::jsonb) as head', [JSON.stringify(param)]);
      return result.rows[0]!.head;
    },

    search,
    /** The search's SQL, unrun (to EXPLAIN it). */
    searchQuery,
    countByBucket,

    async list(tenantId: string, filter: { action?: string; targetId?: string; limit?: number } = {}): Promise<AuditEvent[]> {
      return search(tenantId, { action: filter.action, targetId: filter.targetId }, { limit: filter.limit ?? 100 });
    },

    /** Rows of the whole chain (every tenant) in id order, strictly after `afterId`. */
    async chainPage(afterId: string | null, limit: number, db: Knex = knex): Promise<AuditRow[]> {
      const query = db<AuditRow>('audit_events').orderBy('id', 'asc').limit(limit);
      if (afterId !== null) query.where('id', '>', afterId);
      return query;
    },

    async anchor(db: Knex = knex): Promise<ChainAnchor> {
      const row: { prev_hash: string; last_purged_id: string | number | null; purged_count: string | number; updated_at: Date | string } | undefined = await db('audit_chain_anchor').where({ id: 1 }).first();
      if (!row) return { prevHash: GENESIS_HASH, lastPurgedId: null, purgedCount: 0, updatedAt: new Date(0) };
      return { prevHash: row.prev_hash, lastPurgedId: row.last_purged_id === null ? null : String(row.last_purged_id), purgedCount: Number(row.purged_count), updatedAt: new Date(row.updated_at) };
    },

    /**
     * The id of the last row a purge with this cutoff may delete: the row before the first one
     * still within retention (or the last row when none is), so that a purge always removes a
     * prefix of the chain and the rest still links up to the anchor. Walks the primary key from
     * the oldest row, touching no more rows than the purge deletes.
     */
    async purgeBoundary(cutoff: Date, db: Knex = knex): Promise<string | null> {
      const result = await db.raw<{ rows: { through: string | number | null }[] }>(
        `select coalesce(
           (select max(id) from audit_events where id < (select id from audit_events where occurred_at >= ? order by id limit 1)),
           case when exists (select 1 from audit_events where occurred_at >= ?) then null else (select max(id) from audit_events) end
         ) as through`,
        [cutoff, cutoff],
      );
      const through = result.rows[0]?.through;
      return through === null || through === undefined ? null : String(through);
    },

    /**
     * Deletes the oldest rows up to `throughId`, at most `batchSize`, through the one path the
     * append-only trigger allows (the purge setting, local to `trx`), and moves the anchor to the
     * hash of the last row deleted. Returns how many rows went. Call with the chain lock held.
     */
    async purgeBatch(throughId: string, batchSize: number, trx: Knex.Transaction): Promise<number> {
      const last = await trx.raw<{ rows: { id: string | number; hash: string }[] }>('select id, hash from (select id, hash from audit_events where id <= ? order by id limit ?) batch order by id desc limit 1', [throughId, batchSize]);
      const row = last.rows[0];
      if (!row) return 0;
      await trx.raw('select set_config(?, ?, true)', [PURGE_SETTING, 'on']);
      const result = await trx.raw<{ rowCount: number | null }>('delete from audit_events where id <= ?', [String(row.id)]);
      const deleted = result.rowCount ?? 0;
      await trx('audit_chain_anchor')
        .where({ id: 1 })
        .update({ prev_hash: row.hash, last_purged_id: String(row.id), purged_count: trx.raw('purged_count + ?', [deleted]), updated_at: trx.fn.now() });
      await trx.raw('select set_config(?, ?, true)', [PURGE_SETTING, 'off']);
      return deleted;
    },
  };
}

export type AuditQueries = ReturnType<typeof createAuditQueries>;
