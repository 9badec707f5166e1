// npm run bench -- [--quick | --smoke] [--only=...] [--profile]
//
// Measures Gatehouse on PostgreSQL + Redis against a bare oidc-provider (the peer, bench/peer.ts)
// and against the argon2id ceiling of this machine, in one run:
//   1. creates the database gatehouse_bench on DATABASE_URL's server (dropped first), seeds it
//      through the CLI (`gatehouse seed`), bulk-loads directory users with INSERT ... SELECT;
//   2. starts Gatehouse (`node bin/gatehouse.js start`) and the peer as child processes on
//      loopback, so each one's RSS is its own;
//   3. per scenario: a warm-up, then measured rounds at fixed concurrency, alternating peer and
//      Gatehouse (or argon2 and logins) in ABBA order so drift of the machine hits both;
//   4. prints a markdown table on stdout, writes bench/results/latest.json, deletes its Redis
//      keys (SCAN + DEL under its own prefix) and drops its database.
// Progress goes to stderr. See BENCH.md for the figures and how to read them.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { ARGON_PARAMETERS, prepareArgon, runArgonRound, threadpoolSize } from './lib/argon.ts';
import { formatProfile, mainThreadProfile, monotonicMicros, summarizeProfile, type ProfileSummary } from './lib/cpuprofile.ts';
import { basicAuth, formBody, LeanHttp } from './lib/http.ts';
import { aggregate, runAutocannon, type Aggregate, type RequestSpec, type Round } from './lib/load.ts';
import { runLogins, signInOnce, type LoginRound, type LoginTarget, type LoginTokens } from './lib/login.ts';
import { parseOptions, USAGE, type BenchOptions } from './lib/options.ts';
import { prepareTree } from './lib/tree.ts';
import { benchEnv, freePort, onInterrupt, readCpuMs, readMemory, RssSampler, runInWorkDir, runToCompletion, startChild, stopChild, waitUntilReady, type Child } from './lib/processes.ts';
import { describeMachine, gitInfo, markdownTables, type BenchResults, type ScenarioResult, type Target } from './lib/report.ts';
import {
  benchDatabaseUrl,
  bulkInsertUsers,
  deletePrefix,
  describeDatabase,
  dropBenchDatabase,
  explainSearch,
  keyGroupMemory,
  openBenchKnex,
  openRedis,
  prefixMemoryByFamily,
  recreateBenchDatabase,
  seedDocument,
  newBenchSecrets,
  benchUsername,
  AUTHZEN_SUBJECT_PREFIX,
} from './lib/setup.ts';

/** Evaluations per request of the AuthZEN batch scenario. */
const AUTHZEN_BATCH = 20;
import { LatencyRecorder, median, round } from './lib/stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const execFileAsync = promisify(execFile);
const TENANT = 'default';

