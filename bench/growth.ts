// npm run bench -- --growth [--growth-users=10k,100k,1m] [--growth-audit=100k,1m,10m] [--growth-logins=N]
//
// How cost grows with size, on PostgreSQL + Redis, Gatehouse started as `npm start` starts it:
//   - users: at each size (directory users bulk-loaded in steps, numbering on from the last
//     step), the sign-in's and the refresh's server CPU per operation, and the admin user
//     search's p95 (GET /api/v1/users, one request at a time, the bench's eight terms);
//   - sessions: the Redis memory (MEMORY USAGE of every key the sign-ins added) and PostgreSQL
//     rows (per table) that --growth-logins sign-ins added, scaled to 100,000 active sessions;
//   - audit: at each size (events bulk-loaded, chained hashes not computed: the search does not
//     read them), the p95 of the audit search (src/queries/audit.ts search(), the query behind
//     GET /api/v1/audit, through knex) over typical filters: newest page, by actor, by target,
//     by action prefix, by a one-day window, and a page far back (before an id).
// It prints the curves as a table with the growth exponent of each, writes
// bench/results/growth.json and bench/results/growth.svg (each curve divided by its value at
// the smallest size, beside a log n curve). Heavy: 1M users and 10M events take many minutes.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { createAuditQueries } from '../src/queries/audit.ts';
import { growthExponent, growthSvg, growthVerdict, fmtN, type Series } from './lib/growth-report.ts';
import { basicAuth, formBody, LeanHttp } from './lib/http.ts';
import { runAutocannon, type RequestSpec } from './lib/load.ts';
import { runLogins, signInOnce, type LoginTarget } from './lib/login.ts';
import type { BenchOptions } from './lib/options.ts';
import { benchEnv, freePort, readCpuMs, runInWorkDir, runToCompletion, startChild, stopChild, waitUntilReady, type Child } from './lib/processes.ts';
import { benchDatabaseUrl, bulkInsertUsers, deletePrefix, dropBenchDatabase, openBenchKnex, openRedis, prefixMemoryByFamily, recreateBenchDatabase, seedDocument, newBenchSecrets } from './lib/setup.ts';
import { LatencyRecorder, round } from './lib/stats.ts';
import { prepareTree } from './lib/tree.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TENANT = 'default';
// BENCH_GROWTH_DATABASE names another (two runs on one server must not share it).
const DATABASE = process.env.BENCH_GROWTH_DATABASE ?? 'gatehouse_bench_growth';

export interface GrowthOptions {
  users: number[];
  audit: number[];
  logins: number;
  /** Seconds of each measurement at each size. */
  seconds: number;
}

const SEARCH_TERMS = ['smith', 'ruby hall', 'corp7.example', 'nobody-by-this-name', 'wendy', 'anna.jones', '000042', 'olivia'];

