// npm run bench -- --compare <git-ref> [--quick | --smoke] [--only=jwks,cc,login,refresh,authzen]
//
// A regression guard that is not a timing test: the same scenarios on a checkout of <git-ref>
// (a temporary git worktree: the working tree's node_modules hard-linked when the lockfiles match,
// else its own `npm ci`) and on the working tree, both on PostgreSQL
// and Redis (two databases, two Redis prefixes, the same seed through each tree's own CLI), both
// started as their own package.json's `npm start` says. Every scenario alternates the two servers
// in ABBA rounds, so drift of the machine hits both; the output is the ratio working / ref of the
// rate and of the server CPU per operation, the start-up time to /readyz and the RSS. Nothing is
// asserted: a ratio is read by a person, with the noise of the machine in mind (±15%).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareMarkdown, compareRow, type CompareResources, type CompareRow, type SideFigures } from './lib/compare-report.ts';
import { basicAuth, formBody, LeanHttp } from './lib/http.ts';
import { runAutocannon, type RequestSpec } from './lib/load.ts';
import { runLogins, signInOnce, type LoginTarget } from './lib/login.ts';
import type { BenchOptions } from './lib/options.ts';
import { benchEnv, freePort, readCpuMs, readMemory, RssSampler, runInWorkDir, runToCompletion, startChild, stopChild, waitUntilReady, type Child } from './lib/processes.ts';
import { AUTHZEN_SUBJECT_PREFIX, BENCH_DATABASE, benchDatabaseUrl, deletePrefix, dropBenchDatabase, openBenchKnex, openRedis, recreateBenchDatabase, seedDocument, type BenchSecrets } from './lib/setup.ts';
import { round } from './lib/stats.ts';
import { checkoutRef, prepareTree, removeCheckout, type Tree } from './lib/tree.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COMPARE_SCENARIOS = ['jwks', 'cc', 'login', 'refresh', 'authzen'] as const;

interface Side {
  key: 'ref' | 'work';
  tree: Tree;
  database: string;
  prefix: string;
  origin: string;
  child?: Child;
  startupMs: number;
  idleRssMb: number;
  sampler?: RssSampler;
  http?: LeanHttp;
  refreshPool: string[];
}

