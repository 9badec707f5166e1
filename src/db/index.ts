// Opens the database: PostgreSQL when a URL is configured, otherwise PGlite (PostgreSQL
// compiled to WebAssembly, running in this process) under the data directory, so a trial
// needs no database server. Both speak the same SQL through knex.
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { acquireEmbeddedLock } from './embedded-lock.ts';
import type { Database, Listener } from './types.ts';

/**
 * PGlite, its pg_trgm extension and knex-pglite, loaded only when the embedded database is
 * used: a server on PostgreSQL does not carry PGlite's WebAssembly build (about 35 MB of RSS).
 *
 * knex-pglite labels a `.delete()` response "DEL" (from knex's method name `del`), and knex's pg
 * client returns the affected row count only for "DELETE", so every delete resolved to a result
 * object instead of a count. Name the method as PostgreSQL does before knex-pglite reads it.
 * knex's types do not declare processResponse, which every knex client has at run time.
 */
async function loadPglite() {
  const [{ PGlite: PGliteClass }, { pg_trgm }, { default: ClientPgLite }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite/contrib/pg_trgm'), import('knex-pglite')]);
  interface ResponseProcessor {
    processResponse(obj: { method?: string }, runner: unknown): unknown;
  }
  const PgLiteBase = ClientPgLite as unknown as new (config: Knex.Config) => Knex.Client & ResponseProcessor;
  class PgLiteClient extends PgLiteBase {
    override processResponse(obj: { method?: string }, runner: unknown): unknown {
      return super.processResponse(obj.method === 'del' ? { ...obj, method: 'delete' } : obj, runner);
    }
  }
  // pg_trgm backs the user search indexes (migrations/20261201040000_user_search_indexes.ts).
  return { open: (dataDir: string) => new PGliteClass(dataDir, { extensions: { pg_trgm } }), PgLiteClient };
}

export type { Database, Listener } from './types.ts';
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
    // A failed statement's error message carries the SQL with placeholders, never its values
    // (hashes, tokens): knex would otherwise inline them into the message (src/logger.ts).
    compileSqlOnError: false,
    acquireConnectionTimeout: CONNECT_TIMEOUT_MS,
    ...(log ? { log: { warn: (m: unknown) => log.warn(text(m)), error: (m: unknown) => log.error(text(m)), deprecate: (m: unknown) => log.warn(text(m)), debug: () => undefined } } : {}),
  });
  try {
    await knex.raw('select 1');
  } catch (error) {
    await knex.destroy().catch(() => undefined);
    const reason = isKnexTimeout(error) ? `no connection within ${CONNECT_TIMEOUT_MS / 1000}s` : redact(messageOf(error), databaseUrl);
    throw new Error(`Cannot connect to PostgreSQL at ${describePostgresUrl(databaseUrl)} (DATABASE_URL): ${reason}. ` + 'Check that PostgreSQL is running and that DATABASE_URL is right.', { cause: error });
  }
  let closing: Promise<void> | undefined;
  const listeners = new Set<Listener>();
  return {
    kind: 'postgres',
    knex,
    async ping() {
      await knex.raw('select 1');
    },
    async listen(channel, onNotify, onReset) {
      const listener = await listenOnPostgres(databaseUrl, purpose, channel, onNotify, onReset);
      listeners.add(listener);
      return {
        listening: () => listener.listening(),
        async close() {
          listeners.delete(listener);
          await listener.close();
        },
      };
    },
    close() {
      closing ??= (async () => {
        await Promise.all([...listeners].map((l) => l.close()));
        await knex.destroy();
      })();
      return closing;
    },
  };
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A connection of its own (LISTEN holds it for good, so not one of the pool's) that reconnects
 * when it drops, with a growing pause; every drop is reported through `onReset`, since
 * notifications sent meanwhile are lost.
 */
async function listenOnPostgres(databaseUrl: string, purpose: string, channel: string, onNotify: (payload: string) => void, onReset: () => void): Promise<Listener> {
  if (!CHANNEL.test(channel)) throw new Error(`invalid channel name "${channel}"`);
  let client: pg.Client | undefined;
  let up = false;
  let closed = false;
  let retryMs = 500;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: databaseUrl, application_name: `gatehouse-${purpose}-listen`.slice(0, 63), connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    const dropped = () => {
      if (client !== next) return;
      client = undefined;
      up = false;
      onReset();
      next.end().catch(() => undefined);
      if (!closed) timer = setTimeout(() => void connect().catch(() => undefined), retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    };
    next.on('error', dropped);
    next.on('end', dropped);
    next.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload ?? '');
    });
    client = next;
    try {
      await next.connect();
      await next.query(`listen ${channel}`);
    } catch (error) {
      dropped();
      throw error;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    up = true;
    retryMs = 500;
    // Whatever changed while nobody listened is unknown: start from nothing.
    onReset();
  };

  // A failed first attempt is retried like any drop; until then nothing counts as heard.
  await connect().catch(() => undefined);
  return {
    listening: () => up,
    async close() {
      closed = true;
      up = false;
      if (timer) clearTimeout(timer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
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
    const { open, PgLiteClient } = await loadPglite();
    // We create PGlite ourselves rather than letting knex-pglite do it from a filename: a
    // failed start then rejects here, at once, instead of surfacing as knex retrying the
    // connection until its acquire timeout; and close() can reach the instance.
    pglite = open(pgdata);
    await pglite.waitReady.catch((error: unknown) => {
      throw new Error(`Cannot open the embedded database in ${pgdata}: ${messageOf(error)}`, { cause: error });
    });
    const instance = pglite;
    // knex-pglite fixes the pool at exactly one connection (PGlite is single-session) and
    // rejects a pool setting, so none is given. Everything queues on that one connection:
    // code inside a transaction must use the transaction, or it waits for itself.
    // knex's types know no `pglite` key; knex-pglite reads it from what the function returns.
    const connection: Knex.PgConnectionConfig & { pglite: PGlite } = { pglite: instance };
    knex = knexFactory({ client: PgLiteClient as unknown as typeof Knex.Client, connection: () => connection, compileSqlOnError: false });
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
    async listen(channel, onNotify) {
      // One process owns the embedded database: its notifications cannot be missed.
      const unlisten = await instance.listen(channel, onNotify);
      return { listening: () => !instance.closed, close: () => unlisten() };
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
