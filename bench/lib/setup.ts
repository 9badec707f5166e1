// The bench's own data: a dedicated PostgreSQL database (dropped and created at every run), the
// seed document for the CLI, a bulk load of directory users, and the Redis keys under the run's
// prefix (measured, then deleted with SCAN + DEL, never FLUSHDB).
import { randomBytes, randomUUID } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { Redis } from 'ioredis';
import { createUserQueries } from '../../src/queries/users.ts';
import { ADMIN_API_RESOURCE } from '../../src/services/authorization.ts';

/** The database the bench creates and drops; BENCH_DATABASE names another, for runs sharing a server. */
export const BENCH_DATABASE = /^[a-z_][a-z0-9_]{0,62}$/.test(process.env.BENCH_DATABASE ?? '') ? process.env.BENCH_DATABASE! : 'gatehouse_bench';

/** The bench database on the server DATABASE_URL points at. */
export function benchDatabaseUrl(databaseUrl: string, name = BENCH_DATABASE): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** host:port/db without credentials, for messages. */
export function describeDatabase(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
}

function maintenanceUrl(databaseUrl: string): string {
  // Connect to the database the URL names, unless that is the bench database itself.
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name || name.startsWith(BENCH_DATABASE)) url.pathname = '/postgres';
  return url.toString();
}

export async function recreateBenchDatabase(databaseUrl: string, name = BENCH_DATABASE): Promise<void> {
  const admin = knexFactory({ client: 'pg', connection: maintenanceUrl(databaseUrl), pool: { min: 0, max: 1 } });
  try {
    // WITH (FORCE) ends sessions a crashed earlier run may have left behind (PostgreSQL 13+).
    await admin.raw(`drop database if exists ${name} with (force)`);
    await admin.raw(`create database ${name}`);
  } finally {
    await admin.destroy();
  }
}

