// `npm run bench -- --smoke` end to end: every scenario runs, answers without failures, and
// every target is reported. No figure is judged here (timings belong to BENCH.md, not to tests).
// Opt-in: it needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL) and BENCH_SMOKE=1, because the
// bench creates and drops the database "gatehouse_bench" on that server, which two suites run
// side by side on one server must not do at the same time. About 40 s.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SCENARIOS } from '../../bench/lib/options.ts';
import type { BenchResults } from '../../bench/lib/report.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const enabled = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL && process.env.BENCH_SMOKE === '1');

(enabled ? describe : describe.skip)('npm run bench -- --smoke (BENCH_SMOKE=1, PostgreSQL + Redis)', function () {
  this.timeout(240_000);

  it('runs every scenario without a failed request and reports every target', async function () {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-smoke-'));
    try {
      const json = path.join(dir, 'smoke.json');
      // The bench's own server for its PostgreSQL database: the one DATABASE_URL points at.
      await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', `--json=${json}`], { cwd: ROOT, env: process.env, maxBuffer: 16 * 1024 * 1024, timeout: 230_000 });
      const results = JSON.parse(await readFile(json, 'utf8')) as BenchResults;
      assert.equal(results.mode, 'smoke');
      for (const id of SCENARIOS) {
        const scenario = results.scenarios[id];
        assert.ok(scenario, `scenario ${id} ran`);
        assert.ok(scenario.result.ok > 0, `${id}: some operations succeeded`);
        assert.equal(scenario.result.failed, 0, `${id}: ${scenario.result.firstFailure ?? ''}`);
        assert.ok(scenario.result.latency.p99 >= scenario.result.latency.p50, `${id}: percentiles`);
      }
      // The sign-in's peer runs the same flow (its own login page, argon2id, code + PKCE) without failures.
      const login = results.scenarios.login!;
      assert.equal(login.reference?.label, 'peer (same flow)');
      assert.ok(login.reference.result.ok > 0 && login.reference.result.failed === 0, `peer sign-ins: ${login.reference.result.firstFailure ?? ''}`);
      assert.equal(login.alsoComparedWith?.[0]?.label, 'argon2id ceiling');
      assert.ok(results.rss?.startupMs && results.rss.startupMs > 0, 'start-up to /readyz measured');
      assert.ok(results.redis && results.redis.bytesPerSession > 0, 'Redis bytes per session measured');
      assert.ok(results.rss && results.rss.idleMb > 0 && results.rss.underLoadMaxMb > 0, 'RSS idle and under load measured');
      const names = results.targets.map((t) => t.name).join('\n');
      for (const target of [/JWKS vs peer/, /client credentials vs peer/, /sign-in.* vs peer/, /logins vs argon2id ceiling/, /refresh token grant vs peer/, /refresh grants/, /Redis per session/, /user search p95/, /RSS under load/])
        assert.match(names, target);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
