// End-to-end OpenID Connect flows against a real Gatehouse: HTTP on loopback, the real login form,
// openid-client v6 as the relying party. One server for the whole file.
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import type { AuditEvent } from '../../src/queries/audit.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { eventually } from '../helpers/assertions.ts';
import { formWith, HttpClient, textOfId } from '../helpers/http.ts';
import { authorize, discover, signIn, startAuthorization, submitLogin } from '../helpers/oidc.ts';

// Relying-party URLs: loopback, but another origin than the issuer (127.0.0.1:<port>), so the
// browser stand-in stops where a browser would hand over to the application. Nothing listens there.
const WEB_CALLBACK = 'http://localhost:8123/web/callback';
const WEB_LOGGED_OUT = 'http://localhost:8123/web/logged-out';
const SPA_CALLBACK = 'http://localhost:8124/spa/callback';
const PASSWORD = 'correct horse battery staple';

/** assert.rejects validator: an OAuth error response with this `error` (and HTTP status). */
function oauthError(code: string, status?: number) {
  return (error: unknown): true => {
    assert.ok(error instanceof client.ResponseBodyError, `expected an OAuth error response, got: ${String(error)}`);
    assert.equal(error.error, code, `error_description: ${error.error_description ?? ''}`);
    if (status !== undefined) assert.equal(error.status, status);
    return true;
  };
}

