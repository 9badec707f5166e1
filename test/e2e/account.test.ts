// The account pages' foundation: sign-in through the real authorization code flow of the
// built-in client, the overview, CSRF on forms, sign-out, and the client's protection.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { ACCOUNT_CLIENT_ID } from '../../src/services/applications.ts';
import { csrfOf, signInToAccount } from '../helpers/account.ts';
import { startTestGatehouse, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { formWith, HttpClient } from '../helpers/http.ts';
import { AppError } from '../../src/services/errors.ts';

describe('account pages', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  const username = uniqueName('acct');
  const password = `pw-${randomUUID()}`;

  before(async () => {
    gh = await startTestGatehouse();
    const user = await gh.context.users.create({ username, password, email: `${username}@example.com`, name: 'Ada <Account>' }, SYSTEM_ACTOR);
    // A second identity: the account pages must not ask which one to use.
    await gh.context.knex('identities').insert({ id: randomUUID(), tenant_id: gh.context.tenantId, user_id: user.id, kind: 'client', alias: 'Ada (client view)' });
  });
  after(async () => gh?.close());

  it('sends a visitor without a session to the sign-in page, and back to the page asked for', async () => {
    const browser = new HttpClient(gh.url);
    const first = await browser.get('/account');
    assert.equal(first.status, 302);
    assert.equal(first.location?.pathname, '/account/signin');
    const { page } = await signInToAccount(gh, username, password, '/account', browser);
    assert.match(page.body, new RegExp(`<dd>${username}</dd>`));
    assert.match(page.body, /Ada &lt;Account&gt;/, 'the name is escaped');
    assert.match(page.body, /Ada \(client view\)/, 'identities are listed, without an identity-selection step');
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    // Signed in: the page is served directly now.
    assert.equal((await browser.get('/account')).status, 200);
  });

  it('refuses an unknown user like any sign-in, and never shows the page', async () => {
    await assert.rejects(signInToAccount(gh, uniqueName('nobody'), 'wrong-password-123'), /expected one form|expected to land/);
  });

  it('refuses a callback whose state was not started in this browser', async () => {
    const { browser } = await signInToAccount(gh, username, password);
    const forged = await browser.get('/account/callback?code=abc&state=forged');
    assert.equal(forged.status, 400);
    assert.match(forged.body, /sign-in has expired/);
  });

  it('never redirects outside the account pages after sign-in', async () => {
    const browser = new HttpClient(gh.url);
    const start = await browser.get('/account/signin?return_to=https://evil.example/');
    assert.equal(start.status, 302);
    const { response } = await browser.follow(start);
    const form = formWith(response, 'password');
    const done = await browser.follow(await browser.postForm(form.action, { ...form.fields, username, password }));
    assert.equal(done.redirect, undefined, 'no redirect left the issuer');
    assert.equal(done.response.url.pathname, '/account');
  });

  it('refuses a form without its CSRF token, and signs out through RP-initiated logout with it', async () => {
    const { browser, page } = await signInToAccount(gh, username, password);
    const refused = await browser.postForm('/account/signout', { _csrf: 'x'.repeat(43) });
    assert.equal(refused.status, 403);
    const out = await browser.postForm('/account/signout', { _csrf: csrfOf(page) });
    assert.equal(out.status, 302);
    assert.equal(out.location?.pathname, '/session/end');
    const confirm = await browser.follow(out);
    const logoutForm = formWith(confirm.response, 'logout');
    const done = await browser.follow(await browser.postForm(logoutForm.action, { ...logoutForm.fields, logout: 'yes' }));
    assert.equal(done.response.url.pathname, '/account/signed-out');
    assert.equal((await browser.get('/account')).status, 302, 'signed out: the page asks for sign-in again');
  });

  it('keeps the built-in client out of reach of the admin API and the CLI', async () => {
    const refused = (error: unknown) => error instanceof AppError && error.code === 'application.built_in' && error.status === 409;
    await assert.rejects(gh.context.applications.remove(ACCOUNT_CLIENT_ID, SYSTEM_ACTOR), refused);
    await assert.rejects(gh.context.applications.update(ACCOUNT_CLIENT_ID, { redirectUris: ['https://evil.example/cb'] }, SYSTEM_ACTOR), refused);
    const app = await gh.context.applications.findById(ACCOUNT_CLIENT_ID);
    assert.deepEqual(app?.redirectUris, [`${gh.issuer}/account/callback`]);
  });
});
