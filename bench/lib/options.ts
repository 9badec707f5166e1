// Command-line options of `npm run bench -- [options]` and the durations of each mode.
import { parseArgs } from 'node:util';
import { parseSizes } from './growth-report.ts';

export const SCENARIOS = ['jwks', 'cc', 'login', 'refresh', 'introspection', 'userinfo', 'authzen', 'search'] as const;
export type ScenarioId = (typeof SCENARIOS)[number];

export interface BenchOptions {
  mode: 'full' | 'quick' | 'smoke';
  /** Seconds of warm-up per target before each scenario's measured rounds (not recorded). */
  warmupSeconds: number;
  /** Measured rounds of the alternating scenarios (peer/Gatehouse, argon2/logins). */
  rounds: number;
  /** Seconds per target per alternating round. */
  roundSeconds: number;
  /** Measured seconds of the Gatehouse-only scenarios (split in `rounds` rounds). */
  singleSeconds: number;
  searchSeconds: number;
  /** Directory users bulk-loaded for the search scenario. */
  bulkUsers: number;
  /** Users that sign in (round-robin); every fourth has two identities. */
  loginUsers: number;
  connections: number;
  loginWorkers: number;
  /** Outstanding argon2id verifications while measuring the ceiling. */
  argonInFlight: number;
  only: Set<ScenarioId>;
  profile: boolean;
  /** Extra node flags for Gatehouse (experiments with a tuned deployment; none by default). */
  nodeFlags: string[];
  /** Extra environment for Gatehouse, e.g. MALLOC_ARENA_MAX (none by default). */
  gatehouseEnv: Record<string, string>;
  keepDb: boolean;
  json: string;
  /** --compare=<git-ref>: the same scenarios on a checkout of that ref and on the working tree. */
  compare?: string;
  /** --growth: cost against size instead of the scenarios (bench/growth.ts). */
  growth?: { users: number[]; audit: number[]; logins: number; seconds: number };
}

