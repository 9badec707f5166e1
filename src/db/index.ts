// Opens the database: PostgreSQL when a URL is configured, otherwise PGlite (PostgreSQL
// compiled to WebAssembly, running in this process) under the data directory, so a trial
// needs no database server. Both speak the same SQL through knex.
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { acquireEmbeddedLock } from './embedded-lock.ts';
import type { Database } from './types.ts';

/**
 * knex-pglite labels a `.delete()` response "DEL" (from knex's method name `del`), and knex's pg
 * client returns the affected row count only for "DELETE", so every delete resolved to a result
 * object instead of a count. Name the method as PostgreSQL does before knex-pglite reads it.
 * knex's types do not declare processResponse, which every knex client has at run time.
 */
interface ResponseProcessor { processResponse(obj: { method?: string }, runner: unknown): unknown }
const PgLiteBase = ClientPgLite as unknown as new (config: Knex.Config) => Knex.Client & ResponseProcessor;
class PgLiteClient extends PgLiteBase {
  override processResponse(obj: { method?: string }, runner: unknown): unknown {
    return super.processResponse(obj.method === 'del' ? { ...obj, method: 'delete' } : obj, runner);
  }
}

export type { Database } from './types.ts';
export { EmbeddedDatabaseBusyError } from './embedded-lock.ts';

export interface CreateDatabaseOptions {
  /** postgres:// URL; without it the embedded database in dataDir is used. */
  databaseUrl?: string;
  dataDir: string;
  /** Upper bound of the PostgreSQL pool; PGlite always has exactly one connection. */
  poolMax?: number;
  /** Why this process opens the database ("start", "migrate", ...): shown to whoever finds it busy. */
  purpose: string;
  /**
   * Where knex's own warnings go (a lost connection, a failed acquire): the application log,
   * as one line each, instead of knex printing them with stack traces to the console.
   */
  log?: { warn(message: string): void; error(message: string): void };
}

// Fail requests quickly when PostgreSQL is down instead of queueing them for knex's default 60s.
const CONNECT_TIMEOUT_MS = 5000;

export async function createDatabase(options: CreateDatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.poolMax ?? 10, options.purpose, options.log) : openPglite(options.dataDir, options.purpose);
}

/** host:port/database of a URL, for messages: the password must never reach a log. */
export function describePostgresUrl(databaseUrl: string): string {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return 'an unparsable DATABASE_URL';
  }
  // A ?host= parameter (e.g. a Unix socket directory) overrides the URL's host, as in libpq.
  const host = url.searchParams.get('host') ?? (url.hostname || 'localhost');
  const port = url.searchParams.get('port') ?? (url.port || '5432');
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || '(default)';
  return `${host}:${port}, database "${database}"`;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    // AggregateError (e.g. ECONNREFUSED on both ::1 and 127.0.0.1) has an empty message.
    if (!error.message && error instanceof AggregateError) return error.errors.map(messageOf).join('; ');
    return error.message || error.name;
  }
  return String(error);
}

function isKnexTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === 'KnexTimeoutError';
}

async function openPostgres(databaseUrl: string, poolMax: number, purpose: string, log?: CreateDatabaseOptions['log']): Promise<Database> {
  const text = (message: unknown) => redact(message instanceof Error ? messageOf(message) : String(message), databaseUrl);
  const knex = knexFactory({
    client: 'pg',
    connection: {
      connectionString: databaseUrl,
      // Shows up in pg_stat_activity; a value in the URL takes precedence.
      application_name: `gatehouse-${purpose}`.slice(0, 63),
      // Without it a connection to an unreachable host waits for the TCP timeout (minutes)
      // after knex has given up, and destroy() waits for it.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: CONNECT_TIMEOUT_MS,
    ...(log ? { log: { warn: (m: unknown) => log.warn(text(m)), error: (m: unknown) => log.error(text(m)), deprecate: (m: unknown) => log.warn(text(m)), debug: () => undefined } } : {}),
  });
  try {
    await knex.raw('select 1');
  } catch (error) {
    await knex.destroy().catch(() => undefined);
    const reason = isKnexTimeout(error) ? `no connection within ${CONNECT_TIMEOUT_MS / 1000}s` : redact(messageOf(error), databaseUrl);
    throw new Error(
      `Cannot connect to PostgreSQL at ${describePostgresUrl(databaseUrl)} (DATABASE_URL): ${reason}. ` +
        'Check that PostgreSQL is running and that DATABASE_URL is right.',
      { cause: error },
    );
  }
  let closing: Promise<void> | undefined;
  return {
    kind: 'postgres',
    knex,
    async ping() {
      await knex.raw('select 1');
    },
    close() {
      closing ??= knex.destroy();
      return closing;
    },
  };
}

/** Removes the URL's password from a driver message, in case one ever echoes it. */
function redact(message: string, databaseUrl: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(databaseUrl).password);
  } catch {
    // unparsable URL: nothing to look for
  }
  return password ? message.split(password).join('***') : message;
}

async function openPglite(dataDir: string, purpose: string): Promise<Database> {
  // The lock comes first: opening the files while another process has them is the damage.
  const lock = await acquireEmbeddedLock(dataDir, purpose);
  const pgdata = path.join(dataDir, 'pgdata');
  let pglite: PGlite | undefined;
  let knex: Knex | undefined;
  try {
    // We create PGlite ourselves rather than letting knex-pglite do it from a filename: a
    // failed start then rejects here, at once, instead of surfacing as knex retrying the
    // connection until its acquire timeout; and close() can reach the instance.
    pglite = new PGlite(pgdata);
    await pglite.waitReady.catch((error: unknown) => {
      throw new Error(`Cannot open the embedded database in ${pgdata}: ${messageOf(error)}`, { cause: error });
    });
    const instance = pglite;
    // knex-pglite fixes the pool at exactly one connection (PGlite is single-session) and
    // rejects a pool setting, so none is given. Everything queues on that one connection:
    // code inside a transaction must use the transaction, or it waits for itself.
    // knex's types know no `pglite` key; knex-pglite reads it from what the function returns.
    const connection: Knex.PgConnectionConfig & { pglite: PGlite } = { pglite: instance };
    knex = knexFactory({ client: PgLiteClient as unknown as typeof Knex.Client, connection: () => connection });
    await knex.raw('select 1');
  } catch (error) {
    await knex?.destroy().catch(() => undefined);
    if (pglite && !pglite.closed && pglite.ready) await pglite.close().catch(() => undefined);
    await lock.release();
    throw error;
  }

  const db = knex;
  const instance = pglite;
  let closing: Promise<void> | undefined;
  return {
    kind: 'pglite',
    knex: db,
    async ping() {
      await db.raw('select 1');
    },
    close() {
      closing ??= (async () => {
        try {
          // Destroying the pool closes PGlite through knex-pglite, when the pool holds it.
          await db.destroy();
        } finally {
          // PGlite.close() ends the single-user backend, which writes a shutdown checkpoint,
          // so the next open starts from a clean data directory without WAL replay.
          try {
            if (!instance.closed) await instance.close();
          } finally {
            // Only once PGlite has stopped touching the files may another process open them.
            await lock.release();
          }
        }
      })();
      return closing;
    },
  };
}
