// Sign-in through an upstream OpenID Connect provider, end to end: a bare oidc-provider started
// here on loopback is the upstream (with a fixed client and test users whose email is verified),
// Gatehouse is its relying party, and openid-client is Gatehouse's own relying party downstream.
// The browser is an HTTP client per origin that keeps cookies and walks the redirects.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';
import * as client from 'openid-client';
import { generate } from 'otplib';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { formWith, HttpClient, parseForms, textOfId, type HttpResponse } from '../helpers/http.ts';
import { discover, startAuthorization } from '../helpers/oidc.ts';
import { csrfOf, signInToAccount } from '../helpers/account.ts';
import { createApiCaller } from '../helpers/admin-api.ts';

const UPSTREAM_CLIENT = { id: 'gatehouse-at-upstream', secret: 'upstream-client-secret-0123456789' };
const REDIRECT_URI = 'http://127.0.0.1:9/federation-app-callback';

type Tamper = 'none' | 'aud' | 'nonce' | 'signature';

interface Upstream {
  issuer: string;
  accounts: Map<string, Record<string, unknown>>;
  tamper: Tamper;
  close(): Promise<void>;
}

/** A bare oidc-provider on loopback; `tamper` re-signs the ID token it answers with. */
async function startUpstream(redirectUri: string): Promise<Upstream> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...(await exportJWK(privateKey)), kid: 'upstream-key', alg: 'RS256', use: 'sig' };
  // A key the upstream's JWKS does not publish, for the bad-signature case.
  const rogue = await generateKeyPair('RS256');
  const accounts = new Map<string, Record<string, unknown>>();
  const state: Upstream = {
    issuer,
    accounts,
    tamper: 'none',
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
  const provider = new Provider(issuer, {
    clients: [{ client_id: UPSTREAM_CLIENT.id, client_secret: UPSTREAM_CLIENT.secret, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    jwks: { keys: [signingJwk] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username', 'groups'] },
    // Consent is not what is under test: every requested scope is granted.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    async findAccount(_ctx, id) {
      const claims = accounts.get(id);
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['upstream-cookie-key-0123456789'] },
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || state.tamper === 'none' || ctx.status !== 200) return;
    const body = (typeof ctx.body === 'string' ? JSON.parse(ctx.body) : ctx.body) as { id_token?: string };
    if (!body.id_token) return;
    const payload = decodeJwt(body.id_token);
    const header = decodeProtectedHeader(body.id_token);
    if (state.tamper === 'aud') payload.aud = 'some-other-client';
    if (state.tamper === 'nonce') payload.nonce = 'a-nonce-gatehouse-never-sent';
    const key = state.tamper === 'signature' ? rogue.privateKey : privateKey;
    body.id_token = await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: header.kid as string }).sign(key);
    ctx.body = body;
  });
  server.on('request', provider.callback());
  return state;
}

