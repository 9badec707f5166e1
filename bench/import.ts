// npm run bench:import -- [--rows=N] [--embedded]
//
// Times the bulk CSV import (100,000 rows without passwords in under 60 s) end to end,
// as `gatehouse users import` does it: parse, check every row against the directory, write users,
// identities, roles, groups, data scopes, status history and one audit event per user.
//   - PostgreSQL (default): needs DATABASE_URL; creates and drops its own database
//     "gatehouse_bench_import" on that server. REDIS_URL is used when set.
//   - --embedded: PGlite in a temporary directory and the in-process store.
// Prints the phases with their times and whether the 60 s target was met.
import { parseArgs } from 'node:util';
import { runBench, withScratchContext } from './lib/scratch-context.ts';
import { SYSTEM_ACTOR } from '../src/services/actor.ts';

const TARGET_SECONDS = 60;

function csvFor(rows: number, run: string): string {
  const departments = ['Operations', 'Finance', 'Sales', 'Support', 'Warehouse'];
  const lines = ['username,email,name,department,identity_kind,identity_alias,roles,groups,data_scope'];
  for (let i = 0; i < rows; i += 1) {
    const username = `imp${run}.${String(i).padStart(6, '0')}`;
    const client = i % 4 === 0;
    lines.push(
      [
        username,
        `${username}@corp${i % 20}.example`,
        `Imported Person ${i}`,
        departments[i % departments.length],
        client ? 'client' : 'internal',
        client ? `Client view ${i}` : '',
        client ? 'Client' : 'User',
        departments[i % departments.length],
        client ? `client=C${i % 500}` : 'client=*',
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, embedded: { type: 'boolean', default: false } } });
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 1) throw new Error('--rows must be a positive integer');
  const embedded = Boolean(values.embedded);
  const log = (message: string) => process.stderr.write(`bench:import: ${message}\n`);
  const redis = process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, GATEHOUSE_REDIS_PREFIX: `bench-import:${process.pid}:` } : undefined;
  return withScratchContext({ name: 'import', embedded, env: redis }, async (context) => {
    const { ensureSystemRoles } = await import('../src/services/system-roles.ts');
    const { adminPermissionCatalog } = await import('../src/routes/api/index.ts');
    await ensureSystemRoles(context.queries, context.tenantId, adminPermissionCatalog());
    const by = { tenantId: context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' as const };
    await context.dataScopes.createKey({ key: 'client' }, by);
    for (const name of ['Operations', 'Finance', 'Sales', 'Support', 'Warehouse']) await context.groups.create({ name, type: 'department' }, by);
    const csv = csvFor(rows, String(process.pid));
    log(`${rows} rows, ${(Buffer.byteLength(csv) / 1024 / 1024).toFixed(1)} MiB of CSV, ${embedded ? 'PGlite' : 'PostgreSQL gatehouse_bench_import'}`);
    const started = process.hrtime.bigint();
    const phases: Record<string, number> = {};
    const report = await context.userImport.importCsv(csv, by, {
      onProgress: ({ phase, done, total }) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        if (done === total) phases[phase] = seconds;
        if (done === total || done % 20_000 === 0) log(`${phase} ${done}/${total} at ${seconds.toFixed(1)} s`);
      },
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (!report.committed || report.created !== rows) throw new Error(`import did not create every row: ${JSON.stringify({ ...report, problems: report.problems.slice(0, 5) })}`);
    const users = await context.knex('users').count<{ count: string }[]>('* as count');
    const met = seconds <= TARGET_SECONDS;
    process.stdout.write(
      [
        `| storage | rows | parse s | check s | write s | total s | rows/s | target (≤ ${TARGET_SECONDS} s) |`,
        '|---|---:|---:|---:|---:|---:|---:|---|',
        `| ${embedded ? 'PGlite' : 'PostgreSQL'} | ${rows.toLocaleString('en')} | ${phases.parsed?.toFixed(1)} | ${phases.checked?.toFixed(1)} | ${phases.written?.toFixed(1)} | ${seconds.toFixed(1)} | ${Math.round(rows / seconds).toLocaleString('en')} | ${met ? 'met' : '**missed**'} |`,
        '',
        `users in the database afterwards: ${users[0]?.count}`,
        '',
      ].join('\n'),
    );
    return met ? 0 : 1;
  });
}

runBench('import', main);
