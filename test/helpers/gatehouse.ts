// Starts a real Gatehouse in-process for a test: PostgreSQL + Redis when DATABASE_URL/REDIS_URL
// are set (CI's second pass), otherwise PGlite in a fresh temporary directory + the in-process
// store. Each instance gets its own Redis key prefix so parallel or repeated runs do not collide.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { openContext, type GatehouseContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';

export interface TestGatehouse {
  url: string;
  issuer: string;
  config: Config;
  context: GatehouseContext;
  server: RunningServer;
  close(): Promise<void>;
}

export const storageMode = process.env.DATABASE_URL ? 'postgres+redis' : 'embedded';

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** A clock the test moves (epoch ms): session timeouts without waiting for them. */
export class TestClock {
  private offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

export async function startTestGatehouse(env: Record<string, string> = {}, options: { clock?: TestClock; logStream?: DestinationStream } = {}): Promise<TestGatehouse> {
  return startLocalGatehouse(
    {
      NODE_ENV: 'test',
      GATEHOUSE_SECRET: 'test-secret-0123456789-0123456789-0123456789',
      GATEHOUSE_REDIS_PREFIX: `test:${randomBytes(4).toString('hex')}:`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      ...env,
    },
    { purpose: 'test', ...options },
  );
}

/**
 * The suite's Gatehouse, for a `describe` body: started in a `before` hook registered now and
 * closed in an `after` hook. The object is filled in when the hook has run, so read it only in
 * the suite's hooks and tests.
 */
export function gatehouseForSuite(env: Record<string, string> = {}, options: { clock?: TestClock; logStream?: DestinationStream } = {}): TestGatehouse {
  const gh = {} as TestGatehouse;
  before(async function () {
    Object.assign(gh, await startTestGatehouse(env, options));
  });
  after(async function () {
    await gh.close?.();
  });
  return gh;
}

/**
 * A Gatehouse in this process on a free port of 127.0.0.1 (unless `settings` say otherwise), its
 * data in a new temporary directory that close() removes. No job timers: a test runs a job with
 * scheduler.runIfDue, and a timer firing in the same slot would make that claim fail at random.
 */
export async function startLocalGatehouse(settings: Record<string, string>, options: { purpose: string; clock?: TestClock; logStream?: DestinationStream }): Promise<TestGatehouse> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `gatehouse-${options.purpose.replace(/\W+/g, '-')}-`));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', GATEHOUSE_DATA_DIR: dataDir, ...settings });
  // A test that reads the log gets every line from info up in its stream.
  const logger = options.logStream ? createLogger('info', options.logStream) : createLogger(config.logLevel);
  const context = await openContext(config, logger, { purpose: options.purpose, migrate: true, now: options.clock?.now });
  const server = await startServer(context, { port: config.port, host: config.host, scheduledJobs: false });
  return {
    url: server.url,
    issuer: server.issuer,
    config,
    context,
    server,
    async close() {
      await server.close();
      await context.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Two nodes on one PostgreSQL and Redis, node B sharing node A's Redis prefix, for a suite's
 * `before`: the suite is skipped without DATABASE_URL and REDIS_URL.
 */
export async function startTwoNodes(suite: Mocha.Context, envB: (a: TestGatehouse) => Record<string, string> = () => ({})): Promise<[TestGatehouse, TestGatehouse]> {
  if (!process.env.DATABASE_URL || !process.env.REDIS_URL) suite.skip();
  const a = await startTestGatehouse();
  return [a, await startTestGatehouse({ GATEHOUSE_REDIS_PREFIX: a.config.redisPrefix, ...envB(a) })];
}