export async function runCompare(opts: BenchOptions, ref: string, progress: (message: string) => void): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!databaseUrl || !redisUrl) {
    process.stderr.write('npm run bench -- --compare needs DATABASE_URL and REDIS_URL, as the bench does (npm run bench -- --help)\n');
    return 2;
  }
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-compare-'));
  const redis = openRedis(redisUrl);
  const runId = randomBytes(4).toString('hex');
  let refRoot: string | undefined;
  const sides: Side[] = [];
  const cleanup = async (): Promise<void> => {
    for (const side of sides) {
      side.sampler?.stop();
      side.http?.close();
      if (side.child) await stopChild(side.child).catch(() => undefined);
      await deletePrefix(redis, side.prefix).catch(() => undefined);
      await dropBenchDatabase(databaseUrl, side.database).catch(() => undefined);
    }
    redis.disconnect();
    if (refRoot) await removeCheckout(ROOT, refRoot).catch((error: Error) => progress(`could not remove the worktree ${refRoot}: ${error.message}`));
  };
  return runInWorkDir({ label: 'compare', workDir, progress, cleanup }, async () => {
    refRoot = await checkoutRef(ROOT, ref, workDir, progress);
    const trees = [await prepareTree(ref, refRoot, progress), await prepareTree('working tree', ROOT, progress)];
    const secretsBase = {
      serviceClientId: randomUUID(),
      serviceClientSecret: randomBytes(24).toString('base64url'),
      webClientId: 'bench-web',
      webClientSecret: randomBytes(24).toString('base64url'),
      redirectUri: 'http://127.0.0.1:9/cb',
      resourceScopes: ['read', 'write'],
      password: `pw${randomBytes(12).toString('base64url')}`,
      adminUsername: 'bench-admin',
      adminPassword: `pw${randomBytes(15).toString('base64url')}`,
    };
    const secret = randomBytes(36).toString('base64url');
    let users: string[] = [];
    for (const [i, tree] of trees.entries()) {
      const key = i === 0 ? 'ref' : 'work';
      const port = await freePort();
      const side: Side = { key, tree, database: `${BENCH_DATABASE}_${key}`, prefix: `bench:${runId}-${key}:`, origin: `http://127.0.0.1:${port}`, startupMs: 0, idleRssMb: 0, refreshPool: [] };
      sides.push(side);
      const secrets: BenchSecrets = { ...secretsBase, resource: `${side.origin}/bench-api` };
      const { document, users: loginUsers } = seedDocument(secrets, opts.loginUsers);
      users = loginUsers.map((u) => u.username);
      const seedFile = path.join(workDir, `seed-${key}.json`);
      await writeFile(seedFile, JSON.stringify(document, null, 2));
      await recreateBenchDatabase(databaseUrl, side.database);
      const env: NodeJS.ProcessEnv = {
        ...benchEnv(),
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        GATEHOUSE_ISSUER: side.origin,
        DATABASE_URL: benchDatabaseUrl(databaseUrl, side.database),
        REDIS_URL: redisUrl,
        GATEHOUSE_REDIS_PREFIX: side.prefix,
        GATEHOUSE_SECRET: secret,
        GATEHOUSE_DATA_DIR: path.join(workDir, `data-${key}`),
        LOG_LEVEL: 'warn',
      };
      progress(`${tree.label} (${tree.commit}): seeding through its CLI`);
      await runToCompletion(`${key} seed`, process.execPath, ['bin/gatehouse.js', 'seed', seedFile], { cwd: tree.root, env, logFile: path.join(workDir, `seed-${key}.log`), timeoutMs: 180_000 });
      // One server starting at a time, so each start-up is measured on its own.
      const started = performance.now();
      side.child = startChild(`gatehouse (${tree.label})`, process.execPath, tree.startArgs, { cwd: tree.root, env: { ...env, ...tree.startEnv }, logFile: path.join(workDir, `gatehouse-${key}.log`) });
      await waitUntilReady(side.child, `${side.origin}/readyz`, 90_000, 25);
      side.startupMs = round(performance.now() - started, 0);
      progress(`${tree.label}: node ${tree.startArgs.join(' ')} answered /readyz after ${side.startupMs} ms`);
      side.http = new LeanHttp(side.origin, Math.max(opts.loginWorkers, 4));
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (const side of sides) {
      side.idleRssMb = round((await readMemory(side.child!.pid))?.rssMb ?? 0, 1);
      side.sampler = new RssSampler(side.child!.pid);
      side.sampler.start();
    }
    const [refSide, workSide] = sides as [Side, Side];

    /** Warm-up, then opts.rounds rounds each, ABBA; CPU of each server per successful operation. */
    const alternate = async (name: string, run: (side: Side, seconds: number) => Promise<{ ok: number; failed: number; seconds: number }>): Promise<[SideFigures, SideFigures]> => {
      progress(`${name}: warm-up ${opts.warmupSeconds} s each`);
      for (const side of sides) await run(side, opts.warmupSeconds);
      const totals = sides.map(() => ({ ok: 0, failed: 0, seconds: 0, cpuMs: 0 }));
      for (let i = 0; i < opts.rounds; i += 1) {
        const order = i % 2 === 0 ? [0, 1] : [1, 0];
        for (const k of order) {
          const side = sides[k]!;
          const before = await readCpuMs(side.child!.pid);
          const r = await run(side, opts.roundSeconds);
          const after = await readCpuMs(side.child!.pid);
          const t = totals[k]!;
          t.ok += r.ok;
          t.failed += r.failed;
          t.seconds += r.seconds;
          if (before !== undefined && after !== undefined) t.cpuMs += after - before;
          progress(`  round ${i + 1}/${opts.rounds} ${side.tree.label}: ${(r.ok / r.seconds).toFixed(1)}/s`);
        }
      }
      const figures = totals.map((t) => ({ rate: t.seconds > 0 ? round(t.ok / t.seconds, 1) : 0, failed: t.failed, ...(t.ok > 0 ? { cpuMsPerOp: round(t.cpuMs / t.ok, 3) } : {}) }));
      return [figures[0]!, figures[1]!];
    };
    const autocannonRun = (spec: (side: Side) => RequestSpec) => async (side: Side, seconds: number) => {
      const r = await runAutocannon(side.origin, spec(side), opts.connections, seconds);
      return { ok: r.ok, failed: r.non2xx + r.errors, seconds: r.seconds };
    };
    const loginTarget = (side: Side, scope = 'openid profile identity'): LoginTarget => ({
      origin: side.origin,
      clientId: secretsBase.webClientId,
      clientSecret: secretsBase.webClientSecret,
      redirectUri: secretsBase.redirectUri,
      scope,
      password: secretsBase.password,
    });
    const logins = async (side: Side, seconds: number) => {
      const r = await runLogins({ http: side.http!, target: loginTarget(side), users, workers: opts.loginWorkers, seconds, onTokens: (t) => t.refreshToken && side.refreshPool.length < 20_000 && side.refreshPool.push(t.refreshToken) });
      return { ok: r.completed, failed: r.failed, seconds: r.seconds };
    };
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const wanted = COMPARE_SCENARIOS.filter((id) => opts.only.has(id));
    const rows: CompareRow[] = [];
    for (const id of wanted) {
      if (id === 'jwks')
        rows.push(
          compareRow(
            id,
            'JWKS (GET /jwks)',
            ...(await alternate(
              'JWKS',
              autocannonRun(() => ({ method: 'GET', path: '/jwks' })),
            )),
          ),
        );
      if (id === 'cc') {
        const spec = (side: Side): RequestSpec => ({
          method: 'POST',
          path: '/token',
          headers: { ...form, authorization: basicAuth(secretsBase.serviceClientId, secretsBase.serviceClientSecret) },
          body: formBody({ grant_type: 'client_credentials', resource: `${side.origin}/bench-api`, scope: 'read write' }),
        });
        rows.push(compareRow(id, 'client credentials (JWT RS256)', ...(await alternate('client credentials', autocannonRun(spec)))));
      }
      if (id === 'login') rows.push(compareRow(id, 'password sign-in, full flow (PKCE)', ...(await alternate('password sign-in', logins))));
      if (id === 'refresh') {
        // Each server's own refresh tokens, from sign-ins on it (more if the login rounds left too few).
        for (const side of sides) {
          for (let attempt = 0; attempt < 20 && side.refreshPool.length < opts.connections * (opts.rounds + 3); attempt += 1) await logins(side, 1);
        }
        const spec = (side: Side): RequestSpec => ({
          method: 'POST',
          path: '/token',
          headers: { ...form, authorization: basicAuth(secretsBase.webClientId, secretsBase.webClientSecret) },
          next: () => ({ body: formBody({ grant_type: 'refresh_token', refresh_token: side.refreshPool.pop() ?? 'pool-exhausted' }) }),
          onResponse: (status, body) => {
            if (status !== 200) return;
            const next = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
            if (next) side.refreshPool.push(next);
          },
        });
        rows.push(compareRow(id, 'refresh token grant (rotating)', ...(await alternate('refresh', autocannonRun(spec)))));
      }
      if (id === 'authzen') {
        // Single AuthZEN decisions as in the main bench: rotating subjects, actions and clients,
        // each side asked with a PEP token of its own about its own identities.
        const bodies = new Map<Side, string[]>();
        const tokens = new Map<Side, string>();
        for (const side of sides) {
          const pep = await signInOnce(side.http!, { ...loginTarget(side, 'openid admin'), resource: `${side.origin}/api`, password: secretsBase.adminPassword }, secretsBase.adminUsername, () => undefined);
          tokens.set(side, pep.tokens.accessToken);
          const knex = openBenchKnex(benchDatabaseUrl(databaseUrl, side.database));
          try {
            const subjects = (await knex('identities').join('users', 'users.id', 'identities.user_id').where('users.username', 'like', `${AUTHZEN_SUBJECT_PREFIX}%`).pluck('identities.id')) as string[];
            if (!subjects.length) throw new Error('the seed has no AuthZEN subjects');
            const clients = ['ROOM', 'Pharma', 'ACME'];
            bodies.set(
              side,
              Array.from({ length: 997 }, (_, k) =>
                JSON.stringify({
                  subject: { type: 'identity', id: subjects[k % subjects.length]! },
                  action: { name: secretsBase.resourceScopes[k % secretsBase.resourceScopes.length]!, properties: { resource: `${side.origin}/bench-api` } },
                  resource: { type: 'booking', id: String(k), properties: { client: clients[k % clients.length]! } },
                }),
              ),
            );
          } finally {
            await knex.destroy();
          }
        }
        const spec = (side: Side): RequestSpec => {
          const list = bodies.get(side)!;
          let i = 0;
          return { method: 'POST', path: '/access/v1/evaluation', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(side)!}` }, next: () => ({ body: list[i++ % list.length]! }) };
        };
        rows.push(compareRow(id, 'AuthZEN single evaluation (decisions/s)', ...(await alternate('AuthZEN single evaluation', autocannonRun(spec)))));
      }
    }
    const resources: CompareResources = {
      startupMs: { ref: refSide.startupMs, work: workSide.startupMs },
      idleRssMb: { ref: refSide.idleRssMb, work: workSide.idleRssMb },
      underLoadMaxRssMb: { ref: round(refSide.sampler!.maxMb, 1), work: round(workSide.sampler!.maxMb, 1) },
    };
    const refLabel = `${ref} (${refSide.tree.commit})`;
    const workLabel = `working tree (${workSide.tree.commit})`;
    const table = compareMarkdown(refLabel, workLabel, rows, resources);
    const json = path.resolve(ROOT, opts.json === 'bench/results/latest.json' ? 'bench/results/compare.json' : opts.json);
    await mkdir(path.dirname(json), { recursive: true });
    await writeFile(json, `${JSON.stringify({ version: 1, mode: opts.mode, ref, refCommit: refSide.tree.commit, workCommit: workSide.tree.commit, finishedAt: new Date().toISOString(), loadAverage: os.loadavg(), rows, resources }, null, 2)}\n`);
    process.stdout.write(
      `\n## Gatehouse compare (${opts.mode}): working tree / ${ref}, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n\n${table}\n\nRatios: rate working/ref (above 1 is faster), CPU per operation working/ref (below 1 is cheaper); differences under 15% are noise on a shared machine.\nJSON: ${path.relative(ROOT, json)}\n`,
    );
    return rows.some((r) => r.work.failed > 0 && r.work.rate === 0) ? 1 : 0;
  });
}