export async function runGrowth(opts: BenchOptions, growth: GrowthOptions, progress: (message: string) => void): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL!;
  const redisUrl = process.env.REDIS_URL!;
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-growth-'));
  const redis = openRedis(redisUrl);
  const prefix = `bench:${randomBytes(4).toString('hex')}-growth:`;
  let knex: Knex | undefined;
  let child: Child | undefined;
  const https: LeanHttp[] = [];
  const cleanup = async (): Promise<void> => {
    for (const h of https) h.close();
    if (child) await stopChild(child).catch(() => undefined);
    await deletePrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
    await knex?.destroy().catch(() => undefined);
    if (!opts.keepDb) await dropBenchDatabase(databaseUrl, DATABASE).catch(() => undefined);
  };
  return runInWorkDir({ label: 'growth', workDir, progress, cleanup }, async () => {
    const tree = await prepareTree('working tree', ROOT, progress);
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const secrets = newBenchSecrets(issuer);
    const { document, users } = seedDocument(secrets, opts.loginUsers);
    const usernames = users.map((u) => u.username);
    const seedFile = path.join(workDir, 'seed.json');
    await writeFile(seedFile, JSON.stringify(document, null, 2));
    await recreateBenchDatabase(databaseUrl, DATABASE);
    const env: NodeJS.ProcessEnv = {
      ...benchEnv(),
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEHOUSE_ISSUER: issuer,
      DATABASE_URL: benchDatabaseUrl(databaseUrl, DATABASE),
      REDIS_URL: redisUrl,
      GATEHOUSE_REDIS_PREFIX: prefix,
      GATEHOUSE_SECRET: randomBytes(36).toString('base64url'),
      GATEHOUSE_DATA_DIR: path.join(workDir, 'data'),
      LOG_LEVEL: 'warn',
    };
    progress('seeding through the CLI');
    await runToCompletion('gatehouse seed', process.execPath, ['bin/gatehouse.js', 'seed', seedFile], { cwd: ROOT, env, logFile: path.join(workDir, 'seed.log'), timeoutMs: 180_000 });
    child = startChild('gatehouse', process.execPath, tree.startArgs, { cwd: ROOT, env: { ...env, ...tree.startEnv }, logFile: path.join(workDir, 'gatehouse.log') });
    await waitUntilReady(child, `${issuer}/readyz`, 90_000);
    knex = openBenchKnex(benchDatabaseUrl(databaseUrl, DATABASE));
    const http = new LeanHttp(issuer, 16);
    https.push(http);
    const target: LoginTarget = { origin: issuer, clientId: secrets.webClientId, clientSecret: secrets.webClientSecret, redirectUri: secrets.redirectUri, scope: 'openid profile identity', password: secrets.password };
    const admin = await signInOnce(http, { ...target, scope: 'openid admin', resource: `${issuer}/api`, password: secrets.adminPassword }, secrets.adminUsername, () => undefined);
    const adminAuth = { authorization: `Bearer ${admin.tokens.accessToken}` };
    const webAuth = basicAuth(secrets.webClientId, secrets.webClientSecret);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const pid = child.pid;

    const metered = async <R extends { ok: number }>(run: () => Promise<R>): Promise<{ r: R; cpuMsPerOp: number }> => {
      const before = (await readCpuMs(pid)) ?? 0;
      const r = await run();
      const after = (await readCpuMs(pid)) ?? 0;
      return { r, cpuMsPerOp: r.ok > 0 ? round((after - before) / r.ok, 3) : 0 };
    };

    // ------------------------------------------------------------ users
    const userRows: { n: number; loginCpuMs: number; logins: number; refreshCpuMs: number; refreshes: number; searchP95Ms: number; searchP50Ms: number; searches: number }[] = [];
    let loaded = 0;
    const refreshPool: string[] = [];
    for (const n of growth.users) {
      progress(`users: loading ${(n - loaded).toLocaleString('en-US')} more (to ${n.toLocaleString('en-US')})`);
      const load = await bulkInsertUsers(knex, TENANT, n - loaded, loaded);
      loaded = n;
      progress(`  loaded in ${load.seconds.toFixed(1)} s`);
      // Sign-ins: warm-up, then measured.
      await runLogins({ http, target, users: usernames, workers: 4, seconds: 1 });
      const login = await metered(async () => {
        const r = await runLogins({ http, target, users: usernames, workers: 8, seconds: growth.seconds, onTokens: (t) => t.refreshToken && refreshPool.length < 5000 && refreshPool.push(t.refreshToken) });
        return { ...r, ok: r.completed };
      });
      progress(`  sign-in: ${login.r.completed} in ${login.r.seconds.toFixed(1)} s, ${login.cpuMsPerOp} ms CPU each`);
      const refreshSpec: RequestSpec = {
        method: 'POST',
        path: '/token',
        headers: { ...form, authorization: webAuth },
        next: () => ({ body: formBody({ grant_type: 'refresh_token', refresh_token: refreshPool.pop() ?? 'pool-exhausted' }) }),
        onResponse: (status, body) => {
          if (status !== 200) return;
          const next = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
          if (next) refreshPool.push(next);
        },
      };
      const refresh = await metered(() => runAutocannon(issuer, refreshSpec, Math.min(8, refreshPool.length), growth.seconds));
      progress(`  refresh: ${refresh.r.ok} in ${refresh.r.seconds.toFixed(1)} s, ${refresh.cpuMsPerOp} ms CPU each`);
      const latency = new LatencyRecorder();
      const searchStarted = performance.now();
      for (let k = 0; performance.now() - searchStarted < growth.seconds * 1000 || k < SEARCH_TERMS.length * 2; k += 1) {
        const t0 = performance.now();
        const response = await http.request('GET', `/api/v1/users?${new URLSearchParams({ q: SEARCH_TERMS[k % SEARCH_TERMS.length]!, limit: '50' })}`, adminAuth);
        if (response.status !== 200) throw new Error(`GET /api/v1/users: ${response.status} ${response.body.slice(0, 200)}`);
        if (k >= SEARCH_TERMS.length) latency.record(performance.now() - t0); // the first pass warms up
      }
      const s = latency.summary();
      progress(`  user search: p50 ${s.p50} ms, p95 ${s.p95} ms (${s.samples} searches)`);
      userRows.push({ n, loginCpuMs: login.cpuMsPerOp, logins: login.r.completed, refreshCpuMs: refresh.cpuMsPerOp, refreshes: refresh.r.ok, searchP95Ms: s.p95, searchP50Ms: s.p50, searches: s.samples });
    }

    // ------------------------------------------------------------ sessions
    progress(`sessions: ${growth.logins} sign-ins, counting what they add to Redis and PostgreSQL`);
    const tables = ['oidc_payloads', 'user_sessions', 'session_grants', 'audit_events'];
    const countRows = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => [t, Number(((await knex!.raw(`select count(*)::bigint as n from ${t}`)).rows as { n: string }[])[0]!.n)] as const)));
    const rowsBefore = await countRows();
    const redisBefore = await prefixMemoryByFamily(redis, prefix);
    let made = 0;
    while (made < growth.logins) {
      const r = await runLogins({ http, target, users: usernames, workers: 8, seconds: 2 });
      made += r.completed;
      if (r.completed === 0) throw new Error(`no sign-in completed: ${r.firstError}`);
    }
    const rowsAfter = await countRows();
    const redisAfter = await prefixMemoryByFamily(redis, prefix);
    const per100k = (delta: number) => Math.round((delta / made) * 100_000);
    // By key family: the session's own keys live as long as the session; interactions, codes and
    // consumed markers are gone within minutes, so "active sessions" counts only the former.
    const families = Object.fromEntries(
      Object.keys(redisAfter).map((family) => {
        const keys = redisAfter[family]!.keys - (redisBefore[family]?.keys ?? 0);
        const bytes = redisAfter[family]!.bytes - (redisBefore[family]?.bytes ?? 0);
        return [family, { keysPerSignIn: round(keys / made, 2), bytesPerSignIn: round(bytes / made, 1) }];
      }),
    );
    // Short-lived after a sign-in: the interaction, the code and its consumed marker (60 s), the
    // sign-in memo, the login page's passkey challenge (5 minutes); not per session at all: the
    // scheduler's slots, lockout and throttle counters.
    const SHORT_LIVED = /^(oidc:(Interaction|AuthorizationCode|consumed)|signin|passkey|scheduler|lockout|throttle)$/;
    const lasting = Object.entries(families).filter(([family]) => !SHORT_LIVED.test(family));
    const lastingBytes = lasting.reduce((n, [, f]) => n + f.bytesPerSignIn, 0);
    const allBytes = Object.values(families).reduce((n, f) => n + f.bytesPerSignIn, 0);
    const sessions = {
      signIns: made,
      redis: { bytesPerSessionLasting: round(lastingBytes, 1), bytesPer100kLasting: Math.round(lastingBytes * 100_000), bytesPerSignInAll: round(allBytes, 1), families },
      postgresRowsPer100k: Object.fromEntries(tables.map((t) => [t, per100k(rowsAfter[t]! - rowsBefore[t]!)])),
    };
    progress(`  Redis ${sessions.redis.bytesPerSessionLasting} B per session that lasts (${allBytes.toFixed(0)} B per sign-in with the short-lived keys); PostgreSQL rows per 100k: ${JSON.stringify(sessions.postgresRowsPer100k)}`);

    // ------------------------------------------------------------ audit
    const auditRows: { n: number; p95Ms: number; p50Ms: number; perFilter: Record<string, number> }[] = [];
    const queries = createAuditQueries(knex);
    let events = Number(((await knex.raw('select count(*)::bigint as n from audit_events')).rows as { n: string }[])[0]!.n);
    for (const n of growth.audit) {
      if (n > events) {
        progress(`audit: loading ${(n - events).toLocaleString('en-US')} events (to ${n.toLocaleString('en-US')})`);
        const t0 = performance.now();
        // As a bulk load is best done: the secondary indexes are dropped for the load and built
        // again from their own definitions afterwards (one sorted pass each instead of millions of
        // random insertions), and the rows, generated consistent with their tenant, skip the
        // foreign-key trigger where the role may (session_replication_role, superuser only).
        const indexes = (
          await knex.raw(
            `select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
               from pg_index i join pg_class c on c.oid = i.indexrelid
              where i.indrelid = 'audit_events'::regclass and not i.indisprimary`,
          )
        ).rows as { name: string; definition: string }[];
        for (const index of indexes) await knex.raw(`drop index ${index.name}`);
        // Spread over the year up to now, ids rising with time as appends make them: 40 actions,
        // 20k actors, 200k targets, 3% failures.
        for (let done = 0; done < n - events; done += 1_000_000) {
          const batch = Math.min(1_000_000, n - events - done);
          await knex.transaction(async (trx) => {
            await trx.transaction(async (sp) => sp.raw('set local session_replication_role = replica')).catch(() => undefined);
            await trx.raw(
              `insert into audit_events (tenant_id, occurred_at, action, result, actor_type, actor_id, target_type, target_id, ip, details, prev_hash, hash)
             select ?, now() - make_interval(secs => ((?::int - g)::double precision / ?::int) * 31536000),
                    (array['user.created','user.updated','user.disabled','session.started','session.ended','token.issued','role.granted','role.revoked'])[1 + g % 8] || '.' || (g % 5),
                    case when g % 33 = 0 then 'failure' else 'success' end,
                    'user', 'actor-' || (g % 20000), 'user', 'target-' || (g % 200000), '10.0.' || (g % 250) || '.1', '{}'::jsonb, 'x', 'x'
             from generate_series(?::int + 1, ?::int + ?::int) as g`,
              [TENANT, n, n, events + done, events + done, batch],
            );
          });
          if (n - events > 1_000_000) progress(`  ${(events + done + batch).toLocaleString('en-US')} events, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
        }
        const inserted = performance.now();
        for (const index of indexes) {
          await knex.transaction(async (trx) => {
            await trx.raw(`set local maintenance_work_mem = '512MB'`);
            await trx.raw(index.definition);
          });
        }
        const indexed = performance.now();
        await knex.raw('vacuum analyze audit_events');
        progress(`  loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s (rows ${((inserted - t0) / 1000).toFixed(1)} s, ${indexes.length} indexes ${((indexed - inserted) / 1000).toFixed(1)} s)`);
        events = n;
      }
      const maxId = Number(((await knex.raw('select max(id)::bigint as m from audit_events')).rows as { m: string }[])[0]!.m);
      const day = new Date(Date.now() - 100 * 86_400_000);
      const filters: Record<string, () => Promise<unknown>> = {
        newest: () => queries.search(TENANT, {}, { limit: 50 }),
        actor: () => queries.search(TENANT, { actorId: `actor-${Math.floor(Math.random() * 20000)}` }, { limit: 50 }),
        target: () => queries.search(TENANT, { targetId: `target-${Math.floor(Math.random() * 200000)}` }, { limit: 50 }),
        'action prefix': () => queries.search(TENANT, { actionPrefix: 'role.' }, { limit: 50 }),
        'one day': () => queries.search(TENANT, { from: day, to: new Date(day.getTime() + 86_400_000) }, { limit: 50 }),
        'failures, far back': () => queries.search(TENANT, { result: 'failure' }, { limit: 50, afterId: String(Math.floor(maxId / 2)) }),
      };
      const all = new LatencyRecorder();
      const perFilter: Record<string, number> = {};
      for (const [name, run] of Object.entries(filters)) {
        const latency = new LatencyRecorder();
        await run(); // warm-up
        const started = performance.now();
        for (let k = 0; k < 5 || performance.now() - started < (growth.seconds * 1000) / 6; k += 1) {
          const t0 = performance.now();
          await run();
          const ms = performance.now() - t0;
          latency.record(ms);
          all.record(ms);
        }
        perFilter[name] = latency.summary().p95;
      }
      const s = all.summary();
      progress(`  audit search at ${fmtN(n)} events: p50 ${s.p50} ms, p95 ${s.p95} ms; p95 per filter ${JSON.stringify(perFilter)}`);
      auditRows.push({ n, p95Ms: s.p95, p50Ms: s.p50, perFilter });
    }

    // ------------------------------------------------------------ report
    const userSeries: Series[] = [
      { label: 'sign-in CPU/op', unit: 'ms', points: userRows.map((r) => ({ n: r.n, value: r.loginCpuMs })) },
      { label: 'refresh CPU/op', unit: 'ms', points: userRows.map((r) => ({ n: r.n, value: r.refreshCpuMs })) },
      { label: 'user search p95', unit: 'ms', points: userRows.map((r) => ({ n: r.n, value: r.searchP95Ms })) },
    ];
    const auditSeries: Series[] = [{ label: 'audit search p95', unit: 'ms', points: auditRows.map((r) => ({ n: r.n, value: r.p95Ms })) }];
    const lines: string[] = [];
    lines.push('| users | sign-in CPU ms/op | refresh CPU ms/op | user search p50 / p95 ms |', '|---:|---:|---:|---:|');
    for (const r of userRows) lines.push(`| ${fmtN(r.n)} | ${r.loginCpuMs} (${r.logins}) | ${r.refreshCpuMs} (${r.refreshes}) | ${r.searchP50Ms} / ${r.searchP95Ms} |`);
    lines.push(`| growth | ${growthVerdict(userSeries[0]!.points)} | ${growthVerdict(userSeries[1]!.points)} | ${growthVerdict(userSeries[2]!.points)} |`);
    lines.push('', '| audit events | search p50 / p95 ms | p95 per filter (ms) |', '|---:|---:|---|');
    for (const r of auditRows)
      lines.push(
        `| ${fmtN(r.n)} | ${r.p50Ms} / ${r.p95Ms} | ${Object.entries(r.perFilter)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} |`,
      );
    lines.push(`| growth | ${growthVerdict(auditSeries[0]!.points)} | |`);
    lines.push('', `| per 100,000 active sessions (from ${sessions.signIns} sign-ins) | |`, '|---|---:|');
    lines.push(`| Redis memory, keys that live as long as the session | ${(sessions.redis.bytesPer100kLasting / 1024 ** 2).toFixed(1)} MiB (${sessions.redis.bytesPerSessionLasting} B per session) |`);
    lines.push(
      `| Redis per sign-in by key family (keys, bytes) | ${Object.entries(sessions.redis.families)
        .map(([f, v]) => `${f} ${v.keysPerSignIn} / ${v.bytesPerSignIn} B`)
        .join('; ')} |`,
    );
    for (const [t, v] of Object.entries(sessions.postgresRowsPer100k)) lines.push(`| PostgreSQL rows in ${t} | ${v.toLocaleString('en-US')} |`);
    const resultsDir = path.join(ROOT, 'bench', 'results');
    await mkdir(resultsDir, { recursive: true });
    const svg = growthSvg('Gatehouse: cost against size (each curve ÷ its value at the smallest size)', [...userSeries, ...auditSeries]);
    await writeFile(path.join(resultsDir, 'growth.svg'), svg);
    const exponents = Object.fromEntries([...userSeries, ...auditSeries].map((s) => [s.label, growthExponent(s.points)]));
    await writeFile(path.join(resultsDir, 'growth.json'), `${JSON.stringify({ version: 1, finishedAt: new Date().toISOString(), loadAverage: os.loadavg(), growth, users: userRows, sessions, audit: auditRows, exponents }, null, 2)}\n`);
    process.stdout.write(
      `\n## Gatehouse growth — load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n\n${lines.join('\n')}\n\nChart: bench/results/growth.svg; JSON: bench/results/growth.json\n`,
    );
    return 0;
  });
}
