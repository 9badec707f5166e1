// Run as a separate process by test/integration/db.test.ts to check what a second process
// sees when it opens a database: node --import tsx test/helpers/open-embedded-db.ts <dataDir> [databaseUrl]
// Exit codes: 0 opened (and closed again), 3 embedded database busy, 1 anything else.
import { pathToFileURL } from 'node:url';
import { createDatabase, EmbeddedDatabaseBusyError } from '../../src/db/index.ts';

export const EXIT_BUSY = 3;

async function main(argv: string[]): Promise<number> {
  const [dataDir, databaseUrl] = argv;
  if (!dataDir) {
    process.stderr.write('usage: open-embedded-db.ts <dataDir> [databaseUrl]\n');
    return 1;
  }
  try {
    const db = await createDatabase({ dataDir, databaseUrl, purpose: 'test-child' });
    try {
      await db.ping();
      process.stdout.write(`opened ${db.kind}\n`);
    } finally {
      await db.close();
    }
    return 0;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof EmbeddedDatabaseBusyError ? EXIT_BUSY : 1;
  }
}

// Only when run as a script, so the test can import EXIT_BUSY without side effects.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
