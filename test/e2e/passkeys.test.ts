// Passkeys in a real browser: Chromium's DevTools virtual authenticator (CTAP2, built-in, with
// user verification) registers a passkey on /account, signs in with it as the first factor (the
// button and the username field's autofill), as the second factor after the password, is
// removed, and a cloned copy with a lower signature counter is refused. The ID tokens come from
// a real relying party (openid-client). WebAuthn needs a secure context: the issuer is
// http://localhost:<port>, which browsers treat as one.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as client from 'openid-client';
import { type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { startTestGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { discover } from '../helpers/oidc.ts';
import { freePort } from '../helpers/ports.ts';
import { applySeed } from '../../src/services/seed.ts';
import { adminPermissionCatalog } from '../../src/routes/api/index.ts';
import { DEMO_PASSWORD, demoSeed } from '../../src/services/demo.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { ACR_MFA } from '../../src/services/sign-in.ts';
import { launchChromium, requireChromium } from '../helpers/console-pages.ts';

const APP = { clientId: 'smart-hub', secret: 'smart-hub-secret-change-me-0123456789abcdef', redirectUri: 'http://localhost:8080/callback' };

interface Authenticator {
  cdp: CDPSession;
  id: string;
}

/** A CTAP2 platform authenticator with user verification; `synced` makes its keys backup eligible and backed up (a synced passkey). */
async function addAuthenticator(context: BrowserContext, page: Page, options: { synced?: boolean } = {}): Promise<Authenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...(options.synced ? { defaultBackupEligibility: true, defaultBackupState: true } : {}),
    },
  });
  return { cdp, id: authenticatorId };
}

/**
 * Takes the authenticator's credentials out while `during` runs, then puts them back: a page
 * loaded meanwhile has its autofill (conditional) request pending with nothing to offer, so the
 * virtual authenticator cannot answer it before the test presses a button.
 */
async function withoutCredentials(authenticator: Authenticator, during: () => Promise<void>): Promise<void> {
  const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.id });
  await authenticator.cdp.send('WebAuthn.clearCredentials', { authenticatorId: authenticator.id });
  await during();
  for (const credential of credentials) await authenticator.cdp.send('WebAuthn.addCredential', { authenticatorId: authenticator.id, credential });
}

