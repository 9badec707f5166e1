// What one session costs: the PostgreSQL statements a sign-in and a refresh write (counted with a
// knex query listener, by table) and the Redis bytes its keys take (MEMORY USAGE). Runs against
// the PostgreSQL and Redis in DATABASE_URL and REDIS_URL, under a fresh key prefix whose keys it
// deletes afterwards (SCAN + DEL, never FLUSHDB).
//
//   DATABASE_URL=postgres://… REDIS_URL=redis://…/13 node --import tsx bench/session-footprint.ts
import { Redis } from 'ioredis';
import { SYSTEM_ACTOR } from '../src/services/actor.ts';
import { startTestGatehouse, TestClock, uniqueName } from '../test/helpers/gatehouse.ts';
import { HttpClient } from '../test/helpers/http.ts';
import { discover, signIn } from '../test/helpers/oidc.ts';
import { rawRefresh } from '../test/helpers/sessions.ts';

const CALLBACK = 'http://localhost:8161/callback';
const PASSWORD = 'footprint password 123';
const SAMPLES = 20;

if (!process.env.DATABASE_URL || !process.env.REDIS_URL) {
  process.stderr.write('set DATABASE_URL and REDIS_URL\n');
  process.exit(2);
}

const clock = new TestClock();
const gh = await startTestGatehouse({}, { clock });
const redis = new Redis(process.env.REDIS_URL);
const prefix = gh.config.redisPrefix;
try {
  const created = await gh.context.applications.create({ name: 'Footprint', type: 'web', redirectUris: [CALLBACK] }, SYSTEM_ACTOR);
  const app = { clientId: created.application.id, clientSecret: created.clientSecret! };
  const config = await discover(gh, app.clientId, app.clientSecret);

  let writes: string[] = [];
  gh.context.knex.on('query', (query: { sql: string }) => {
    const match = /^\s*(insert\s+into|update|delete\s+from|with)\s+"?([a-z_]+)"?/i.exec(query.sql);
    if (!match) return;
    // A CTE names its first table after the WITH: report the tables it writes.
    const tables = /^\s*with/i.test(query.sql)
      ? [...query.sql.matchAll(/(?:insert into|update)\s+"?([a-z_]+)"?/gi)]
          .map((m) => m[1])
          .filter((t) => t !== 'set')
          .join('+')
      : match[2];
    writes.push(tables!);
  });
  const tally = (list: string[]) => Object.fromEntries([...new Set(list)].sort().map((t) => [t, list.filter((x) => x === t).length]));

  const signInWrites: Record<string, number>[] = [];
  const refreshWrites: Record<string, number>[] = [];
  const touchWrites: Record<string, number>[] = [];
  const sessionBytes: number[] = [];
  const grantBytes: number[] = [];
  const byKind = new Map<string, number[]>();
  const measure = async (key: string) => {
    const bytes = Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
    const kind = key.slice(prefix.length).replace(/^(oidc:consumed:[A-Za-z]+|oidc:[A-Za-z]+|session|gi):.*$/, '$1');
    byKind.set(kind, [...(byKind.get(kind) ?? []), bytes]);
    return bytes;
  };
  for (let i = 0; i < SAMPLES; i += 1) {
    const username = uniqueName('footprint');
    const user = await gh.context.users.create({ username, password: PASSWORD }, SYSTEM_ACTOR);
    writes = [];
    const { tokens } = await signIn({ gatehouse: gh, config, redirectUri: CALLBACK, username, password: PASSWORD, scope: 'openid', browser: new HttpClient(gh.issuer) });
    await gh.context.audit.drain();
    signInWrites.push(tally(writes));

    writes = [];
    const refreshed = await rawRefresh(gh.issuer, app, tokens.refresh_token!);
    if (refreshed.status !== 200) throw new Error(JSON.stringify(refreshed.body));
    refreshWrites.push(tally(writes));

    clock.advance(61); // past the activity interval: this refresh records the activity
    writes = [];
    const touched = await rawRefresh(gh.issuer, app, refreshed.body.refresh_token!);
    if (touched.status !== 200) throw new Error(JSON.stringify(touched.body));
    touchWrites.push(tally(writes));

    const [session] = await gh.context.sessions.listForUser(gh.context.tenantId, user.id);
    const uid = session!.id;
    const jti = await redis.get(`${prefix}oidc:sessionUid:${uid}`);
    const sessionKeys = [`${prefix}session:${uid}`, `${prefix}oidc:sessionUid:${uid}`, `${prefix}oidc:Session:${jti}`];
    let bytes = 0;
    for (const key of sessionKeys) bytes += await measure(key);
    sessionBytes.push(bytes);
    const grantRow = await gh.context.knex('session_grants').where({ session_uid: uid }).first('grant_id');
    const members = (await redis.smembers(`${prefix}oidc:grant:${grantRow.grant_id}`)).map((k) => prefix + k);
    const consumed = members.filter((k) => k.includes('oidc:RefreshToken:')).map((k) => k.replace('oidc:RefreshToken:', 'oidc:consumed:RefreshToken:'));
    const grantKeys = [`${prefix}oidc:Grant:${grantRow.grant_id}`, `${prefix}oidc:grant:${grantRow.grant_id}`, `${prefix}gi:${grantRow.grant_id}`, ...members, ...consumed];
    let gbytes = 0;
    for (const key of grantKeys) gbytes += await measure(key);
    grantBytes.push(gbytes);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const same = (list: Record<string, number>[]) => JSON.stringify(list.every((x) => JSON.stringify(x) === JSON.stringify(list[0])) ? list[0] : list);
  process.stdout.write(
    [
      `samples: ${SAMPLES}`,
      `PostgreSQL writes per sign-in (by table): ${same(signInWrites)}`,
      `PostgreSQL writes per refresh within the activity interval: ${same(refreshWrites)}`,
      `PostgreSQL writes per refresh that records activity (at most once a minute per session): ${same(touchWrites)}`,
      `Redis bytes per session (session:{uid} + oidc:sessionUid + oidc:Session), median: ${median(sessionBytes)} (min ${Math.min(...sessionBytes)}, max ${Math.max(...sessionBytes)})`,
      `Redis bytes per signed-in application after two refreshes (grant, its token index, identity, three refresh and three opaque access tokens, consumed marks), median: ${median(grantBytes)}`,
      `Redis bytes per key (median of each; several keys per sample for tokens): ${JSON.stringify(Object.fromEntries([...byKind].map(([kind, values]) => [kind, median(values)])))}`,
    ].join('\n') + '\n',
  );
} finally {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
  await gh.close();
}
