// Bearer artefacts at rest (RFC 6819 §5.1.4.1.3): after a real sign-in, refresh, and the tokens
// in use, neither a dump of oidc_payloads nor (on Redis) the key names and values hold a refresh
// token, access token, code, session cookie or interaction id; everything still works through
// them, including revoking a grant's tokens; and artefacts stored under raw ids by an older
// version keep working and are moved under their hash.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import * as client from 'openid-client';
import { createAdapterFactory, payloadKey } from '../../src/oidc/adapter.ts';
import { artefactRef, rehashLegacyPayloadIds, withHashedIds } from '../../src/oidc/hashed-ids.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { gatehouseForSuite, storageMode, uniqueName } from '../helpers/gatehouse.ts';
import { createWebClient, signIn, type WebClient } from '../helpers/oidc.ts';
import { introspect, rawRefresh } from '../helpers/sessions.ts';

const CALLBACK = 'http://localhost:8132/callback';
const PASSWORD = 'hashed-artefacts-Password-1';

describe(`bearer artefacts stored under a keyed hash (${storageMode})`, function () {
  this.timeout(120_000);
  const gh = gatehouseForSuite();
  let web: WebClient;

  /** Everything stored: every oidc_payloads row, and on Redis every key name and value under the prefix. */
  async function dump(): Promise<string> {
    const rows = await gh.context.knex('oidc_payloads').select('*');
    let text = JSON.stringify(rows);
    if (process.env.REDIS_URL) {
      const redis = new Redis(process.env.REDIS_URL);
      try {
        const keys = await redis.keys(`${gh.config.redisPrefix}*`);
        text += JSON.stringify(keys);
        for (const key of keys) {
          const type = await redis.type(key);
          text += type === 'string' ? await redis.get(key) : type === 'set' ? JSON.stringify(await redis.smembers(key)) : '';
        }
      } finally {
        redis.disconnect();
      }
    }
    return text;
  }

  before(async () => {
    web = await createWebClient(gh, uniqueName('hash-app'), CALLBACK);
  });

  it('a dump holds no token, code, session cookie or interaction id, and they all still work', async () => {
    const user = await gh.context.users.create({ username: uniqueName('hash'), password: PASSWORD }, SYSTEM_ACTOR);
    const result = await signIn({ gatehouse: gh, config: web.config, redirectUri: CALLBACK, username: user.username, password: PASSWORD, scope: 'openid' });
    const sessionCookie = /(?:^|; )_session=([^;]+)/.exec(result.browser.jar.header(new URL('/auth', gh.issuer)) ?? '')?.[1];
    assert.ok(sessionCookie, 'the browser holds a session cookie');
    const interactionId = /\/interaction\/([A-Za-z0-9_-]+)/.exec(result.response.url.pathname)?.[1];
    assert.ok(interactionId, 'the login page was an interaction');
    const refreshed = await rawRefresh(gh.issuer, web, result.tokens.refresh_token!);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const secrets = { refresh: result.tokens.refresh_token!, rotated: refreshed.body.refresh_token!, access: result.tokens.access_token, newAccess: refreshed.body.access_token!, code: result.code, session: sessionCookie, interaction: interactionId };

    const stored = await dump();
    for (const [name, value] of Object.entries(secrets)) assert.ok(!stored.includes(value), `the ${name} value is stored in clear`);
    for (const [model, value] of [
      ['RefreshToken', secrets.rotated],
      ['AccessToken', secrets.newAccess],
      ['Session', sessionCookie],
    ] as const) {
      assert.equal(await gh.context.store.get(payloadKey(model, value)), undefined, `no ${model} under its raw value`);
      assert.ok(await gh.context.store.get(payloadKey(model, artefactRef(gh.context.keys.hashKey, model, value))), `the ${model} is under its keyed hash`);
    }

    // Still usable through the hash: userinfo, introspection, the session, refresh rotation.
    const userinfo = await fetch(`${gh.issuer}/me`, { headers: { authorization: `Bearer ${secrets.newAccess}` } });
    assert.equal(userinfo.status, 200);
    assert.equal((await introspect(gh.issuer, web, secrets.rotated)).active, true);
    const again = await result.browser.follow(
      client.buildAuthorizationUrl(web.config, { redirect_uri: CALLBACK, scope: 'openid', state: 's', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' }),
    );
    assert.ok(again.redirect, 'the session cookie still signs the browser in');

    // Revoking the refresh token (RFC 7009) revokes what its grant issued: the grant index still
    // finds the hashed entries.
    const revoked = await fetch(`${gh.issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${web.clientId}:${web.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: secrets.rotated, token_type_hint: 'refresh_token' }),
    });
    assert.equal(revoked.status, 200);
    assert.equal((await rawRefresh(gh.issuer, web, secrets.rotated)).body.error, 'invalid_grant');
    assert.equal((await introspect(gh.issuer, web, secrets.newAccess)).active, false, 'the access token of the grant went with it');
  });

  it('keeps artefacts stored under raw ids working: PostgreSQL rows re-keyed at start, store entries moved on first read', async () => {
    const { store, payloads, applications, serviceAccounts, tenantId, keys } = gh.context;
    const plain = createAdapterFactory({ store, payloads, applications, serviceAccounts, tenantId, grantIndexTtl: 3600, refreshReuseGraceSeconds: async () => 0 });
    const hashed = withHashedIds(plain, { hashKey: keys.hashKey, store });
    const grantId = randomUUID();
    const exp = Math.floor(Date.now() / 1000) + 600;
    const refresh = { jti: `legacy-rt-${randomUUID()}`, kind: 'RefreshToken', grantId, accountId: randomUUID(), clientId: web.clientId, exp };
    const access = { jti: `legacy-at-${randomUUID()}`, kind: 'AccessToken', grantId, accountId: refresh.accountId, clientId: web.clientId, exp };
    // As an older version stored them: under the raw value, in PostgreSQL and in the store.
    await plain('RefreshToken').upsert(refresh.jti, refresh, 600);
    await plain('AccessToken').upsert(access.jti, access, 600);
    await store.del(payloadKey('RefreshToken', refresh.jti));

    assert.ok((await rehashLegacyPayloadIds(payloads, keys.hashKey)) >= 1);
    const rows = await gh.context.knex('oidc_payloads').where({ grant_id: grantId });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].id, artefactRef(keys.hashKey, 'RefreshToken', refresh.jti), 'the row is under its keyed hash');
    assert.ok(!JSON.stringify(rows).includes(refresh.jti), 'and its payload no longer holds the value');
    assert.equal((await hashed('RefreshToken').find(refresh.jti))?.jti, refresh.jti, 'the refresh token is found by its value');

    assert.equal((await hashed('AccessToken').find(access.jti))?.grantId, grantId, 'the access token is found by its value');
    assert.equal(await store.get(payloadKey('AccessToken', access.jti)), undefined, 'its raw entry is gone');
    assert.ok(await store.get(payloadKey('AccessToken', artefactRef(keys.hashKey, 'AccessToken', access.jti))));

    // Single use still holds on the moved refresh token; revoking the grant reaches both.
    await hashed('RefreshToken').consume(refresh.jti);
    await assert.rejects(hashed('RefreshToken').consume(refresh.jti), (e: { error?: string }) => e.error === 'invalid_grant');
    assert.equal(await hashed('AccessToken').find(access.jti), undefined, 'the reuse revoked the grant');
  });
});
