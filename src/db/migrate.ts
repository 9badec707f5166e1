// Schema migrations: the .ts files in the repository's migrations/ folder, applied with knex's
// migrator. knex's own file loader require()s files and guesses at extensions; a custom
// source imports them as ES modules instead, which is what tsx can load. The compiled build
// (dist/, `npm run build:server`) runs dist/migrations/*.js, compiled from the same files, under
// the same names: a migration is recorded as YYYYMMDDHHMMSS_name.ts whichever form applied it,
// so a database migrated from the sources and one migrated by the build agree.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import type { Database } from './types.ts';

/**
 * The repository's migrations, wherever the code is run from: src/db/ → migrations/ (the .ts
 * sources), dist/src/db/ → dist/migrations/ (what the build compiled from them).
 */
export const DEFAULT_MIGRATIONS_DIRECTORY = new URL('../../migrations/', import.meta.url);

/** Extension of the files this code loads: .js when it runs compiled, .ts from the sources. */
const LOADED_EXTENSION = import.meta.url.endsWith('.js') ? '.js' : '.ts';

// YYYYMMDDHHMMSS_name.ts; the timestamp prefix makes name order the order of creation.
const MIGRATION_FILE = /^\d{14}_[A-Za-z0-9_-]+\.(?:ts|js)$/;

/** The recorded name of a migration file: always its source name (….ts). */
export function migrationName(file: string): string {
  return file.endsWith('.js') ? `${file.slice(0, -3)}.ts` : file;
}

export type MigrationLog = (message: string) => void;

export interface MigrateOptions {
  /** Folder holding the migration files; tests point this at a temporary folder. */
  directory?: string | URL;
  log?: MigrationLog;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

interface MigrationFile {
  name: string;
  file: string;
}

type MigrationModule = Knex.Migration & { config?: { transaction?: boolean } };

function directoryPath(directory: string | URL): string {
  return directory instanceof URL ? fileURLToPath(directory) : path.resolve(directory);
}

class TsMigrationSource implements Knex.MigrationSource<MigrationFile> {
  constructor(private readonly directory: string) {}

  async getMigrations(): Promise<MigrationFile[]> {
    let entries: string[];
    try {
      entries = await readdir(this.directory);
    } catch (error) {
      throw new Error(`Cannot read the migrations folder ${this.directory}`, { cause: error });
    }
    const files = entries.filter((name) => name.endsWith(LOADED_EXTENSION) && !name.endsWith('.d.ts'));
    // A misnamed file would otherwise be skipped without a word and its tables never created.
    const misnamed = files.filter((name) => !MIGRATION_FILE.test(name));
    if (misnamed.length > 0) {
      throw new Error(`Migration files must be named YYYYMMDDHHMMSS_name.ts; rename ${misnamed.join(', ')} in ${this.directory}`);
    }
    return files.sort().map((name) => ({ name: migrationName(name), file: path.join(this.directory, name) }));
  }

  getMigrationName(migration: MigrationFile): string {
    return migration.name;
  }

  async getMigration(migration: MigrationFile): Promise<Knex.Migration> {
    const loaded: unknown = await import(pathToFileURL(migration.file).href);
    if (typeof loaded !== 'object' || loaded === null) throw new Error(`Migration ${migration.name} did not load as a module`);
    const { up, down, config } = loaded as Record<string, unknown>;
    if (typeof up !== 'function' || typeof down !== 'function') {
      throw new Error(`Migration ${migration.name} must export functions up(knex) and down(knex)`);
    }
    const result: MigrationModule = {
      up: up as Knex.Migration['up'],
      down: down as NonNullable<Knex.Migration['down']>,
    };
    // `export const config = { transaction: false }` lets a migration run outside a
    // transaction (e.g. CREATE INDEX CONCURRENTLY); knex reads it from here.
    if (typeof config === 'object' && config !== null) result.config = config as MigrationModule['config'];
    return result;
  }
}

function normalise(options: MigrateOptions | MigrationLog | undefined): { directory: string; log: MigrationLog } {
  const opts: MigrateOptions = typeof options === 'function' ? { log: options } : (options ?? {});
  return {
    directory: directoryPath(opts.directory ?? DEFAULT_MIGRATIONS_DIRECTORY),
    log: opts.log ?? (() => undefined),
  };
}

function migratorConfig(directory: string, log: MigrationLog, verb: string): Knex.MigratorConfigWithLifecycleHooks {
  const source = new TsMigrationSource(directory);
  return {
    tableName: 'knex_migrations',
    migrationSource: source,
    // Migrations run in one transaction by default, so a failure part-way leaves nothing
    // half-applied; this line tells an operator which one was running when it stalled or failed.
    beforeEach: async (_knex, migrations) => {
      for (const migration of migrations) log(`${verb} migration ${source.getMigrationName(migration as MigrationFile)}`);
    },
  };
}

/** knex reports migration lists as untyped arrays; these are the names. */
function namesFrom(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((entry: unknown) => {
    if (typeof entry === 'string') return entry;
    if (typeof entry === 'object' && entry !== null && 'name' in entry && typeof entry.name === 'string') return entry.name;
    throw new Error(`Unexpected migration entry from knex: ${JSON.stringify(entry)}`);
  });
}

/** Applies every pending migration and returns their names (empty when up to date). */
export async function migrateLatest(db: Database, options?: MigrateOptions | MigrationLog): Promise<string[]> {
  const { directory, log } = normalise(options);
  const result: unknown = await db.knex.migrate.latest(migratorConfig(directory, log, 'Applying'));
  // latest() resolves to [batchNo, appliedNames].
  const applied = Array.isArray(result) ? namesFrom(result[1]) : [];
  log(applied.length === 0 ? 'Database schema is up to date' : `Applied ${applied.length} migration(s)`);
  return applied;
}

export async function migrationStatus(db: Database, options?: Pick<MigrateOptions, 'directory'>): Promise<MigrationStatus> {
  const { directory } = normalise(options);
  const source = new TsMigrationSource(directory);
  const result: unknown = await db.knex.migrate.list({ tableName: 'knex_migrations', migrationSource: source });
  // list() resolves to [completed ({ name } rows), pending (what the source listed)].
  if (!Array.isArray(result)) throw new Error('Unexpected result from knex migrate.list()');
  const pending: unknown = result[1];
  return {
    applied: namesFrom(result[0]),
    pending: Array.isArray(pending) ? pending.map((m: unknown) => source.getMigrationName(m as MigrationFile)) : [],
  };
}

/** Reverts the most recent batch of migrations and returns their names. */
export async function rollbackLast(db: Database, options?: MigrateOptions | MigrationLog): Promise<string[]> {
  const { directory, log } = normalise(options);
  const result: unknown = await db.knex.migrate.rollback(migratorConfig(directory, log, 'Reverting'));
  const reverted = Array.isArray(result) ? namesFrom(result[1]) : [];
  log(reverted.length === 0 ? 'No migrations to roll back' : `Rolled back ${reverted.length} migration(s)`);
  return reverted;
}
