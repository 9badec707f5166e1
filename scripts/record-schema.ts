// Writes migrations/schema.txt: the schema the repository's migrations build on an empty embedded
// database, as test/integration/migrations.test.ts compares it. Run after adding a migration and
// commit the file with it; its diff shows reviewers what the migration changes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabase } from '../src/db/index.ts';
import { migrateLatest } from '../src/db/migrate.ts';
import { describeSchema, RECORDED_SCHEMA } from '../test/helpers/schema.ts';

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-schema-'));
try {
  const db = await createDatabase({ dataDir, purpose: 'schema:record' });
  try {
    const applied = await migrateLatest(db);
    await writeFile(RECORDED_SCHEMA, await describeSchema(db));
    console.log(`Recorded the schema of ${applied.length} migrations in ${path.relative(process.cwd(), RECORDED_SCHEMA)}`);
  } finally {
    await db.close();
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
