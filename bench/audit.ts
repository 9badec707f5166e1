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
import { parseArgs } from 'node:util';
import { runBench, withScratchContext } from './lib/scratch-context.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '2000' }, writers: { type: 'string', default: '20' }, embedded: { type: 'boolean', default: false } } });
  const events = Number(values.events);
  const writers = Number(values.writers);
  const embedded = Boolean(values.embedded);
  return withScratchContext({ name: 'audit', embedded }, async (context) => {
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
  });
}

runBench('audit', main);
