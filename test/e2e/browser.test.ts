// A real browser (Debian's Chromium through playwright-core) signs in through the real login page,
// and Lucy chooses her identity from the drop-down at an application that accepts both kinds.
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { type Browser, type Page } from 'playwright-core';
import { startTestGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { discover } from '../helpers/oidc.ts';
import { applySeed } from '../../src/services/seed.ts';
import { adminPermissionCatalog } from '../../src/routes/api/index.ts';
import { DEMO_PASSWORD, demoSeed } from '../../src/services/demo.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { launchChromium, requireChromium } from '../helpers/console-pages.ts';

const OPS_CONSOLE = { clientId: 'ops-console', secret: 'ops-console-secret-change-me-0123456789abcd', redirectUri: 'http://localhost:8081/callback' };

/** Page object for Gatehouse's sign-in pages. */
class SignInPages {
  constructor(private readonly page: Page) {}
  async signIn(username: string, password: string) {
    await this.page.getByLabel('Username or email').fill(username);
    await this.page.getByLabel('Password').fill(password);
    await this.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }
  identitySelect() {
    return this.page.locator('select[name="identity_id"]');
  }
  async chooseIdentity(label: string) {
    await this.identitySelect().selectOption({ label });
    await this.page.getByRole('button', { name: 'Continue' }).click();
  }
}

describe('browser sign-in (Chromium)', function () {
  this.timeout(90_000);
  let gh: TestGatehouse;
  let browser: Browser;

  before(async function () {
    requireChromium(this);
    gh = await startTestGatehouse();
    await applySeed(gh.context, demoSeed(gh.issuer), SYSTEM_ACTOR, { adminCatalog: adminPermissionCatalog() });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gh?.close();
  });

  async function startFlow(page: Page) {
    const config = await discover(gh, OPS_CONSOLE.clientId, OPS_CONSOLE.secret);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: OPS_CONSOLE.redirectUri,
      scope: 'openid identity',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    // The relying party's callback: answered here, nothing listens on that port.
    let callback: URL | undefined;
    await page.route('http://localhost:8081/**', async (route) => {
      callback = new URL(route.request().url());
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<title>RP</title>signed in' });
    });
    await page.goto(url.href);
    return { config, verifier, state, callback: () => callback };
  }

  it('Lucy signs in through the login page and picks her client identity from the drop-down', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const flow = await startFlow(page);
    const pages = new SignInPages(page);

    await assert.doesNotReject(page.getByLabel('Username or email').waitFor());
    await pages.signIn('lucy', 'wrong password');
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /Invalid username or password/);

    await pages.signIn('lucy', DEMO_PASSWORD);
    await pages.identitySelect().waitFor();
    const options = await pages.identitySelect().locator('option').allInnerTexts();
    assert.equal(options.length, 2);
    await pages.chooseIdentity(options.find((o) => /client/i.test(o))!);
    await page.waitForURL(/localhost:8081\/callback/);

    const tokens = await client.authorizationCodeGrant(flow.config, flow.callback()!, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    const claims = tokens.claims()!;
    assert.equal((claims.identity as { kind: string }).kind, 'client');
    assert.deepEqual(claims.roles, ['Client']);
    assert.deepEqual(claims.data_scope, { client: ['*'] });
    await context.close();
  });

  // Account security: an expired password is a step of the sign-in, not a lockout.
  it('an expired password forces the change step, which names each broken rule, then continues to the application', async () => {
    await gh.context.passwordPolicies.replace(gh.context.tenantId, { expiryDays: 90, reminderDays: 14, historyCount: 2 }, SYSTEM_ACTOR);
    try {
      // A user of this test's own: on PostgreSQL the database (and the demo cast) is shared by every test file.
      const username = `ines-${Date.now().toString(36)}`;
      const oldPassword = 'ninety-one days old passphrase';
      await gh.context.users.create({ username, password: oldPassword }, SYSTEM_ACTOR);
      await gh.context
        .knex('users')
        .where({ username })
        .update({ password_changed_at: new Date(Date.now() - 91 * 86_400_000) });
      const context = await browser.newContext();
      const page = await context.newPage();
      const flow = await startFlow(page);
      const pages = new SignInPages(page);
      await pages.signIn(username, oldPassword);
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
      assert.match(await page.locator('main').innerText(), /Your password has expired/);

      // The old password again, and a short common one: refused, each with its own message.
      await page.getByLabel('New password', { exact: true }).fill(oldPassword);
      await page.getByLabel('New password again').fill(oldPassword);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.locator('[data-rule="history"]').waitFor();
      await page.getByLabel('New password', { exact: true }).fill('password');
      await page.getByLabel('New password again').fill('password');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.locator('[data-rule="blocklist"]').waitFor();
      assert.equal(await page.locator('[data-rule="min_length"]').count(), 1);

      const fresh = 'a brand new passphrase after ninety days';
      await page.getByLabel('New password', { exact: true }).fill(fresh);
      await page.getByLabel('New password again').fill(fresh);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.waitForURL(/localhost:8081\/callback/);
      const tokens = await client.authorizationCodeGrant(flow.config, flow.callback()!, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
      assert.ok(tokens.claims()?.sub);
      const outcome = await gh.context.signIn.password(gh.context.tenantId, { uid: 'browser-check', login: username, password: fresh, ip: '127.0.0.1', userAgent: null });
      assert.equal(outcome.kind, 'done', 'the new password works and is no longer expired');
      await context.close();
    } finally {
      await gh.context.knex('password_policies').where({ tenant_id: gh.context.tenantId }).delete();
    }
  });
});
