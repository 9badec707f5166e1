// The database layer against real engines: PGlite in a temporary data directory always, and
// PostgreSQL too when DATABASE_URL is set (in a throwaway schema, dropped afterwards).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireEmbeddedLock, EmbeddedDatabaseBusyError, LOCK_FILE_NAME } from '../../src/db/embedded-lock.ts';
import { createDatabase } from '../../src/db/index.ts';
import { migrateLatest, migrationStatus, rollbackLast } from '../../src/db/migrate.ts';
import type { Database } from '../../src/db/types.ts';
import { EXIT_BUSY } from '../helpers/open-embedded-db.ts';
import { runNode, type ProcessResult } from '../helpers/process.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const openHelper = fileURLToPath(new URL('../helpers/open-embedded-db.ts', import.meta.url));

const tempDirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `gatehouse-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

after(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Runs the open-embedded-db helper in a fresh Node process, as a CLI command would. */
function openInChildProcess(dataDir: string, databaseUrl?: string): Promise<ProcessResult> {
  return runNode(['--import', 'tsx', openHelper, dataDir, ...(databaseUrl ? [databaseUrl] : [])], { cwd: repoRoot });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !(error instanceof Error && 'code' in error && error.code === 'ESRCH');
  }
}

function deadPid(): number {
  for (let pid = 999_999; pid < 1_100_000; pid++) if (!isAlive(pid)) return pid;
  throw new Error('no dead pid found to simulate a stale lock');
}

async function writeLock(dataDir: string, holder: Record<string, unknown>): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, LOCK_FILE_NAME);
  await writeFile(lockPath, JSON.stringify(holder));
  return lockPath;
}

async function readLockPid(dataDir: string): Promise<unknown> {
  const parsed: unknown = JSON.parse(await readFile(path.join(dataDir, LOCK_FILE_NAME), 'utf8'));
  return typeof parsed === 'object' && parsed !== null && 'pid' in parsed ? parsed.pid : undefined;
}

/** Writes test migrations into a folder of their own; real ones in migrations/ are left alone. */
async function writeMigration(directory: string, name: string, table: string): Promise<void> {
  await writeFile(
    path.join(directory, `${name}.ts`),
    `import type { Knex } from 'knex';
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('${table}', (t) => {
    t.increments('id');
    t.text('label').notNullable();
  });
}
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('${table}');
}
`,
  );
}

async function migrationsFolder(): Promise<string> {
  const root = await tempDir('migrations');
  // Outside the repository no package.json says "type": "module"; the .ts files are ESM.
  await writeFile(path.join(root, 'package.json'), '{ "type": "module" }\n');
  const directory = path.join(root, 'migrations');
  await mkdir(directory);
  return directory;
}

async function tableCount(db: Database, table: string): Promise<number> {
  const rows: unknown = await db.knex(table).count({ n: '*' });
  assert.ok(Array.isArray(rows));
  return Number((rows[0] as { n: unknown }).n);
}

/** The migrator checks shared by both engines; `prefix` keeps table names apart. */
async function checkMigrations(db: Database, prefix: string): Promise<void> {
  const directory = await migrationsFolder();
  const first = `20240101000000_${prefix}_widgets`;
  const second = `20240101000001_${prefix}_gadgets`;
  await writeMigration(directory, first, `${prefix}_widgets`);
  await writeMigration(directory, second, `${prefix}_gadgets`);

  assert.deepEqual(await migrationStatus(db, { directory }), { applied: [], pending: [`${first}.ts`, `${second}.ts`] });

  const messages: string[] = [];
  const applied = await migrateLatest(db, { directory, log: (m) => messages.push(m) });
  assert.deepEqual(applied, [`${first}.ts`, `${second}.ts`]);
  assert.ok(
    messages.some((m) => m.includes(first)),
    messages.join('\n'),
  );
  await db.knex(`${prefix}_widgets`).insert({ label: 'w' });
  assert.equal(await tableCount(db, `${prefix}_widgets`), 1);

  // Second run: nothing to do, nothing touched.
  assert.deepEqual(await migrateLatest(db, { directory }), []);
  assert.deepEqual(await migrationStatus(db, { directory }), { applied: [`${first}.ts`, `${second}.ts`], pending: [] });
  assert.equal(await tableCount(db, `${prefix}_widgets`), 1);

  // A later migration is a batch of its own, and rolling back undoes only that batch.
  const third = `20240102000000_${prefix}_sprockets`;
  await writeMigration(directory, third, `${prefix}_sprockets`);
  assert.deepEqual((await migrationStatus(db, { directory })).pending, [`${third}.ts`]);
  assert.deepEqual(await migrateLatest(db, { directory }), [`${third}.ts`]);
  assert.equal(await db.knex.schema.hasTable(`${prefix}_sprockets`), true);
  assert.deepEqual(await rollbackLast(db, { directory }), [`${third}.ts`]);
  assert.equal(await db.knex.schema.hasTable(`${prefix}_sprockets`), false);
  assert.deepEqual(await migrationStatus(db, { directory }), { applied: [`${first}.ts`, `${second}.ts`], pending: [`${third}.ts`] });

  // A misnamed file fails loudly instead of being skipped.
  await writeFile(path.join(directory, 'add_things.ts'), 'export async function up() {}\nexport async function down() {}\n');
  await assert.rejects(migrateLatest(db, { directory }), /YYYYMMDDHHMMSS_name\.ts.*add_things\.ts/);
}

describe('embedded database (PGlite)', function () {
  // The first open of a new data directory runs initdb, which takes a few seconds.
  this.timeout(60_000);

  it('keeps what was written across close and reopen', async () => {
    const dataDir = await tempDir('pglite');
    const db = await createDatabase({ dataDir, purpose: 'test' });
    assert.equal(db.kind, 'pglite');
    await db.ping();
    assert.ok(existsSync(path.join(dataDir, LOCK_FILE_NAME)), 'lock file while open');
    await db.knex.schema.createTable('notes', (t) => {
      t.increments('id');
      t.text('body').notNullable();
    });
    await db.knex('notes').insert([{ body: 'first' }, { body: 'second' }]);
    await db.close();
    await db.close(); // idempotent
    assert.ok(!existsSync(path.join(dataDir, LOCK_FILE_NAME)), 'lock file removed on close');

    const reopened = await createDatabase({ dataDir, purpose: 'test' });
    try {
      const rows: unknown = await reopened.knex('notes').select('body').orderBy('id');
      assert.deepEqual(rows, [{ body: 'first' }, { body: 'second' }]);
    } finally {
      await reopened.close();
    }
  });

  it('refuses a second open in the same process while the first is open', async () => {
    const dataDir = await tempDir('pglite');
    const db = await createDatabase({ dataDir, purpose: 'start' });
    try {
      const error = await createDatabase({ dataDir, purpose: 'migrate' }).then(
        () => assert.fail('second open should have failed'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof EmbeddedDatabaseBusyError, String(error));
      assert.equal(error.code, 'embedded_database_busy');
      assert.match(error.message, /DATABASE_URL/);
      assert.match(error.message, new RegExp(`pid ${process.pid}, "start"`));
      // The failed attempt left the holder's lock alone.
      assert.equal(await readLockPid(dataDir), process.pid);
      await db.ping();
    } finally {
      await db.close();
    }
    const again = await createDatabase({ dataDir, purpose: 'migrate' });
    await again.close();
  });

  it('makes another process fail with the busy message, and lets it in once closed', async () => {
    const dataDir = await tempDir('pglite');
    const db = await createDatabase({ dataDir, purpose: 'start' });
    let busy: ProcessResult;
    try {
      busy = await openInChildProcess(dataDir);
    } finally {
      await db.close();
    }
    assert.equal(busy.code, EXIT_BUSY, busy.stderr);
    assert.match(busy.stderr, /in use by another Gatehouse process/);
    assert.match(busy.stderr, new RegExp(`pid ${process.pid}, "start"`));
    assert.match(busy.stderr, /DATABASE_URL/);

    const free = await openInChildProcess(dataDir);
    assert.equal(free.code, 0, free.stderr);
    assert.match(free.stdout, /opened pglite/);
    assert.ok(!existsSync(path.join(dataDir, LOCK_FILE_NAME)), 'child released its lock');
  });

  it('takes over a lock left by a dead process', async () => {
    const dataDir = await tempDir('pglite');
    const pid = deadPid();
    await writeLock(dataDir, { pid, purpose: 'start', startedAt: new Date(Date.now() - 60_000).toISOString(), hostname: os.hostname() });
    const db = await createDatabase({ dataDir, purpose: 'test' });
    try {
      assert.equal(await readLockPid(dataDir), process.pid);
      await db.ping();
    } finally {
      await db.close();
    }
    assert.ok(!existsSync(path.join(dataDir, LOCK_FILE_NAME)));
  });

  it('fails fast and names the server when PostgreSQL is unreachable, without the password', async () => {
    const dataDir = await tempDir('pg-unreachable');
    const started = Date.now();
    await assert.rejects(createDatabase({ databaseUrl: 'postgres://gh_user:s3cret-pw@127.0.0.1:1/gatehouse_db', dataDir, purpose: 'test' }), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /127\.0\.0\.1:1, database "gatehouse_db"/);
      assert.doesNotMatch(error.message, /s3cret-pw/);
      return true;
    });
    assert.ok(Date.now() - started < 10_000);
    assert.ok(!existsSync(path.join(dataDir, LOCK_FILE_NAME)), 'PostgreSQL mode takes no embedded lock');
  });

  it('applies migrations from a folder, reports status, and is idempotent', async () => {
    const db = await createDatabase({ dataDir: await tempDir('pglite'), purpose: 'test' });
    try {
      await checkMigrations(db, 'emb');
    } finally {
      await db.close();
    }
  });
});

describe('embedded database lock', () => {
  it('treats its own pid from before this process started as stale (pid reuse in containers)', async () => {
    const dataDir = await tempDir('lock');
    await writeLock(dataDir, { pid: process.pid, purpose: 'start', startedAt: new Date(performance.timeOrigin - 60_000).toISOString(), hostname: os.hostname() });
    const lock = await acquireEmbeddedLock(dataDir, 'test');
    assert.equal(lock.holder.pid, process.pid);
    await lock.release();
    assert.ok(!existsSync(lock.path));
  });

  it('treats a lock file that stays unreadable as left by a crash', async () => {
    const dataDir = await tempDir('lock');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, LOCK_FILE_NAME), '');
    const lock = await acquireEmbeddedLock(dataDir, 'test');
    await lock.release();
  });

  it('does not judge a lock held on another host', async () => {
    const dataDir = await tempDir('lock');
    const lockPath = await writeLock(dataDir, { pid: deadPid(), purpose: 'start', startedAt: new Date().toISOString(), hostname: `not-${os.hostname()}` });
    await assert.rejects(acquireEmbeddedLock(dataDir, 'test'), (error: unknown) => {
      assert.ok(error instanceof EmbeddedDatabaseBusyError);
      assert.ok(error.message.includes(`delete ${lockPath}`), error.message);
      return true;
    });
  });

  it('release() leaves a lock that someone else has since taken', async () => {
    const dataDir = await tempDir('lock');
    const lock = await acquireEmbeddedLock(dataDir, 'test');
    await writeLock(dataDir, { pid: 4242, purpose: 'other', startedAt: new Date().toISOString(), hostname: os.hostname() });
    await lock.release();
    assert.equal(await readLockPid(dataDir), 4242);
  });
});

describe('PostgreSQL database (DATABASE_URL)', function () {
  this.timeout(60_000);
  const baseUrl = process.env.DATABASE_URL;
  const schema = `gh_test_${randomBytes(6).toString('hex')}`;
  let admin: Database | undefined;
  let schemaUrl = '';
  let dataDir = '';

  before(async function () {
    if (!baseUrl) return this.skip();
    dataDir = await tempDir('pg');
    admin = await createDatabase({ databaseUrl: baseUrl, dataDir, purpose: 'test-admin' });
    await admin.knex.raw('create schema ??', [schema]);
    // Every connection of the databases under test works in the throwaway schema, knex's
    // migration tables included, so nothing collides with other tests on the same server.
    const url = new URL(baseUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    schemaUrl = url.toString();
  });

  after(async () => {
    if (!admin) return;
    await admin.knex.raw('drop schema if exists ?? cascade', [schema]);
    await admin.close();
  });

  it('keeps what was written across close and reopen', async () => {
    const db = await createDatabase({ databaseUrl: schemaUrl, dataDir, poolMax: 2, purpose: 'test' });
    assert.equal(db.kind, 'postgres');
    await db.ping();
    assert.ok(!existsSync(path.join(dataDir, LOCK_FILE_NAME)), 'PostgreSQL mode takes no embedded lock');
    await db.knex.schema.createTable('notes', (t) => {
      t.increments('id');
      t.text('body').notNullable();
    });
    await db.knex('notes').insert([{ body: 'first' }, { body: 'second' }]);
    await db.close();
    await db.close();

    const reopened = await createDatabase({ databaseUrl: schemaUrl, dataDir, purpose: 'test' });
    try {
      const rows: unknown = await reopened.knex('notes').select('body').orderBy('id');
      assert.deepEqual(rows, [{ body: 'first' }, { body: 'second' }]);
      const [{ schema: current }] = (await reopened.knex.raw('select current_schema() as schema')).rows as [{ schema: string }];
      assert.equal(current, schema);
    } finally {
      await reopened.close();
    }
  });

  it('lets another process open the same database at the same time', async () => {
    const db = await createDatabase({ databaseUrl: schemaUrl, dataDir, purpose: 'start' });
    try {
      const child = await openInChildProcess(dataDir, schemaUrl);
      assert.equal(child.code, 0, child.stderr);
      assert.match(child.stdout, /opened postgres/);
      await db.ping();
    } finally {
      await db.close();
    }
  });

  it('applies migrations from a folder, reports status, and is idempotent', async () => {
    const db = await createDatabase({ databaseUrl: schemaUrl, dataDir, purpose: 'test' });
    try {
      await checkMigrations(db, 'pg');
    } finally {
      await db.close();
    }
  });
});
