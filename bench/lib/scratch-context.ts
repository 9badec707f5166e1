// A Gatehouse context on a scratch database for the benches that drive services directly
// (bench:audit, bench:import): on PostgreSQL a database of its own, created on DATABASE_URL's
// server and dropped afterwards; with `embedded`, PGlite in a temporary directory.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { loadConfig } from '../../src/config/index.ts';
import { openContext, type GatehouseContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';

export interface ScratchOptions {
  /** The bench's name: `bench:NAME`, database `gatehouse_bench_NAME`. */
  name: string;
  embedded: boolean;
  /** More configuration (e.g. REDIS_URL) for the PostgreSQL run. */
  env?: Record<string, string>;
}

/** Runs `work` on a scratch context and cleans up whatever happens; 2 when there is no database to use. */
export async function withScratchContext(options: ScratchOptions, work: (context: GatehouseContext) => Promise<number>): Promise<number> {
  const database = `gatehouse_bench_${options.name}`;
  const databaseUrl = process.env.DATABASE_URL;
  if (!options.embedded && !databaseUrl) {
    process.stderr.write(`bench:${options.name} needs DATABASE_URL (a server where it may create and drop the database "${database}"), or --embedded for PGlite.\n`);
    return 2;
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `gatehouse-bench-${options.name}-`));
  const onServer = async (sql: string[], url: string) => {
    const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    try {
      for (const statement of sql) await admin.raw(statement);
    } finally {
      await admin.destroy();
    }
  };
  let benchUrl: string | undefined;
  if (!options.embedded) {
    const url = new URL(databaseUrl!);
    await onServer([`drop database if exists ${database} with (force)`, `create database ${database}`], url.toString());
    url.pathname = `/${database}`;
    benchUrl = url.toString();
  }
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_SECRET: `bench-${options.name}-secret-0123456789-0123456789`,
      LOG_LEVEL: 'warn',
      ...(benchUrl ? { DATABASE_URL: benchUrl, ...options.env } : {}),
    });
    const context = await openContext(config, createLogger('warn'), { purpose: `bench ${options.name}`, migrate: true });
    try {
      return await work(context);
    } finally {
      await context.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    if (benchUrl) await onServer([`drop database if exists ${database} with (force)`], databaseUrl!).catch(() => undefined);
  }
}

/** Runs a bench's main and exits with its code (1 and the stack when it throws). */
export function runBench(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`bench:${name} failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