describe(`sign-in through an upstream OpenID Connect provider (${storageMode})`, function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let upstream: Upstream;
  let app: { clientId: string; clientSecret: string };
  let providerId: string;
  let slug: string;
  let roleId: string;

  before(async function () {
    this.timeout(180_000);
    gh = await startTestGatehouse();
    upstream = await startUpstream(`${gh.issuer}/federation/callback`);
    const { application, clientSecret } = await gh.context.applications.create({ name: uniqueName('fed-app'), type: 'web', redirectUris: [REDIRECT_URI] }, SYSTEM_ACTOR);
    app = { clientId: application.id, clientSecret: clientSecret! };
    roleId = (await gh.context.roles.list(gh.context.tenantId)).find((r) => r.name === 'User')!.id;
    slug = uniqueName('upstream');
    const by = { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' as const };
    const provider = await gh.context.identityProviders.create({ slug, name: 'Upstream IdP', issuer: upstream.issuer, clientId: UPSTREAM_CLIENT.id, clientSecret: UPSTREAM_CLIENT.secret, defaultRoleIds: [roleId] }, by);
    providerId = provider.id;
    await gh.context.identityProviders.setForApplication(app.clientId, [providerId], by);
  });

  after(async function () {
    await upstream?.close();
    await gh?.close();
  });

  /** Gatehouse's sign-in page → the provider's button → the upstream's login → back to Gatehouse. */
  async function viaUpstream(account: string, options: { abort?: boolean; scope?: string } = {}) {
    const config = await discover(gh, app.clientId, app.clientSecret);
    const started = await startAuthorization({ gatehouse: gh, config, redirectUri: REDIRECT_URI, scope: options.scope ?? 'openid' });
    const button = parseForms(started.response).find((f) => f.action.pathname.endsWith(`/federation/${slug}`));
    assert.ok(button, `the sign-in page offers the provider:\n${started.response.body.slice(0, 1500)}`);
    assert.match(started.response.body, /Sign in with Upstream IdP/);
    const toUpstream = await started.browser.follow(await started.browser.postForm(button.action, button.fields));
    assert.ok(toUpstream.redirect?.href.startsWith(upstream.issuer), 'redirected to the upstream');
    const sent = toUpstream.redirect!.searchParams;
    assert.equal(sent.get('code_challenge_method'), 'S256');
    assert.ok(sent.get('state') && sent.get('nonce') && sent.get('code_challenge'), 'state, nonce and PKCE sent');
    const upstreamBrowser = new HttpClient(upstream.issuer);
    const upLogin = await upstreamBrowser.follow(toUpstream.redirect!);
    let back: URL | undefined;
    if (options.abort) {
      const abort = /href="([^"]*\/abort)"/.exec(upLogin.response.body);
      assert.ok(abort, 'the upstream offers to abort');
      back = (await upstreamBrowser.follow(new URL(abort[1]!, upLogin.response.url))).redirect;
    } else {
      const form = formWith(upLogin.response, 'login');
      back = (await upstreamBrowser.follow(await upstreamBrowser.postForm(form.action, { ...form.fields, login: account, password: 'anything' }))).redirect;
    }
    assert.ok(back?.href.startsWith(`${gh.issuer}/federation/callback`), `back at Gatehouse's callback: ${back?.href}`);
    const landed = await started.browser.follow(back!);
    return { config, started, landed };
  }

  async function redeem(config: client.Configuration, started: { codeVerifier: string; state: string }, redirect: URL | undefined) {
    assert.ok(redirect?.href.startsWith(REDIRECT_URI), `back at the application: ${redirect?.href}`);
    return client.authorizationCodeGrant(config, redirect!, { pkceCodeVerifier: started.codeVerifier, expectedState: started.state, idTokenExpected: true });
  }

  /** A user with a password and the email `<username>@example.test`. */
  async function passwordUser(prefix: string) {
    const username = uniqueName(prefix);
    const password = `pw-${uniqueName('x')}-Long-enough-1`;
    const email = `${username}@example.test`;
    const user = await gh.context.users.create({ username, password, email }, SYSTEM_ACTOR);
    return { user, username, password, email };
  }

  function refused(page: HttpResponse, message: RegExp) {
    assert.equal(page.status, 400, page.body.slice(0, 1000));
    assert.match(page.body, /Sign-in refused/);
    assert.match(page.body, message);
  }

  it('provisions a new user just in time from the mapped claims, with the default roles, audited; amr has "fed"', async function () {
    const sub = uniqueName('new');
    upstream.accounts.set(sub, { email: `${sub}@example.test`, email_verified: true, name: 'New Person', preferred_username: sub });
    const { config, started, landed } = await viaUpstream(sub);
    const tokens = await redeem(config, started, landed.redirect);
    const claims = tokens.claims()!;
    assert.deepEqual(claims.amr, ['fed']);
    assert.equal(claims.acr, 'urn:gatehouse:fed');
    const user = await gh.context.knex('users').where({ id: claims.sub }).first();
    assert.equal(user.username, sub);
    assert.equal(user.email, `${sub}@example.test`);
    assert.equal(user.name, 'New Person');
    assert.equal(user.password_hash, null);
    const roles: { role_id: string }[] = await gh.context.knex('identity_roles').where({ identity_id: user.default_identity_id }).select('role_id');
    assert.deepEqual(
      roles.map((r) => r.role_id),
      [roleId],
    );
    const provisioned = await gh.context.audit.list(gh.context.tenantId, { action: 'user.provisioned' });
    assert.ok(provisioned.some((e) => e.targetId === user.id));
    // The second sign-in finds the link: the same user, nobody new.
    const again = await viaUpstream(sub);
    const second = await redeem(again.config, again.started, again.landed.redirect);
    assert.equal(second.claims()!.sub, user.id);
    assert.equal((await gh.context.knex('users').where({ email: `${sub}@example.test` })).length, 1);
  });

  it('links to an existing user with the same verified email only after their password; a wrong password links nothing', async function () {
    const { user: existing, password, email } = await passwordUser('existing');
    const sub = uniqueName('same-mail');
    upstream.accounts.set(sub, { email, email_verified: true, name: 'Same Mail', preferred_username: sub });

    const { config, started, landed } = await viaUpstream(sub);
    assert.equal(landed.redirect, undefined, 'never signed in silently');
    assert.match(landed.response.body, /Link your account/);
    const form = formWith(landed.response, 'password');
    const wrong = await started.browser.postForm(form.action, { ...form.fields, password: 'not-the-password' });
    assert.equal(wrong.status, 401);
    assert.equal(textOfId(wrong.body, 'link-error'), 'The password is not correct.');
    assert.equal(await gh.context.knex('federated_links').where({ provider_id: providerId, subject: sub }).first(), undefined);

    const right = await started.browser.follow(await started.browser.postForm(formWith(wrong, 'password').action, { ...form.fields, password }));
    const tokens = await redeem(config, started, right.redirect);
    assert.equal(tokens.claims()!.sub, existing.id);
    assert.deepEqual(tokens.claims()!.amr, ['fed', 'pwd']);
    const link = await gh.context.knex('federated_links').where({ provider_id: providerId, subject: sub }).first();
    assert.equal(link.user_id, existing.id);
    // From now on the upstream alone signs this user in.
    const again = await viaUpstream(sub);
    assert.equal((await redeem(again.config, again.started, again.landed.redirect)).claims()!.sub, existing.id);
  });

  it('the user sees the link on /account and removes it; the upstream account then no longer signs in silently', async function () {
    const { user, username, password, email } = await passwordUser('unlinks');
    const sub = uniqueName('unlink-sub');
    await gh.context.identityProviders.link(gh.context.tenantId, { providerId, subject: sub, userId: user.id, email }, SYSTEM_ACTOR);
    upstream.accounts.set(sub, { email, email_verified: true, preferred_username: sub });
    const { browser, page } = await signInToAccount(gh, username, password);
    assert.match(page.body, /Linked sign-in providers/);
    assert.match(textOfId(page.body, 'federated-links') ?? '', /Upstream IdP/);
    const remove = parseForms(page).find((f) => f.action.pathname.endsWith('/remove'))!;
    // Without the page's CSRF token nothing is removed.
    assert.equal((await browser.postForm(remove.action, { _csrf: 'forged' })).status, 403);
    assert.ok(await gh.context.knex('federated_links').where({ user_id: user.id }).first());
    const after = await browser.follow(await browser.postForm(remove.action, { _csrf: csrfOf(page) }));
    assert.match(after.response.body, /The link was removed/);
    assert.match(after.response.body, /No external sign-in provider is linked/);
    assert.equal(await gh.context.knex('federated_links').where({ user_id: user.id }).first(), undefined);
    const events = await gh.context.audit.list(gh.context.tenantId, { action: 'user.federated_link_removed' });
    assert.ok(events.some((e) => e.targetId === user.id));
    // The same upstream account now has to prove the password again.
    const { landed } = await viaUpstream(sub);
    assert.match(landed.response.body, /Link your account/);
  });

  it('a user without a password cannot remove their last link', async function () {
    const sub = uniqueName('only-fed');
    upstream.accounts.set(sub, { email: `${sub}@example.test`, email_verified: true, preferred_username: sub });
    const first = await viaUpstream(sub);
    const userId = (await redeem(first.config, first.started, first.landed.redirect)).claims()!.sub;
    // The account pages' own sign-in, through the same upstream button.
    const browser = first.started.browser;
    const page = await browser.follow('/account');
    assert.equal(page.response.url.pathname, '/account', page.response.body.slice(0, 500));
    const remove = parseForms(page.response).find((f) => f.action.pathname.endsWith('/remove'))!;
    const refusedRemoval = await browser.postForm(remove.action, { _csrf: csrfOf(page.response) });
    assert.equal(refusedRemoval.status, 409);
    assert.match(refusedRemoval.body, /Set a password before you remove the last linked sign-in provider/);
    assert.ok(await gh.context.knex('federated_links').where({ user_id: userId }).first());
  });

  it('asks a linked user with an authenticator app for the code; amr then has "fed" and "otp"', async function () {
    const sub = uniqueName('mfa');
    upstream.accounts.set(sub, { email: `${sub}@example.test`, email_verified: true, preferred_username: sub });
    const first = await viaUpstream(sub);
    assert.ok(first.landed.redirect, first.landed.response.body.slice(0, 3000));
    const userId = (await redeem(first.config, first.started, first.landed.redirect)).claims()!.sub;
    const user = (await gh.context.users.findById(userId))!;
    const enrollment = await gh.context.mfa.startEnrollment(gh.context.tenantId, user);
    await gh.context.mfa.confirmEnrollment(gh.context.tenantId, user.id, await generate({ secret: enrollment.secret }), SYSTEM_ACTOR);
    const { config, started, landed } = await viaUpstream(sub);
    assert.equal(landed.redirect, undefined, 'the second factor is asked');
    const form = formWith(landed.response, 'code');
    const done = await started.browser.follow(await started.browser.postForm(form.action, { ...form.fields, code: await generate({ secret: enrollment.secret, epoch: Math.floor(Date.now() / 1000) + 30 }) }));
    const claims = (await redeem(config, started, done.redirect)).claims()!;
    assert.deepEqual(claims.amr, ['fed', 'otp']);
    assert.equal(claims.acr, 'urn:gatehouse:mfa');
  });

  it('a locked or deactivated account is refused after the upstream sign-in, as after a password', async function () {
    const sub = uniqueName('locked');
    upstream.accounts.set(sub, { email: `${sub}@example.test`, email_verified: true, preferred_username: sub });
    const first = await viaUpstream(sub);
    const userId = (await redeem(first.config, first.started, first.landed.redirect)).claims()!.sub;
    await gh.context
      .knex('users')
      .where({ id: userId })
      .update({ status: 'locked', locked_until: new Date(Date.now() + 3_600_000) });
    const locked = await viaUpstream(sub);
    assert.equal(locked.landed.redirect, undefined);
    assert.equal(locked.landed.response.status, 401);
    assert.match(locked.landed.response.body, /Invalid username or password/);
    await gh.context.knex('users').where({ id: userId }).update({ locked_until: null, status: 'inactive' });
    const inactive = await viaUpstream(sub);
    assert.equal(inactive.landed.redirect, undefined);
    assert.equal(inactive.landed.response.status, 401);
    const events = await gh.context.audit.list(gh.context.tenantId, { action: 'user.sign_in' });
    assert.ok(events.some((e) => e.result === 'failure' && e.targetId === userId && (e.details as { reason?: string }).reason === 'locked'));
  });

  it('refuses an email match the upstream has not verified', async function () {
    const { email } = await passwordUser('unverified');
    const sub = uniqueName('unverified-sub');
    upstream.accounts.set(sub, { email, email_verified: false, preferred_username: sub });
    const { landed } = await viaUpstream(sub);
    refused(landed.response, /has not confirmed that the address is yours/);
  });

  it('shows a clear page when the upstream answers with an error', async function () {
    const { landed } = await viaUpstream('whoever', { abort: true });
    refused(landed.response, /The external provider refused the sign-in/);
    const events = await gh.context.audit.list(gh.context.tenantId, { action: 'user.sign_in' });
    assert.ok(events.some((e) => e.result === 'failure' && String((e.details as { reason?: string }).reason).startsWith('upstream_error:access_denied')));
  });

  for (const tamper of ['aud', 'nonce', 'signature'] as const) {
    it(`refuses an ID token with ${tamper === 'aud' ? 'another audience' : tamper === 'nonce' ? 'a wrong nonce' : 'a signature by a key the JWKS does not publish'}`, async function () {
      const sub = uniqueName(`tampered-${tamper}`);
      upstream.accounts.set(sub, { email: `${sub}@example.test`, email_verified: true, preferred_username: sub });
      upstream.tamper = tamper;
      try {
        const { landed } = await viaUpstream(sub);
        refused(landed.response, /could not be verified/);
      } finally {
        upstream.tamper = 'none';
      }
      assert.equal(await gh.context.knex('users').where({ username: sub }).first(), undefined, 'nobody provisioned');
    });
  }

  it('a replayed callback (state used once) is refused', async function () {
    const sub = uniqueName('replay');
    upstream.accounts.set(sub, { email: `${sub}@example.test`, email_verified: true, preferred_username: sub });
    const { started, landed } = await viaUpstream(sub);
    assert.ok(landed.redirect, 'first use signs in');
    const callback = landed.visited.find((u) => u.pathname === '/federation/callback')!;
    const replay = await started.browser.follow(callback);
    refused(replay.response, /did not succeed/);
  });

  it('still asks which identity to use when two are eligible', async function () {
    const sub = uniqueName('two');
    upstream.accounts.set(sub, { email: `${sub}@example.test`, email_verified: true, preferred_username: sub });
    // First sign-in provisions the user; then it gets a second identity.
    const first = await viaUpstream(sub, { scope: 'openid identity' });
    const firstTokens = await redeem(first.config, first.started, first.landed.redirect);
    const userId = firstTokens.claims()!.sub;
    const user = await gh.context.knex('users').where({ id: userId }).first();
    await gh.context.identities.upsert({ username: user.username, kind: 'client', alias: `${sub} Ltd` }, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    const { started, landed } = await viaUpstream(sub, { scope: 'openid identity' });
    // The session of the first sign-in is in another browser: this one signs in afresh.
    assert.equal(landed.redirect, undefined, 'two eligible identities must show the selection page');
    const form = formWith(landed.response, 'identity_id');
    const clientIdentity: { id: string } = await gh.context.knex('identities').where({ user_id: userId, kind: 'client' }).first('id');
    const chosen = await started.browser.follow(await started.browser.postForm(form.action, { ...form.fields, identity_id: clientIdentity.id }));
    const tokens = await redeem(await discover(gh, app.clientId, app.clientSecret), started, chosen.redirect);
    assert.equal((tokens.claims()!.identity as { kind: string }).kind, 'client');
  });

  it('shows an administrator the endpoints discovery finds at the issuer, and why discovery failed', async function () {
    const reader = await createApiCaller(gh, { permissions: ['identity-providers:check-discovery'] });
    const found = await reader.request('GET', `/identity-providers/${providerId}/discovery`);
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.equal(found.body.issuer, upstream.issuer);
    assert.ok(String(found.body.tokenEndpoint).startsWith(upstream.issuer), found.body.tokenEndpoint);
    assert.ok(String(found.body.jwksUri).startsWith(upstream.issuer), found.body.jwksUri);
    const by = { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' as const };
    // Nothing listens on the discard port.
    const broken = await gh.context.identityProviders.create({ slug: uniqueName('broken'), name: 'Broken', issuer: 'http://127.0.0.1:9', clientId: 'x' }, by);
    const failed = await reader.request('GET', `/identity-providers/${broken.id}/discovery`);
    assert.equal(failed.status, 502, JSON.stringify(failed.body));
    assert.equal(failed.body.code, 'identity_provider.discovery_failed');
    assert.match(failed.body.title, /discovery at http:\/\/127\.0\.0\.1:9 failed/);
  });

  it('makes the user a member of exactly the managed groups the groups claim names, on each sign-in, audited; other groups untouched and none created', async function () {
    const by = { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' as const };
    const [sales, support, unmanaged] = await Promise.all(['Sales', 'Support', 'Unmanaged'].map((n) => gh.context.groups.create({ name: uniqueName(n), type: 'team' }, by)));
    await gh.context.identityProviders.update(providerId, { claimMapping: { groups: 'groups' }, managedGroupIds: [sales!.id, support!.id] }, by);
    try {
      const sub = uniqueName('grouped');
      // Upper case on purpose: names match case-insensitively. "Nonexistent" names no group and creates none.
      upstream.accounts.set(sub, { email: `${sub}@example.test`, email_verified: true, preferred_username: sub, groups: [sales!.name.toUpperCase(), unmanaged!.name, 'Nonexistent'] });
      const groupsBefore = (await gh.context.knex('groups').where({ tenant_id: gh.context.tenantId }).count({ n: '*' }).first())!.n;
      const first = await viaUpstream(sub);
      const userId = (await redeem(first.config, first.started, first.landed.redirect)).claims()!.sub;
      const identityId: string = (await gh.context.knex('users').where({ id: userId }).first('default_identity_id')).default_identity_id;
      const memberOf = async () => ((await gh.context.knex('group_members').where({ identity_id: identityId }).select('group_id')) as { group_id: string }[]).map((r) => r.group_id).sort();
      assert.deepEqual(await memberOf(), [sales!.id], 'the managed group the claim names; not the unmanaged one');
      assert.equal((await gh.context.knex('groups').where({ tenant_id: gh.context.tenantId }).count({ n: '*' }).first())!.n, groupsBefore, 'no group created');
      const added = await gh.context.audit.list(gh.context.tenantId, { action: 'group.members_added' });
      assert.ok(added.some((e) => e.targetId === sales!.id && (e.details as { reason?: string; provider?: string }).reason === 'upstream_groups_claim' && (e.details as { provider?: string }).provider === slug));

      // An administrator adds the identity to the unmanaged group by hand: the upstream never removes it.
      await gh.context.groups.addMembers(unmanaged!.id, [identityId], by);
      upstream.accounts.set(sub, { ...upstream.accounts.get(sub), groups: [support!.name] });
      const second = await viaUpstream(sub);
      await redeem(second.config, second.started, second.landed.redirect);
      assert.deepEqual(await memberOf(), [support!.id, unmanaged!.id].sort(), 'left Sales, joined Support, kept the unmanaged group');
      const removed = await gh.context.audit.list(gh.context.tenantId, { action: 'group.member_removed' });
      assert.ok(removed.some((e) => e.targetId === sales!.id && (e.details as { removed?: string }).removed === identityId));

      // No groups claim at all (not granted, or an overage): memberships stay as they are.
      const { groups: _dropped, ...withoutGroups } = upstream.accounts.get(sub)!;
      upstream.accounts.set(sub, withoutGroups);
      const third = await viaUpstream(sub);
      await redeem(third.config, third.started, third.landed.redirect);
      assert.deepEqual(await memberOf(), [support!.id, unmanaged!.id].sort());
    } finally {
      await gh.context.identityProviders.update(providerId, { managedGroupIds: [] }, by);
    }
  });
});

describe(`sign-in through GitHub (OAuth 2.0, user from the REST API) (${storageMode})`, function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let fake: http.Server;
  let base: string;
  let app: { clientId: string; clientSecret: string };
  let slug: string;
  const issued = new Map<string, string>();
  const codes = new Map<string, { challenge: string }>();
  let emails: { email: string; primary: boolean; verified: boolean }[] = [];
  const githubUser = { id: 4242, login: uniqueName('octo'), name: 'Octo Cat' };

  before(async function () {
    this.timeout(180_000);
    gh = await startTestGatehouse();
    // A stand-in for a GitHub Enterprise Server: OAuth endpoints under /login/oauth, the API under /api/v3.
    fake = http.createServer((req, res) => {
      const url = new URL(req.url!, base);
      if (url.pathname === '/login/oauth/authorize') {
        const code = uniqueName('code');
        codes.set(code, { challenge: url.searchParams.get('code_challenge')! });
        const back = new URL(url.searchParams.get('redirect_uri')!);
        back.searchParams.set('code', code);
        back.searchParams.set('state', url.searchParams.get('state')!);
        res.writeHead(302, { location: back.href }).end();
        return;
      }
      if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
        let body = '';
        req.on('data', (c) => {
          body += c;
        });
        req.on('end', async () => {
          const form = new URLSearchParams(body);
          const grant = codes.get(form.get('code') ?? '');
          codes.delete(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          if (!grant || form.get('client_secret') !== 'gh-secret' || (await client.calculatePKCECodeChallenge(verifier)) !== grant.challenge) {
            res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad_verification_code' }));
            return;
          }
          const token = uniqueName('gho');
          issued.set(token, 'ok');
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'bearer', scope: 'read:user,user:email' }));
        });
        return;
      }
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!issued.has(token)) return void res.writeHead(401).end();
      if (url.pathname === '/api/v3/user') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(githubUser));
      if (url.pathname === '/api/v3/user/emails') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(emails));
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const { application, clientSecret } = await gh.context.applications.create({ name: uniqueName('gh-app'), type: 'web', redirectUris: [REDIRECT_URI] }, SYSTEM_ACTOR);
    app = { clientId: application.id, clientSecret: clientSecret! };
    slug = uniqueName('github');
    const by = { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' as const };
    const provider = await gh.context.identityProviders.create({ preset: 'github', issuer: base, slug, name: 'GitHub', clientId: 'gh-client', clientSecret: 'gh-secret' }, by);
    await gh.context.identityProviders.setForApplication(app.clientId, [provider.id], by);
  });

  after(async function () {
    fake?.closeAllConnections();
    await new Promise<void>((resolve) => (fake ? fake.close(() => resolve()) : resolve()));
    await gh?.close();
  });

  async function viaGithub() {
    const config = await discover(gh, app.clientId, app.clientSecret);
    const started = await startAuthorization({ gatehouse: gh, config, redirectUri: REDIRECT_URI, scope: 'openid' });
    const button = parseForms(started.response).find((f) => f.action.pathname.endsWith(`/federation/${slug}`))!;
    const toGithub = await started.browser.follow(await started.browser.postForm(button.action, button.fields));
    assert.equal(toGithub.redirect?.searchParams.get('nonce'), null, 'no nonce: GitHub issues no ID token');
    const back = (await new HttpClient(base).get(toGithub.redirect!)).location!;
    return { config, started, landed: await started.browser.follow(back) };
  }

  it('provisions the user from GET /user with the numeric id as subject and the primary verified email', async function () {
    emails = [
      { email: `${githubUser.login}@old.example.test`, primary: false, verified: true },
      { email: `${githubUser.login}@example.test`, primary: true, verified: true },
    ];
    const { config, started, landed } = await viaGithub();
    assert.ok(landed.redirect?.href.startsWith(REDIRECT_URI), landed.response.body.slice(0, 1000));
    const tokens = await client.authorizationCodeGrant(config, landed.redirect!, { pkceCodeVerifier: started.codeVerifier, expectedState: started.state, idTokenExpected: true });
    const user = await gh.context.knex('users').where({ id: tokens.claims()!.sub }).first();
    assert.equal(user.username, githubUser.login);
    assert.equal(user.email, `${githubUser.login}@example.test`);
    const link = await gh.context.knex('federated_links').where({ user_id: user.id }).first();
    assert.equal(link.subject, '4242');
  });
});
