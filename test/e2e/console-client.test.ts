// The admin console's built-in client: a first-party public client (authorization code + PKCE,
// refresh tokens rotated on use) whose access tokens reach the admin API, and whose caller
// route tells the console what to show.
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { CONSOLE_CLIENT_ID } from '../../src/services/applications.ts';
import { AppError } from '../../src/services/errors.ts';
import { createApiCaller, apiRequest } from '../helpers/admin-api.ts';
import { startTestGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { discover, signIn, startAuthorization } from '../helpers/oidc.ts';

describe('the console client', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;

  // Strict reuse detection (the default): a rotated refresh token is refused at once.
  before(async () => (gh = await startTestGatehouse()));
  after(async () => gh?.close());

  it('is created at start as a public client redirecting to /console/callback, out of reach of the API', async () => {
    const app = await gh.context.applications.findById(CONSOLE_CLIENT_ID);
    assert.equal(app?.type, 'spa');
    assert.equal(app?.clientSecretHash, null);
    assert.deepEqual(app?.redirectUris, [`${gh.issuer}/console/callback`]);
    const refused = (error: unknown) => error instanceof AppError && error.code === 'application.built_in';
    await assert.rejects(gh.context.applications.update(CONSOLE_CLIENT_ID, { redirectUris: ['https://evil.example/cb'] }, SYSTEM_ACTOR), refused);
    await assert.rejects(gh.context.applications.remove(CONSOLE_CLIENT_ID, SYSTEM_ACTOR), refused);
  });

  it('refuses a redirect URI other than its own', async () => {
    const config = await discover(gh, CONSOLE_CLIENT_ID);
    const started = await startAuthorization({ gatehouse: gh, config, redirectUri: 'https://evil.example/console/callback', scope: 'openid admin' });
    assert.equal(started.callbackUrl, undefined);
    assert.equal(started.response.status, 400);
    assert.match(started.response.body, /redirect_uri/);
  });

  it('signs an administrator in with PKCE, its token reaches the admin API and tells who calls; refresh tokens rotate', async () => {
    // A caller made through another client gives us a user with users:read and its password.
    const admin = await createApiCaller(gh, { permissions: ['users:list', 'users:read'] });
    const password = await setPassword(admin.username);
    const config = await discover(gh, CONSOLE_CLIENT_ID);
    const resource = `${gh.issuer}/api`;
    const { tokens } = await signIn({ gatehouse: gh, config, redirectUri: `${gh.issuer}/console/callback`, username: admin.username, password, scope: 'openid admin', resource });
    const me = await apiRequest(gh, tokens.access_token, 'GET', '/me/permissions');
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.permissions, ['users:list', 'users:read']);
    assert.equal(me.body.username, admin.username);
    assert.equal(me.body.identity.id, admin.identityId);
    assert.equal((await apiRequest(gh, tokens.access_token, 'GET', '/users')).status, 200);
    assert.equal((await apiRequest(gh, tokens.access_token, 'GET', '/roles')).status, 403);

    assert.ok(tokens.refresh_token, 'a refresh token is issued to the console');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, { resource });
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'the refresh token is rotated');
    assert.equal((await apiRequest(gh, refreshed.access_token, 'GET', '/me/permissions')).status, 200);
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token, { resource }), (error: { error?: string }) => error.error === 'invalid_grant');
  });

  async function setPassword(username: string): Promise<string> {
    const password = `pw-${crypto.randomUUID()}`;
    await gh.context.users.setPassword(username, password, SYSTEM_ACTOR);
    return password;
  }
});
