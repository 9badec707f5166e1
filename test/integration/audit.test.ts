// The audit log against a real Gatehouse (PGlite + in-process store, or PostgreSQL + Redis):
// search and pages through the admin API, the streamed export, the append-only trigger, the
// hash chain and its verification, concurrent writers, and the retention purge.
// The database may be shared with other test files: each test filters on its own unique actor,
// and every deliberate tampering is put back before the test ends.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { commands } from '../../src/cli/commands.ts';
import { chainHash, contentOfInput, contentOfRow, createAuditQueries } from '../../src/queries/audit.ts';
import { payloadOfAudit } from '../../src/queries/webhooks.ts';
import type { AuditEventInput } from '../../src/services/audit.ts';
import { AppError } from '../../src/services/errors.ts';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';

const DAY_MS = 86_400_000;

interface StoredRow {
  id: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** Runs `work` with the append-only trigger off, as someone with direct database access could. */
async function withTriggersDisabled(knex: Knex, work: () => Promise<unknown>): Promise<void> {
  await knex.raw('alter table audit_events disable trigger all');
  try {
    await work();
  } finally {
    await knex.raw('alter table audit_events enable trigger all');
  }
}

/** Runs a CLI subcommand in-process and returns what it printed (it writes to stdout). */
async function runCli(run: (args: string[]) => Promise<void>, args: string[]): Promise<{ output: string; error?: unknown }> {
  const write = process.stdout.write;
  let output = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await run(args);
    return { output };
  } catch (error) {
    return { output, error };
  } finally {
    process.stdout.write = write;
  }
}