export const USAGE = `Usage: npm run bench -- [--quick | --smoke] [options]

Needs DATABASE_URL (PostgreSQL; the bench creates its own database "gatehouse_bench" on that
server; BENCH_DATABASE names another) and REDIS_URL (keys go under a fresh "bench:<random>:" prefix
and are deleted at the end).

  --quick               everything in under a minute (shorter rounds), for development
  --smoke               a few seconds per scenario and 5,000 directory users (the smoke test)
  --only=a,b            run only these scenarios: ${SCENARIOS.join(', ')}
  --connections=N       autocannon connections per scenario (default 16)
  --login-workers=N     concurrent sign-in loops (default 16)
  --argon-in-flight=N   outstanding verifications for the argon2id ceiling (default 2 x UV_THREADPOOL_SIZE)
  --users=N             directory users for the search scenario (default 100000)
  --profile             run Gatehouse with --cpu-prof and print its top self-time functions
  --node-flags="..."    extra node flags for Gatehouse, e.g. "--max-old-space-size=96" (default none:
                        the figures of record run Gatehouse exactly as \`gatehouse start\` does)
  --gatehouse-env=K=V,… extra environment for Gatehouse, e.g. MALLOC_ARENA_MAX=2 (default none)
  --compare=REF         the quick scenarios (jwks, cc, login, refresh, authzen) on a checkout of the git ref REF
                        (temporary git worktree; npm ci there unless its package-lock.json is the
                        working tree's) and on the working tree, alternating;
                        prints working/ref ratios of rate, CPU per operation, start-up and RSS.
                        Durations are --quick's unless --smoke or --full is given
  --full                with --compare: the full run's durations
  --growth              cost against size instead (opt-in, heavy): sign-in and refresh CPU per
                        operation and user search p95 at each user count, Redis memory and
                        PostgreSQL rows per 100k sessions, audit search p95 at each event count;
                        writes bench/results/growth.json and growth.svg
  --growth-users=LIST   user counts (default 10k,100k,1m)
  --growth-audit=LIST   audit event counts (default 100k,1m,10m)
  --growth-logins=N     sign-ins whose footprint is scaled to 100k sessions (default 400)
  --growth-seconds=N    seconds of each measurement at each size (default 8, 3 with --quick)
  --keep-db             leave the gatehouse_bench database in place afterwards
  --json=FILE           where to write the results (default bench/results/latest.json)
`;

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      smoke: { type: 'boolean' },
      only: { type: 'string' },
      connections: { type: 'string' },
      'login-workers': { type: 'string' },
      'argon-in-flight': { type: 'string' },
      users: { type: 'string' },
      profile: { type: 'boolean' },
      'node-flags': { type: 'string' },
      'gatehouse-env': { type: 'string' },
      'keep-db': { type: 'boolean' },
      compare: { type: 'string' },
      growth: { type: 'boolean' },
      'growth-users': { type: 'string' },
      'growth-audit': { type: 'string' },
      'growth-logins': { type: 'string' },
      'growth-seconds': { type: 'string' },
      full: { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  if (values.compare !== undefined && !/^[\w./~^@{}-]+$/.test(values.compare)) throw new Error(`--compare: "${values.compare}" does not look like a git ref`);
  // A comparison is quick unless asked otherwise: it runs every scenario twice.
  const mode = values.smoke ? 'smoke' : values.quick || (values.compare !== undefined && !values.full) ? 'quick' : 'full';
  const durations = {
    full: { warmupSeconds: 3, rounds: 3, roundSeconds: 5, singleSeconds: 12, searchSeconds: 10, bulkUsers: 100_000 },
    quick: { warmupSeconds: 0.75, rounds: 2, roundSeconds: 1.5, singleSeconds: 2, searchSeconds: 2, bulkUsers: 100_000 },
    smoke: { warmupSeconds: 0.5, rounds: 1, roundSeconds: 1, singleSeconds: 1, searchSeconds: 1, bulkUsers: 5_000 },
  }[mode];
  const int = (value: string | undefined, name: string, fallback: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer (got "${value}")`);
    return n;
  };
  let only = new Set<ScenarioId>(SCENARIOS);
  if (values.only) {
    const wanted = values.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = wanted.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
    if (unknown.length) throw new Error(`--only: unknown scenario(s) ${unknown.join(', ')}; choose from ${SCENARIOS.join(', ')}`);
    only = new Set(wanted as ScenarioId[]);
  }
  const pool = Number(process.env.UV_THREADPOOL_SIZE) > 0 ? Number(process.env.UV_THREADPOOL_SIZE) : 4;
  return {
    mode,
    ...durations,
    bulkUsers: int(values.users, '--users', durations.bulkUsers),
    loginUsers: mode === 'smoke' ? 8 : 32,
    connections: int(values.connections, '--connections', 16),
    loginWorkers: int(values['login-workers'], '--login-workers', 16),
    argonInFlight: int(values['argon-in-flight'], '--argon-in-flight', 2 * pool),
    only,
    profile: Boolean(values.profile),
    nodeFlags: (values['node-flags'] ?? '').split(/\s+/).filter(Boolean),
    gatehouseEnv: Object.fromEntries(
      (values['gatehouse-env'] ?? '')
        .split(',')
        .filter(Boolean)
        .map((pair) => {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new Error(`--gatehouse-env: expected KEY=VALUE, got "${pair}"`);
          return [pair.slice(0, eq), pair.slice(eq + 1)];
        }),
    ),
    keepDb: Boolean(values['keep-db']),
    json: values.json ?? 'bench/results/latest.json',
    ...(values.compare !== undefined ? { compare: values.compare } : {}),
    ...(values.growth
      ? {
          growth: {
            users: parseSizes(values['growth-users'] ?? '10k,100k,1m', '--growth-users'),
            audit: parseSizes(values['growth-audit'] ?? '100k,1m,10m', '--growth-audit'),
            logins: int(values['growth-logins'], '--growth-logins', 400),
            seconds: int(values['growth-seconds'], '--growth-seconds', mode === 'full' ? 8 : 3),
          },
        }
      : {}),
  };
}