describe('passkeys (Chromium virtual authenticator)', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let browser: Browser;
  let kimId: string;

  before(async function () {
    // The embedded database's first start is slow on a busy machine.
    this.timeout(300_000);
    requireChromium(this);
    const port = await freePort();
    // The configuration names a relying party this browser cannot reach: the ceremonies work only
    // because the tenant's settings (services/tenant-settings.ts) name the right one.
    gh = await startTestGatehouse({ PORT: String(port), GATEHOUSE_ISSUER: `http://localhost:${port}`, GATEHOUSE_PASSKEY_RP_ID: 'elsewhere.example', GATEHOUSE_PASSKEY_ORIGINS: 'https://elsewhere.example' });
    await gh.context.tenantSettings.replace({ passkeys: { rpId: 'localhost', origins: [`http://localhost:${port}`] } }, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    await applySeed(gh.context, demoSeed(gh.issuer), SYSTEM_ACTOR, { adminCatalog: adminPermissionCatalog() });
    kimId = (await gh.context.knex('users').where({ username: 'kim' }).first('id')).id;
    // On PostgreSQL the database is shared by every test file: start from no passkeys.
    await gh.context.knex('user_passkeys').where({ user_id: kimId }).delete();
    browser = await launchChromium();
  });
  // Each test starts from no passkeys: with one, the password alone no longer signs Kim in.
  // Audit rows of earlier runs stay (PostgreSQL is shared): only this test's rows are counted.
  let auditFloor = 0;
  const audited = async (action: string) => (await gh.context.knex('audit_events').where({ action, target_id: kimId }).andWhere('id', '>', auditFloor)).length;
  beforeEach(async () => {
    await gh?.context.knex('user_passkeys').where({ user_id: kimId }).delete();
    auditFloor = Number((await gh.context.knex('audit_events').max('id as id').first())?.id ?? 0);
  });
  after(async () => {
    await gh?.context.knex('user_passkeys').where({ user_id: kimId }).delete();
    await gh?.context.tenantSettings.replace({}, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    await browser?.close();
    await gh?.close();
  });

  /** Starts the application's authorization request in `page`; the callback is caught, not served. */
  async function startFlow(page: Page, extra: Record<string, string> = {}) {
    const config = await discover(gh, APP.clientId, APP.secret);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: APP.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, ...extra });
    // Nothing listens on the callback's port: the request the browser makes is what counts.
    const callback = page.waitForRequest((request) => request.url().startsWith(APP.redirectUri), { timeout: 60_000 });
    await page.goto(url.href);
    return {
      async tokens() {
        const url = new URL((await callback).url());
        return client.authorizationCodeGrant(config, url, { pkceCodeVerifier: verifier, expectedState: state });
      },
    };
  }

  async function signInWithPassword(page: Page, username: string) {
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  async function registerPasskey(page: Page, name: string) {
    await page.goto(`${gh.url.replace('127.0.0.1', 'localhost')}/account/passkeys`);
    if (await page.getByLabel('Username or email').isVisible()) await signInWithPassword(page, 'kim');
    await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
    await page.getByLabel('Name', { exact: true }).last().fill(name);
    await page.locator('#add_password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Create the passkey' }).click();
    await page.getByRole('status').filter({ hasText: 'The passkey was added.' }).waitFor();
  }

  /** A new browser context with a virtual authenticator, and Kim's passkey `name` registered on it. */
  async function pageWithPasskey(name: string, options: { synced?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; authenticator: Authenticator }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const authenticator = await addAuthenticator(context, page, options);
    await registerPasskey(page, name);
    return { context, page, authenticator };
  }

  /** A fresh sign-in (prompt=login) shown up to its passkey button, which autofill has not answered first. */
  async function startAtPasskeyButton(page: Page, authenticator: Authenticator): Promise<Awaited<ReturnType<typeof startFlow>>> {
    let flow!: Awaited<ReturnType<typeof startFlow>>;
    await withoutCredentials(authenticator, async () => {
      flow = await startFlow(page, { prompt: 'login' });
      await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    });
    return flow;
  }

  it('registers a passkey on /account after the password, audited and mailed', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await addAuthenticator(context, page);
    // A wrong password is refused before any authenticator is asked.
    await page.goto(`${gh.issuer}/account/passkeys`);
    await signInWithPassword(page, 'kim');
    await page.locator('#add_password').fill('not the password');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').filter({ hasText: 'The password is not correct.' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create the passkey' }).count(), 0);

    await registerPasskey(page, 'Laptop');
    assert.match(await page.locator('#passkeys').innerText(), /Laptop/);
    const rows = await gh.context.knex('user_passkeys').where({ user_id: kimId });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].name, 'Laptop');
    assert.equal(await audited('user.passkey_added'), 1);
    // The notification mail (no SMTP in tests: written to the data directory's outbox).
    await gh.context.mailer.idle();
    const outbox = path.join(gh.config.dataDir, 'outbox');
    const mails = await Promise.all((await readdir(outbox)).map((file) => readFile(path.join(outbox, file), 'utf8')));
    assert.ok(mails.some((mail) => mail.includes('A passkey was added to your account') && mail.includes('kim@example.com')));
    await context.close();
  });

  it('signs in with the passkey as the first factor: amr hwk+user and the MFA acr in the ID token', async () => {
    const { context, page, authenticator } = await pageWithPasskey('Phone');
    // A fresh sign-in at the application (prompt=login), with the passkey button.
    const flow = await startAtPasskeyButton(page, authenticator);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const claims = (await flow.tokens()).claims()!;
    assert.equal(claims.sub, kimId);
    assert.deepEqual(claims.amr, ['hwk', 'user']);
    assert.equal(claims.acr, ACR_MFA);
    const used = await gh.context.knex('user_passkeys').where({ user_id: kimId, name: 'Phone' }).first();
    assert.ok(used.last_used_at, 'the use is recorded');
    assert.ok(Number(used.counter) > 0, 'the signature counter is kept');
    await context.close();
  });

  it("offers the passkey in the username field's autofill (conditional UI)", async () => {
    const { context, page } = await pageWithPasskey('Tablet');
    // A page without the virtual authenticator shows the field as it is (nothing answers there).
    const plain = await context.newPage();
    await startFlow(plain, { prompt: 'login' });
    assert.equal(await plain.getByLabel('Username or email').getAttribute('autocomplete'), 'username webauthn');
    await plain.close();
    const flow = await startFlow(page, { prompt: 'login' });
    // Chromium's virtual authenticator answers a conditional request with its discoverable
    // credential once the page has asked; no button is pressed.
    const claims = (await flow.tokens()).claims()!;
    assert.equal(claims.sub, kimId);
    assert.equal(claims.acr, ACR_MFA);
    await context.close();
  });

  it('asks for the passkey as the second factor after the password, next to TOTP', async () => {
    const { context, page, authenticator } = await pageWithPasskey('Desk key');
    let flow!: Awaited<ReturnType<typeof startFlow>>;
    await withoutCredentials(authenticator, async () => {
      flow = await startFlow(page, { prompt: 'login' });
      await signInWithPassword(page, 'kim');
      await page.getByRole('heading', { name: 'Use your passkey' }).waitFor();
    });
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    const claims = (await flow.tokens()).claims()!;
    assert.equal(claims.sub, kimId);
    assert.deepEqual(claims.amr, ['pwd', 'hwk', 'user']);
    assert.equal(claims.acr, ACR_MFA);
    await context.close();
  });

  it("satisfies the application's MFA policy with a passkey: no authenticator app is asked for", async () => {
    const previous = await gh.context.passwordPolicies.get(gh.context.tenantId);
    await gh.context.passwordPolicies.replace(gh.context.tenantId, { ...previous, mfa: { required: false, roles: [], applications: [APP.clientId] } }, SYSTEM_ACTOR);
    try {
      const { context, page, authenticator } = await pageWithPasskey('Policy key');
      // The passkey alone (user verified) is two factors: the sign-in ends without another step.
      const first = await startAtPasskeyButton(page, authenticator);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      const claims = (await first.tokens()).claims()!;
      assert.equal(claims.sub, kimId);
      assert.equal(claims.acr, ACR_MFA);
      // After the password, the passkey is the second factor the policy asks for, not a new
      // authenticator app. A second browser (the first one is still leaving for the callback) gets
      // the key once the second-factor page is shown.
      const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.id });
      const otherContext = await browser.newContext();
      const other = await otherContext.newPage();
      const otherAuthenticator = await addAuthenticator(otherContext, other);
      const second = await startFlow(other, { prompt: 'login' });
      await signInWithPassword(other, 'kim');
      await other.getByRole('heading', { name: 'Use your passkey' }).waitFor();
      await otherAuthenticator.cdp.send('WebAuthn.addCredential', { authenticatorId: otherAuthenticator.id, credential: credentials[0]! });
      await other.getByRole('button', { name: 'Use a passkey' }).click();
      assert.deepEqual((await second.tokens()).claims()!.amr, ['pwd', 'hwk', 'user']);
      await otherContext.close();
      await context.close();
    } finally {
      // The policy is the tenant's (shared on PostgreSQL): leave it as it was.
      await gh.context.passwordPolicies.replace(gh.context.tenantId, previous, SYSTEM_ACTOR);
    }
  });

  it('removes a passkey after the password: audited, and the password alone signs in again', async () => {
    const { context, page } = await pageWithPasskey('Old phone');
    const item = page.locator('li[data-passkey-id]').filter({ hasText: 'Old phone' });
    await item.getByLabel('Password').fill(DEMO_PASSWORD);
    await item.getByRole('button', { name: 'Remove this passkey' }).click();
    await page.getByRole('status').filter({ hasText: 'The passkey was removed.' }).waitFor();
    assert.equal(await page.locator('li[data-passkey-id]').count(), 0);
    assert.equal((await gh.context.knex('user_passkeys').where({ user_id: kimId })).length, 0);
    assert.equal(await audited('user.passkey_removed'), 1);
    await gh.context.mailer.idle();
    const outbox = path.join(gh.config.dataDir, 'outbox');
    const mails = await Promise.all((await readdir(outbox)).map((file) => readFile(path.join(outbox, file), 'utf8')));
    assert.ok(mails.some((mail) => mail.includes('A passkey was removed from your account') && mail.includes('kim@example.com')));
    const flow = await startFlow(page, { prompt: 'login' });
    await signInWithPassword(page, 'kim');
    assert.deepEqual((await flow.tokens()).claims()!.amr, ['pwd']);
    await context.close();
  });

  it('refuses a cloned passkey whose signature counter is not above the stored one, and audits it', async () => {
    const { context, page, authenticator: original } = await pageWithPasskey('Cloned');
    const first = await startFlow(page, { prompt: 'login' });
    assert.equal((await first.tokens()).claims()!.sub, kimId, 'the original signs in (autofill)');
    const stored = Number((await gh.context.knex('user_passkeys').where({ user_id: kimId }).first()).counter);
    assert.ok(stored > 0);

    // A copy of the key on another device, its counter behind the original's.
    const { credentials } = await original.cdp.send('WebAuthn.getCredentials', { authenticatorId: original.id });
    const otherContext = await browser.newContext();
    const other = await otherContext.newPage();
    const clone = await addAuthenticator(otherContext, other);
    await startAtPasskeyButton(other, clone);
    await clone.cdp.send('WebAuthn.addCredential', { authenticatorId: clone.id, credential: { ...credentials[0]!, signCount: 0 } });
    await other.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await other.getByRole('alert').filter({ hasText: 'The passkey could not be verified. Try again.' }).waitFor();
    assert.equal(await audited('user.passkey_clone_suspected'), 1);
    assert.equal(Number((await gh.context.knex('user_passkeys').where({ user_id: kimId }).first()).counter), stored, 'the stored counter is unchanged');
    await otherContext.close();
    await context.close();
  });

  it('keeps the backup flags of a synced passkey: amr "swk", and a copy claiming it cannot be synced is refused', async () => {
    const { context, page, authenticator } = await pageWithPasskey('Synced', { synced: true });
    const row = await gh.context.knex('user_passkeys').where({ user_id: kimId }).first();
    assert.deepEqual([row.backup_eligible, row.backup_state], [true, true]);
    const flow = await startAtPasskeyButton(page, authenticator);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    assert.deepEqual((await flow.tokens()).claims()!.amr, ['swk', 'user']);

    // Backup eligibility is fixed at registration (WebAuthn L3 §6.1.3): a key that now says otherwise is not the registered one.
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.id });
    const otherContext = await browser.newContext();
    const other = await otherContext.newPage();
    const copy = await addAuthenticator(otherContext, other);
    await startAtPasskeyButton(other, copy);
    await copy.cdp.send('WebAuthn.addCredential', { authenticatorId: copy.id, credential: { ...credentials[0]!, signCount: credentials[0]!.signCount + 10, backupEligibility: false, backupState: false } });
    await other.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await other.getByRole('alert').filter({ hasText: 'The passkey could not be verified. Try again.' }).waitFor();
    await otherContext.close();
    await context.close();
  });
});
