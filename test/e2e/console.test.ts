// The admin console in Chromium against a real Gatehouse: sign-in as the console client, the
// security-trimmed menu and read-only views, the administrator journey with the demo cast (Kim,
// Jack and Lucy's second identity set up in the console, their tokens checked, a session ended and
// its refresh refused, a CSV import with a bad row, a bulk action), the landing page and the CSP,
// and axe-core on every page at 1280 px and 390 px. One browser for the file; one context per
// person.
import assert from 'node:assert/strict';
import { type Browser } from 'playwright-core';
import * as client from 'openid-client';
import { uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { discover, signIn } from '../helpers/oidc.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { consolePerson, signedInConsole, startConsoleGatehouse } from '../helpers/console-suite.ts';
import { ConsolePage, UserDetailsPageObject, UsersPageObject } from '../helpers/console-pages.ts';

const SMART_HUB = { clientId: 'smart-hub', secret: 'smart-hub-secret-change-me-0123456789abcdef', redirectUri: 'http://localhost:8080/callback' };
const SECTIONS = [
  'Overview',
  'Users',
  'Sessions',
  'Roles',
  'Groups',
  'Applications',
  'Service accounts',
  'API resources',
  'Default policy',
  'Data-scope keys',
  'Audit log',
  'Policies',
  'Navigation menus',
  'Webhooks',
  'Identity providers',
  'Tenant settings',
];

describe('admin console (Chromium)', function () {
  this.timeout(180_000);
  let gh: TestGatehouse;
  let browser: Browser;
  let admin: ConsolePage;
  const people: Record<string, { username: string; password: string }> = {};

  async function person(key: string, options: Parameters<typeof consolePerson>[1]): Promise<void> {
    people[key] = (await consolePerson(gh, options)).login;
  }

  before(async function () {
    gh = await startConsoleGatehouse(this);
    await person('admin', { permissions: 'all', roles: ['User', 'Client'], dataScope: { client: ['*'] } });
    await person('reader', { permissions: ['user-maintenance:list', 'users:read'] });
    await person('nobody', { permissions: [] });
    ({ browser, admin } = await signedInConsole(gh, people.admin!));
  });
  after(async () => {
    await browser?.close();
    await gh?.close();
  });

  it('serves a landing page at / and the console under a strict CSP', async () => {
    const landing = await fetch(new URL('/', gh.url));
    assert.equal(landing.status, 200);
    const html = await landing.text();
    assert.match(html, /href="\/console\/"/);
    assert.match(html, /href="\/account"/);
    const page = await fetch(new URL('/console/users', gh.url));
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(await page.text(), /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  });

  it('shows an administrator every section, each page passing axe-core, with no CSP or script error', async function () {
    // Sixteen pages, each audited by axe-core; on a lasting database the roles page lists every role.
    this.timeout(480_000);
    assert.deepEqual(await admin.menu(), SECTIONS);
    await admin.assertAccessible('Overview');
    await admin.screenshot('console-overview.png');
    for (const section of SECTIONS.slice(1)) {
      await admin.open(section);
      await admin.assertAccessible(section);
      await admin.screenshot(`console-${section.toLowerCase().replace(/ /g, '-')}.png`);
    }
    await admin.open('Users');
    const users = new UsersPageObject(admin);
    await users.search('lucy');
    await users.row('lucy').waitFor();
    await users.openUser('lucy');
    await admin.assertAccessible('user details');
    await admin.screenshot('console-user-details.png');
    assert.deepEqual(admin.problems, []);
  });

  describe('the administrator journey with the demo cast', () => {
    const PORTAL = { clientId: 'client-portal', redirectUri: 'http://localhost:5173/callback' };
    const kim = { username: uniqueName('kim'), password: `pw-${crypto.randomUUID()}` };
    const jack = { username: uniqueName('jack'), password: `pw-${crypto.randomUUID()}` };
    const lucy = { username: uniqueName('lucy'), password: `pw-${crypto.randomUUID()}` };
    let kimRefresh: string | undefined;
    const claimsOf = (tokens: { claims(): unknown }) => tokens.claims() as { identity: { kind: string; alias: string }; roles: string[]; data_scope: Record<string, string[]> };

    it('creates Kim (internal, User, client=ROOM) and Jack (client, Client, client=ROOM) with the role picker searching the server', async () => {
      // A tenant with many roles whose names contain "User" and "Client", as on a shared database:
      // the picker asks the server, which puts the exact name first.
      const many = Array.from({ length: 300 }, (_, n) => ({ id: crypto.randomUUID(), tenant_id: gh.context.tenantId, name: `${n % 2 ? 'User' : 'Client'} ${uniqueName('many')}`, description: null, system: false }));
      await gh.context.knex('roles').insert(many);
      await admin.open('Users');
      const users = new UsersPageObject(admin);
      const details = new UserDetailsPageObject(admin);
      await users.createUser({ ...kim, name: 'Kim Two', kind: 'Internal user', alias: 'Kim Two' });
      await details.addRole('Kim Two', 'User');
      await details.setScope('Kim Two', 'client', 'ROOM');
      assert.ok((await details.effectiveAccess('Kim Two')).includes('bookings:create: role User (direct)'), 'the effective-access view names the origin');
      await admin.assertAccessible('user details with the effective-access view open');

      await admin.open('Users');
      await users.createUser({ ...jack, name: 'Jack Two', kind: 'Client', alias: 'Jack Two' });
      await details.addRole('Jack Two', 'Client');
      await details.setScope('Jack Two', 'client', 'ROOM');
      await admin.assertAccessible('user details with dialogs closed');
      assert.deepEqual(admin.problems, []);
    });

    it('gives Lucy a second identity (client, Client, client=ROOM)', async () => {
      await admin.open('Users');
      const users = new UsersPageObject(admin);
      const details = new UserDetailsPageObject(admin);
      await users.createUser({ ...lucy, name: 'Lucy Two', kind: 'Internal user', alias: 'Lucy Two' });
      await details.addRole('Lucy Two', 'User');
      await details.addIdentity('Client', 'Lucy (client view)');
      await details.addRole('Lucy (client view)', 'Client');
      await details.setScope('Lucy (client view)', 'client', 'ROOM');
      await admin.assertAccessible('user details with two identities');
    });

    it('signs each in to a demo application, and the tokens carry exactly what the console set', async () => {
      const hub = await discover(gh, SMART_HUB.clientId, SMART_HUB.secret);
      const portal = await discover(gh, PORTAL.clientId);
      const kimSignIn = (await signIn({ gatehouse: gh, config: hub, redirectUri: SMART_HUB.redirectUri, ...kim, scope: 'openid identity' })).tokens;
      kimRefresh = kimSignIn.refresh_token;
      const kimTokens = claimsOf(kimSignIn);
      assert.deepEqual([kimTokens.identity.kind, kimTokens.identity.alias, kimTokens.roles, kimTokens.data_scope], ['internal', 'Kim Two', ['User'], { client: ['ROOM'] }]);
      const jackTokens = claimsOf((await signIn({ gatehouse: gh, config: portal, redirectUri: PORTAL.redirectUri, ...jack, scope: 'openid identity' })).tokens);
      assert.deepEqual([jackTokens.identity.kind, jackTokens.identity.alias, jackTokens.roles, jackTokens.data_scope], ['client', 'Jack Two', ['Client'], { client: ['ROOM'] }]);
      // Each application accepts one of Lucy's two identities: the portal gets the client one.
      const lucyPortal = claimsOf((await signIn({ gatehouse: gh, config: portal, redirectUri: PORTAL.redirectUri, ...lucy, scope: 'openid identity' })).tokens);
      assert.deepEqual([lucyPortal.identity.kind, lucyPortal.identity.alias, lucyPortal.roles, lucyPortal.data_scope], ['client', 'Lucy (client view)', ['Client'], { client: ['ROOM'] }]);
      const lucyHub = claimsOf((await signIn({ gatehouse: gh, config: hub, redirectUri: SMART_HUB.redirectUri, ...lucy, scope: 'openid identity' })).tokens);
      assert.deepEqual([lucyHub.identity.kind, lucyHub.roles, lucyHub.data_scope ?? {}], ['internal', ['User'], {}]);
    });

    it("ends one of Kim's sessions from the console, and that session's application can no longer refresh", async () => {
      const hub = await discover(gh, SMART_HUB.clientId, SMART_HUB.secret);
      // A second sign-in from another browser: Kim now has two sessions, each with a refresh token.
      const second = (await signIn({ gatehouse: gh, config: hub, redirectUri: SMART_HUB.redirectUri, ...kim, scope: 'openid identity' })).tokens;
      assert.ok(kimRefresh && second.refresh_token, 'the web app gets refresh tokens');
      await admin.open('Users');
      const users = new UsersPageObject(admin);
      await users.search(kim.username);
      await users.openUser(kim.username);
      const details = new UserDetailsPageObject(admin);
      await details.sessionRows().nth(2).waitFor();
      assert.equal(await details.sessionRows().count(), 3, 'a header and two sessions');
      await details.endOneSession();
      assert.equal(await details.sessionRows().count(), 2, 'one session left');
      await admin.assertAccessible('user details with sessions');
      const outcomes = await Promise.allSettled([client.refreshTokenGrant(hub, kimRefresh!), client.refreshTokenGrant(hub, second.refresh_token!)]);
      assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected'], 'the ended session refreshes no more; the other still does');
      const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      assert.match(String((refused.reason as { error?: string }).error ?? refused.reason), /invalid_grant/);
    });

    it('imports a CSV with a bad row: the dry run reports the row, the import creates the good one', async () => {
      await admin.open('Users');
      const users = new UsersPageObject(admin);
      const good = uniqueName('imp');
      const bad = uniqueName('imp');
      const { check, result } = await users.importCsv(`username,email,identity_kind,roles,data_scope\n${good},${good}@example.com,client,Client,client=ROOM\n${bad},${bad}@example.com,client,No Such Role,client=ROOM\n`);
      assert.match(check, /Checked 2 rows: 1 would be created, 0 already exist, 1 refused\./);
      assert.match(check, /3\s+roles\s+.*No Such Role/);
      assert.match(result, /Imported: 1 users created, 0 already existed, 1 rows refused\./);
      assert.match(result, /3\s+roles/);
      await admin.assertAccessible('import dialog with its report');
      await users.closeDialog();
      await users.search(good);
      await users.row(good).waitFor();
      assert.equal(await users.row(bad).count(), 0);
    });

    it('deactivates users in bulk after a confirmation that says how many, with a report per user', async () => {
      const prefix = uniqueName('bulk');
      for (const n of [1, 2]) await gh.context.users.create({ username: `${prefix}-${n}`, email: `${prefix}-${n}@example.com` }, SYSTEM_ACTOR);
      await admin.open('Users');
      const users = new UsersPageObject(admin);
      await users.search(prefix);
      await users.row(`${prefix}-2`).waitFor();
      await users.select([`${prefix}-1`, `${prefix}-2`]);
      const { question, summary } = await users.bulk('Deactivate', 'Deactivate 2');
      assert.match(question, /Deactivate 2 users\?/);
      assert.equal(summary, '2 done, 0 refused.');
      await admin.page
        .getByRole('row')
        .filter({ hasText: `${prefix}-1` })
        .getByText('inactive', { exact: true })
        .waitFor();
      assert.equal((await gh.context.users.findByUsername(`${prefix}-2`))?.status, 'inactive');
      await admin.assertAccessible('users list after a bulk action');
    });
  });

  it('at 390 px wide the menu and the users list stay usable and accessible', async () => {
    const narrow = await ConsolePage.open(browser, gh.url, 390);
    try {
      await narrow.signIn(people.admin!.username, people.admin!.password);
      assert.deepEqual(await narrow.menu(), SECTIONS);
      await narrow.open('Users');
      await narrow.assertAccessible('Users at 390 px');
      await narrow.screenshot('console-users-390.png');
      const width = (await narrow.page.evaluate('document.documentElement.scrollWidth')) as number;
      assert.ok(width <= 390, `the page scrolls sideways (${width}px)`);
    } finally {
      await narrow.close();
    }
  });

  it('is usable by keyboard: skip link, then the menu by Tab and Enter', async () => {
    await admin.page.goto(`${gh.url}/console/`);
    await admin.heading().waitFor();
    await admin.page.keyboard.press('Tab');
    assert.equal(await admin.page.evaluate('document.activeElement?.textContent'), 'Skip to content');
    const roles = admin.nav().getByRole('link', { name: 'Roles', exact: true });
    await roles.focus();
    await admin.page.keyboard.press('Enter');
    await admin.page.getByRole('heading', { level: 1, name: 'Roles' }).waitFor();
  });

  it('shows a reader only what they may see, read-only, with no change control', async () => {
    const reader = await ConsolePage.open(browser, gh.url);
    try {
      await reader.signIn(people.reader!.username, people.reader!.password);
      assert.deepEqual(await reader.menu(), ['Overview', 'Users']);
      await reader.open('Users');
      assert.equal(await reader.page.getByRole('button', { name: 'Create user' }).count(), 0);
      assert.equal(await reader.page.getByRole('checkbox').count(), 0, 'no bulk selection');
      const users = new UsersPageObject(reader);
      await users.search('kim');
      await users.openUser('kim');
      assert.equal(await reader.page.getByLabel('Name', { exact: true }).getAttribute('readonly'), '');
      for (const name of ['Save', 'Deactivate', 'Add role', 'Set scope', 'Remove']) {
        assert.equal(await reader.page.getByRole('button', { name }).count(), 0, `no ${name} button`);
      }
      await reader.assertAccessible('read-only user details');
      assert.deepEqual(reader.problems, []);
    } finally {
      await reader.close();
    }
  });

  it("lists a user's passkeys in the user details and removes one after a confirmation, audited", async () => {
    const user = await gh.context.users.create({ username: uniqueName('passkey-owner') }, SYSTEM_ACTOR);
    const passkeyId = crypto.randomUUID();
    await gh.context.knex('user_passkeys').insert({
      id: passkeyId,
      tenant_id: gh.context.tenantId,
      user_id: user.id,
      credential_id: `cred-${passkeyId}`,
      public_key: Buffer.from([1, 2, 3]),
      transports: ['internal'],
      backup_eligible: true,
      backup_state: true,
      name: 'Work laptop',
      counter: 0,
    });
    await admin.open('Users');
    const users = new UsersPageObject(admin);
    await users.search(user.username);
    await users.openUser(user.username);
    const table = admin.page.getByRole('table', { name: 'Passkeys' });
    const row = table.getByRole('row').filter({ hasText: 'Work laptop' });
    await row.waitFor();
    assert.match(await row.innerText(), /yes/, 'shown as synced');
    await row.getByRole('button', { name: 'Remove' }).click();
    await admin.page.getByRole('alertdialog').getByRole('button', { name: 'Remove passkey' }).click();
    await admin.page.getByText('No passkey.').waitFor();
    assert.deepEqual(await gh.context.knex('user_passkeys').where({ user_id: user.id }), []);
    assert.ok(await gh.context.knex('audit_events').where({ action: 'user.passkey_removed', target_id: user.id }).first());
    await admin.assertAccessible('user details with passkeys');
    assert.deepEqual(admin.problems, []);
  });

  it('lets an Admin change the default language and the passkey relying party on the tenant settings page, and shows others the settings read-only', async () => {
    // Holding every permission is not being an Admin: the settings are shown, not the form.
    await admin.open('Tenant settings');
    await admin.page.getByText('Only an Admin changes these settings.').waitFor();
    assert.equal(await admin.page.getByRole('button', { name: 'Save settings' }).count(), 0);
    await person('tenantAdmin', { permissions: [], roles: ['Admin'] });
    const owner = await ConsolePage.open(browser, gh.url);
    try {
      await owner.signIn(people.tenantAdmin!.username, people.tenantAdmin!.password);
      await owner.open('Tenant settings');
      await owner.assertAccessible('tenant settings form');
      await owner.page.getByRole('button', { name: /Default language/ }).click();
      await owner.page.getByRole('option', { name: 'Deutsch' }).click();
      // The passkey relying party: a new id asks first, since it ends every registered passkey.
      const origin = `http://localhost:${new URL(gh.url).port}`;
      await owner.page.getByLabel('Relying-party id').fill('localhost');
      await owner.page.getByLabel('Origins, one per line').fill(origin);
      await owner.page.getByRole('button', { name: /Allowed authenticators/ }).click();
      await owner.page.getByRole('option', { name: 'Security keys only' }).click();
      await owner.page.getByRole('button', { name: /User verification/ }).click();
      await owner.page.getByRole('option', { name: 'Preferred' }).click();
      await owner.page.getByRole('button', { name: 'Save settings' }).click();
      await owner.page.getByRole('alertdialog').getByRole('button', { name: 'Change it' }).click();
      await owner.page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      const effective = await gh.context.tenantSettings.effective(gh.context.tenantId);
      assert.equal(effective.defaultLocale, 'de');
      const { rpId, origins, attachment, userVerification } = effective.passkeys;
      assert.deepEqual({ rpId, origins, attachment, userVerification }, { rpId: 'localhost', origins: [origin], attachment: 'cross-platform', userVerification: 'preferred' });
      // The passkey ceremonies use them at once.
      assert.equal((await gh.context.passkeys.authenticationOptions(gh.context.tenantId, 'console-test')).rpId, 'localhost');
      // A browser that asks for no language Gatehouse has now gets the console in German.
      const page = await fetch(new URL('/console/', gh.url), { headers: { 'accept-language': 'es' } });
      assert.match(await page.text(), /<html lang="de">/);
      assert.deepEqual(owner.problems, []);
    } finally {
      await gh.context.tenantSettings.replace({}, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
      await owner.close();
    }
  });

  it('tells a person without administrative permission so, with a link to their account', async () => {
    const nobody = await ConsolePage.open(browser, gh.url);
    try {
      await nobody.signIn(people.nobody!.username, people.nobody!.password);
      await nobody.page.getByRole('heading', { level: 1, name: 'No administrative access' }).waitFor();
      assert.equal(await nobody.page.getByRole('link', { name: 'Go to your account' }).getAttribute('href'), '/account');
      assert.equal(await nobody.nav().count(), 0);
      await nobody.assertAccessible('no access');
    } finally {
      await nobody.close();
    }
  });
});
