// What survives which failure (docs/user-guide.md, "What survives which failure": losing Redis must
// not sign anyone out or lose a refresh token), against the machine's real PostgreSQL and Redis
// with a loopback TCP proxy in front of each, so they can disappear for this Gatehouse only:
// - Redis flushed (FLUSHDB of the test's own database index), or restarted (connections cut,
//   data gone): signed-in users stay signed in, refresh tokens work, revoked ones stay revoked;
// - PostgreSQL away: requests fail fast with 503 and no stack trace, /readyz says so, and
//   service resumes when it is back, in the same process.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { createServiceApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { HttpClient } from '../helpers/http.ts';
import { createWebClient, signIn, startAuthorization, type WebClient } from '../helpers/oidc.ts';
import { rawRefresh } from '../helpers/sessions.ts';
import { startTcpProxy, targetOf, throughProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const CALLBACK = 'http://localhost:8141/callback';
const PASSWORD = 'durable sessions 123456';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('durability: Redis flushed or restarted, PostgreSQL away', function () {
  this.timeout(90_000);
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let redis: Redis;
  let gh: TestGatehouse;
  let admin: ApiCaller;
  let app: WebClient;
  let user: { id: string; username: string };

  before(async function () {
    if (!process.env.DATABASE_URL || !process.env.REDIS_URL) return this.skip();
    pgProxy = await startTcpProxy(targetOf(process.env.DATABASE_URL, 5432));
    redisProxy = await startTcpProxy(targetOf(process.env.REDIS_URL, 6379));
    // Straight to Redis, for FLUSHDB of the test's own database index (the one in REDIS_URL).
    redis = new Redis(process.env.REDIS_URL);
    gh = await startTestGatehouse({ DATABASE_URL: throughProxy(process.env.DATABASE_URL, pgProxy), REDIS_URL: throughProxy(process.env.REDIS_URL, redisProxy) });
    admin = await createServiceApiCaller(gh, ['sessions:end', 'user-sessions:list']);
    app = await createWebClient(gh, 'Durable App', CALLBACK);
    const username = uniqueName('durable');
    user = { id: (await gh.context.users.create({ username, password: PASSWORD }, SYSTEM_ACTOR)).id, username };
  });
  after(async () => {
    await pgProxy?.restore().catch(() => undefined);
    await redisProxy?.restore().catch(() => undefined);
    await gh?.close();
    redis?.disconnect();
    await pgProxy?.close();
    await redisProxy?.close();
  });

  async function signedIn(browser = new HttpClient(gh.issuer)) {
    const before = new Set(await sessionIds());
    const { tokens } = await signIn({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, username: user.username, password: PASSWORD, scope: 'openid', browser });
    const [sid] = (await sessionIds()).filter((id) => !before.has(id));
    return { browser, refreshToken: tokens.refresh_token!, sid: sid! };
  }
  const refresh = (token: string) => rawRefresh(gh.issuer, app, token);
  async function silentSignIn(browser: HttpClient): Promise<boolean> {
    const started = await startAuthorization({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, scope: 'openid', browser });
    return Boolean(started.callbackUrl?.searchParams.get('code'));
  }
  async function sessionIds(): Promise<string[]> {
    return ((await admin.request('GET', `/users/${user.id}/sessions`)).body.items as { id: string }[]).map((s) => s.id);
  }

  /** Three sessions: one kept, one ended by an administrator, one whose refresh token was rotated. */
  async function arrange() {
    const kept = await signedIn();
    const ended = await signedIn();
    const rotated = await signedIn();
    const endedSession = ended.sid;
    assert.equal((await admin.request('DELETE', `/sessions/${endedSession}`)).status, 204);
    const next = await refresh(rotated.refreshToken);
    assert.equal(next.status, 200);
    return { kept, ended, rotated, endedSession, latest: next.body.refresh_token! };
  }

  async function assertSurvived(state: Awaited<ReturnType<typeof arrange>>) {
    assert.equal(await silentSignIn(state.kept.browser), true, 'the browser is still signed in');
    const refreshed = await refresh(state.kept.refreshToken);
    assert.equal(refreshed.status, 200, `the refresh token still works: ${JSON.stringify(refreshed.body)}`);
    assert.equal((await refresh(state.ended.refreshToken)).body.error, 'invalid_grant', 'the ended session stays ended');
    assert.equal(await silentSignIn(state.ended.browser), false);
    assert.equal((await refresh(state.rotated.refreshToken)).body.error, 'invalid_grant', 'a rotated refresh token stays used');
    assert.ok(!(await sessionIds()).includes(state.endedSession));
  }

  it('keeps everyone signed in and every revocation in force after FLUSHDB', async () => {
    const state = await arrange();
    assert.equal(await redis.flushdb(), 'OK');
    assert.equal(await redis.dbsize(), 0);
    await assertSurvived(state);
  });

  it('keeps everyone signed in after Redis restarts (connections dropped, data gone), failing fast while it is away', async () => {
    const state = await arrange();
    await redisProxy.cut();
    await redis.flushdb();
    const started = Date.now();
    const during = await refresh(state.kept.refreshToken);
    assert.equal(during.status, 503, JSON.stringify(during.body));
    assert.equal(during.body.error, 'temporarily_unavailable');
    assert.ok(Date.now() - started < 5000, `answered in ${Date.now() - started} ms`);
    const ready = await fetch(`${gh.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.store, 'unavailable');
    await redisProxy.restore();
    await until('Gatehouse to reconnect to Redis', async () => (await fetch(`${gh.url}/readyz`)).status === 200);
    await assertSurvived(state);
  });

  it('answers 503 quickly without a stack trace while PostgreSQL is away, and recovers without a restart', async () => {
    const { refreshToken, browser } = await signedIn();
    await redis.flushdb(); // nothing hot: every request needs PostgreSQL
    await pgProxy.cut();
    try {
      const started = Date.now();
      const token = await refresh(refreshToken);
      const api = await admin.request('GET', `/users/${user.id}/sessions`);
      const page = await browser.request('/account', { headers: { accept: 'text/html' } });
      const elapsed = Date.now() - started;
      assert.equal(token.status, 503, JSON.stringify(token.body));
      assert.deepEqual(Object.keys(token.body).sort(), ['error', 'error_description']);
      assert.equal(token.body.error, 'temporarily_unavailable');
      assert.equal(api.status, 503, JSON.stringify(api.body));
      assert.equal(api.body.code, 'service.unavailable');
      assert.equal(page.status, 503);
      assert.match(page.body, /Temporarily unavailable/);
      for (const body of [JSON.stringify(token.body), JSON.stringify(api.body), page.body]) assert.doesNotMatch(body, /\n\s+at |ECONNREFUSED|node_modules/, 'no stack trace or internals');
      assert.ok(elapsed < 6000, `three requests answered in ${elapsed} ms`);
      assert.equal(token.status, 503);
      const ready = await fetch(`${gh.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.database, 'unavailable');
    } finally {
      await pgProxy.restore();
    }
    await until('/readyz to report ready', async () => (await fetch(`${gh.url}/readyz`)).status === 200);
    const after = await refresh(refreshToken);
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(await silentSignIn(browser), true, 'still signed in');
    await signedIn(); // and a new sign-in works
  });
});
