// Sessions: device tracking, lists and revocation by the user and by administrators,
// what revocation does (refresh tokens, opaque access tokens, back-channel logout, Gatehouse's
// own API), idle timeout and absolute lifetime per tenant and per application (with a clock the
// test moves), the triggers (password change, deactivation, lock, deletion, identity removal),
// multi-device, the refresh-token reuse grace window, the cleanup job, audit, and how many
// PostgreSQL writes a sign-in and a refresh cost, and a refresh's statements and store calls. One server for the file, both storage modes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type * as client from 'openid-client';
import { artefactRef } from '../../src/oidc/hashed-ids.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import type { AuditEvent } from '../../src/queries/audit.ts';
import { apiRequest, createServiceApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, TestClock, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { formWith, HttpClient } from '../helpers/http.ts';
import { discover, signIn, startAuthorization, submitLogin } from '../helpers/oidc.ts';
import { DeviceBrowser, introspect, rawRefresh, startLogoutReceiver, USER_AGENTS, type LogoutReceiver } from '../helpers/sessions.ts';

const WEB_CALLBACK = 'http://localhost:8131/web/callback';
const SPA_CALLBACK = 'http://localhost:8132/spa/callback';
const PASSWORD = 'sessions are per device 1234';

const SESSION_PERMISSIONS = [
  'sessions:list',
  'sessions:end',
  'sessions:end-all',
  'user-sessions:list',
  'user-sessions:end',
  'session-settings:read',
  'session-settings:replace',
  'application-session-settings:read',
  'application-session-settings:replace',
  'users:deactivate',
  'users:delete',
  'identities:delete',
];

describe(`sessions (${storageMode})`, function () {
  this.timeout(60_000);
  const clock = new TestClock();
  let gh: TestGatehouse;
  let admin: ApiCaller;
  let receiver: LogoutReceiver;
  let web: { clientId: string; clientSecret: string; config: client.Configuration };
  let spa: { clientId: string; config: client.Configuration };

  const audit = (action: string): Promise<AuditEvent[]> => gh.context.audit.list(gh.context.tenantId, { action });

  async function newUser(prefix = 'sess'): Promise<{ id: string; username: string }> {
    const username = uniqueName(prefix);
    const user = await gh.context.users.create({ username, password: PASSWORD }, SYSTEM_ACTOR);
    return { id: user.id, username };
  }

  /** Signs in to the web app in `browser` (a device); the access token is for Gatehouse's own API. */
  async function signInWeb(user: { username: string }, browser: HttpClient, options: { api?: boolean } = {}) {
    const result = await signIn({
      gatehouse: gh,
      config: web.config,
      redirectUri: WEB_CALLBACK,
      username: user.username,
      password: PASSWORD,
      scope: options.api ? 'openid admin' : 'openid',
      ...(options.api ? { resource: `${gh.issuer}/api` } : {}),
      browser,
    });
    const sid = result.tokens.claims()?.sid;
    assert.equal(typeof sid, 'string', 'the ID token names the session (backchannel_logout_session_required)');
    return { tokens: result.tokens, sid: sid as string, refreshToken: result.tokens.refresh_token!, accessToken: result.tokens.access_token };
  }

  async function signInSpa(user: { username: string }, browser: HttpClient) {
    const result = await signIn({ gatehouse: gh, config: spa.config, redirectUri: SPA_CALLBACK, username: user.username, password: PASSWORD, scope: 'openid', browser });
    return { refreshToken: result.tokens.refresh_token!, accessToken: result.tokens.access_token };
  }

  const refreshWeb = (token: string) => rawRefresh(gh.issuer, web, token);
  const refreshSpa = (token: string) => rawRefresh(gh.issuer, spa, token);

  async function openSessionIds(userId: string): Promise<string[]> {
    const response = await admin.request('GET', `/users/${userId}/sessions`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return (response.body.items as { id: string }[]).map((s) => s.id);
  }

  /** A new user signed in to the web application (with an admin-API token) on an iPhone and on a Windows laptop. */
  async function onPhoneAndLaptop() {
    const user = await newUser();
    const phone = new DeviceBrowser(gh.issuer, USER_AGENTS.iphone);
    const laptop = new DeviceBrowser(gh.issuer, USER_AGENTS.windowsChrome);
    return { user, phone, laptop, onPhone: await signInWeb(user, phone, { api: true }), onLaptop: await signInWeb(user, laptop, { api: true }) };
  }

  async function shownLoginForm(config: client.Configuration, redirectUri: string, browser: HttpClient): Promise<boolean> {
    const started = await startAuthorization({ gatehouse: gh, config, redirectUri, scope: 'openid', browser });
    return started.callbackUrl === undefined && started.response.status === 200 && /name="password"/.test(started.response.body);
  }

  before(async () => {
    receiver = await startLogoutReceiver();
    gh = await startTestGatehouse({ GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE: 'true' }, { clock });
    admin = await createServiceApiCaller(gh, SESSION_PERMISSIONS);
    // It also serves users' own admin-API calls (/me/sessions): the admin API audience is closed to unmarked clients.
    const webApp = await gh.context.applications.create({ name: 'Sessions Web', type: 'web', redirectUris: [WEB_CALLBACK], backchannelLogoutUri: receiver.uri, adminApiClient: true }, SYSTEM_ACTOR);
    web = { clientId: webApp.application.id, clientSecret: webApp.clientSecret!, config: await discover(gh, webApp.application.id, webApp.clientSecret!) };
    const spaApp = await gh.context.applications.create({ name: 'Sessions SPA', type: 'spa', redirectUris: [SPA_CALLBACK] }, SYSTEM_ACTOR);
    spa = { clientId: spaApp.application.id, config: await discover(gh, spaApp.application.id) };
  });
  after(async () => {
    await gh?.close();
    await receiver?.close();
  });

  it('records each device with its type, browser, OS, address and identity; GET /me/sessions marks the current one', async () => {
    const { user, onPhone, onLaptop } = await onPhoneAndLaptop();
    assert.notEqual(onPhone.sid, onLaptop.sid, 'each device has its own session');
    assert.equal(decodeJwt(onPhone.accessToken).sid, onPhone.sid, 'access tokens name their session too');

    const mine = await apiRequest(gh, onPhone.accessToken, 'GET', '/me/sessions');
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    const items = mine.body.items as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(items.map((s) => s.id).sort(), [onPhone.sid, onLaptop.sid].sort());
    const phoneView = items.find((s) => s.id === onPhone.sid)!;
    const laptopView = items.find((s) => s.id === onLaptop.sid)!;
    assert.equal(phoneView.current, true);
    assert.equal(laptopView.current, false);
    assert.equal(phoneView.deviceType, 'mobile');
    assert.match(phoneView.browser, /Safari 17/);
    assert.match(phoneView.os, /iOS 17\.1/);
    assert.equal(laptopView.deviceType, 'desktop');
    assert.match(laptopView.browser, /Chrome 120/);
    assert.match(laptopView.os, /Windows 10/);
    assert.match(phoneView.ip, /127\.0\.0\.1/);
    assert.equal(phoneView.userId, user.id);
    assert.equal(phoneView.identity.alias, user.username, 'the identity in use: the default one here');
    assert.deepEqual(
      phoneView.applications.map((a: { name: string }) => a.name),
      ['Sessions Web'],
    );
    for (const field of ['createdAt', 'lastActiveAt', 'idleExpiresAt', 'absoluteExpiresAt']) assert.ok(!Number.isNaN(Date.parse(phoneView[field])), field);
    const record = await gh.context.knex('user_sessions').where({ uid: onPhone.sid }).first();
    assert.equal(record.user_agent, USER_AGENTS.iphone, 'the header is kept for the record');
  });

  it('lets a user end one device from another: that device is signed out everywhere, the other keeps working', async () => {
    const { user, laptop, onPhone, onLaptop } = await onPhoneAndLaptop();
    const laptopSpa = await signInSpa(user, laptop);
    const before = receiver.tokens.length;

    const ended = await apiRequest(gh, onPhone.accessToken, 'DELETE', `/me/sessions/${onLaptop.sid}`);
    assert.equal(ended.status, 204, JSON.stringify(ended.body));

    // Its refresh tokens (both applications') are revoked, its API token is refused at once, and
    // its browser has to sign in again.
    assert.equal((await refreshWeb(onLaptop.refreshToken)).body.error, 'invalid_grant');
    assert.equal((await refreshSpa(laptopSpa.refreshToken)).body.error, 'invalid_grant');
    assert.equal((await apiRequest(gh, onLaptop.accessToken, 'GET', '/me/sessions')).status, 401);
    assert.ok(await shownLoginForm(web.config, WEB_CALLBACK, laptop), 'the laptop is asked for the password again');
    // The phone is untouched.
    const phoneRefresh = await refreshWeb(onPhone.refreshToken);
    assert.equal(phoneRefresh.status, 200, JSON.stringify(phoneRefresh.body));
    assert.deepEqual(await openSessionIds(user.id), [onPhone.sid]);

    // The web app, which asked for back-channel logout, got a logout token for that session.
    const [token] = (await receiver.waitFor(before + 1)).slice(before);
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(token!, jwks, { issuer: gh.issuer, audience: web.clientId, typ: 'logout+jwt' });
    assert.equal(protectedHeader.typ, 'logout+jwt');
    assert.equal(payload.sub, user.id);
    assert.equal(payload.sid, onLaptop.sid);
    assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(payload.nonce, undefined, 'OIDC Back-Channel Logout 1.0 §2.4: no nonce');
    assert.ok(payload.jti && payload.iat);

    const [event] = (await audit('session.ended')).filter((e) => e.targetId === user.id);
    assert.ok(event, 'the ending is audited');
    assert.equal(event.actorType, 'user');
    assert.equal(event.actorId, user.id);
    assert.equal(event.details.reason, 'ended_by_user');
    assert.deepEqual(
      (event.details.sessions as { id: string }[]).map((s) => s.id),
      [onLaptop.sid],
    );

    // Nobody ends another user's session through /me.
    const other = await newUser();
    const theirs = await signInWeb(other, new HttpClient(gh.issuer), { api: true });
    assert.equal((await apiRequest(gh, onPhone.accessToken, 'DELETE', `/me/sessions/${theirs.sid}`)).status, 404);
    assert.equal((await refreshWeb(theirs.refreshToken)).status, 200);
  });

  it('records a sign-out through RP-initiated logout as the end of the session, and the application gets its logout token', async () => {
    const user = await newUser('signout');
    const browser = new HttpClient(gh.issuer);
    const s = await signInWeb(user, browser);
    const before = receiver.tokens.length;
    const confirm = await browser.get(`/session/end?client_id=${encodeURIComponent(web.clientId)}`);
    const form = formWith(confirm, 'xsrf');
    const done = await browser.postForm(form.action, { xsrf: form.fields.xsrf!, logout: 'yes' });
    assert.equal(done.status, 303);
    const [token] = (await receiver.waitFor(before + 1)).slice(before);
    assert.equal(decodeJwt(token!).sid, s.sid, 'the logout token names the session');
    for (let i = 0; i < 50 && !(await gh.context.knex('user_sessions').where({ uid: s.sid }).first('ended_at'))?.ended_at; i += 1) await new Promise((r) => setTimeout(r, 20));
    const record = await gh.context.knex('user_sessions').where({ uid: s.sid }).first();
    assert.equal(record.end_reason, 'signed_out');
    assert.equal(record.ended_by_id, user.id);
    assert.deepEqual(await openSessionIds(user.id), []);
  });

  it('lets an administrator list sessions with filters and pages, and end one, all of a user’s, or all', async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const a1 = await signInWeb(alice, new DeviceBrowser(gh.issuer, USER_AGENTS.iphone));
    const a2 = await signInWeb(alice, new DeviceBrowser(gh.issuer, USER_AGENTS.ipad));
    const a3 = await signInWeb(alice, new DeviceBrowser(gh.issuer, USER_AGENTS.macFirefox));
    const b1 = await signInWeb(bob, new DeviceBrowser(gh.issuer, USER_AGENTS.windowsChrome));

    const tablets = await admin.request('GET', `/sessions?userId=${alice.id}&deviceType=tablet`);
    assert.equal(tablets.status, 200, JSON.stringify(tablets.body));
    assert.deepEqual(
      tablets.body.items.map((s: { id: string }) => s.id),
      [a2.sid],
    );
    assert.equal(tablets.body.items[0].username, alice.username);
    const byApp = await admin.request('GET', `/sessions?clientId=${encodeURIComponent(web.clientId)}&userId=${bob.id}`);
    assert.deepEqual(
      byApp.body.items.map((s: { id: string }) => s.id),
      [b1.sid],
    );
    const page1 = await admin.request('GET', `/sessions?userId=${alice.id}&limit=2`);
    assert.equal(page1.body.items.length, 2);
    assert.ok(page1.body.nextCursor);
    const page2 = await admin.request('GET', `/sessions?userId=${alice.id}&limit=2&cursor=${page1.body.nextCursor}`);
    assert.equal(page2.body.items.length, 1);
    assert.equal(page2.body.nextCursor, null);
    assert.deepEqual([...page1.body.items, ...page2.body.items].map((s: { id: string }) => s.id).sort(), [a1.sid, a2.sid, a3.sid].sort());
    assert.equal((await admin.request('GET', '/sessions?cursor=not-a-cursor')).status, 400);
    assert.equal((await admin.request('GET', '/sessions?limit=1000')).status, 400);

    // One session: its opaque access token turns inactive at once, its refresh token is refused.
    assert.equal((await introspect(gh.issuer, web, a1.accessToken)).active, true);
    assert.equal((await admin.request('DELETE', `/sessions/${a1.sid}`)).status, 204);
    assert.equal((await introspect(gh.issuer, web, a1.accessToken)).active, false);
    assert.equal((await refreshWeb(a1.refreshToken)).body.error, 'invalid_grant');
    assert.equal((await admin.request('DELETE', `/sessions/${a1.sid}`)).status, 404, 'already ended');
    const [one] = (await audit('session.ended')).filter((e) => e.targetId === alice.id);
    assert.equal(one!.actorId, admin.userId);
    assert.equal(one!.details.reason, 'ended_by_admin');

    // All of a user's.
    const all = await admin.request('DELETE', `/users/${alice.id}/sessions`);
    assert.equal(all.status, 200);
    assert.equal(all.body.ended, 2);
    assert.deepEqual(await openSessionIds(alice.id), []);
    for (const s of [a2, a3]) assert.equal((await refreshWeb(s.refreshToken)).body.error, 'invalid_grant');
    assert.equal((await refreshWeb(b1.refreshToken)).status, 200, "another user's session is untouched");
    assert.equal((await admin.request('GET', `/users/${randomUUID()}/sessions`)).status, 404);

    // All of them: a user's API token from a session stops working at once.
    const carol = await signInWeb(await newUser('carol'), new HttpClient(gh.issuer), { api: true });
    // Every session includes every Admin's: the route's permission is not enough, only an Admin ends them all.
    const refused = await admin.request('POST', '/sessions/end-all', {});
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'auth.escalation');
    const adminRole: { id: string } = await gh.context.knex('roles').where({ tenant_id: gh.context.tenantId, name: 'Admin', system: true }).first('id');
    await gh.context.knex('identity_roles').insert({ tenant_id: gh.context.tenantId, identity_id: admin.identityId, role_id: adminRole.id });
    await gh.context.authorization.invalidateAll();
    const everything = await admin.request('POST', '/sessions/end-all', {});
    await gh.context.knex('identity_roles').where({ identity_id: admin.identityId, role_id: adminRole.id }).delete();
    await gh.context.authorization.invalidateAll();
    assert.equal(everything.status, 200, JSON.stringify(everything.body));
    assert.ok(everything.body.ended >= 2);
    assert.equal((await refreshWeb(b1.refreshToken)).body.error, 'invalid_grant');
    assert.equal((await apiRequest(gh, carol.accessToken, 'GET', '/me/sessions')).status, 401);
    assert.deepEqual((await admin.request('GET', '/sessions')).body.items, []);
    const [all2] = await audit('session.ended');
    assert.equal(all2!.actorType, 'service');
  });

  it('ends a session idle past the tenant’s timeout on any use, and keeps an active one until its absolute lifetime', async () => {
    const saved = await admin.request('PUT', '/session-settings', { idleTimeoutSeconds: 600, absoluteLifetimeSeconds: 3600 });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.equal(saved.body.source, 'tenant');
    assert.equal((await admin.request('PUT', '/session-settings', { idleTimeoutSeconds: 30, absoluteLifetimeSeconds: 3600 })).status, 400);
    assert.equal((await admin.request('PUT', '/session-settings', { idleTimeoutSeconds: 7200, absoluteLifetimeSeconds: 3600 })).status, 400);
    try {
      const user = await newUser('idle');
      const browser = new HttpClient(gh.issuer);
      const s = await signInWeb(user, browser);
      clock.advance(601);
      assert.equal((await refreshWeb(s.refreshToken)).body.error, 'invalid_grant', 'idle for longer than the timeout');
      assert.ok(await shownLoginForm(web.config, WEB_CALLBACK, browser));
      const [ended] = (await audit('session.ended')).filter((e) => e.targetId === user.id);
      assert.equal(ended!.details.reason, 'idle_timeout');
      assert.equal(ended!.actorType, 'system');

      // Activity (here: refreshing) keeps a session open past the idle timeout...
      const active = await signInWeb(user, new HttpClient(gh.issuer));
      let token = active.refreshToken;
      for (let elapsed = 0; elapsed < 3600 - 500; elapsed += 500) {
        clock.advance(500);
        const refreshed = await refreshWeb(token);
        assert.equal(refreshed.status, 200, `after ${elapsed + 500} s: ${JSON.stringify(refreshed.body)}`);
        token = refreshed.body.refresh_token!;
      }
      // ... but not past its absolute lifetime.
      clock.advance(500);
      assert.equal((await refreshWeb(token)).body.error, 'invalid_grant');
      const [absolute] = (await audit('session.ended')).filter((e) => e.targetId === user.id);
      assert.equal(absolute!.details.reason, 'absolute_lifetime');
    } finally {
      await admin.request('PUT', '/session-settings', { idleTimeoutSeconds: 86_400, absoluteLifetimeSeconds: 14 * 86_400 });
    }
  });

  it('applies an application’s stricter limits to that application only', async () => {
    const user = await newUser('strict');
    const browser = new HttpClient(gh.issuer);
    const onWeb = await signInWeb(user, browser);
    const onSpa = await signInSpa(user, browser);
    assert.equal((await admin.request('PUT', `/applications/${spa.clientId}/session-settings`, { idleTimeoutSeconds: 90 * 86_400, absoluteLifetimeSeconds: null })).status, 400, 'never looser than the tenant');
    assert.equal((await admin.request('PUT', `/applications/no-such-app/session-settings`, { idleTimeoutSeconds: 300, absoluteLifetimeSeconds: null })).status, 404);
    const saved = await admin.request('PUT', `/applications/${spa.clientId}/session-settings`, { idleTimeoutSeconds: 300, absoluteLifetimeSeconds: 900 });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.deepEqual((await admin.request('GET', `/applications/${spa.clientId}/session-settings`)).body, { idleTimeoutSeconds: 300, absoluteLifetimeSeconds: 900 });
    try {
      // Idle past the SPA's 5 minutes (not the tenant's day): the SPA's refresh token is refused
      // and its grant revoked; the web app in the same session carries on.
      clock.advance(301);
      assert.equal((await refreshSpa(onSpa.refreshToken)).body.error, 'invalid_grant');
      let webToken = onWeb.refreshToken;
      const refreshWebAgain = async () => {
        const refreshed = await refreshWeb(webToken);
        assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
        webToken = refreshed.body.refresh_token!;
      };
      await refreshWebAgain();
      assert.equal((await refreshSpa(onSpa.refreshToken)).body.error, 'invalid_grant', 'its grant stays revoked');
      // The session is active again (the web app used it): the SPA signs in silently.
      assert.equal(await shownLoginForm(spa.config, SPA_CALLBACK, browser), false);

      // Past the SPA's absolute lifetime (15 minutes after the sign-in), with the session kept
      // active by the web app, the SPA asks for the password again; that sign-in lets it carry
      // on in the same session.
      clock.advance(300);
      await refreshWebAgain();
      clock.advance(300);
      await refreshWebAgain();
      const started = await startAuthorization({ gatehouse: gh, config: spa.config, redirectUri: SPA_CALLBACK, scope: 'openid', browser });
      assert.equal(started.callbackUrl, undefined, 'the SPA asks for the password again');
      const { redirect } = await browser.follow(await submitLogin(browser, started.response, user.username, PASSWORD));
      assert.ok(redirect?.searchParams.get('code'), 'signed in again');
      assert.equal(await shownLoginForm(spa.config, SPA_CALLBACK, browser), false, 'the new sign-in counts for the SPA');
      assert.deepEqual(await openSessionIds(user.id), [onWeb.sid], 'still the one session');
      await refreshWebAgain();
    } finally {
      await admin.request('PUT', `/applications/${spa.clientId}/session-settings`, { idleTimeoutSeconds: null, absoluteLifetimeSeconds: null });
    }
  });

  it('ends the other sessions when the password changes (a setting, on by default), and every session when a user is deactivated, locked or deleted', async () => {
    const user = await newUser('trigger');
    const here = await signInWeb(user, new HttpClient(gh.issuer));
    const there = await signInWeb(user, new HttpClient(gh.issuer));
    await gh.context.events.emit({ type: 'user.password_changed', tenantId: gh.context.tenantId, userId: user.id, sessionUid: here.sid });
    assert.deepEqual(await openSessionIds(user.id), [here.sid], 'the session the change was made in stays');
    assert.equal((await refreshWeb(there.refreshToken)).body.error, 'invalid_grant');
    assert.equal((await refreshWeb(here.refreshToken)).status, 200);

    const settings = (await admin.request('GET', '/session-settings')).body;
    assert.equal((await admin.request('PUT', '/session-settings', { idleTimeoutSeconds: settings.idleTimeoutSeconds, absoluteLifetimeSeconds: settings.absoluteLifetimeSeconds, endSessionsOnPasswordChange: false })).status, 200);
    await gh.context.users.setPassword(user.username, `${PASSWORD}!`, SYSTEM_ACTOR);
    assert.deepEqual(await openSessionIds(user.id), [here.sid], 'with the setting off, a password change ends nothing');
    await admin.request('PUT', '/session-settings', { idleTimeoutSeconds: settings.idleTimeoutSeconds, absoluteLifetimeSeconds: settings.absoluteLifetimeSeconds });
    await gh.context.users.setPassword(user.username, PASSWORD, SYSTEM_ACTOR);
    assert.deepEqual(await openSessionIds(user.id), [], 'without a session to keep, a password change ends them all');

    const deactivated = await newUser('deact');
    const d = await signInWeb(deactivated, new HttpClient(gh.issuer));
    assert.equal((await admin.request('POST', `/users/${deactivated.id}/deactivate`, {})).status, 200);
    assert.deepEqual(await openSessionIds(deactivated.id), []);
    assert.deepEqual(await gh.context.knex('oidc_payloads').where({ model: 'Grant', account_id: deactivated.id }).select('id'), [], 'its grants are gone');
    assert.equal((await introspect(gh.issuer, web, d.accessToken)).active, false);

    const locked = await newUser('locked');
    await signInWeb(locked, new HttpClient(gh.issuer));
    await gh.context.events.emit({ type: 'user.locked', tenantId: gh.context.tenantId, userId: locked.id, until: null });
    assert.deepEqual(await openSessionIds(locked.id), []);

    const deleted = await newUser('deleted');
    const gone = await signInWeb(deleted, new HttpClient(gh.issuer));
    assert.equal((await admin.request('DELETE', `/users/${deleted.id}`)).status, 204);
    assert.equal(await gh.context.store.get(`session:${gone.sid}`), undefined, 'no hot copy outlives the user');
    assert.equal(await gh.context.store.get(`oidc:sessionUid:${gone.sid}`), undefined);
    const reasons = (await audit('session.ended'))
      .filter((e) => [deactivated.id, locked.id, deleted.id].includes(String(e.targetId)))
      .map((e) => e.details.reason)
      .sort();
    assert.deepEqual(reasons, ['user_deactivated', 'user_deleted', 'user_locked']);
  });

  it('ends the sessions and grants an identity was used in when the identity is removed', async () => {
    const user = await newUser('ident');
    const supplierId = randomUUID();
    await gh.context.knex('identities').insert({ id: supplierId, tenant_id: gh.context.tenantId, user_id: user.id, kind: 'supplier', alias: 'Supplier view' });
    const supplierApp = await gh.context.applications.create({ name: 'Supplier Portal', type: 'web', redirectUris: [WEB_CALLBACK], acceptedIdentityKinds: ['supplier'] }, SYSTEM_ACTOR);
    const supplierConfig = await discover(gh, supplierApp.application.id, supplierApp.clientSecret!);
    const asSupplier = await signIn({ gatehouse: gh, config: supplierConfig, redirectUri: WEB_CALLBACK, username: user.username, password: PASSWORD, scope: 'openid', browser: new HttpClient(gh.issuer) });
    const internalApp = await gh.context.applications.create({ name: 'Internal Portal', type: 'web', redirectUris: [WEB_CALLBACK], acceptedIdentityKinds: ['internal'] }, SYSTEM_ACTOR);
    const internalConfig = await discover(gh, internalApp.application.id, internalApp.clientSecret!);
    const asInternal = await signIn({ gatehouse: gh, config: internalConfig, redirectUri: WEB_CALLBACK, username: user.username, password: PASSWORD, scope: 'openid', browser: new HttpClient(gh.issuer) });
    const defaultIdentityId = (await gh.context.users.findById(user.id))!.defaultIdentityId;
    const sessions = (await admin.request('GET', `/users/${user.id}/sessions`)).body.items as { id: string; identity: { id: string } | null }[];
    assert.deepEqual(sessions.map((s) => s.identity?.id).sort(), [supplierId, defaultIdentityId].sort(), 'each session shows the identity in use');
    const internalSession = sessions.find((s) => s.identity?.id === defaultIdentityId)!;

    assert.equal((await admin.request('DELETE', `/identities/${supplierId}`)).status, 204);
    assert.deepEqual(await openSessionIds(user.id), [internalSession.id], 'only the session the identity was used in ends');
    assert.equal((await rawRefresh(gh.issuer, { clientId: supplierApp.application.id, clientSecret: supplierApp.clientSecret! }, asSupplier.tokens.refresh_token!)).body.error, 'invalid_grant');
    assert.equal((await rawRefresh(gh.issuer, { clientId: internalApp.application.id, clientSecret: internalApp.clientSecret! }, asInternal.tokens.refresh_token!)).status, 200);
    const [event] = (await audit('session.ended')).filter((e) => e.targetId === user.id);
    assert.equal(event!.details.reason, 'identity_removed');
  });

  it('with an application grace window, refuses a refresh token reused within it without revoking the grant, and revokes the grant after it', async () => {
    // Strict reuse detection is the default; this application opts into a 5 s window.
    await gh.context.applications.update(web.clientId, { refreshTokenReuseGraceSeconds: 5 }, SYSTEM_ACTOR);
    try {
      const user = await newUser('grace');
      const s = await signInWeb(user, new HttpClient(gh.issuer));
      // Two concurrent refreshes with the same token: exactly one rotates it.
      const [a, b] = await Promise.all([refreshWeb(s.refreshToken), refreshWeb(s.refreshToken)]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [200, 400], JSON.stringify([a.body, b.body]));
      const winner = a.status === 200 ? a : b;
      const loser = a.status === 200 ? b : a;
      assert.equal(loser.body.error, 'invalid_grant');
      // A retry moments later is refused too, and the grant survives: the newest token works.
      assert.equal((await refreshWeb(s.refreshToken)).body.error, 'invalid_grant');
      const next = await refreshWeb(winner.body.refresh_token!);
      assert.equal(next.status, 200, JSON.stringify(next.body));

      // Reuse after the window (the rotation moved 10 s into the past) is theft: the grant goes.
      const rotated = next.body.refresh_token!;
      const reused = winner.body.refresh_token!;
      // Stored under the token's keyed hash (src/oidc/hashed-ids.ts).
      const reusedRef = artefactRef(gh.context.keys.hashKey, 'RefreshToken', reused);
      assert.equal(
        await gh.context
          .knex('oidc_payloads')
          .where({ model: 'RefreshToken', id: reusedRef })
          .whereNotNull('consumed_at')
          .update({ consumed_at: gh.context.knex.raw("now() - interval '10 seconds'") }),
        1,
      );
      await gh.context.store.set(`oidc:consumed:RefreshToken:${reusedRef}`, String(Math.floor(Date.now() / 1000) - 10), 600);
      assert.equal((await refreshWeb(reused)).body.error, 'invalid_grant');
      assert.equal((await refreshWeb(rotated)).body.error, 'invalid_grant', 'the whole grant is revoked');
    } finally {
      await gh.context.applications.update(web.clientId, { refreshTokenReuseGraceSeconds: 0 }, SYSTEM_ACTOR);
    }
  });

  it('removes expired sessions in a scheduled job, once, and forgets ended records a day later', async () => {
    await admin.request('PUT', '/session-settings', { idleTimeoutSeconds: 600, absoluteLifetimeSeconds: 3600 });
    try {
      const user = await newUser('job');
      const s = await signInWeb(user, new HttpClient(gh.issuer));
      clock.advance(601);
      // Nobody uses the session again: the job finds it.
      assert.equal(await gh.context.scheduler.runIfDue('session-cleanup'), true);
      assert.equal(await gh.context.scheduler.runIfDue('session-cleanup'), false, 'the slot runs once');
      const record = await gh.context.knex('user_sessions').where({ uid: s.sid }).first();
      assert.equal(record.end_reason, 'idle_timeout');
      assert.equal(await gh.context.store.get(`session:${s.sid}`), undefined);
      assert.equal(await gh.context.knex('oidc_payloads').where({ model: 'Session', uid: s.sid }).first(), undefined, 'its oidc-provider session is gone');
      clock.advance(25 * 3600);
      const report = await gh.context.sessions.cleanup();
      assert.ok(report.removedRecords >= 1);
      assert.equal(await gh.context.knex('user_sessions').where({ uid: s.sid }).first(), undefined);
      assert.equal(await gh.context.knex('session_grants').where({ session_uid: s.sid }).first(), undefined);
    } finally {
      await admin.request('PUT', '/session-settings', { idleTimeoutSeconds: 86_400, absoluteLifetimeSeconds: 14 * 86_400 });
    }
  });

  it('rotates a refresh token for exactly one of 20 parallel refreshes, refusing the others', async () => {
    const user = await newUser('parallel');
    const s = await signInWeb(user, new HttpClient(gh.issuer));
    const warm = await refreshWeb(s.refreshToken);
    assert.equal(warm.status, 200);
    const used = warm.body.refresh_token!;
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => refreshWeb(used)));
    const won = outcomes.filter((o) => o.status === 200);
    assert.equal(won.length, 1, JSON.stringify(outcomes.map((o) => [o.status, o.body.error, o.body.error_description])));
    for (const o of outcomes.filter((o) => o.status !== 200)) assert.equal(o.body.error, 'invalid_grant');
    // A reuse revoked the grant (RFC 9700 §4.14.2): the winner's successor is refused too, and
    // no durable copy of the grant's refresh tokens is left.
    assert.equal((await refreshWeb(won[0]!.body.refresh_token!)).body.error, 'invalid_grant');
    const hashKey = gh.context.keys.hashKey;
    const rows = await gh.context.knex('oidc_payloads').whereIn('id', [artefactRef(hashKey, 'RefreshToken', used), artefactRef(hashKey, 'RefreshToken', won[0]!.body.refresh_token!)]);
    assert.deepEqual(rows, []);
  });

  it('costs two PostgreSQL writes of its own per sign-in and none per refresh within a minute', async () => {
    const user = await newUser('writes');
    const writes: string[] = [];
    const listener = (query: { sql: string }) => {
      if (/^\s*(insert|update|delete|with)\b/i.test(query.sql)) writes.push(query.sql);
    };
    gh.context.knex.on('query', listener);
    try {
      const s = await signInWeb(user, new HttpClient(gh.issuer));
      const signInWrites = writes.filter((sql) => /user_sessions|session_grants/.test(sql));
      assert.equal(signInWrites.length, 2, signInWrites.join('\n'));
      writes.length = 0;
      const refreshed = await refreshWeb(s.refreshToken);
      assert.equal(refreshed.status, 200);
      assert.deepEqual(
        writes.filter((sql) => /user_sessions|session_grants/.test(sql)),
        [],
        'activity is not written on every request',
      );
    } finally {
      gh.context.knex.off('query', listener);
    }
  });

  it('costs one PostgreSQL statement and two store calls per refresh (the session and the grant with its identity read with the token, the rotation in one statement, the writes in one batch)', async () => {
    const user = await newUser('roundtrips');
    const s = await signInWeb(user, new HttpClient(gh.issuer));
    const warm = await refreshWeb(s.refreshToken);
    assert.equal(warm.status, 200);
    const statements: string[] = [];
    const listener = (query: { sql: string }) => statements.push(query.sql);
    const calls: string[] = [];
    const store = gh.context.store as unknown as Record<string, unknown>;
    const originals = new Map<string, unknown>();
    for (const name of ['get', 'mget', 'mgetByIndex', 'mgetFollowing', 'set', 'setIfAbsent', 'setIfAbsentWithTtlOf', 'write', 'consume', 'del', 'incr', 'sadd', 'srem', 'smembers', 'ttl', 'expire']) {
      const original = store[name] as (...args: unknown[]) => unknown;
      originals.set(name, original);
      store[name] = (...args: unknown[]) => {
        calls.push(name);
        return original.apply(gh.context.store, args);
      };
    }
    const originalGet = (key: string) => (originals.get('get') as (key: string) => Promise<string | undefined>).call(gh.context.store, key);
    gh.context.knex.on('query', listener);
    try {
      const refreshed = await refreshWeb(warm.body.refresh_token!);
      assert.equal(refreshed.status, 200);
      assert.equal(statements.length, 1, statements.join('\n'));
      assert.match(statements[0]!, /^with used as \(update oidc_payloads set consumed_at/);
      // The token with its session, the session's hot copy, the grant and the grant's identity;
      // one batch with the consumed marker, the new refresh token and the access token.
      assert.deepEqual(calls, ['mgetFollowing', 'write']);
      // By the time the answer is sent, the store holds the rotation and the new token.
      const hashKey = gh.context.keys.hashKey;
      assert.ok(await originalGet(`oidc:consumed:RefreshToken:${artefactRef(hashKey, 'RefreshToken', warm.body.refresh_token!)}`), 'the consumed marker');
      assert.ok(await originalGet(`oidc:RefreshToken:${artefactRef(hashKey, 'RefreshToken', refreshed.body.refresh_token!)}`), 'the new refresh token');
    } finally {
      gh.context.knex.off('query', listener);
      for (const [name, original] of originals) store[name] = original;
    }
  });
});
