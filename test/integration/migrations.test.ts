// The repository's migrations on an empty database (PGlite always; PostgreSQL too when
// DATABASE_URL is set, in a database of its own): applied one at a time and reverted one at a
// time, each down() must give back exactly the schema from before its up(); and the schema all of
// them build is the one recorded in migrations/schema.txt, so a change to what a landed
// migration (or a builder in migrations/lib) makes shows as a failure here and, once recorded, as a
// diff of that file in review.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '../../src/db/index.ts';
import { DEFAULT_MIGRATIONS_DIRECTORY, migrateLatest, migrationStatus, rollbackLast } from '../../src/db/migrate.ts';
import type { Database } from '../../src/db/types.ts';
import { describeSchema, RECORDED_SCHEMA } from '../helpers/schema.ts';

const MIGRATIONS = fileURLToPath(DEFAULT_MIGRATIONS_DIRECTORY);

/** Applies the migrations one by one, then reverts them one by one, checking each step. */
async function stepThrough(db: Database, workDir: string): Promise<string> {
  // In the order, and by the names, the migration runner applies them.
  const files = (await migrationStatus(db, { directory: MIGRATIONS })).pending;
  assert.ok(files.length > 0, `no migrations found in ${MIGRATIONS}`);
  // The step folder holds links to the migrations, so that their relative imports resolve from
  // where the files really are.
  const stepDir = path.join(workDir, 'steps');
  await mkdir(stepDir);
  const before: string[] = [];
  for (const file of files) {
    before.push(await describeSchema(db));
    await symlink(path.join(MIGRATIONS, file), path.join(stepDir, file));
    assert.deepEqual(await migrateLatest(db, { directory: stepDir }), [file], `${file} applies on its own`);
  }
  const built = await describeSchema(db);
  for (let index = files.length - 1; index >= 0; index--) {
    assert.deepEqual(await rollbackLast(db, { directory: stepDir }), [files[index]]);
    assert.equal(await describeSchema(db), before[index], `reverting ${files[index]} gives back the schema from before it`);
  }
  return built;
}

async function checkAgainstRecord(built: string): Promise<void> {
  const recorded = await readFile(RECORDED_SCHEMA, 'utf8');
  assert.equal(built, recorded, 'the migrations build a schema other than migrations/schema.txt records; if the change is meant (a new migration), run `npm run schema:record` and commit the file');
}

describe('migrations, step by step', function () {
  this.timeout(300_000);
  const dirs: string[] = [];
  const workDir = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-migrations-'));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('on the embedded database: each down() undoes its up(), and the schema is the recorded one', async () => {
    const dir = await workDir();
    const db = await createDatabase({ dataDir: path.join(dir, 'data'), purpose: 'test-migrations' });
    try {
      await checkAgainstRecord(await stepThrough(db, dir));
    } finally {
      await db.close();
    }
  });

  it('on PostgreSQL: each down() undoes its up(), and the schema is the recorded one', async function () {
    const baseUrl = process.env.DATABASE_URL;
    if (!baseUrl) return this.skip();
    const dir = await workDir();
    const name = `gh_migrations_${randomBytes(6).toString('hex')}`;
    const admin = await createDatabase({ databaseUrl: baseUrl, dataDir: dir, purpose: 'test-admin' });
    await admin.knex.raw('create database ??', [name]);
    try {
      const url = new URL(baseUrl);
      url.pathname = `/${name}`;
      const db = await createDatabase({ databaseUrl: url.toString(), dataDir: dir, purpose: 'test-migrations' });
      try {
        await checkAgainstRecord(await stepThrough(db, dir));
      } finally {
        await db.close();
      }
    } finally {
      await admin.knex.raw('drop database if exists ?? with (force)', [name]);
      await admin.close();
    }
  });
});