export async function dropBenchDatabase(databaseUrl: string, name = BENCH_DATABASE): Promise<void> {
  const admin = knexFactory({ client: 'pg', connection: maintenanceUrl(databaseUrl), pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.destroy();
  }
}

export function openBenchKnex(benchUrl: string): Knex {
  return knexFactory({ client: 'pg', connection: benchUrl, pool: { min: 0, max: 2 } });
}

export interface BenchSecrets {
  serviceClientId: string;
  serviceClientSecret: string;
  webClientId: string;
  webClientSecret: string;
  redirectUri: string;
  resource: string;
  resourceScopes: string[];
  password: string;
  adminUsername: string;
  adminPassword: string;
}

/** Fresh secrets for one bench run against `issuer`. */
export function newBenchSecrets(issuer: string): BenchSecrets {
  return {
    // A UUID like the ids Gatehouse generates: a non-UUID client_id makes client credentials fail
    // with a 500 (src/oidc/identity.ts serviceIdentity() compares it with a uuid column).
    serviceClientId: randomUUID(),
    serviceClientSecret: randomBytes(24).toString('base64url'),
    webClientId: 'bench-web',
    webClientSecret: randomBytes(24).toString('base64url'),
    redirectUri: 'http://127.0.0.1:9/cb',
    resource: `${issuer}/bench-api`,
    resourceScopes: ['read', 'write'],
    // Random only: the password policy refuses one that contains the username, email or name.
    password: `pw${randomBytes(12).toString('base64url')}`,
    adminUsername: 'bench-admin',
    adminPassword: `pw${randomBytes(15).toString('base64url')}`,
  };
}

export interface LoginUser {
  username: string;
  /** Two identities the web application accepts: the identity-selection page is shown. */
  selectsIdentity: boolean;
}

/**
 * The seed document for `gatehouse seed`: an API resource with JWT access tokens, a service
 * application (client credentials), a web application (logins), and the users that sign in.
 * Every fourth user has a second identity, so a quarter of the logins pass the identity page.
 */
/** Users the AuthZEN scenario asks about (usernames `bench-subject-001`…). */
export const AUTHZEN_SUBJECTS = 40;
export const AUTHZEN_SUBJECT_PREFIX = 'bench-subject-';

export function seedDocument(secrets: BenchSecrets, loginUsers: number): { document: unknown; users: LoginUser[] } {
  const users: LoginUser[] = [];
  const seedUsers: Record<string, unknown>[] = [];
  for (let i = 1; i <= loginUsers; i += 1) {
    const username = `bench-login-${String(i).padStart(3, '0')}`;
    const selectsIdentity = i % 4 === 0;
    users.push({ username, selectsIdentity });
    seedUsers.push({
      username,
      email: `${username}@bench.example`,
      name: `Bench Login ${i}`,
      password: secrets.password,
      identities: [{ kind: 'internal', alias: `Bench ${i}` }, ...(selectsIdentity ? [{ kind: 'client', alias: `Bench ${i} (client)` }] : [])],
    });
  }
  // The administrator who searches users (GET /api/v1/users requires users:list on Gatehouse's
  // own resource) and asks for AuthZEN decisions in --compare (access:evaluate,
  // access:evaluate-many); the main bench's PEP is a service account holding "Bench PEP".
  seedUsers.push({
    username: secrets.adminUsername,
    email: `${secrets.adminUsername}@bench.example`,
    name: 'Bench Administrator',
    password: secrets.adminPassword,
    identities: [{ kind: 'internal', alias: 'Bench Administrator', roles: ['Bench user search', 'Bench PEP'] }],
  });
  // The AuthZEN scenario's subjects: no password (they never sign in), a role with the bench
  // API's permissions and a client data scope, half of them limited to one client.
  for (let i = 1; i <= AUTHZEN_SUBJECTS; i += 1) {
    seedUsers.push({
      username: `${AUTHZEN_SUBJECT_PREFIX}${String(i).padStart(3, '0')}`,
      identities: [{ kind: 'internal', alias: `Bench subject ${i}`, roles: ['Bench bookings'], dataScope: { client: i % 2 === 0 ? ['*'] : ['ROOM'] } }],
    });
  }
  return {
    users,
    document: {
      dataScopeKeys: ['client'],
      roles: [
        { name: 'Bench user search', description: 'users:list on the admin API, for the bench', permissions: [{ resource: ADMIN_API_RESOURCE, permission: 'users:list' }] },
        { name: 'Bench PEP', description: 'AuthZEN decisions, for the bench', permissions: ['access:evaluate', 'access:evaluate-many'].map((permission) => ({ resource: ADMIN_API_RESOURCE, permission })) },
        { name: 'Bench bookings', description: "the bench API's permissions, for the AuthZEN subjects", permissions: secrets.resourceScopes.map((permission) => ({ resource: secrets.resource, permission })) },
      ],
      apiResources: [{ identifier: secrets.resource, name: 'Bench API', scopes: secrets.resourceScopes, accessTokenFormat: 'jwt' }],
      users: seedUsers,
      applications: [
        { clientId: secrets.serviceClientId, name: 'Bench service', type: 'service', clientSecret: secrets.serviceClientSecret },
        { clientId: secrets.webClientId, name: 'Bench web', type: 'web', redirectUris: [secrets.redirectUri], clientSecret: secrets.webClientSecret, adminApiClient: true },
      ],
    },
  };
}

const FIRST_NAMES = [
  'Anna',
  'Ben',
  'Chloe',
  'David',
  'Emma',
  'Felix',
  'Grace',
  'Hugo',
  'Isla',
  'Jack',
  'Kim',
  'Liam',
  'Maya',
  'Noah',
  'Olivia',
  'Paul',
  'Quinn',
  'Ruby',
  'Simon',
  'Tara',
  'Uma',
  'Victor',
  'Wendy',
  'Xavier',
  'Yara',
  'Zoe',
  'Lucy',
  'Omar',
  'Priya',
  'Chen',
];
const LAST_NAMES = [
  'Smith',
  'Jones',
  'Taylor',
  'Brown',
  'Williams',
  'Wilson',
  'Johnson',
  'Davies',
  'Robinson',
  'Wright',
  'Thompson',
  'Evans',
  'Walker',
  'White',
  'Roberts',
  'Green',
  'Hall',
  'Wood',
  'Jackson',
  'Clarke',
  'Patel',
  'Khan',
  'Lewis',
  'James',
  'Phillips',
  'Mason',
  'Mitchell',
  'Rose',
  'Davis',
  'Rodriguez',
  'Cox',
  'Alexander',
  'Garden',
  'Campbell',
  'Johnston',
  'Moore',
  'Smyth',
  "O'Neill",
  'Doherty',
  'Stewart',
  'Quinn',
  'Murphy',
  'Graham',
  'Mclaughlin',
  'Hamilton',
  'Murray',
  'Hughes',
  'Robertson',
  'Thomson',
  'Scott',
];
const DEPARTMENTS = ['Sales', 'Finance', 'Operations', 'Engineering', 'Support', 'Legal', 'Marketing', 'Procurement'];

function sqlArray(values: string[]): string {
  return `array[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]::text[]`;
}

/**
 * `count` directory users, each with a default identity, in three statements (INSERT ... SELECT
 * generate_series): usernames like anna.smith000042, emails on 20 domains, names from 30 × 50
 * first and last names, 8 departments, 2% inactive. No password (they never sign in).
 * `offset`: numbering starts after it, so a second load adds users instead of clashing.
 */
/** The username bulkInsertUsers gives user number g (the same expression as its SQL). */
export function benchUsername(g: number): string {
  const first = FIRST_NAMES[g % FIRST_NAMES.length]!;
  const last = LAST_NAMES[Math.floor(g / FIRST_NAMES.length) % LAST_NAMES.length]!;
  return `${first.toLowerCase()}.${last.replace(/'/g, '').toLowerCase()}${String(g).padStart(6, '0')}`;
}

export async function bulkInsertUsers(knex: Knex, tenantId: string, count: number, offset = 0): Promise<{ seconds: number; steps: Record<string, number> }> {
  const started = process.hrtime.bigint();
  const steps: Record<string, number> = {};
  let stepStarted = performance.now();
  const step = (name: string) => {
    steps[name] = Math.round(performance.now() - stepStarted) / 1000;
    stepStarted = performance.now();
  };
  // As a bulk import is best done: the GIN (search) indexes are dropped for the load and built
  // again from their own definitions afterwards, one sorted pass each instead of 100,000
  // incremental updates (which also leave them many times their size).
  const ginIndexes = (
    await knex.raw(
      `select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam
      where i.indrelid = 'users'::regclass and am.amname = 'gin'`,
    )
  ).rows as { name: string; definition: string }[];
  for (const index of ginIndexes) await knex.raw(`drop index ${index.name}`);
  await knex.transaction(async (trx) => {
    // The rows are generated consistent (each identity's user is inserted with it), so the
    // foreign-key triggers would only look up 200,000 rows to confirm it: a superuser may skip
    // them for this transaction (session_replication_role); anyone else pays for the checks.
    await trx
      .transaction(async (sp) => {
        await sp.raw('set local session_replication_role = replica');
      })
      .catch(() => undefined);
    // One statement: each user is written once, already pointing at its default identity
    // (default_identity_id carries no foreign key), instead of an insert and then an update.
    await trx.raw(
      `
      with people as materialized (
        select g, gen_random_uuid() as user_id, gen_random_uuid() as identity_id,
               (${sqlArray(FIRST_NAMES)})[1 + g % ${FIRST_NAMES.length}] as first,
               (${sqlArray(LAST_NAMES)})[1 + (g / ${FIRST_NAMES.length}) % ${LAST_NAMES.length}] as last
        from generate_series(?::int + 1, ?::int + ?::int) as g
      ), inserted as (
        insert into users (id, tenant_id, username, email, name, department, status, password_hash, default_identity_id)
        select user_id, ?,
               lower(first) || '.' || lower(replace(last, '''', '')) || lpad(g::text, greatest(6, length(g::text)), '0'),
               lower(first) || '.' || lower(replace(last, '''', '')) || lpad(g::text, greatest(6, length(g::text)), '0') || '@corp' || (g % 20) || '.example',
               first || ' ' || last,
               (${sqlArray(DEPARTMENTS)})[1 + g % ${DEPARTMENTS.length}],
               case when g % 50 = 0 then 'inactive' else 'active' end,
               null,
               identity_id
        from people
        returning id, username, default_identity_id
      )
      insert into identities (id, tenant_id, user_id, kind, alias)
      select default_identity_id, ?, id, 'internal', username from inserted
    `,
      [offset, offset, count, tenantId, tenantId],
    );
  });
  step('insert');
  for (const index of ginIndexes) {
    // A larger sort memory than the default (64 MB) for the build: at a million users the trigram
    // index builds otherwise spill to many small runs on disk.
    await knex.transaction(async (trx) => {
      await trx.raw(`set local maintenance_work_mem = '512MB'`);
      await trx.raw(index.definition);
    });
  }
  step('search indexes');
  // What autovacuum does soon after a bulk import: fresh statistics and visibility map.
  await knex.raw('vacuum analyze users');
  await knex.raw('vacuum analyze identities');
  step('vacuum analyze');
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, steps };
}