describe(`audit log (${storageMode})`, function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let reader: ApiCaller;
  let tenantId: string;

  const record = (event: Partial<AuditEventInput> & { action: string }) => gh.context.audit.record({ tenantId, actorType: 'user', ...event });
  /**
   * Appends events stamped with the given times, linked into the chain as record() links them:
   * the order of ids need not be the order of times, as when a queued event is written after a
   * later one.
   */
  const recordAt = (events: (Partial<AuditEventInput> & { action: string; at: Date })[]) =>
    createAuditQueries(gh.context.knex).append(
      events.map(({ at, ...event }) => {
        const content = contentOfInput({ tenantId, actorType: 'user', ...event }, at);
        return { content, webhookId: randomUUID(), payload: payloadOfAudit(content) };
      }),
    );
  const verifyCommand = (args: string[]) => (commands.audit as Record<string, (c: typeof gh.context, a: string[]) => Promise<void>>).verify!(gh.context, args);

  before(async function () {
    gh = await startTestGatehouse();
    tenantId = gh.context.tenantId;
    reader = await createApiCaller(gh, { permissions: ['audit-events:list', 'audit-events:export', 'audit-chain:read', 'sign-in-activity:read'] });
  });

  after(async function () {
    await gh?.close();
  });

  describe('search', function () {
    it('filters by actor, target, action (exact and prefix), result and time', async function () {
      const actor = uniqueName('actor');
      const target = uniqueName('target');
      const start = new Date();
      for (let i = 0; i < 3; i += 1) await record({ action: 'widget.created', actorId: actor, targetId: target });
      for (let i = 0; i < 2; i += 1) await record({ action: 'widget.deleted', result: 'failure', actorId: actor, targetId: uniqueName('other') });
      await record({ action: 'widgetry.tuned', actorId: actor });
      const q = (params: Record<string, string>) => reader.request('get', `/audit-events?${new URLSearchParams({ actor, ...params })}`);

      const all = await q({});
      assert.equal(all.status, 200);
      assert.equal(all.body.events.length, 6);
      assert.equal(all.body.nextCursor, null);
      assert.ok(all.body.events.every((e: { actorId: string }) => e.actorId === actor));
      assert.equal((await q({ target })).body.events.length, 3);
      assert.equal((await q({ action: 'widget.created' })).body.events.length, 3);
      // The prefix is literal up to the dot: "widget.*" does not match "widgetry.tuned".
      assert.deepEqual((await q({ action: 'widget.*' })).body.events.map((e: { action: string }) => e.action).sort(), ['widget.created', 'widget.created', 'widget.created', 'widget.deleted', 'widget.deleted']);
      assert.equal((await q({ result: 'failure' })).body.events.length, 2);
      assert.equal((await q({ from: start.toISOString() })).body.events.length, 6);
      assert.equal((await q({ to: start.toISOString() })).body.events.length, 0);
      assert.equal((await q({ from: new Date(Date.now() + 60_000).toISOString() })).body.events.length, 0);

      const bad = await q({ action: 'widget.%' });
      assert.equal(bad.status, 400);
      assert.equal((await q({ from: 'yesterday' })).status, 400);
    });

    it('pages newest first with an opaque cursor, without gaps or repeats', async function () {
      const actor = uniqueName('pager');
      for (let i = 0; i < 7; i += 1) await record({ action: 'page.test', actorId: actor, details: { i } });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const params: Record<string, string> = { actor, limit: '3', ...(cursor ? { cursor } : {}) };
        const response = await reader.request('get', `/audit-events?${new URLSearchParams(params)}`);
        assert.equal(response.status, 200);
        seen.push(...response.body.events.map((e: { id: string }) => e.id));
        cursor = response.body.nextCursor;
        pages += 1;
      } while (cursor);
      assert.equal(pages, 3);
      assert.equal(seen.length, 7);
      assert.equal(new Set(seen).size, 7);
      const numeric = seen.map(BigInt);
      assert.ok(
        numeric.every((id, i) => i === 0 || id < numeric[i - 1]!),
        'ids strictly decreasing',
      );

      const forged = await reader.request('get', `/audit-events?actor=${actor}&cursor=${Buffer.from('v1:abc').toString('base64url')}`);
      assert.equal(forged.status, 400);
      assert.equal(forged.body.code, 'audit.invalid_cursor');
    });

    it('orders a time window by time, newest first, and pages it without gaps or repeats when ids and times disagree', async function () {
      const actor = uniqueName('window');
      const base = Date.UTC(2020, 0, 1, 10, 0, 0);
      const at = (seconds: number) => new Date(base + seconds * 1000);
      // Written in this id order; their times say otherwise.
      await recordAt([
        { action: 'window.c', actorId: actor, at: at(3) },
        { action: 'window.a', actorId: actor, at: at(1) },
        { action: 'window.b', actorId: actor, at: at(2) },
        { action: 'window.edge-from', actorId: actor, at: at(0) },
        { action: 'window.edge-to', actorId: actor, at: at(5) },
        { action: 'window.before', actorId: actor, at: at(-1) },
      ]);
      const actions: string[] = [];
      let cursor: string | null = null;
      do {
        const params: Record<string, string> = { actor, from: at(0).toISOString(), to: at(5).toISOString(), limit: '1', ...(cursor ? { cursor } : {}) };
        const response = await reader.request('get', `/audit-events?${new URLSearchParams(params)}`);
        assert.equal(response.status, 200, JSON.stringify(response.body));
        actions.push(...response.body.events.map((e: { action: string }) => e.action));
        cursor = response.body.nextCursor;
      } while (cursor);
      // from is inclusive, to exclusive.
      assert.deepEqual(actions, ['window.c', 'window.b', 'window.a', 'window.edge-from']);
    });

    it('runs a time-window search as a range scan of an index that ends in (occurred_at, id)', async function () {
      const { knex } = gh.context;
      const day = new Date(Date.now() - 100 * 86_400_000);
      const sql = createAuditQueries(knex);
      // The plan the planner would choose on a large table, with sequential scans and sorts ruled
      // out so that a small test table cannot hide a query no index serves.
      const plan = await knex.transaction(async (trx) => {
        await trx.raw('set local enable_seqscan = off');
        await trx.raw('set local enable_sort = off');
        const explained: string[] = [];
        for (const filter of [{}, { actorId: 'a' }, { targetId: 't' }, { action: 'user.sign_in' }]) {
          for (const afterId of [undefined, '1']) {
            const query = sql.searchQuery(tenantId, { ...filter, from: day, to: new Date(day.getTime() + 86_400_000) }, { limit: 51, afterId }, trx);
            const rows = await trx.raw(`explain ${query.toString()}`);
            explained.push((rows.rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n'));
          }
        }
        return explained;
      });
      for (const text of plan) {
        assert.match(text, /Index Scan using audit_events_tenant_\w*time_idx/, text);
        assert.doesNotMatch(text, /Sort|Seq Scan/, text);
      }
    });
  });

  describe('sign-in activity', function () {
    it('counts successful and failed sign-ins per hour, every bucket present, and refuses a window of too many buckets', async function () {
      const base = Date.UTC(2019, 5, 1, 0, 0, 0);
      const at = (minutes: number) => new Date(base + minutes * 60_000);
      const failure = { result: 'failure' as const };
      await recordAt([
        { action: 'user.sign_in', at: at(5) },
        { action: 'user.sign_in', at: at(59) },
        { action: 'user.sign_in', ...failure, at: at(30) },
        { action: 'user.sign_in', ...failure, at: at(125) },
        { action: 'user.signed_out', at: at(10) },
        { action: 'user.sign_in', at: at(180) },
      ]);
      const response = await reader.request('get', `/audit-events/sign-in-activity?${new URLSearchParams({ from: at(0).toISOString(), to: at(180).toISOString(), bucket: 'hour' })}`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual(response.body.buckets, [
        { start: at(0).toISOString(), succeeded: 2, failed: 1 },
        { start: at(60).toISOString(), succeeded: 0, failed: 0 },
        { start: at(120).toISOString(), succeeded: 0, failed: 1 },
      ]);
      const days = await reader.request('get', `/audit-events/sign-in-activity?${new URLSearchParams({ from: at(0).toISOString(), to: at(2 * 1440).toISOString(), bucket: 'day' })}`);
      assert.deepEqual(days.body.buckets, [
        { start: at(0).toISOString(), succeeded: 3, failed: 2 },
        { start: at(1440).toISOString(), succeeded: 0, failed: 0 },
      ]);
      const tooMany = await reader.request('get', `/audit-events/sign-in-activity?${new URLSearchParams({ from: at(0).toISOString(), to: at(60 * 24 * 30).toISOString(), bucket: 'hour' })}`);
      assert.equal(tooMany.status, 400);
      assert.equal(tooMany.body.code, 'audit.too_many_buckets');
      const backwards = await reader.request('get', `/audit-events/sign-in-activity?${new URLSearchParams({ from: at(60).toISOString(), to: at(0).toISOString() })}`);
      assert.equal(backwards.status, 400);
      const list = await createApiCaller(gh, { permissions: ['audit-events:list'] });
      assert.equal((await list.request('get', '/audit-events/sign-in-activity')).status, 403);
    });
  });

  describe('export', function () {
    it('streams CSV with formula-looking cells neutralised and fields quoted (RFC 4180)', async function () {
      const actor = uniqueName('exporter');
      await record({ action: 'csv.test', actorId: actor, targetId: '=cmd()', details: { note: 'a "quoted", comma' } });
      await record({ action: 'csv.test', actorId: actor, targetId: '@SUM(A1)', userAgent: '+1 browser' });
      const response = await reader.request('get', `/audit-events/export?format=csv&actor=${actor}`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
      assert.match(response.headers.get('content-disposition') ?? '', /attachment; filename="audit-events-.*\.csv"/);
      const lines = (response.body as string).split('\r\n');
      assert.equal(lines[0], 'id,occurred_at,action,result,actor_type,actor_id,target_type,target_id,ip,user_agent,details,hash');
      assert.equal(lines.filter(Boolean).length, 3);
      assert.ok(
        lines.some((l) => l.includes(`"'=cmd()"`)),
        lines.join('\n'),
      );
      assert.ok(lines.some((l) => l.includes(`"'@SUM(A1)"`) && l.includes(`"'+1 browser"`)));
      assert.ok(
        lines.some((l) => l.includes('"{""note"":""a \\""quoted\\"", comma""}"')),
        'inner quotes doubled',
      );
      // No cell starts with a formula character once unquoted.
      assert.ok(!/(^|,)"?[=+@\t\r-]/m.test(lines.slice(1).join('\n')));
    });

    it('streams a JSON array across several pages', async function () {
      const actor = uniqueName('bulk');
      // More than one export page (1,000 rows), so the stream really pages.
      for (let i = 0; i < 1205; i += 1) await record({ action: 'bulk.test', actorId: actor, details: { i } });
      const response = await reader.request('get', `/audit-events/export?format=json&actor=${actor}`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      const events = response.body as { id: string; details: { i: number } }[];
      assert.equal(events.length, 1205);
      assert.deepEqual(
        events.map((e) => e.details.i),
        Array.from({ length: 1205 }, (_, i) => 1204 - i),
      );
      const exported = await gh.context.audit.list(tenantId, { action: 'audit.exported', limit: 5 });
      assert.ok(
        exported.some((e) => e.actorId === reader.userId && (e.details.filters as { actor?: string }).actor === actor),
        'the export is itself audited',
      );
    });

    it('is refused without audit-events:export', async function () {
      const listOnly = await createApiCaller(gh, { permissions: ['audit-events:list'] });
      assert.equal((await listOnly.request('get', '/audit-events/export')).status, 403);
    });
  });

  describe('append-only table and hash chain', function () {
    it('refuses UPDATE, DELETE and TRUNCATE on audit_events', async function () {
      const actor = uniqueName('immutable');
      await record({ action: 'immutable.test', actorId: actor });
      const [event] = await gh.context.audit.search(tenantId, { actor }, { limit: 1 }).then((p) => p.events);
      const { knex } = gh.context;
      await assert.rejects(knex('audit_events').where({ id: event!.id }).update({ action: 'rewritten' }), /audit_events is append-only: UPDATE refused/);
      await assert.rejects(knex('audit_events').where({ id: event!.id }).delete(), /audit_events is append-only: DELETE refused/);
      await assert.rejects(knex.raw('truncate audit_events'), /append-only: TRUNCATE refused/);
      await assert.rejects(knex('audit_chain_anchor').update({ prev_hash: 'x' }), /append-only: UPDATE refused/);
      const still = await gh.context.audit.search(tenantId, { actor }, { limit: 1 });
      assert.equal(still.events[0]!.action, 'immutable.test');
    });

    it('detects a tampered row, names its id, and `audit verify` fails', async function () {
      const actor = uniqueName('tampered');
      await record({ action: 'tamper.test', actorId: actor, details: { amount: 10 } });
      await record({ action: 'tamper.after', actorId: actor });
      const { knex } = gh.context;
      const row: StoredRow = await knex('audit_events').where({ actor_id: actor, action: 'tamper.test' }).first('id', 'details', 'prev_hash', 'hash');
      const id = String(row.id);
      assert.equal((await gh.context.audit.verify()).ok, true);

      await withTriggersDisabled(knex, () =>
        knex('audit_events')
          .where({ id })
          .update({ details: JSON.stringify({ amount: 1000 }) }),
      );
      try {
        const result = await gh.context.audit.verify();
        assert.equal(result.ok, false);
        assert.ok(!result.ok);
        assert.equal(result.brokenAt.id, id);
        assert.equal(result.brokenAt.field, 'hash');
        assert.equal(result.brokenAt.found, row.hash);

        const api = await reader.request('get', '/audit-events/verification');
        assert.equal(api.status, 200);
        assert.equal(api.body.intact, false);
        assert.deepEqual(api.body.brokenAt, { id, field: 'hash' });

        const cli = await runCli(verifyCommand, ['--json']);
        assert.ok(cli.error instanceof AppError, `expected the command to fail, got ${String(cli.error)}`);
        assert.equal(cli.error.code, 'audit.chain_broken');
        assert.equal(JSON.parse(cli.output).brokenAt.id, id);
      } finally {
        await withTriggersDisabled(knex, () =>
          knex('audit_events')
            .where({ id })
            .update({ details: JSON.stringify(row.details) }),
        );
      }
      const repaired = await gh.context.audit.verify();
      assert.equal(repaired.ok, true);
      const api = await reader.request('get', '/audit-events/verification');
      assert.equal(api.body.intact, true);
      assert.equal(api.body.brokenAt, null);
      assert.ok(api.body.checked >= 2 && api.body.checked <= repaired.count, JSON.stringify(api.body));
      const cli = await runCli(verifyCommand, []);
      assert.equal(cli.error, undefined);
      assert.match(cli.output, /^Audit chain OK: \d+ events verified/);
    });

    it('keeps one unbroken chain under 50 concurrent writers', async function () {
      const actor = uniqueName('concurrent');
      await Promise.all(Array.from({ length: 50 }, (_, i) => record({ action: 'concurrent.test', actorId: actor, details: { i } })));
      const rows: StoredRow[] = await gh.context.knex('audit_events').where({ actor_id: actor }).orderBy('id').select('id', 'prev_hash', 'hash');
      assert.equal(rows.length, 50);
      // Nothing else wrote meanwhile, so the 50 rows are consecutive links of the chain.
      for (let i = 1; i < rows.length; i += 1) assert.equal(rows[i]!.prev_hash, rows[i - 1]!.hash, `row ${rows[i]!.id} links to its predecessor`);
      const result = await gh.context.audit.verify();
      assert.ok(result.ok, JSON.stringify(result));
    });

    it('links a row written inside a caller transaction, and drops it with a rollback', async function () {
      const actor = uniqueName('in-trx');
      await gh.context.knex.transaction(async (trx) => {
        await gh.context.audit.record({ tenantId, action: 'trx.kept', actorType: 'user', actorId: actor }, trx);
      });
      await assert.rejects(
        gh.context.knex.transaction(async (trx) => {
          await gh.context.audit.record({ tenantId, action: 'trx.dropped', actorType: 'user', actorId: actor }, trx);
          throw new Error('roll back');
        }),
        /roll back/,
      );
      await record({ action: 'trx.after', actorId: actor });
      const page = await gh.context.audit.search(tenantId, { actor }, { limit: 10 });
      assert.deepEqual(
        page.events.map((e) => e.action),
        ['trx.after', 'trx.kept'],
      );
      assert.ok((await gh.context.audit.verify()).ok);
    });

    it('appends in one SQL statement per write: a lone event, an event in a caller transaction, and a batch', async function () {
      const actor = uniqueName('statements');
      const statements: string[] = [];
      const listener = (query: { sql: string }) => statements.push(query.sql);
      const { knex } = gh.context;
      knex.on('query', listener);
      try {
        await record({ action: 'statements.lone', actorId: actor });
        assert.equal(statements.length, 1, statements.join('\n'));
        assert.match(statements[0]!, /gatehouse_audit_append/);

        statements.length = 0;
        await knex.transaction(async (trx) => {
          await gh.context.audit.record({ tenantId, action: 'statements.in-trx', actorType: 'user', actorId: actor }, trx);
        });
        // BEGIN, the append, COMMIT.
        assert.equal(statements.length, 3, statements.join('\n'));

        statements.length = 0;
        await knex.transaction(async (trx) => {
          await gh.context.audit.recordMany(
            [1, 2, 3].map((i) => ({ tenantId, action: 'statements.many', actorType: 'user' as const, actorId: actor, details: { i } })),
            trx,
          );
        });
        assert.equal(statements.length, 3, statements.join('\n'));
      } finally {
        knex.off('query', listener);
      }
      const rows: StoredRow[] = await knex('audit_events').where({ actor_id: actor }).orderBy('id').select('id', 'prev_hash', 'hash');
      assert.equal(rows.length, 5);
      for (let i = 1; i < rows.length; i += 1) assert.equal(rows[i]!.prev_hash, rows[i - 1]!.hash);
      const outbox = await knex('webhook_events').whereIn('type', ['statements.lone', 'statements.in-trx', 'statements.many']).whereRaw("payload -> 'data' -> 'actor' ->> 'id' = ?", [actor]).orderBy('seq').select('type', 'payload');
      assert.deepEqual(
        outbox.map((e: { type: string }) => e.type),
        ['statements.lone', 'statements.in-trx', 'statements.many', 'statements.many', 'statements.many'],
        'each event has its webhook outbox row, in chain order',
      );
      assert.deepEqual((outbox[4] as { payload: { data: { details: unknown } } }).payload.data.details, { i: 3 });
      assert.ok((await gh.context.audit.verify()).ok);
    });

    it('hashes in the database exactly as the application verifies, whatever the characters', async function () {
      const actor = uniqueName('unicode');
      await record({
        action: 'unicode.test',
        actorId: actor,
        targetType: 'user',
        targetId: 'Zoë "Ω" \\ 漢字',
        userAgent: 'Mozilla/5.0 (Ünïcödé) 😀',
        details: { name: 'José 😀', nested: { z: [1, 2.5, -0.125, 1e21, true, null], a: 'line\nbreak\ttab \u0001' }, ключ: 'значение', '': 'empty key' },
      });
      const row: StoredRow & Record<string, unknown> = await gh.context.knex('audit_events').where({ actor_id: actor }).first();
      assert.equal(chainHash(row.prev_hash, contentOfRow(row as never)), row.hash);
      assert.ok((await gh.context.audit.verify()).ok);
    });

    it('refuses to append inside a REPEATABLE READ transaction, whose snapshot could miss the chain head', async function () {
      await assert.rejects(
        gh.context.knex.transaction((trx) => gh.context.audit.record({ tenantId, action: 'isolation.test', actorType: 'user', actorId: uniqueName('isolation') }, trx), { isolationLevel: 'repeatable read' }),
        /READ COMMITTED/,
      );
    });
  });

  describe('retention', function () {
    it('purges events past retention, audits the purge, and verification still holds from the anchor', async function () {
      const old = uniqueName('old');
      const recent = uniqueName('recent');
      for (let i = 0; i < 3; i += 1) await record({ action: 'retention.test', actorId: old });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const boundary = new Date();
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (let i = 0; i < 2; i += 1) await record({ action: 'retention.test', actorId: recent });

      // As if run `retentionDays` after the boundary: everything before it is past retention.
      const now = new Date(boundary.getTime() + gh.context.audit.retentionDays * DAY_MS);
      const report = await gh.context.audit.purgeExpired({ tenantId, now });
      assert.ok(report.count >= 3, `purged ${report.count}`);
      assert.equal(report.cutoff.toISOString(), boundary.toISOString());
      assert.equal((await gh.context.audit.search(tenantId, { actor: old }, { limit: 10 })).events.length, 0);
      assert.equal((await gh.context.audit.search(tenantId, { actor: recent }, { limit: 10 })).events.length, 2);

      const [purged] = await gh.context.audit.list(tenantId, { action: 'audit.purged', limit: 1 });
      assert.ok(purged);
      assert.equal(purged.details.count, report.count);
      assert.equal(purged.details.throughId, report.throughId);

      const result = await gh.context.audit.verify();
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.anchor.lastPurgedId, report.throughId);

      // The purge's permission was local to its transaction: a plain DELETE is refused again.
      const { knex } = gh.context;
      await assert.rejects(knex('audit_events').where({ actor_id: recent }).delete(), /append-only/);

      // Removing the first remaining row is still detected: it no longer links to the anchor.
      const [first, second]: StoredRow[] = await knex('audit_events').orderBy('id').limit(2).select('*');
      await withTriggersDisabled(knex, () => knex('audit_events').where({ id: first!.id }).delete());
      try {
        const broken = await gh.context.audit.verify();
        assert.ok(!broken.ok);
        assert.equal(broken.brokenAt.id, String(second!.id));
        assert.equal(broken.brokenAt.field, 'prev_hash');
        assert.equal(broken.brokenAt.expected, result.anchor.prevHash);
      } finally {
        await knex('audit_events').insert({ ...first, details: JSON.stringify(first!.details) });
      }
      assert.ok((await gh.context.audit.verify()).ok);
    });

    it('runs as a scheduled job once per day across nodes, and each run is audited', async function () {
      const before = (await gh.context.audit.list(tenantId, { action: 'audit.purged', limit: 100 })).length;
      const ran = await Promise.all([gh.context.scheduler.runIfDue('audit-retention'), gh.context.scheduler.runIfDue('audit-retention')]);
      assert.deepEqual(ran.filter(Boolean).length, 1, 'one claim of the day wins');
      const after = await gh.context.audit.list(tenantId, { action: 'audit.purged', limit: 100 });
      assert.equal(after.length, before + 1);
      assert.equal(after[0]!.actorType, 'system');
    });

    it('purges nothing within retention', async function () {
      const report = await gh.context.audit.purgeExpired({ tenantId });
      assert.equal(report.count, 0);
      assert.equal(report.throughId, null);
      assert.ok((await gh.context.audit.verify()).ok);
    });
  });
});
