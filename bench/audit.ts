// npm run bench:audit -- [--events=N] [--writers=N] [--embedded]
//
// Audit-log append throughput and SQL statements per event (knex query events), in three shapes:
//   - lone: one record() at a time outside a transaction (a quiet node's sign-ins);
//   - queued: --writers concurrent record() calls outside a transaction (the sign-in hot path,
//     batched per node);
//   - in transaction: --writers concurrent transactions, each recording one event (an admin
//     change audited with the change).
//   - PostgreSQL (default): needs DATABASE_URL; creates and drops its own database
//     "gatehouse_bench_audit" on that server. --embedded: PGlite in a temporary directory.
// Ends by verifying the chain.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import knexFactory from 'knex';
import { loadConfig } from '../src/config/index.ts';
import { openContext } from '../src/context.ts';
import { createLogger } from '../src/logger.ts';

const DATABASE = 'gatehouse_bench_audit';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '2000' }, writers: { type: 'string', default: '20' }, embedded: { type: 'boolean', default: false } } });
  const events = Number(values.events);
  const writers = Number(values.writers);
  const embedded = Boolean(values.embedded);
  const databaseUrl = process.env.DATABASE_URL;
  if (!embedded && !databaseUrl) {
    process.stderr.write('bench:audit needs DATABASE_URL (a server where it may create and drop the database "gatehouse_bench_audit"), or --embedded for PGlite.\n');
    return 2;
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-audit-'));
  let benchUrl: string | undefined;
  if (!embedded) {
    const url = new URL(databaseUrl!);
    const admin = knexFactory({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 1 } });
    await admin.raw(`drop database if exists ${DATABASE} with (force)`);
    await admin.raw(`create database ${DATABASE}`);
    await admin.destroy();
    url.pathname = `/${DATABASE}`;
    benchUrl = url.toString();
  }
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_SECRET: 'bench-audit-secret-0123456789-0123456789',
      LOG_LEVEL: 'warn',
      ...(benchUrl ? { DATABASE_URL: benchUrl } : {}),
    });
    const context = await openContext(config, createLogger('warn'), { purpose: 'bench audit', migrate: true });
    try {
      const tenantId = context.tenantId;
      let statements = 0;
      context.knex.on('query', () => (statements += 1));
      const event = (i: number) => ({ tenantId, action: 'user.sign_in', actorType: 'user' as const, actorId: `u${i}`, targetType: 'user', targetId: `u${i}`, ip: '127.0.0.1', userAgent: 'bench', details: { method: 'password', i } });
      const lines = ['| shape | events | writers | events/s | SQL statements per event |', '|---|---:|---:|---:|---:|'];
      const measure = async (shape: string, count: number, concurrency: number, work: (i: number) => Promise<void>) => {
        statements = 0;
        let next = 0;
        const started = process.hrtime.bigint();
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < count) await work(next++);
          }),
        );
        await context.audit.drain();
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        lines.push(`| ${shape} | ${count} | ${concurrency} | ${Math.round(count / seconds).toLocaleString('en')} | ${(statements / count).toFixed(2)} |`);
      };
      await measure('lone', Math.min(events, 500), 1, (i) => context.audit.record(event(i)));
      await measure('queued', events, writers, (i) => context.audit.record(event(i)));
      await measure('in transaction', events, writers, (i) => context.queries.transaction((tx) => context.audit.record(event(i), tx.db)));
      const verification = await context.audit.verify();
      lines.push('', `chain: ${verification.ok ? 'ok' : 'BROKEN'}, ${verification.count} events`, '');
      process.stdout.write(`${embedded ? 'PGlite' : 'PostgreSQL'}\n${lines.join('\n')}`);
      return verification.ok ? 0 : 1;
    } finally {
      await context.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    if (benchUrl) {
      const admin = knexFactory({ client: 'pg', connection: databaseUrl!, pool: { min: 0, max: 1 } });
      await admin.raw(`drop database if exists ${DATABASE} with (force)`).catch(() => undefined);
      await admin.destroy();
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench:audit failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