function basicAuth(clientId: string, clientSecret: string): string {
  // RFC 6749 §2.3.1: both parts form-urlencoded before base64.
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

describe(`OIDC flows end to end (${storageMode})`, function () {
  let gatehouse: TestGatehouse;
  let user: { id: string; username: string; email: string };
  let web: { clientId: string; clientSecret: string; config: client.Configuration };
  let spa: { clientId: string; config: client.Configuration };

  const auditEvents = (action: string): Promise<AuditEvent[]> => gatehouse.context.audit.list(gatehouse.context.tenantId, { action });

  before(async function () {
    gatehouse = await startTestGatehouse();
    const username = uniqueName('alice');
    const created = await gatehouse.context.users.create({ username, password: PASSWORD, email: `${username}@example.test`, name: 'Alice Example' }, SYSTEM_ACTOR);
    user = { id: created.id, username, email: `${username}@example.test` };

    const webApp = await gatehouse.context.applications.create({ name: 'E2E Web', type: 'web', redirectUris: [WEB_CALLBACK], postLogoutRedirectUris: [WEB_LOGGED_OUT], firstParty: true }, SYSTEM_ACTOR);
    assert.ok(webApp.clientSecret, 'a web application gets a client secret');
    web = { clientId: webApp.application.id, clientSecret: webApp.clientSecret, config: await discover(gatehouse, webApp.application.id, webApp.clientSecret) };

    const spaApp = await gatehouse.context.applications.create({ name: 'E2E SPA', type: 'spa', redirectUris: [SPA_CALLBACK], firstParty: true }, SYSTEM_ACTOR);
    assert.equal(spaApp.clientSecret, undefined, 'an SPA is a public client');
    spa = { clientId: spaApp.application.id, config: await discover(gatehouse, spaApp.application.id) };
  });

  after(async function () {
    await gatehouse?.close();
  });

  it('publishes a discovery document for the code flow with S256 PKCE only', async function () {
    const response = await fetch(new URL('/.well-known/openid-configuration', gatehouse.issuer));
    assert.equal(response.status, 200);
    const metadata = (await response.json()) as Record<string, unknown>;
    const issuer = gatehouse.issuer;
    assert.equal(metadata.issuer, issuer);
    assert.equal(metadata.authorization_endpoint, `${issuer}/auth`);
    assert.equal(metadata.token_endpoint, `${issuer}/token`);
    assert.equal(metadata.userinfo_endpoint, `${issuer}/me`);
    assert.equal(metadata.jwks_uri, `${issuer}/jwks`);
    assert.equal(metadata.introspection_endpoint, `${issuer}/token/introspection`);
    assert.equal(metadata.revocation_endpoint, `${issuer}/token/revocation`);
    assert.equal(metadata.end_session_endpoint, `${issuer}/session/end`);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(metadata.response_types_supported, ['code']);
    const grantTypes = metadata.grant_types_supported;
    assert.ok(Array.isArray(grantTypes), 'grant_types_supported is a list');
    for (const expected of ['authorization_code', 'refresh_token', 'client_credentials']) assert.ok(grantTypes.includes(expected), `${expected} is supported`);
    for (const refused of ['implicit', 'password']) assert.ok(!grantTypes.includes(refused), `${refused} is not supported`);
  });

  it('signs a user in to a confidential web app with code + PKCE through the login form', async function () {
    const { tokens, loginPageShown } = await signIn({ gatehouse, config: web.config, redirectUri: WEB_CALLBACK, username: user.username, password: PASSWORD, scope: 'openid profile email' });
    assert.equal(loginPageShown, true);

    // openid-client has validated the ID token's claims; check they identify the right user and parties.
    const claims = tokens.claims();
    assert.ok(claims, 'an ID token was returned');
    assert.equal(claims.sub, user.id);
    assert.equal(claims.iss, gatehouse.issuer);
    assert.ok(claims.aud === web.clientId || (Array.isArray(claims.aud) && claims.aud.includes(web.clientId)), 'the ID token is for the web app');
    // And the signature verifies against the published keys.
    assert.ok(tokens.id_token);
    const jwks = createRemoteJWKSet(new URL(`${gatehouse.issuer}/jwks`));
    const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: gatehouse.issuer, audience: web.clientId });
    assert.equal(payload.sub, user.id);

    const userinfo = await client.fetchUserInfo(web.config, tokens.access_token, user.id);
    assert.equal(userinfo.sub, user.id);
    assert.equal(userinfo.preferred_username, user.username);
    assert.equal(userinfo.email, user.email);

    const signIns = await auditEvents('user.sign_in');
    assert.ok(
      signIns.some((event) => event.result === 'success' && event.targetId === user.id && event.details.clientId === web.clientId),
      'a successful user.sign_in is audited for this user and app',
    );
  });

  it('lets an SPA (public client) use code + PKCE and rotates refresh tokens with strict reuse detection', async function () {
    const { tokens } = await signIn({ gatehouse, config: spa.config, redirectUri: SPA_CALLBACK, username: user.username, password: PASSWORD, scope: 'openid profile' });
    assert.equal(tokens.claims()?.sub, user.id);
    const first = tokens.refresh_token;
    assert.ok(first, 'the SPA gets a refresh token');

    const refreshed = await client.refreshTokenGrant(spa.config, first);
    const second = refreshed.refresh_token;
    assert.ok(second, 'refreshing returns a new refresh token');
    assert.notEqual(second, first, 'the refresh token rotates');
    assert.ok(refreshed.access_token);

    // Replaying the old refresh token, even moments after the rotation, is taken as theft: it is
    // refused and the whole grant is revoked, so whoever refreshed first loses the new token too
    // (RFC 9700 §4.14.2; an application may opt into a grace window, test/integration/sessions.test.ts).
    await assert.rejects(client.refreshTokenGrant(spa.config, first), oauthError('invalid_grant', 400));
    await assert.rejects(client.refreshTokenGrant(spa.config, second), oauthError('invalid_grant', 400));
  });

  it('refuses a public client authorization request without S256 PKCE', async function () {
    const browser = new HttpClient(gatehouse.issuer);
    const state = client.randomState();

    const withoutChallenge = client.buildAuthorizationUrl(spa.config, { redirect_uri: SPA_CALLBACK, scope: 'openid', state });
    const refused = await browser.get(withoutChallenge);
    assert.equal(refused.status, 303);
    assert.ok(refused.location, 'the error goes back to the app');
    assert.equal(refused.location.origin + refused.location.pathname, SPA_CALLBACK);
    assert.equal(refused.location.searchParams.get('error'), 'invalid_request');
    assert.match(refused.location.searchParams.get('error_description') ?? '', /PKCE/);
    assert.equal(refused.location.searchParams.get('state'), state);
    assert.equal(refused.location.searchParams.get('iss'), gatehouse.issuer);
    assert.equal(refused.location.searchParams.get('code'), null);

    const verifier = client.randomPKCECodeVerifier();
    const plain = client.buildAuthorizationUrl(spa.config, { redirect_uri: SPA_CALLBACK, scope: 'openid', state, code_challenge: verifier, code_challenge_method: 'plain' });
    const refusedPlain = await browser.get(plain);
    assert.equal(refusedPlain.status, 303);
    assert.ok(refusedPlain.location);
    assert.equal(refusedPlain.location.origin + refusedPlain.location.pathname, SPA_CALLBACK);
    assert.equal(refusedPlain.location.searchParams.get('error'), 'invalid_request');
    assert.match(refusedPlain.location.searchParams.get('error_description') ?? '', /code_challenge_method/);
    assert.equal(refusedPlain.location.searchParams.get('code'), null);
    assert.deepEqual(
      browser.jar.names().filter((name) => name.startsWith('_interaction')),
      [],
      'no sign-in was started',
    );
  });

  it('never redirects to an unregistered redirect_uri', async function () {
    const browser = new HttpClient(gatehouse.issuer);
    const attacker = 'https://attacker.example/callback';
    const url = client.buildAuthorizationUrl(web.config, {
      redirect_uri: attacker,
      scope: 'openid',
      state: client.randomState(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const response = await browser.get(url);
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('location'), null);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(response.body, /redirect_uri did not match any of the client(&#39;|'|&#x27;)s registered redirect_uris/);
    assert.ok(!response.body.includes('attacker.example'), 'the page does not link to the unregistered URI');
  });

  it('issues client-credentials JWT access tokens for a registered API and rejects a wrong secret', async function () {
    const resource = `${gatehouse.issuer}/${uniqueName('test-api')}`;
    await gatehouse.context.apiResources.upsert({ identifier: resource, name: 'Test API', scopes: ['things:read'], accessTokenFormat: 'jwt' }, SYSTEM_ACTOR);
    const service = await gatehouse.context.applications.create({ name: 'E2E Service', type: 'service', redirectUris: [], postLogoutRedirectUris: [], firstParty: true }, SYSTEM_ACTOR);
    assert.ok(service.clientSecret);
    const config = await discover(gatehouse, service.application.id, service.clientSecret);

    const tokens = await client.clientCredentialsGrant(config, { scope: 'things:read', resource });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.refresh_token, undefined, 'no refresh token for client credentials');
    assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
    const jwks = createRemoteJWKSet(new URL(`${gatehouse.issuer}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: gatehouse.issuer, audience: resource, typ: 'at+jwt' });
    assert.equal(payload.client_id, service.application.id);
    assert.equal(payload.scope, 'things:read');

    const wrong = await discover(gatehouse, service.application.id, `${service.clientSecret.slice(0, -4)}XXXX`);
    // RFC 6749 §5.2: a client that authenticated with the Authorization header gets a 401 with a
    // Basic challenge, which openid-client reports as such (not as a plain error body).
    await assert.rejects(client.clientCredentialsGrant(wrong, { scope: 'things:read', resource }), (error: unknown): true => {
      assert.ok(error instanceof client.WWWAuthenticateChallengeError, `expected a WWW-Authenticate challenge, got: ${String(error)}`);
      assert.equal(error.status, 401);
      const challenge = error.cause.find((c) => c.scheme === 'basic');
      assert.ok(challenge, 'a Basic challenge');
      assert.equal(challenge.parameters.error, 'invalid_client');
      return true;
    });
  });

  it('issues client-credentials tokens to a service application whose client_id is not a uuid', async function () {
    // Service accounts' client_ids are uuids; an application may choose any client_id. Telling
    // the two apart must not send a non-uuid to a uuid column (that answered 500).
    const resource = `${gatehouse.issuer}/${uniqueName('named-api')}`;
    await gatehouse.context.apiResources.upsert({ identifier: resource, name: 'Named API', scopes: ['things:read'], accessTokenFormat: 'jwt' }, SYSTEM_ACTOR);
    const clientId = uniqueName('named-service');
    const service = await gatehouse.context.applications.create({ name: 'E2E Named Service', type: 'service', clientId, redirectUris: [], postLogoutRedirectUris: [], firstParty: true }, SYSTEM_ACTOR);
    assert.ok(service.clientSecret);
    const tokens = await client.clientCredentialsGrant(await discover(gatehouse, clientId, service.clientSecret), { scope: 'things:read', resource });
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.client_id, clientId);
    assert.equal(claims.identity, undefined, 'an application is not a service account: no identity claims');
  });

  it('introspects an opaque access token as active until it is revoked', async function () {
    const { tokens } = await signIn({ gatehouse, config: web.config, redirectUri: WEB_CALLBACK, username: user.username, password: PASSWORD, scope: 'openid profile email' });
    const accessToken = tokens.access_token;
    assert.throws(() => decodeJwt(accessToken), 'without a resource the access token is opaque');

    const active = await client.tokenIntrospection(web.config, accessToken);
    assert.equal(active.active, true);
    assert.equal(active.client_id, web.clientId);
    assert.equal(active.sub, user.id);
    assert.ok(String(active.scope).split(' ').includes('openid'));

    await client.tokenRevocation(web.config, accessToken);

    const revoked = await client.tokenIntrospection(web.config, accessToken);
    assert.equal(revoked.active, false);
    assert.equal(revoked.sub, undefined, 'an inactive token reveals nothing');
    await assert.rejects(client.fetchUserInfo(web.config, accessToken, user.id), (error: unknown): true => {
      assert.ok(error instanceof client.WWWAuthenticateChallengeError, `expected a WWW-Authenticate challenge, got: ${String(error)}`);
      assert.equal(error.status, 401);
      assert.equal(error.cause[0]?.parameters.error, 'invalid_token');
      return true;
    });
  });

  it('signs the user out through RP-initiated logout and asks for the password again', async function () {
    const browser = new HttpClient(gatehouse.issuer);
    const signedIn = await signIn({ gatehouse, config: web.config, redirectUri: WEB_CALLBACK, username: user.username, password: PASSWORD, scope: 'openid profile', browser });
    assert.ok(signedIn.tokens.id_token);
    const refreshToken = signedIn.tokens.refresh_token;
    assert.ok(refreshToken);

    // While the session lasts, a new authorization request goes straight back to the app.
    const again = await startAuthorization({ gatehouse, config: web.config, redirectUri: WEB_CALLBACK, scope: 'openid', browser });
    assert.ok(again.callbackUrl?.searchParams.get('code'), 'signed in silently while the session lasts');

    const logoutState = client.randomState();
    const endSession = client.buildEndSessionUrl(web.config, { id_token_hint: signedIn.tokens.id_token, post_logout_redirect_uri: WEB_LOGGED_OUT, state: logoutState });
    const confirmPage = await browser.get(endSession);
    assert.equal(confirmPage.status, 200);
    assert.match(confirmPage.headers.get('content-type') ?? '', /^text\/html/);
    const form = formWith(confirmPage, 'xsrf');
    assert.equal(form.method, 'POST');
    assert.ok(form.fields.xsrf, 'the confirm form carries an xsrf token');

    const confirmed = await browser.postForm(form.action, { xsrf: form.fields.xsrf, logout: 'yes' });
    assert.equal(confirmed.status, 303);
    assert.ok(confirmed.location);
    assert.equal(confirmed.location.origin + confirmed.location.pathname, WEB_LOGGED_OUT);
    assert.equal(confirmed.location.searchParams.get('state'), logoutState);

    await eventually(async () => (await auditEvents('user.signed_out')).find((event) => event.targetId === user.id && event.details.clientId === web.clientId), 'a user.signed_out audit event');

    // Signing out of Gatehouse ended the web app's grant (it did not ask for offline_access).
    await assert.rejects(client.refreshTokenGrant(web.config, refreshToken), oauthError('invalid_grant', 400));

    // No session any more: the next authorization request shows the login form again.
    const next = await startAuthorization({ gatehouse, config: web.config, redirectUri: WEB_CALLBACK, scope: 'openid', browser });
    assert.equal(next.callbackUrl, undefined, 'no silent sign-in after logout');
    assert.equal(next.response.status, 200);
    assert.ok(formWith(next.response, 'password'), 'the login form is shown');
  });

  it('redeems an authorization code exactly once under 20 parallel attempts and then revokes its tokens', async function () {
    const { code, codeVerifier } = await authorize({ gatehouse, config: web.config, redirectUri: WEB_CALLBACK, username: user.username, password: PASSWORD, scope: 'openid profile' });
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: WEB_CALLBACK, code_verifier: codeVerifier }).toString();
    const headers = { authorization: basicAuth(web.clientId, web.clientSecret), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };

    const attempts = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const response = await fetch(`${gatehouse.issuer}/token`, { method: 'POST', headers, body });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      }),
    );
    const winners = attempts.filter((attempt) => attempt.status === 200);
    const losers = attempts.filter((attempt) => attempt.status !== 200);
    assert.equal(winners.length, 1, `exactly one redemption succeeds; statuses: ${attempts.map((a) => a.status).join(',')}`);
    assert.equal(losers.length, 19);
    for (const loser of losers) {
      assert.equal(loser.status, 400);
      assert.equal(loser.body.error, 'invalid_grant');
    }

    // A replayed code means it leaked: the tokens of the successful redemption are revoked too.
    const won = winners[0]?.body ?? {};
    assert.equal(typeof won.access_token, 'string');
    assert.equal(typeof won.refresh_token, 'string');
    const introspected = await client.tokenIntrospection(web.config, String(won.access_token));
    assert.equal(introspected.active, false);
    await assert.rejects(client.refreshTokenGrant(web.config, String(won.refresh_token)), oauthError('invalid_grant', 400));
  });

  it('answers a wrong password and an unknown user identically and audits both failures', async function () {
    const unknownUsername = uniqueName('nobody');
    const attempt = async (username: string, password: string) => {
      const started = await startAuthorization({ gatehouse, config: web.config, redirectUri: WEB_CALLBACK, scope: 'openid' });
      assert.equal(started.response.status, 200, 'the login page is shown');
      const page = await submitLogin(started.browser, started.response, username, password);
      return { page, started };
    };

    const wrongPassword = await attempt(user.username, `${PASSWORD}!`);
    const unknownUser = await attempt(unknownUsername, PASSWORD);

    assert.equal(wrongPassword.page.status, 401);
    assert.equal(unknownUser.page.status, wrongPassword.page.status);
    assert.equal(wrongPassword.page.location, undefined, 'no redirect back to the app');
    assert.equal(textOfId(wrongPassword.page.body, 'login-error'), 'Invalid username or password.');
    assert.equal(textOfId(unknownUser.page.body, 'login-error'), textOfId(wrongPassword.page.body, 'login-error'));
    // The page is the login form again, ready for another try.
    assert.ok(formWith(wrongPassword.page, 'password'));
    assert.ok(formWith(unknownUser.page, 'password'));

    const failures = (await auditEvents('user.sign_in')).filter((event) => event.result === 'failure');
    assert.ok(
      failures.some((event) => event.details.username === user.username && event.details.clientId === web.clientId),
      'the wrong password is audited',
    );
    assert.ok(
      failures.some((event) => event.details.username === unknownUsername),
      'the unknown user is audited',
    );
  });
});
