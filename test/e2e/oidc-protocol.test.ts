// Protocol behaviour that relying-party libraries depend on: answering the application when the
// user has no access, eligibility re-checked on refresh/userinfo/introspection, token scopes
// narrowed to permissions, JWT introspection, POST on /auth and /session/end, the revocation
// response oidc-client-ts accepts, discovery metadata and sid, and the per-application refresh
// reuse grace window. openid-client v6 and oidc-client-ts play the relying party.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { InMemoryWebStorage, User, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { createApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { formWith, HttpClient, parseForms } from '../helpers/http.ts';
import { discover, signIn, startAuthorization, submitLogin } from '../helpers/oidc.ts';

const CALLBACK = 'http://localhost:8131/cb';
const LOGGED_OUT = 'http://localhost:8131/logged-out';
const SPA_CALLBACK = 'http://localhost:8132/cb';
const PASSWORD = 'correct horse battery staple';

function oauthError(code: string) {
  return (error: unknown): true => {
    assert.ok(error instanceof client.ResponseBodyError, `expected an OAuth error response, got: ${String(error)}`);
    assert.equal(error.error, code, `error_description: ${error.error_description ?? ''}`);
    return true;
  };
}

describe(`OIDC protocol behaviour (${storageMode})`, function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  const newUser = async (prefix: string) => {
    const username = uniqueName(prefix);
    const user = await gh.context.users.create({ username, password: PASSWORD }, SYSTEM_ACTOR);
    const identity: { id: string } = await gh.context.knex('identities').where({ user_id: user.id }).first('id');
    return { id: user.id, username, identityId: identity.id };
  };
  const webApp = async (options: { firstParty?: boolean; acceptedIdentityKinds?: string[] } = {}) => {
    const created = await gh.context.applications.create(
      { name: uniqueName('proto-web'), type: 'web', redirectUris: [CALLBACK], postLogoutRedirectUris: [LOGGED_OUT], firstParty: options.firstParty ?? true, acceptedIdentityKinds: options.acceptedIdentityKinds },
      SYSTEM_ACTOR,
    );
    return { clientId: created.application.id, config: await discover(gh, created.application.id, created.clientSecret!) };
  };

  before(async function () {
    gh = await startTestGatehouse();
  });
  after(async () => gh?.close());

  describe('1. no eligible identity answers the application', function () {
    it('shows the explanation with "Return to <app>", which redirects with access_denied and the state', async function () {
      const user = await newUser('no-access');
      const app = await webApp({ acceptedIdentityKinds: ['client'] });
      const started = await startAuthorization({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, scope: 'openid' });
      const { response: page } = await started.browser.follow(await submitLogin(started.browser, started.response, user.username, PASSWORD));
      assert.equal(page.status, 403);
      assert.match(page.body, /You have no access to this application/);
      const forms = parseForms(page);
      const back = forms.find((f) => f.action.pathname.endsWith('/no-access'));
      assert.ok(back, 'a "Return to" form');
      assert.ok(
        forms.some((f) => f.action.pathname.endsWith('/switch-account')),
        'a "Use another account" form',
      );

      const { redirect } = await started.browser.follow(await started.browser.postForm(back.action, back.fields));
      assert.ok(redirect, 'the browser goes back to the application');
      assert.equal(redirect.origin + redirect.pathname, CALLBACK);
      // openid-client checks the state and issuer of the error response and reports the error.
      await assert.rejects(client.authorizationCodeGrant(app.config, redirect, { pkceCodeVerifier: started.codeVerifier, expectedState: started.state }), (error: unknown) => {
        assert.ok(error instanceof client.AuthorizationResponseError, String(error));
        assert.equal(error.error, 'access_denied');
        return true;
      });
    });

    it('"Use another account" asks for a sign-in again and lets an eligible user in', async function () {
      const user = await newUser('no-access-switch');
      const other = await newUser('switch-to');
      const clientIdentity = randomUUID();
      await gh.context.knex('identities').insert({ id: clientIdentity, tenant_id: gh.context.tenantId, user_id: other.id, kind: 'client', alias: 'ROOM' });
      const app = await webApp({ acceptedIdentityKinds: ['client'] });
      const started = await startAuthorization({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, scope: 'openid' });
      const { response: page } = await started.browser.follow(await submitLogin(started.browser, started.response, user.username, PASSWORD));
      const switchForm = parseForms(page).find((f) => f.action.pathname.endsWith('/switch-account'));
      assert.ok(switchForm);
      const { response: login } = await started.browser.follow(await started.browser.postForm(switchForm.action, switchForm.fields));
      assert.ok(formWith(login, 'password'), 'the login form is shown again');
      let { redirect, response: last } = await started.browser.follow(await submitLogin(started.browser, login, other.username, PASSWORD));
      // Another user signed in: oidc-provider first ends the old user's session with a form the
      // browser submits by itself (a script), then goes on with the authorization request.
      if (!redirect) {
        const endOld = formWith(last, 'xsrf');
        assert.equal(endOld.action.pathname, '/session/end/confirm');
        ({ redirect, response: last } = await started.browser.follow(await started.browser.postForm(endOld.action, endOld.fields)));
      }
      assert.ok(redirect, `${last.status} ${last.url.href} ${last.body.slice(0, 1500)}`);
      const tokens = await client.authorizationCodeGrant(app.config, redirect, { pkceCodeVerifier: started.codeVerifier, expectedState: started.state });
      assert.equal(tokens.claims()?.sub, other.id);
    });

    it('with prompt=none answers access_denied, and login_required when an identity must be chosen', async function () {
      const user = await newUser('prompt-none');
      const supplier = randomUUID();
      await gh.context.knex('identities').insert({ id: supplier, tenant_id: gh.context.tenantId, user_id: user.id, kind: 'supplier', alias: 'Acme' });
      const open = await webApp();
      const clientsOnly = await webApp({ acceptedIdentityKinds: ['client'] });
      const anyKind = await webApp();
      // A session: sign in to `open` (choosing the internal identity).
      const browser = new HttpClient(gh.issuer);
      const started = await startAuthorization({ gatehouse: gh, config: open.config, redirectUri: CALLBACK, scope: 'openid', browser });
      const chooser = (await browser.follow(await submitLogin(browser, started.response, user.username, PASSWORD))).response;
      const form = formWith(chooser, 'identity_id');
      assert.ok((await browser.follow(await browser.postForm(form.action, { ...form.fields, identity_id: user.identityId }))).redirect);

      const silent = async (config: client.Configuration) => (await startAuthorization({ gatehouse: gh, config, redirectUri: CALLBACK, scope: 'openid', browser, extraParams: { prompt: 'none' } })).callbackUrl;
      const denied = await silent(clientsOnly.config);
      assert.equal(denied?.searchParams.get('error'), 'access_denied');
      const choose = await silent(anyKind.config);
      assert.equal(choose?.searchParams.get('error'), 'login_required');
    });
  });

  describe('2. refresh, userinfo and introspection re-check eligibility', function () {
    it('a refresh after the application stops accepting the identity kind is refused and the grant revoked', async function () {
      const user = await newUser('kind-change');
      const app = await webApp();
      const { tokens } = await signIn({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, username: user.username, password: PASSWORD, scope: 'openid' });
      const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token!);
      await gh.context.applications.update(app.clientId, { acceptedIdentityKinds: ['client'] }, SYSTEM_ACTOR);
      await assert.rejects(client.refreshTokenGrant(app.config, refreshed.refresh_token!), oauthError('invalid_grant'));
      // Revoked, not only refused: accepting the kind again does not bring the grant back.
      await gh.context.applications.update(app.clientId, { acceptedIdentityKinds: null }, SYSTEM_ACTOR);
      await assert.rejects(client.refreshTokenGrant(app.config, refreshed.refresh_token!), oauthError('invalid_grant'));
      assert.equal((await client.tokenIntrospection(app.config, refreshed.access_token)).active, false);
    });

    it('userinfo and introspection of an opaque token stop when the user leaves the access list', async function () {
      const user = await newUser('access-list');
      const app = await webApp();
      await gh.context.applications.setAccess(app.clientId, { accessMode: 'restricted', users: [user.id] }, SYSTEM_ACTOR);
      const { tokens } = await signIn({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, username: user.username, password: PASSWORD, scope: 'openid' });
      assert.equal((await client.fetchUserInfo(app.config, tokens.access_token, user.id)).sub, user.id);
      assert.equal((await client.tokenIntrospection(app.config, tokens.refresh_token!)).active, true);
      await gh.context.applications.setAccess(app.clientId, { accessMode: 'restricted', users: [] }, SYSTEM_ACTOR);
      assert.equal((await client.tokenIntrospection(app.config, tokens.refresh_token!)).active, false);
      await assert.rejects(client.fetchUserInfo(app.config, tokens.access_token, user.id));
      await assert.rejects(client.refreshTokenGrant(app.config, tokens.refresh_token!), oauthError('invalid_grant'));
      // The revocation is audited: whose grant, for which application, and why.
      const revoked = await gh.context.audit.list(gh.context.tenantId, { action: 'grant.revoked', targetId: user.id });
      assert.ok(revoked.length >= 1, 'the revocation is audited');
      assert.deepEqual({ ...revoked[0]!.details, grantId: undefined }, { grantId: undefined, clientId: app.clientId, reason: 'no_longer_eligible' });
      assert.equal(revoked[0]!.actorType, 'system');
    });
  });

  describe('3 and 4. resource scopes follow permissions; JWT access tokens are introspectable', function () {
    let resource: string;
    let jack: Awaited<ReturnType<typeof newUser>>;
    before(async function () {
      resource = `${gh.issuer}/${uniqueName('bookings')}`;
      await gh.context.apiResources.upsert({ identifier: resource, name: 'Bookings', scopes: ['bookings:read', 'bookings:create'], accessTokenFormat: 'jwt' }, SYSTEM_ACTOR);
      jack = await newUser('jack');
      const roleId = randomUUID();
      const { knex, tenantId } = gh.context;
      await knex('roles').insert({ id: roleId, tenant_id: tenantId, name: uniqueName('booking-client') });
      await knex('role_permissions').insert({ tenant_id: tenantId, role_id: roleId, resource, permission: 'bookings:read' });
      await knex('identity_roles').insert({ tenant_id: tenantId, identity_id: jack.identityId, role_id: roleId });
      await gh.context.authorization.invalidateAll();
    });

    it('a first-party application gets only the scopes the identity holds, on issue and on refresh', async function () {
      const app = await webApp();
      const { tokens } = await signIn({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, username: jack.username, password: PASSWORD, scope: 'openid bookings:read bookings:create', resource });
      const claims = decodeJwt(tokens.access_token);
      assert.equal(claims.scope, 'bookings:read');
      assert.deepEqual(claims.permissions, ['bookings:read']);
      const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token!, { resource });
      assert.equal(decodeJwt(refreshed.access_token).scope, 'bookings:read');
    });

    it('a third-party application too, after consent', async function () {
      const app = await webApp({ firstParty: false });
      const started = await startAuthorization({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, scope: 'openid bookings:read bookings:create', resource });
      const { response: consent } = await started.browser.follow(await submitLogin(started.browser, started.response, jack.username, PASSWORD));
      const confirm = parseForms(consent).find((f) => f.action.pathname.endsWith('/confirm'));
      assert.ok(confirm, 'the consent page');
      const { redirect } = await started.browser.follow(await started.browser.postForm(confirm.action, confirm.fields));
      assert.ok(redirect);
      const tokens = await client.authorizationCodeGrant(app.config, redirect, { pkceCodeVerifier: started.codeVerifier, expectedState: started.state }, { resource });
      assert.equal(decodeJwt(tokens.access_token).scope, 'bookings:read');
    });

    it('introspects a JWT access token: active with its claims, inactive once its session ends or when forged', async function () {
      const app = await webApp();
      const browser = new HttpClient(gh.issuer);
      const { tokens } = await signIn({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, username: jack.username, password: PASSWORD, scope: 'openid bookings:read', resource, browser });
      const active = await client.tokenIntrospection(app.config, tokens.access_token);
      assert.equal(active.active, true);
      assert.equal(active.sub, jack.id);
      assert.equal(active.client_id, app.clientId);
      assert.equal(active.scope, 'bookings:read');
      assert.equal(active.aud, resource);

      const [header, payload] = tokens.access_token.split('.');
      const forged = `${header}.${payload}.${Buffer.from('not a signature').toString('base64url')}`;
      assert.equal((await client.tokenIntrospection(app.config, forged)).active, false);

      const sid = decodeJwt(tokens.access_token).sid as string;
      await gh.context.sessions.endOne(sid, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
      assert.equal((await client.tokenIntrospection(app.config, tokens.access_token)).active, false);
    });
  });

  describe('5. POST on the authorization and logout endpoints', function () {
    it('signs in through POST /auth and signs out through POST /session/end', async function () {
      const user = await newUser('post');
      const app = await webApp();
      const browser = new HttpClient(gh.issuer);
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(app.config, { redirect_uri: CALLBACK, scope: 'openid', state, code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256' });
      const posted = await browser.postForm(new URL(url.pathname, gh.issuer), url.searchParams);
      assert.notEqual(posted.status, 404);
      const { response: login } = await browser.follow(posted);
      const { redirect } = await browser.follow(await submitLogin(browser, login, user.username, PASSWORD));
      assert.ok(redirect);
      const tokens = await client.authorizationCodeGrant(app.config, redirect, { pkceCodeVerifier: codeVerifier, expectedState: state });
      assert.equal(tokens.claims()?.sub, user.id);

      const logout = client.buildEndSessionUrl(app.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: LOGGED_OUT, state });
      const { response: confirm } = await browser.follow(await browser.postForm(new URL(logout.pathname, gh.issuer), logout.searchParams));
      assert.equal(confirm.status, 200);
      const form = formWith(confirm, 'xsrf');
      const done = await browser.postForm(form.action, { xsrf: form.fields.xsrf!, logout: 'yes' });
      assert.equal(done.location?.origin + (done.location?.pathname ?? ''), LOGGED_OUT);
    });
  });

  describe('5. POST behind an https issuer', function () {
    it('is answered by oidc-provider itself, and the session cookie it sets is SameSite=None; Secure', async function () {
      this.timeout(240_000); // a second Gatehouse starts (embedded: a second PGlite)
      // A free port, so the https issuer (behind a trusted proxy, X-Forwarded-Proto) can name it.
      const port = await new Promise<number>((resolve) => {
        const probe = net.createServer().listen(0, '127.0.0.1', () => {
          const { port: free } = probe.address() as net.AddressInfo;
          probe.close(() => resolve(free));
        });
      });
      const secure = await startTestGatehouse({ PORT: String(port), GATEHOUSE_ISSUER: `https://127.0.0.1:${port}`, GATEHOUSE_TRUST_PROXY: 'true' });
      try {
        const user = await secure.context.users.create({ username: uniqueName('https'), password: PASSWORD }, SYSTEM_ACTOR);
        const created = await secure.context.applications.create({ name: 'https web', type: 'web', redirectUris: ['https://rp.example/cb'], firstParty: true }, SYSTEM_ACTOR);
        const base = `http://127.0.0.1:${port}`;
        const cookies = new Map<string, string>();
        const send = async (path: string, init: RequestInit = {}) => {
          const response = await fetch(base + path, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), 'x-forwarded-proto': 'https', cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
          for (const line of response.headers.getSetCookie()) {
            const [pair] = line.split(';');
            const [name, value] = pair!.split('=');
            cookies.set(name!, value ?? '');
          }
          return response;
        };
        const params = new URLSearchParams({
          client_id: created.application.id,
          response_type: 'code',
          redirect_uri: 'https://rp.example/cb',
          scope: 'openid',
          state: 's1',
          code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
        });
        const posted = await send('/auth', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: params.toString() });
        assert.equal(posted.status, 303);
        const interaction = new URL(posted.headers.get('location')!, base);
        assert.match(interaction.pathname, /^\/interaction\//, 'straight to the sign-in, not a 303 to GET /auth');
        const login = await send(interaction.pathname + '/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username: user.username, password: PASSWORD }).toString() });
        const resumed = await send(new URL(login.headers.get('location')!, base).pathname, {});
        const sessionCookie = resumed.headers.getSetCookie().find((c) => c.startsWith('_session='));
        assert.ok(sessionCookie, `a session cookie (${resumed.status})`);
        assert.match(sessionCookie, /samesite=none/i);
        assert.match(sessionCookie, /;\s*secure/i);
      } finally {
        await secure.close();
      }
    });
  });

  describe('6. revocation', function () {
    it('answers 200 with an empty body and no text/plain content type, which oidc-client-ts revokeTokens() accepts', async function () {
      const user = await newUser('revoke');
      const created = await gh.context.applications.create({ name: uniqueName('proto-spa'), type: 'spa', redirectUris: [SPA_CALLBACK], firstParty: true }, SYSTEM_ACTOR);
      const clientId = created.application.id;
      const config = await discover(gh, clientId);
      const { tokens } = await signIn({ gatehouse: gh, config, redirectUri: SPA_CALLBACK, username: user.username, password: PASSWORD, scope: 'openid' });

      // oidc-client-ts runs in node when its stores are in memory and the session monitor is off.
      const store = new WebStorageStateStore({ store: new InMemoryWebStorage() });
      const manager = new UserManager({ authority: gh.issuer, client_id: clientId, redirect_uri: SPA_CALLBACK, userStore: store, stateStore: store, automaticSilentRenew: false, monitorSession: false });
      await manager.storeUser(new User({ access_token: tokens.access_token, refresh_token: tokens.refresh_token, id_token: tokens.id_token, token_type: 'Bearer', profile: { sub: user.id, iss: gh.issuer, aud: clientId, exp: 0, iat: 0 } }));
      await manager.revokeTokens(['access_token', 'refresh_token']);

      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!), oauthError('invalid_grant'));
    });
  });

  describe('7. discovery and sid', function () {
    it('lists the introspection and revocation client authentication methods', async function () {
      const metadata = (await (await fetch(new URL('/.well-known/openid-configuration', gh.issuer))).json()) as Record<string, unknown>;
      for (const field of ['introspection_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported']) {
        assert.deepEqual(metadata[field], metadata.token_endpoint_auth_methods_supported, field);
      }
    });

    it('puts sid in every ID token, also for an application without a back-channel logout URI', async function () {
      const user = await newUser('sid');
      const app = await webApp();
      const { tokens } = await signIn({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, username: user.username, password: PASSWORD, scope: 'openid' });
      const sid = tokens.claims()?.sid;
      assert.equal(typeof sid, 'string');
      const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token!);
      assert.equal(refreshed.claims()?.sid, sid);
    });
  });

  describe('8. refresh reuse grace window', function () {
    it('is strict by default and an explicit, validated per-application setting of the admin API', async function () {
      const admin = await createApiCaller(gh, { permissions: ['applications:read', 'applications:update', 'applications:create'] });
      const app = await webApp();
      const shown = await admin.request('GET', `/applications/${app.clientId}`);
      assert.equal(shown.status, 200, JSON.stringify(shown.body));
      assert.equal(shown.body.refreshTokenReuseGraceSeconds, 0);
      for (const bad of [61, -1, 2.5, '5']) {
        const refused = await admin.request('PATCH', `/applications/${app.clientId}`, { refreshTokenReuseGraceSeconds: bad });
        assert.equal(refused.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(refused.body)}`);
      }
      const set = await admin.request('PATCH', `/applications/${app.clientId}`, { refreshTokenReuseGraceSeconds: 5 });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.equal(set.body.refreshTokenReuseGraceSeconds, 5);

      // Strict by default: a second use of a refresh token revokes the family at once.
      const user = await newUser('strict');
      const strict = await webApp();
      const { tokens } = await signIn({ gatehouse: gh, config: strict.config, redirectUri: CALLBACK, username: user.username, password: PASSWORD, scope: 'openid' });
      const rotated = await client.refreshTokenGrant(strict.config, tokens.refresh_token!);
      await assert.rejects(client.refreshTokenGrant(strict.config, tokens.refresh_token!), oauthError('invalid_grant'));
      await assert.rejects(client.refreshTokenGrant(strict.config, rotated.refresh_token!), oauthError('invalid_grant'));

      // With the window, an immediate repeat is refused but the newest token still works.
      const { tokens: graced } = await signIn({ gatehouse: gh, config: app.config, redirectUri: CALLBACK, username: user.username, password: PASSWORD, scope: 'openid' });
      const next = await client.refreshTokenGrant(app.config, graced.refresh_token!);
      await assert.rejects(client.refreshTokenGrant(app.config, graced.refresh_token!), oauthError('invalid_grant'));
      assert.ok((await client.refreshTokenGrant(app.config, next.refresh_token!)).access_token);
    });
  });
});
