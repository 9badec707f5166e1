// The identity model for the demo cast end to end: each member of the cast signs in to the
// application that accepts their identity kind, and every token carries exactly the identity,
// roles and data scope the table gives. Real server, real openid-client, real login form.
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { gatehouseForSuite } from '../helpers/gatehouse.ts';
import { authorize, discover, signIn, startAuthorization, submitLogin } from '../helpers/oidc.ts';
import { formWith } from '../helpers/http.ts';
import { applySeed } from '../../src/services/seed.ts';
import { adminPermissionCatalog } from '../../src/routes/api/index.ts';
import { DEMO_PASSWORD, demoSeed } from '../../src/services/demo.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';

const SMART_HUB = { clientId: 'smart-hub', secret: 'smart-hub-secret-change-me-0123456789abcdef', redirectUri: 'http://localhost:8080/callback' };
const CLIENT_PORTAL = { clientId: 'client-portal', redirectUri: 'http://localhost:5173/callback' };
const OPS_CONSOLE = { clientId: 'ops-console', secret: 'ops-console-secret-change-me-0123456789abcd', redirectUri: 'http://localhost:8081/callback' };

interface Expected {
  kind: string;
  roles: string[];
  dataScope: Record<string, string[]>;
}

describe('identity model: the demo cast end to end', function () {
  this.timeout(60_000);
  const gh = gatehouseForSuite();
  let api: string;

  before(async () => {
    await applySeed(gh.context, demoSeed(gh.issuer), SYSTEM_ACTOR, { adminCatalog: adminPermissionCatalog() });
    api = `${gh.issuer}/demo-api`;
  });

  async function signInAs(app: { clientId: string; secret?: string; redirectUri: string }, username: string) {
    const config = await discover(gh, app.clientId, app.secret);
    return signIn({ gatehouse: gh, config, redirectUri: app.redirectUri, username, password: DEMO_PASSWORD, scope: 'openid profile identity', resource: api });
  }

  function checkClaims(claims: Record<string, unknown>, expected: Expected) {
    const identity = claims.identity as { id: string; kind: string; alias: string };
    assert.equal(identity.kind, expected.kind);
    assert.match(identity.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual([...(claims.roles as string[])].sort(), [...expected.roles].sort());
    assert.deepEqual(claims.data_scope, expected.dataScope);
  }

  const table: { user: string; app: typeof SMART_HUB | typeof CLIENT_PORTAL; expected: Expected }[] = [
    { user: 'lucy', app: SMART_HUB, expected: { kind: 'internal', roles: ['User', 'Admin'], dataScope: { client: ['*'], supplier: ['*'] } } },
    { user: 'lucy', app: CLIENT_PORTAL, expected: { kind: 'client', roles: ['Client'], dataScope: { client: ['*'] } } },
    { user: 'kim', app: SMART_HUB, expected: { kind: 'internal', roles: ['User'], dataScope: { client: ['ROOM'] } } },
    { user: 'jack', app: CLIENT_PORTAL, expected: { kind: 'client', roles: ['Client'], dataScope: { client: ['ROOM'] } } },
    { user: 'simon', app: CLIENT_PORTAL, expected: { kind: 'client', roles: ['Client'], dataScope: { client: ['Pharma'] } } },
  ];

  for (const row of table) {
    it(`${row.user} signs in to ${row.app.clientId} as ${row.expected.kind} with ${row.expected.roles.join(' + ')}`, async () => {
      const { tokens, loginPageShown } = await signInAs(row.app, row.user);
      assert.equal(loginPageShown, true);
      // ID token (verified by openid-client) and the JWT access token for the demo API.
      checkClaims(tokens.claims()! as Record<string, unknown>, row.expected);
      const jwks = createRemoteJWKSet(new URL('/jwks', gh.issuer));
      const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: api });
      assert.equal(protectedHeader.typ, 'at+jwt');
      checkClaims(payload, row.expected);
      const user = await gh.context.users.findByUsername(row.user);
      assert.equal(payload.sub, user!.id);
      // The demo gives User and Client permissions on the demo API (and none of another audience).
      assert.deepEqual(payload.permissions, row.expected.roles.includes('Client') ? ['bookings:read'] : ['bookings:create', 'bookings:read']);
    });
  }

  it('refuses Jack at Smart Hub (no internal identity) with a no-access page and an audit event', async () => {
    const config = await discover(gh, SMART_HUB.clientId, SMART_HUB.secret);
    await assert.rejects(signIn({ gatehouse: gh, config, redirectUri: SMART_HUB.redirectUri, username: 'jack', password: DEMO_PASSWORD, scope: 'openid' }), (error: Error) => /403/.test(error.message) && /no access/i.test(error.message));
    const jack = await gh.context.users.findByUsername('jack');
    const events = await gh.context.audit.list('default', { action: 'application.access_denied' });
    assert.ok(events.some((e) => e.actorId === jack!.id && e.targetId === SMART_HUB.clientId));
  });

  it('makes Lucy choose at an app that accepts both kinds, remembers the choice, and switches without a password', async () => {
    const config = await discover(gh, OPS_CONSOLE.clientId, OPS_CONSOLE.secret);
    const lucy = await gh.context.users.findByUsername('lucy');
    const identities: { id: string; kind: string }[] = await gh.context.knex('identities').where({ user_id: lucy!.id }).select('id', 'kind');
    const clientIdentity = identities.find((i) => i.kind === 'client')!;

    // Sign in: password, then the selection page with a drop-down.
    const started = await startAuthorization({ gatehouse: gh, config, redirectUri: OPS_CONSOLE.redirectUri, scope: 'openid identity' });
    const afterLogin = await submitLogin(started.browser, started.response, 'lucy', DEMO_PASSWORD);
    const selection = await started.browser.follow(afterLogin);
    assert.equal(selection.redirect, undefined, 'two eligible identities must show the selection page');
    assert.match(selection.response.body, /<select[^>]+name="identity_id"/);
    const form = formWith(selection.response, 'identity_id');
    const choice = await started.browser.postForm(form.action, { ...form.fields, identity_id: clientIdentity.id });
    const { redirect } = await started.browser.follow(choice);
    assert.ok(redirect);
    const tokens = await client.authorizationCodeGrant(config, redirect, { pkceCodeVerifier: started.codeVerifier, expectedState: started.state });
    assert.equal((tokens.claims()!.identity as { kind: string }).kind, 'client');

    // The choice became the default: prompt=select_account shows the page again with it preselected, no password asked.
    const again = await startAuthorization({ gatehouse: gh, config, redirectUri: OPS_CONSOLE.redirectUri, scope: 'openid identity', browser: started.browser, extraParams: { prompt: 'select_account' } });
    assert.doesNotMatch(again.response.body, /<input[^>]*type="password"/);
    assert.match(again.response.body, new RegExp(`<option value="${clientIdentity.id}"[^>]*selected`));
    const internal = identities.find((i) => i.kind === 'internal')!;
    const switchForm = formWith(again.response, 'identity_id');
    const switched = await started.browser.follow(await started.browser.postForm(switchForm.action, { ...switchForm.fields, identity_id: internal.id }));
    assert.ok(switched.redirect);
    const switchedTokens = await client.authorizationCodeGrant(config, switched.redirect, { pkceCodeVerifier: again.codeVerifier, expectedState: again.state });
    assert.equal((switchedTokens.claims()!.identity as { kind: string }).kind, 'internal');
  });

  it('Kim has one eligible identity: no selection page', async () => {
    const config = await discover(gh, OPS_CONSOLE.clientId, OPS_CONSOLE.secret);
    const result = await authorize({ gatehouse: gh, config, redirectUri: OPS_CONSOLE.redirectUri, username: 'kim', password: DEMO_PASSWORD, scope: 'openid' });
    assert.ok(result.code);
  });

  it('deactivating a user refuses their refresh token, and activating them lets it work again', async () => {
    const { tokens } = await signInAs(CLIENT_PORTAL, 'simon');
    const config = await discover(gh, CLIENT_PORTAL.clientId);
    const simon = (await gh.context.users.findByUsername('simon'))!;
    await gh.context.directoryUsers.deactivate(simon.id, 'on leave', { tenantId: 'default', actor: SYSTEM_ACTOR, granter: 'system' });
    try {
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!, { resource: api }), (error: Error & { error?: string }) => error.error === 'invalid_grant');
    } finally {
      await gh.context.directoryUsers.activate(simon.id, 'back', { tenantId: 'default', actor: SYSTEM_ACTOR, granter: 'system' });
    }
    // A fresh sign-in works again once the account is active.
    const again = await signInAs(CLIENT_PORTAL, 'simon');
    assert.ok(again.tokens.access_token);
  });

  it('a role or data-scope change reaches the next refreshed token without a new sign-in', async () => {
    const { tokens } = await signInAs(SMART_HUB, 'kim');
    const config = await discover(gh, SMART_HUB.clientId, SMART_HUB.secret);
    const identityId = (decodeJwt(tokens.access_token).identity as { id: string }).id;
    await gh.context
      .knex('identity_data_scopes')
      .where({ identity_id: identityId, key: 'client' })
      .update({ values: JSON.stringify(['ROOM', 'Pharma']) });
    const auditor: { id: string } = await gh.context.knex('roles').where({ tenant_id: 'default', name: 'Auditor' }).first('id');
    await gh.context.knex('identity_roles').insert({ tenant_id: 'default', identity_id: identityId, role_id: auditor.id });
    await gh.context.authorization.invalidateAll();
    try {
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, { resource: api });
      const claims = decodeJwt(refreshed.access_token);
      assert.deepEqual(claims.data_scope, { client: ['ROOM', 'Pharma'] });
      assert.deepEqual([...(claims.roles as string[])].sort(), ['Auditor', 'User']);
    } finally {
      await gh.context.knex('identity_roles').where({ identity_id: identityId, role_id: auditor.id }).delete();
      await gh.context
        .knex('identity_data_scopes')
        .where({ identity_id: identityId, key: 'client' })
        .update({ values: JSON.stringify(['ROOM']) });
      await gh.context.authorization.invalidateAll();
    }
  });
});