export function openRedis(redisUrl: string): Redis {
  return new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
}

/** Every key under `prefix` matching `pattern` (a glob after the prefix), by SCAN. */
export async function scanKeys(redis: Redis, prefix: string, pattern = '*', limit = Infinity): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}${pattern}`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      keys.push(key);
      if (keys.length >= limit) return keys;
    }
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key under the prefix (SCAN + DEL in batches); returns how many. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  if (prefix.length < 6 || !prefix.startsWith('bench:')) throw new Error(`refusing to delete keys under an unexpected prefix "${prefix}"`);
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (batch.length) deleted += await redis.del(...batch);
  } while (cursor !== '0');
  return deleted;
}

/** MEMORY USAGE (bytes, SAMPLES 0: exact) of each key, pipelined. */
async function memoryUsage(redis: Redis, keys: string[]): Promise<number[]> {
  const sizes: number[] = [];
  for (let i = 0; i < keys.length; i += 500) {
    const pipeline = redis.pipeline();
    for (const key of keys.slice(i, i + 500)) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    const replies = (await pipeline.exec()) ?? [];
    for (const [error, bytes] of replies) sizes.push(error ? 0 : Number(bytes ?? 0));
  }
  return sizes;
}

export interface KeyGroupMemory {
  keys: number;
  sampled: number;
  /** Mean MEMORY USAGE of the sampled keys, bytes. */
  meanBytes: number;
}

/** MEMORY USAGE of up to `sample` keys of one kind under the prefix. */
export async function keyGroupMemory(redis: Redis, prefix: string, pattern: string, sample = 1000): Promise<KeyGroupMemory> {
  const keys = await scanKeys(redis, prefix, pattern);
  const picked = keys.slice(0, sample);
  const sizes = await memoryUsage(redis, picked);
  const total = sizes.reduce((a, b) => a + b, 0);
  return { keys: keys.length, sampled: picked.length, meanBytes: picked.length ? total / picked.length : 0 };
}

/** Total MEMORY USAGE of every key under the prefix, by key family ("oidc:Session", "gi", ...). */
export async function prefixMemoryByFamily(redis: Redis, prefix: string): Promise<Record<string, { keys: number; bytes: number }>> {
  const families: Record<string, { keys: number; bytes: number }> = {};
  const keys = await scanKeys(redis, prefix);
  const sizes = await memoryUsage(redis, keys);
  keys.forEach((key, index) => {
    const rest = key.slice(prefix.length).split(':');
    const family = rest[0] === 'oidc' ? `oidc:${rest[1] ?? ''}` : (rest[0] ?? '');
    const entry = (families[family] ??= { keys: 0, bytes: 0 });
    entry.keys += 1;
    entry.bytes += sizes[index] ?? 0;
  });
  return families;
}

/** EXPLAIN (ANALYZE, BUFFERS) of the statement the admin user search sends for `q`. */
export async function explainSearch(knex: Knex, tenantId: string, q: string): Promise<string[]> {
  const statements: { sql: string; bindings: readonly unknown[] }[] = [];
  const listener = (query: { sql: string; bindings?: readonly unknown[] }) => statements.push({ sql: query.sql, bindings: query.bindings ?? [] });
  knex.on('query', listener);
  try {
    await createUserQueries(knex).search(tenantId, { q, limit: 51 });
  } finally {
    knex.off('query', listener);
  }
  const search = statements.find((s) => s.sql.includes('ilike'));
  if (!search) return [];
  // The pg driver reports $n placeholders; knex.raw takes ?.
  const explained = await knex.raw(`explain (analyze, buffers) ${search.sql.replace(/\$\d+/g, '?')}`, search.bindings as Knex.RawBinding[]);
  return (explained.rows as { 'QUERY PLAN': string }[]).map((row) => row['QUERY PLAN']);
}