const benchStarted = performance.now();
const progress = (message: string) => process.stderr.write(`bench ${((performance.now() - benchStarted) / 1000).toFixed(1).padStart(5)}s: ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function missingServicesMessage(databaseUrl: string | undefined, redisUrl: string | undefined): string {
  const missing = [!databaseUrl && 'DATABASE_URL', !redisUrl && 'REDIS_URL'].filter(Boolean).join(' and ');
  return `npm run bench measures Gatehouse on PostgreSQL and Redis, and ${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set.

  DATABASE_URL  a PostgreSQL server the bench may create a database on; it creates (and drops)
                its own database "gatehouse_bench" there, e.g. postgres://postgres@127.0.0.1:5432/postgres
  REDIS_URL     a Redis it may write to; keys go under a fresh "bench:<random>:" prefix and are
                deleted at the end (never FLUSHDB), e.g. redis://127.0.0.1:6379

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 npm run bench -- --quick
`;
}

const baseEnv = benchEnv;

async function checkServices(databaseUrl: string, redis: Redis): Promise<{ postgres: string; redis: string }> {
  const knexFactory = (await import('knex')).default;
  const probe = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 5000 });
  let postgres: string;
  try {
    const result = await probe.raw('show server_version');
    postgres = String((result.rows as { server_version: string }[])[0]?.server_version ?? 'unknown');
  } catch (error) {
    throw new Error(`cannot reach PostgreSQL at ${describeDatabase(databaseUrl)}: ${(error as Error).message}`);
  } finally {
    await probe.destroy();
  }
  let version: string;
  try {
    const info = await redis.info('server');
    version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (error) {
    throw new Error(`cannot reach Redis: ${(error as Error).message}`);
  }
  return { postgres, redis: version };
}

/** Search terms an administrator might type, against the bulk-loaded names (see bulkInsertUsers). */
function searchTerms(bulkUsers: number): string[] {
  const username = benchUsername;
  const g1 = Math.max(1, Math.floor(bulkUsers * 0.42));
  const g2 = Math.max(1, Math.floor(bulkUsers * 0.77));
  return [
    username(g1), // one user, by full username
    'smith', // a common surname: many matches
    'ruby hall', // a full name
    username(g2).slice(0, -3), // a username prefix: a few matches
    'corp7.example', // an email domain: 5% of users
    'nobody-by-this-name', // no match at all: the whole table is examined
    'wendy', // a first name
    `${String(g1).padStart(6, '0')}`, // digits only
  ];
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!databaseUrl || !redisUrl) {
    process.stderr.write(missingServicesMessage(databaseUrl, redisUrl));
    return 2;
  }
  const opts = options;
  if (opts.compare && opts.growth) {
    process.stderr.write('--compare and --growth are separate runs: choose one\n');
    return 2;
  }
  if (opts.compare) return (await import('./compare.ts')).runCompare(opts, opts.compare, progress);
  if (opts.growth) return (await import('./growth.ts')).runGrowth(opts, opts.growth, progress);
  const startedAt = new Date();
  const runId = randomBytes(4).toString('hex');
  const prefix = `bench:${runId}:`;
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const benchUrl = benchDatabaseUrl(databaseUrl);
  const redis = openRedis(redisUrl);
  let knex: Knex | undefined;
  let gatehouse: Child | undefined;
  let peer: Child | undefined;
  const https: LeanHttp[] = [];
  let redisCleaned = false;
  const cleanRedis = async () => {
    if (redisCleaned) return;
    redisCleaned = true;
    const deleted = await deletePrefix(redis, prefix);
    progress(`deleted ${deleted} Redis keys under ${prefix}`);
  };
  onInterrupt(async () => {
    await cleanRedis();
    redis.disconnect();
  });

  const cleanup = async (): Promise<void> => {
    for (const h of https) h.close();
    if (gatehouse) await stopChild(gatehouse).catch(() => undefined);
    if (peer) await stopChild(peer).catch(() => undefined);
    await cleanRedis().catch((error: Error) => progress(`could not delete the Redis keys under ${prefix}: ${error.message}`));
    redis.disconnect();
    await knex?.destroy().catch(() => undefined);
    if (!opts.keepDb) await dropBenchDatabase(databaseUrl).catch((error: Error) => progress(`could not drop the bench database: ${error.message}`));
  };
  return runInWorkDir({ label: 'bench', workDir, progress, cleanup }, async () => {
    const versions = await checkServices(databaseUrl, redis);
    const machine = describeMachine(versions);
    const loadBefore = os.loadavg().map((l) => round(l, 2));
    if (loadBefore[0]! > machine.nproc * 0.5) progress(`warning: the machine is busy (load average ${loadBefore.join(' ')} on ${machine.nproc} cores): figures will be noisy`);
    progress(`${opts.mode} run ${runId} on ${machine.nproc} × ${machine.cpuModel}, node ${machine.node}, PostgreSQL ${versions.postgres}, Redis ${versions.redis}`);
    progress(`work directory (logs, seed file): ${workDir}`);

    // ---------------------------------------------------------------- data
    progress(`creating database ${describeDatabase(benchUrl)}`);
    await recreateBenchDatabase(databaseUrl);
    const [ghPort, peerPort] = [await freePort(), await freePort()];
    const issuer = `http://127.0.0.1:${ghPort}`;
    const peerOrigin = `http://127.0.0.1:${peerPort}`;
    const secret = randomBytes(36).toString('base64url');
    const secrets = newBenchSecrets(issuer);
    const { document, users: loginUsers } = seedDocument(secrets, opts.loginUsers);
    const seedFile = path.join(workDir, 'seed.json');
    await writeFile(seedFile, JSON.stringify(document, null, 2));
    const gatehouseEnv: NodeJS.ProcessEnv = {
      ...baseEnv(),
      // Production mode: compiled templates are cached, as in a deployment. It requires an issuer.
      NODE_ENV: 'production',
      PORT: String(ghPort),
      HOST: '127.0.0.1',
      GATEHOUSE_ISSUER: issuer,
      DATABASE_URL: benchUrl,
      REDIS_URL: redisUrl,
      GATEHOUSE_REDIS_PREFIX: prefix,
      GATEHOUSE_SECRET: secret,
      GATEHOUSE_DATA_DIR: path.join(workDir, 'data'),
      LOG_LEVEL: 'warn',
      ...opts.gatehouseEnv,
    };
    const tree = await prepareTree('working tree', ROOT, progress);
    progress(`seeding through the CLI: ${loginUsers.length} sign-in users, 2 applications, 1 API resource`);
    let t = performance.now();
    await runToCompletion('gatehouse seed', process.execPath, ['bin/gatehouse.js', 'seed', seedFile], { cwd: ROOT, env: gatehouseEnv, logFile: path.join(workDir, 'seed.log'), timeoutMs: 120_000 });
    progress(`  seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    // The AuthZEN scenario's PEP: a service account holding the seed's "Bench PEP" role, as a
    // resource server asking for decisions is (client credentials; its token is of no session).
    let pepAccount: { client_id: string; client_secret: string } | undefined;
    if (opts.only.has('authzen')) {
      const { stdout } = await execFileAsync(process.execPath, ['bin/gatehouse.js', 'service-accounts', 'create', '--name', 'Bench PEP', '--role', 'Bench PEP', '--json'], { cwd: ROOT, env: gatehouseEnv, timeout: 120_000 });
      pepAccount = JSON.parse(stdout) as { client_id: string; client_secret: string };
    }
    knex = openBenchKnex(benchUrl);
    // The bulk load runs while Gatehouse and the peer start (nothing is measured before both are
    // done): it saves a --quick run the time of a start.
    progress(`bulk-loading ${opts.bulkUsers.toLocaleString('en-US')} directory users (INSERT ... SELECT generate_series), while the servers start`);
    const bulkLoad = bulkInsertUsers(knex, TENANT, opts.bulkUsers);
    bulkLoad.catch(() => undefined); // awaited below; a rejection must not go unhandled meanwhile

    // ---------------------------------------------------------------- processes
    let profileDir: string | undefined;
    // Node refuses --cpu-prof in NODE_OPTIONS, so it goes on Gatehouse's command line.
    const nodeFlags: string[] = [...opts.nodeFlags];
    if (opts.nodeFlags.length || Object.keys(opts.gatehouseEnv).length) progress(`tuned run: Gatehouse with node flags [${opts.nodeFlags.join(' ')}] and environment ${JSON.stringify(opts.gatehouseEnv)}`);
    if (opts.profile) {
      profileDir = path.join(ROOT, 'bench', 'results', 'profiles', `${startedAt.toISOString().replace(/[:.]/g, '-')}-${runId}`);
      await mkdir(profileDir, { recursive: true });
      nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
      progress(`Gatehouse runs with --cpu-prof; profile in ${profileDir}`);
    }
    progress(`starting Gatehouse (node ${tree.startArgs.join(' ')}) at ${issuer} and the peer at ${peerOrigin}`);
    const startedGatehouseAt = performance.now();
    gatehouse = startChild('gatehouse', process.execPath, [...nodeFlags, ...tree.startArgs], { cwd: ROOT, env: { ...gatehouseEnv, ...tree.startEnv, ...opts.gatehouseEnv }, logFile: path.join(workDir, 'gatehouse.log') });
    // Start-up: from the spawn to the first 200 from /readyz (polled every 25 ms), migrations
    // included (none are pending: the seed applied them).
    const ghReady = waitUntilReady(gatehouse, `${issuer}/readyz`, 60_000, 25).then(() => round(performance.now() - startedGatehouseAt, 0));
    peer = startChild('peer', process.execPath, ['--import', 'tsx', 'bench/peer.ts'], {
      cwd: ROOT,
      env: {
        ...baseEnv(),
        NODE_ENV: 'production',
        PEER_PORT: String(peerPort),
        PEER_CLIENT_ID: 'peer-service',
        PEER_CLIENT_SECRET: secrets.serviceClientSecret,
        PEER_RESOURCE: secrets.resource,
        PEER_SCOPES: secrets.resourceScopes.join(' '),
        PEER_PASSWORD: secrets.password,
      },
      logFile: path.join(workDir, 'peer.log'),
    });
    const [startupMs] = await Promise.all([ghReady, waitUntilReady(peer, `${peerOrigin}/.well-known/openid-configuration`)]);
    progress(`  Gatehouse answered /readyz ${startupMs} ms after it was started`);
    const bulk = await bulkLoad;
    progress(
      `  ${opts.bulkUsers.toLocaleString('en-US')} users loaded in ${bulk.seconds.toFixed(1)} s (${Object.entries(bulk.steps)
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(', ')})`,
    );
    await sleep(2000);
    const idle = await readMemory(gatehouse.pid);
    const peerIdle = await readMemory(peer.pid);
    progress(`Gatehouse idle RSS ${idle?.rssMb.toFixed(1)} MB, peer ${peerIdle?.rssMb.toFixed(1)} MB`);
    const ghSampler = new RssSampler(gatehouse.pid);
    const peerSampler = new RssSampler(peer.pid);
    ghSampler.start();
    peerSampler.start();

    // ---------------------------------------------------------------- scenarios
    const scenarios: Record<string, ScenarioResult> = {};
    /** Measured phases, for cutting the CPU profile into one summary per scenario. */
    const windows: { scenario: string; fromUs: number; toUs: number }[] = [];
    /** Gatehouse's highest RSS during each scenario's measured phase, MiB. */
    const rssByScenario: Record<string, number> = {};
    const C = opts.connections;
    const ghHttp = new LeanHttp(issuer, Math.max(opts.loginWorkers, 4));
    https.push(ghHttp);
    const loginTarget: LoginTarget = { origin: issuer, clientId: secrets.webClientId, clientSecret: secrets.webClientSecret, redirectUri: secrets.redirectUri, scope: 'openid profile identity', password: secrets.password };
    const refreshPool: string[] = [];
    const accessPool: string[] = [];
    let loginsCompleted = 0;
    const keepTokens = (tokens: LoginTokens) => {
      loginsCompleted += 1;
      if (tokens.refreshToken && refreshPool.length < 20_000) refreshPool.push(tokens.refreshToken);
      if (accessPool.length < 1000) accessPool.push(tokens.accessToken);
    };
    const usernames = loginUsers.map((u) => u.username);
    const ensureTokens = async (refresh: number, access: number) => {
      for (let attempt = 0; attempt < 20 && (refreshPool.length < refresh || accessPool.length < access); attempt += 1) {
        const r = await runLogins({ http: ghHttp, target: loginTarget, users: usernames, workers: Math.min(opts.loginWorkers, 8), seconds: 1, onTokens: keepTokens });
        if (r.completed === 0) throw new Error(`cannot sign in to get tokens: ${r.firstError ?? 'no login completed'}`);
      }
    };

    /** Warm-up, then `rounds` measured rounds, A and B alternating in ABBA order. */
    /** CPU milliseconds per successful operation of the process `pid` (undefined: the bench itself) while `run` runs. */
    const metered = async <R extends { ok: number }>(pid: number | undefined, totals: { cpuMs: number; ok: number }, run: () => Promise<R>): Promise<R> => {
      const before = await readCpuMs(pid);
      const r = await run();
      const after = await readCpuMs(pid);
      if (before !== undefined && after !== undefined) {
        totals.cpuMs += after - before;
        totals.ok += r.ok;
      }
      return r;
    };
    const perOp = (totals: { cpuMs: number; ok: number }) => (totals.ok > 0 ? round(totals.cpuMs / totals.ok, 3) : undefined);

    /**
     * Warm-up, then `rounds` measured rounds of every side in turn, the order reversed every other
     * round (ABBA, ABCCBA, ...) so drift of the machine hits every side alike.
     */
    async function alternateMany<R extends { ok: number; seconds: number }>(name: string, sides: { label: string; run: (seconds: number) => Promise<R>; pid: number | undefined }[]): Promise<{ rounds: R[][]; cpuMsPerOp: (number | undefined)[] }> {
      progress(`${name}: warm-up ${opts.warmupSeconds} s each`);
      for (const side of sides) await side.run(opts.warmupSeconds);
      const rounds = sides.map(() => [] as R[]);
      const cpu = sides.map(() => ({ cpuMs: 0, ok: 0 }));
      const rssMark = ghSampler.samples;
      const fromUs = monotonicMicros();
      for (let i = 0; i < opts.rounds; i += 1) {
        const order = sides.map((_, k) => k);
        if (i % 2 === 1) order.reverse();
        for (const k of order) {
          const side = sides[k]!;
          const r = await metered(side.pid, cpu[k]!, () => side.run(opts.roundSeconds));
          rounds[k]!.push(r);
          progress(`  round ${i + 1}/${opts.rounds} ${side.label}: ${(r.ok / r.seconds).toFixed(1)}/s`);
        }
      }
      windows.push({ scenario: name, fromUs, toUs: monotonicMicros() });
      rssByScenario[name] = round(ghSampler.maxSince(rssMark), 1);
      const cpuMsPerOp = cpu.map(perOp);
      progress(`  CPU per operation: ${sides.map((side, k) => `${side.label} ${cpuMsPerOp[k] ?? '?'} ms`).join(', ')}`);
      return { rounds, cpuMsPerOp };
    }

    async function alternate<A extends { ok: number; seconds: number }, B extends { ok: number; seconds: number }>(
      name: string,
      a: { label: string; run: (seconds: number) => Promise<A>; pid: number | undefined },
      b: { label: string; run: (seconds: number) => Promise<B>; pid: number | undefined },
    ): Promise<{ a: A[]; b: B[]; cpuMsPerOp: { a?: number; b?: number } }> {
      const r = await alternateMany<A | B>(name, [a, b]);
      const [cpuA, cpuB] = r.cpuMsPerOp;
      return { a: r.rounds[0] as A[], b: r.rounds[1] as B[], cpuMsPerOp: { ...(cpuA !== undefined ? { a: cpuA } : {}), ...(cpuB !== undefined ? { b: cpuB } : {}) } };
    }

    /** `loadCpuMsPerOp`: the bench's own CPU (the load generator's) per successful operation. */
    async function single(name: string, run: (seconds: number) => Promise<Round>): Promise<Round[] & { cpuMsPerOp?: number; loadCpuMsPerOp?: number }> {
      progress(`${name}: warm-up ${opts.warmupSeconds} s`);
      await run(opts.warmupSeconds);
      const rounds: Round[] & { cpuMsPerOp?: number; loadCpuMsPerOp?: number } = [];
      const each = opts.singleSeconds / opts.rounds;
      const cpu = { cpuMs: 0, ok: 0 };
      const ownCpu = { cpuMs: 0, ok: 0 };
      const rssMark = ghSampler.samples;
      const fromUs = monotonicMicros();
      for (let i = 0; i < opts.rounds; i += 1) {
        const r = await metered(undefined, ownCpu, () => metered(gatehouse!.pid, cpu, () => run(each)));
        rounds.push(r);
        progress(`  round ${i + 1}/${opts.rounds}: ${(r.ok / r.seconds).toFixed(1)}/s${r.non2xx || r.errors ? ` (${r.non2xx} non-2xx, ${r.errors} errors${r.firstFailure ? `: ${r.firstFailure.slice(0, 160)}` : ''})` : ''}`);
      }
      windows.push({ scenario: name, fromUs, toUs: monotonicMicros() });
      rounds.cpuMsPerOp = perOp(cpu);
      rounds.loadCpuMsPerOp = perOp(ownCpu);
      rssByScenario[name] = round(ghSampler.maxSince(rssMark), 1);
      progress(`  Gatehouse CPU per operation: ${rounds.cpuMsPerOp ?? '?'} ms (load generator: ${rounds.loadCpuMsPerOp ?? '?'} ms)`);
      return rounds;
    }

    const ratioOf = (a: Aggregate, b: Aggregate) => (b.rate > 0 ? round(a.rate / b.rate, 3) : 0);
    type Rounds = Parameters<typeof aggregate>[0];
    /** A scenario measured against the peer by `alternate`: the peer's rounds in `r.a`, Gatehouse's in `r.b`. */
    const againstPeer = (id: string, label: string, r: { a: Rounds; b: Rounds; cpuMsPerOp: { a?: number; b?: number } }, more: Pick<ScenarioResult, 'details' | 'notes'> = {}): ScenarioResult => {
      const gh = aggregate(r.b);
      const pr = aggregate(r.a);
      return { id, label, result: gh, cpuMsPerOp: r.cpuMsPerOp.b, reference: { label: 'peer', result: pr, cpuMsPerOp: r.cpuMsPerOp.a }, ratio: ratioOf(gh, pr), ...more };
    };
    const form = { 'content-type': 'application/x-www-form-urlencoded' };

    // JWKS: the cheapest request, the floor of per-request overhead.
    if (opts.only.has('jwks')) {
      const spec: RequestSpec = { method: 'GET', path: '/jwks' };
      const r = await alternate('JWKS', { label: 'peer', run: (s) => runAutocannon(peerOrigin, spec, C, s), pid: peer.pid }, { label: 'Gatehouse', run: (s) => runAutocannon(issuer, spec, C, s), pid: gatehouse.pid });
      scenarios.jwks = againstPeer('jwks', 'JWKS (GET /jwks)', r);
    }

    // Client credentials, JWT access token (RS256) for a resource indicator.
    if (opts.only.has('cc')) {
      const body = formBody({ grant_type: 'client_credentials', resource: secrets.resource, scope: secrets.resourceScopes.join(' ') });
      const ghSpec: RequestSpec = { method: 'POST', path: '/token', headers: { ...form, authorization: basicAuth(secrets.serviceClientId, secrets.serviceClientSecret) }, body };
      const peerSpec: RequestSpec = { method: 'POST', path: '/token', headers: { ...form, authorization: basicAuth('peer-service', secrets.serviceClientSecret) }, body };
      // Both must issue the same kind of token, or the comparison means nothing.
      const sample = async (origin: string, spec: RequestSpec) => {
        const response = await fetch(`${origin}/token`, { method: 'POST', headers: spec.headers, body: spec.body });
        const json = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
        if (!json.access_token) throw new Error(`client credentials at ${origin} failed: ${response.status} ${json.error ?? ''} ${json.error_description ?? ''}`);
        const [header, payload] = json.access_token
          .split('.')
          .slice(0, 2)
          .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>);
        return { alg: header?.alg, typ: header?.typ, bytes: json.access_token.length, claims: Object.keys(payload ?? {}).sort() };
      };
      const ghToken = await sample(issuer, ghSpec);
      const peerToken = await sample(peerOrigin, peerSpec);
      progress(`client credentials tokens: Gatehouse ${ghToken.alg} ${ghToken.typ} ${ghToken.bytes} B, peer ${peerToken.alg} ${peerToken.typ} ${peerToken.bytes} B`);
      const r = await alternate('client credentials', { label: 'peer', run: (s) => runAutocannon(peerOrigin, peerSpec, C, s), pid: peer.pid }, { label: 'Gatehouse', run: (s) => runAutocannon(issuer, ghSpec, C, s), pid: gatehouse.pid });
      scenarios.cc = againstPeer('cc', 'client credentials (JWT RS256)', r, {
        details: { gatehouseToken: ghToken, peerToken, roundRatios: r.b.map((g, i) => round(g.ok / g.seconds / (r.a[i]!.ok / r.a[i]!.seconds), 3)) },
      });
    }

    // Password sign-in, end to end, against the peer's same flow (its minimal login page, argon2id
    // at the same parameters, code + PKCE) and the argon2id ceiling measured in this process.
    let loginRounds: LoginRound[] = [];
    if (opts.only.has('login')) {
      const argon = await prepareArgon(secrets.password);
      const peerHttp = new LeanHttp(peerOrigin, Math.max(opts.loginWorkers, 4));
      https.push(peerHttp);
      const peerTarget: LoginTarget = { origin: peerOrigin, clientId: 'peer-web', clientSecret: secrets.serviceClientSecret, redirectUri: secrets.redirectUri, scope: 'openid profile', password: secrets.password };
      const loginRound = (http: LeanHttp, target: LoginTarget, onTokens?: (tokens: LoginTokens) => void) => async (seconds: number) => {
        const r = await runLogins({ http, target, users: usernames, workers: opts.loginWorkers, seconds, ...(onTokens ? { onTokens } : {}) });
        if (r.completed === 0) throw new Error(`no login completed at ${target.origin}: ${r.firstError ?? 'unknown error'}`);
        return { ...r, ok: r.completed };
      };
      type Side = Awaited<ReturnType<ReturnType<typeof loginRound>>> | Awaited<ReturnType<typeof runArgonRound>>;
      const r = await alternateMany<Side>(`password sign-in vs the peer's and the argon2id ceiling (${opts.argonInFlight} verifications in flight, UV_THREADPOOL_SIZE=${threadpoolSize()})`, [
        { label: 'argon2id ceiling', run: (s) => runArgonRound(argon, secrets.password, opts.argonInFlight, s), pid: undefined },
        { label: 'peer logins', run: loginRound(peerHttp, peerTarget), pid: peer.pid },
        { label: 'Gatehouse logins', run: loginRound(ghHttp, loginTarget, keepTokens), pid: gatehouse.pid },
      ]);
      const ghRounds = r.rounds[2] as LoginRound[];
      const peerRounds = r.rounds[1] as LoginRound[];
      const argonRounds = r.rounds[0] as Awaited<ReturnType<typeof runArgonRound>>[];
      loginRounds = ghRounds;
      const loginAggregate = (rounds: LoginRound[]) => aggregate(rounds.map((x) => ({ ok: x.completed, failed: x.failed, seconds: x.seconds, latency: x.flow, ...(x.firstError ? { firstFailure: x.firstError } : {}) })));
      const logins = loginAggregate(ghRounds);
      const peerLogins = loginAggregate(peerRounds);
      const ceiling = aggregate(argonRounds.map((x) => ({ ok: x.ok, seconds: x.seconds, latency: x.latency })));
      const stepsOf = (rounds: LoginRound[]) => {
        const steps: Record<string, unknown> = {};
        for (const name of new Set(rounds.flatMap((x) => Object.keys(x.steps)))) {
          const merged = new LatencyRecorder();
          for (const x of rounds) if (x.steps[name]) merged.merge(x.steps[name]!);
          steps[name] = merged.summary();
        }
        return steps;
      };
      const completed = ghRounds.reduce((n, x) => n + x.completed, 0);
      const withPage = ghRounds.reduce((n, x) => n + x.withIdentityPage, 0);
      scenarios.login = {
        id: 'login',
        label: 'password sign-in, full flow (PKCE)',
        result: logins,
        cpuMsPerOp: r.cpuMsPerOp[2],
        reference: { label: 'peer (same flow)', result: peerLogins, cpuMsPerOp: r.cpuMsPerOp[1] },
        ratio: ratioOf(logins, peerLogins),
        alsoComparedWith: [{ label: 'argon2id ceiling', result: ceiling, cpuMsPerOp: r.cpuMsPerOp[0], ratio: ratioOf(logins, ceiling) }],
        notes: [
          `argon2id m=${ARGON_PARAMETERS.memoryCost} t=${ARGON_PARAMETERS.timeCost} p=${ARGON_PARAMETERS.parallelism}: verifications/s in one Node process with ${opts.argonInFlight} in flight on a ${threadpoolSize()}-thread libuv pool`,
          `${opts.loginWorkers} concurrent sign-in loops against each; ${round((withPage / Math.max(completed, 1)) * 100, 1)}% of Gatehouse's logins passed the identity-selection page`,
          "peer: bench/peer.ts's minimal login page, argon2id at the same parameters, a grant for the requested scopes, code + PKCE, ID token RS256 and a refresh token; the same client code drives both",
        ],
        details: { steps: stepsOf(ghRounds), peerSteps: stepsOf(peerRounds), identityPageShare: round(withPage / Math.max(completed, 1), 3), argonInFlight: opts.argonInFlight, threadpool: threadpoolSize(), argonLatency: ceiling.latency },
      };
    }

    // Redis bytes per session, while the sessions of the login rounds are all still there.
    let redisResult: BenchResults['redis'];
    if (loginsCompleted > 0) {
      const sessions = await keyGroupMemory(redis, prefix, 'oidc:Session:*');
      const uids = await keyGroupMemory(redis, prefix, 'oidc:sessionUid:*');
      const families = await prefixMemoryByFamily(redis, prefix);
      const totalBytes = Object.values(families).reduce((n, f) => n + f.bytes, 0);
      const bytesPerSession = sessions.meanBytes + (uids.keys > 0 ? uids.meanBytes : 0);
      redisResult = {
        bytesPerSession: round(bytesPerSession, 1),
        sessions: sessions.keys,
        breakdown: { sessionPayload: round(sessions.meanBytes, 1), sessionUidIndex: round(uids.meanBytes, 1), sampled: sessions.sampled },
        perLogin: { logins: loginsCompleted, totalBytes, bytesPerLogin: round(totalBytes / Math.max(loginsCompleted, 1), 1), families },
      };
      progress(
        `Redis: ${Math.round(bytesPerSession)} B per session (payload ${Math.round(sessions.meanBytes)} B + uid index ${Math.round(uids.meanBytes)} B, ${sessions.keys} sessions); ${Math.round(totalBytes / Math.max(loginsCompleted, 1))} B of Redis per login in all`,
      );
    }

    const webAuth = basicAuth(secrets.webClientId, secrets.webClientSecret);

    // Refresh with rotation: every answer's new refresh token goes back into the pool, so each
    // connection follows a chain and every token is used exactly once. Against the peer too
    // (its tokens minted at its loopback-only /bench/refresh-tokens), to show what the library
    // itself does per second on this machine.
    if (opts.only.has('refresh')) {
      await ensureTokens(C * (opts.rounds + 3), 0);
      const minted = await fetch(`${peerOrigin}/bench/refresh-tokens?count=${C * 4}`, { method: 'POST' });
      if (minted.status !== 200) throw new Error(`the peer minted no refresh tokens: ${minted.status} ${await minted.text()}`);
      const peerPool = ((await minted.json()) as { tokens: string[] }).tokens;
      let firstRotationFailure: string | undefined;
      const refreshSpec = (pool: string[], authorization: string): RequestSpec => ({
        method: 'POST',
        path: '/token',
        headers: { ...form, authorization },
        next: () => ({ body: formBody({ grant_type: 'refresh_token', refresh_token: pool.pop() ?? 'pool-exhausted' }) }),
        onResponse: (status, body) => {
          if (status !== 200) return;
          const next = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
          if (next) pool.push(next);
          else firstRotationFailure ??= 'a refresh answer without a new refresh token';
        },
      });
      const r = await alternate(
        'refresh (rotating)',
        { label: 'peer', run: (s) => runAutocannon(peerOrigin, refreshSpec(peerPool, basicAuth('peer-web', secrets.serviceClientSecret)), C, s), pid: peer.pid },
        { label: 'Gatehouse', run: (s) => runAutocannon(issuer, refreshSpec(refreshPool, webAuth), C, s), pid: gatehouse.pid },
      );
      scenarios.refresh = againstPeer('refresh', 'refresh token grant (rotating, ID token RS256)', r, {
        notes: ['Gatehouse: scope openid profile identity (identity claims in the ID token); peer: openid profile. Both: opaque access token, ID token RS256, rotated refresh token.', ...(firstRotationFailure ? [firstRotationFailure] : [])],
      });
    }

    // Introspection and userinfo of opaque access tokens from the logins (no resource indicator).
    if (opts.only.has('introspection') || opts.only.has('userinfo')) await ensureTokens(0, 64);
    if (opts.only.has('introspection')) {
      let i = 0;
      let inactive = 0;
      const spec: RequestSpec = {
        method: 'POST',
        path: '/token/introspection',
        headers: { ...form, authorization: webAuth },
        next: () => ({ body: formBody({ token: accessPool[i++ % accessPool.length]!, token_type_hint: 'access_token' }) }),
        onResponse: (status, body) => {
          if (status === 200 && !body.includes('"active":true')) inactive += 1;
        },
      };
      const rounds = await single('introspection', (s) => runAutocannon(issuer, spec, C, s));
      scenarios.introspection = { id: 'introspection', label: 'introspection (opaque access token)', result: aggregate(rounds), cpuMsPerOp: rounds.cpuMsPerOp, details: { inactiveAnswers: inactive, tokens: accessPool.length } };
    }
    if (opts.only.has('userinfo')) {
      let i = 0;
      const spec: RequestSpec = { method: 'GET', path: '/me', next: () => ({ headers: { authorization: `Bearer ${accessPool[i++ % accessPool.length]!}` } }) };
      const rounds = await single('userinfo', (s) => runAutocannon(issuer, spec, C, s));
      scenarios.userinfo = { id: 'userinfo', label: 'userinfo (GET /me)', result: aggregate(rounds), cpuMsPerOp: rounds.cpuMsPerOp, details: { tokens: accessPool.length } };
    }
    // AuthZEN decisions (POST /access/v1/evaluation and /evaluations): rotating subjects, actions
    // and clients, half of the subjects limited to one client, so answers mix permits and denies.
    if (opts.only.has('authzen')) {
      const pepToken = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { ...form, authorization: basicAuth(pepAccount!.client_id, pepAccount!.client_secret) },
        body: formBody({ grant_type: 'client_credentials', resource: `${issuer}/api`, scope: 'admin' }),
      });
      const pepAccessToken = ((await pepToken.json()) as { access_token?: string }).access_token;
      if (!pepAccessToken) throw new Error(`the AuthZEN PEP got no token: ${pepToken.status}`);
      const subjects: string[] = (await knex('identities').join('users', 'users.id', 'identities.user_id').where('users.username', 'like', `${AUTHZEN_SUBJECT_PREFIX}%`).pluck('identities.id')) as string[];
      if (!subjects.length) throw new Error('the seed has no AuthZEN subjects');
      const clients = ['ROOM', 'Pharma', 'ACME'];
      const question = (k: number) => ({
        subject: { type: 'identity', id: subjects[k % subjects.length]! },
        action: { name: secrets.resourceScopes[k % secrets.resourceScopes.length]!, properties: { resource: secrets.resource } },
        resource: { type: 'booking', id: String(k), properties: { client: clients[k % clients.length]! } },
      });
      const singles = Array.from({ length: 997 }, (_, k) => JSON.stringify(question(k)));
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${pepAccessToken}` };
      let i = 0;
      let permits = 0;
      let denies = 0;
      const singleSpec: RequestSpec = {
        method: 'POST',
        path: '/access/v1/evaluation',
        headers,
        next: () => ({ body: singles[i++ % singles.length]! }),
        onResponse: (status, body) => {
          if (status !== 200) return;
          if (body.startsWith('{"decision":true')) permits += 1;
          else denies += 1;
        },
      };
      const single1 = await single('AuthZEN single evaluation', (sec) => runAutocannon(issuer, singleSpec, C, sec));
      scenarios.authzen = {
        id: 'authzen',
        label: 'AuthZEN single evaluation (decisions/s)',
        result: aggregate(single1),
        cpuMsPerOp: single1.cpuMsPerOp,
        details: { permits, denies, subjects: subjects.length, loadGeneratorCpuMsPerOp: single1.loadCpuMsPerOp },
        notes: ['PEP: a service account (client credentials token, no session)'],
      };
      const perBatch = AUTHZEN_BATCH;
      const batches = Array.from({ length: 101 }, (_, b) => JSON.stringify({ evaluations: Array.from({ length: perBatch }, (_, k) => question(b * perBatch + k)) }));
      let j = 0;
      const batchSpec: RequestSpec = { method: 'POST', path: '/access/v1/evaluations', headers, next: () => ({ body: batches[j++ % batches.length]! }) };
      const batchRounds = await single(`AuthZEN batch evaluations (${perBatch} per request)`, (sec) => runAutocannon(issuer, batchSpec, C, sec));
      const batchResult = aggregate(batchRounds);
      scenarios.authzenBatch = {
        id: 'authzen-batch',
        label: `AuthZEN batch, ${perBatch} evaluations per request (requests/s)`,
        result: batchResult,
        cpuMsPerOp: batchRounds.cpuMsPerOp,
        details: { evaluationsPerRequest: perBatch, decisionsPerSecond: Math.round(batchResult.rate * perBatch), loadGeneratorCpuMsPerOp: batchRounds.loadCpuMsPerOp },
        notes: [`${Math.round(batchResult.rate * perBatch).toLocaleString('en-US')} decisions/s`],
      };
      progress(`AuthZEN: ${scenarios.authzen.result.rate} single decisions/s (p99 ${scenarios.authzen.result.latency.p99} ms); batch ${Math.round(batchResult.rate * perBatch)} decisions/s (p99 ${batchResult.latency.p99} ms per request)`);
    }
    const underLoad = { maxMb: ghSampler.maxMb, meanMb: ghSampler.meanMb };
    ghSampler.stop();
    peerSampler.stop();

    // Admin user search at opts.bulkUsers users, one request at a time (latency, not throughput).
    if (opts.only.has('search')) {
      const terms = searchTerms(opts.bulkUsers);
      const perTerm = new Map<string, { latency: LatencyRecorder; results: number }>(terms.map((term) => [term, { latency: new LatencyRecorder(), results: -1 }]));
      const openapi = (await (await fetch(`${issuer}/api/v1/openapi.json`)).json().catch(() => ({}))) as { paths?: Record<string, Record<string, unknown>> };
      const routePath = Object.keys(openapi.paths ?? {}).find((p) => /(^|\/)users$/.test(p) && openapi.paths?.[p]?.get);
      let via: 'api' | 'sql';
      let query: (term: string) => Promise<number>;
      if (routePath) {
        via = 'api';
        const admin = await signInOnce(ghHttp, { ...loginTarget, scope: 'openid admin', resource: `${issuer}/api`, password: secrets.adminPassword }, secrets.adminUsername, () => undefined);
        const auth = { authorization: `Bearer ${admin.tokens.accessToken}` };
        query = async (term) => {
          const response = await ghHttp.request('GET', `/api/v1/users?${new URLSearchParams({ q: term, limit: '50' })}`, auth);
          if (response.status !== 200) throw new Error(`GET /api/v1/users: ${response.status} ${response.body.slice(0, 300)}`);
          return ((JSON.parse(response.body) as { items?: unknown[] }).items ?? []).length;
        };
        progress(`user search through GET /api/v1/users (admin bearer token), ${opts.bulkUsers.toLocaleString('en-US')} users`);
      } else {
        via = 'sql';
        const mod = (await import('../src/queries/users.ts')) as unknown as { createUserQueries?: (k: Knex) => { search?: (tenantId: string, filter: { q?: string; limit: number }) => Promise<unknown[]> } };
        const search = mod.createUserQueries?.(knex).search;
        if (!search) throw new Error('neither GET /api/v1/users nor createUserQueries().search exists: nothing to measure for the user search');
        query = async (term) => (await search(TENANT, { q: term, limit: 51 })).length;
        progress(`GET /api/v1/users is not there yet: measuring src/queries/users.ts search() through knex, ${opts.bulkUsers.toLocaleString('en-US')} users`);
      }
      const searchRound = async (seconds: number, record: boolean): Promise<Round> => {
        const r: Round = { ok: 0, non2xx: 0, errors: 0, seconds: 0, latency: new LatencyRecorder(), statusCodes: {} };
        const started = performance.now();
        let k = 0;
        while (performance.now() - started < seconds * 1000) {
          const term = terms[k++ % terms.length]!;
          const t0 = performance.now();
          const count = await query(term);
          const ms = performance.now() - t0;
          if (record) {
            r.latency.record(ms);
            const entry = perTerm.get(term)!;
            entry.latency.record(ms);
            entry.results = count;
          }
          r.ok += 1;
        }
        r.seconds = (performance.now() - started) / 1000;
        return r;
      };
      progress(`user search: warm-up ${opts.warmupSeconds} s`);
      await searchRound(opts.warmupSeconds, false);
      const searchFromUs = monotonicMicros();
      const measured = await searchRound(opts.searchSeconds, true);
      windows.push({ scenario: 'user search', fromUs: searchFromUs, toUs: monotonicMicros() });
      progress(`  ${measured.ok} searches, p95 ${measured.latency.summary().p95} ms`);
      // The plan of the slowest term, for the report: the very statement search() sends.
      const slowest = [...perTerm.entries()].sort((a, b) => b[1].latency.summary().p95 - a[1].latency.summary().p95)[0]![0];
      const plan = await explainSearch(knex, TENANT, slowest);
      scenarios.search = {
        id: 'search',
        label: `admin user search (${Math.round(opts.bulkUsers / 1000)}k users, ${via === 'api' ? 'GET /api/v1/users' : 'SQL via knex'})`,
        result: aggregate([measured]),
        notes: [
          via === 'api'
            ? `GET /api/v1/users?q=…&limit=50 with an admin bearer token, one request at a time, ${terms.length} terms in turn`
            : 'GET /api/v1/users did not exist at run time: src/queries/users.ts search() was called through knex instead (no HTTP, no auth, no JSON)',
        ],
        details: {
          via,
          users: opts.bulkUsers,
          perTerm: Object.fromEntries([...perTerm.entries()].map(([term, v]) => [term, { results: v.results, ...v.latency.summary() }])),
          explainSlowest: { term: slowest, plan },
        },
      };
    }

    // ---------------------------------------------------------------- wrap up
    const after = await readMemory(gatehouse.pid);
    const rss: BenchResults['rss'] = {
      startupMs,
      idleMb: round(idle?.rssMb ?? 0, 1),
      underLoadMaxMb: round(underLoad.maxMb, 1),
      underLoadMeanMb: round(underLoad.meanMb, 1),
      afterLoadMb: round(after?.rssMb ?? 0, 1),
      peakMb: round(after?.peakRssMb ?? 0, 1),
      peerIdleMb: round(peerIdle?.rssMb ?? 0, 1),
      peerUnderLoadMaxMb: round(peerSampler.maxMb, 1),
      byScenarioMaxMb: rssByScenario,
    };
    progress(
      `Gatehouse RSS max per scenario: ${Object.entries(rssByScenario)
        .map(([k, v]) => `${k.split(' (')[0]} ${v} MB`)
        .join(', ')}`,
    );

    for (const h of https) h.close();
    progress('stopping Gatehouse and the peer');
    await stopChild(gatehouse);
    await stopChild(peer);

    let profile: { whole: ProfileSummary; scenarios: ProfileSummary[] } | undefined;
    if (profileDir) {
      const file = await mainThreadProfile(profileDir);
      if (file) {
        await writeFile(path.join(profileDir, 'windows.json'), `${JSON.stringify(windows, null, 2)}\n`);
        profile = { whole: await summarizeProfile(file, 30), scenarios: [] };
        for (const window of windows) profile.scenarios.push(await summarizeProfile(file, 20, window));
        for (const summary of [...profile.scenarios, profile.whole]) process.stderr.write(`\n${formatProfile(summary)}\n`);
        progress(`profile: ${path.relative(ROOT, file)} (windows.json beside it; node --import tsx bench/profile.ts FILE shows it again)`);
      } else {
        progress(`no .cpuprofile was written in ${profileDir}`);
      }
    }

    const targets: Target[] = [];
    const vs = (x: ScenarioResult | undefined, wanted: number, what: string) => {
      if (x?.ratio === undefined || !x.reference) return;
      targets.push({ name: `${x.label.split(' (')[0]} vs ${what}`, wanted: `≥ ${wanted.toFixed(2)}× ${what}`, actual: `${x.ratio.toFixed(2)}× (${x.result.rate}/s vs ${x.reference.result.rate}/s)`, met: x.ratio >= wanted });
    };
    vs(scenarios.jwks, 0.95, 'peer');
    vs(scenarios.cc, 1.0, 'peer');
    vs(scenarios.login, 0.9, 'peer');
    const ceilingOf = scenarios.login?.alsoComparedWith?.find((c) => c.label === 'argon2id ceiling');
    if (scenarios.login && ceilingOf)
      targets.push({ name: 'logins vs argon2id ceiling', wanted: '≥ 0.75× ceiling', actual: `${ceilingOf.ratio.toFixed(2)}× (${scenarios.login.result.rate}/s vs ${ceilingOf.result.rate}/s)`, met: ceilingOf.ratio >= 0.75 });
    vs(scenarios.refresh, 0.7, 'peer');
    if (scenarios.authzen) targets.push({ name: 'AuthZEN single decisions', wanted: '≥ 5,000/s', actual: `${scenarios.authzen.result.rate}/s (p99 ${scenarios.authzen.result.latency.p99} ms)`, met: scenarios.authzen.result.rate >= 5000 });
    if (scenarios.refresh) targets.push({ name: 'refresh grants', wanted: '≥ 1,000/s', actual: `${scenarios.refresh.result.rate}/s`, met: scenarios.refresh.result.rate >= 1000 });
    if (redisResult) targets.push({ name: 'Redis per session', wanted: '≤ 1.5 KiB (1,536 B)', actual: `${Math.round(redisResult.bytesPerSession)} B`, met: redisResult.bytesPerSession <= 1536 });
    if (scenarios.search)
      targets.push({ name: `user search p95 at ${Math.round(opts.bulkUsers / 1000)}k users`, wanted: '≤ 50 ms', actual: `${scenarios.search.result.latency.p95} ms`, met: scenarios.search.result.latency.p95 <= 50 && opts.bulkUsers >= 100_000 });
    // Under load means during the throughput scenarios; a run of the search alone has none.
    if (['jwks', 'cc', 'login', 'refresh', 'introspection', 'userinfo', 'authzen'].some((id) => opts.only.has(id as never))) {
      targets.push({ name: 'Gatehouse RSS under load', wanted: '≤ 200 MiB', actual: `${rss.underLoadMaxMb} MiB max`, met: rss.underLoadMaxMb > 0 && rss.underLoadMaxMb <= 200 });
    }

    const results: BenchResults = {
      version: 1,
      mode: opts.mode,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
      ...(gitInfo(ROOT) ? { git: gitInfo(ROOT)! } : {}),
      machine: { ...machine, loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg().map((l) => round(l, 2)) },
      settings: {
        connections: C,
        loginWorkers: opts.loginWorkers,
        argonInFlight: opts.argonInFlight,
        warmupSeconds: opts.warmupSeconds,
        rounds: opts.rounds,
        roundSeconds: opts.roundSeconds,
        singleSeconds: opts.singleSeconds,
        searchSeconds: opts.searchSeconds,
        bulkUsers: opts.bulkUsers,
        loginUsers: opts.loginUsers,
        gatehouse: { NODE_ENV: 'production', LOG_LEVEL: 'warn', DATABASE_POOL_MAX: 'default (10)', storage: 'PostgreSQL + Redis', nodeFlags: opts.nodeFlags, extraEnv: opts.gatehouseEnv },
        scenarios: [...opts.only],
        loginRounds: loginRounds.length,
      },
      scenarios,
      ...(redisResult ? { redis: redisResult } : {}),
      rss,
      targets,
      ...(profile ? { profile } : {}),
    };
    const jsonPath = path.resolve(ROOT, opts.json);
    await mkdir(path.dirname(jsonPath), { recursive: true });
    await writeFile(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\n## Gatehouse bench (${opts.mode}) — ${machine.nproc} × ${machine.cpuModel}, node ${machine.node}\n\n${markdownTables(results)}\n\nJSON: ${path.relative(ROOT, jsonPath)}\n`);
    const roundsSpread = Object.values(scenarios)
      .filter((s) => s.result.roundRates.length > 1)
      .map((s) => `${s.id} ${Math.round((Math.max(...s.result.roundRates) / Math.max(median(s.result.roundRates), 1) - 1) * 100)}%`);
    if (roundsSpread.length) progress(`spread of the best round over the median: ${roundsSpread.join(', ')}`);
    return 0;
  });
}

process.exitCode = await main(process.argv.slice(2));
// Anything still holding the event loop open (a socket in TIME_WAIT handling, a stray timer) must
// not keep the bench from ending.
setTimeout(() => process.exit(), 2000).unref();
