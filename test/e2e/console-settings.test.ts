// The console's settings pages in Chromium against a real Gatehouse: an administrator changes the
// password policy (and the API then refuses a shorter password), renames and disables a
// navigation item, subscribes a webhook endpoint (the secret shown once), adds an upstream
// identity provider from a preset; a narrow administrator who may only read sees each page
// read-only; axe-core on every page. One browser for the file; one context per person.
import assert from 'node:assert/strict';
import { type Browser } from 'playwright-core';
import { uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { adminCatalog, createServiceApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { consolePerson, signedInConsole, startConsoleGatehouse } from '../helpers/console-suite.ts';
import { ConsolePage, pickRole } from '../helpers/console-pages.ts';
import { eventually } from '../helpers/console-users-pages.ts';
import { discover, startAuthorization } from '../helpers/oidc.ts';
import { announced, IdentityProvidersPageObject, NavigationPageObject, PoliciesPageObject, WebhooksPageObject } from '../helpers/console-settings-pages.ts';

const READ_ONLY = [
  'password-policy:read',
  'session-settings:read',
  'navigation:read',
  'applications:list',
  'webhooks:list',
  'webhooks:read',
  'webhook-deliveries:list',
  'identity-providers:list',
  'identity-providers:read',
  'application-identity-providers:read',
  'roles:list',
  'groups:list',
];

interface MenuItem {
  key: string;
  label: string;
  overridden: boolean;
  children: MenuItem[];
}

/** Smart Hub's menu as the tenant sees it, top level first. */
async function smartHubMenu(api: ApiCaller): Promise<MenuItem[]> {
  const tree = await api.request('get', '/applications/smart-hub/navigation');
  assert.equal(tree.status, 200, JSON.stringify(tree.body));
  return tree.body.items as MenuItem[];
}

/** Removes every tenant override of Smart Hub's menu: back as the application defines it. */
async function resetMenu(api: ApiCaller): Promise<void> {
  const keys = (items: MenuItem[]): string[] => items.flatMap((i) => [...(i.overridden ? [i.key] : []), ...keys(i.children ?? [])]);
  for (const key of keys(await smartHubMenu(api))) {
    const removed = await api.request('delete', `/applications/smart-hub/navigation/overrides/${key}`);
    assert.ok([204, 404].includes(removed.status), JSON.stringify(removed.body));
  }
}

describe('console settings pages (Chromium)', function () {
  this.timeout(180_000);
  let gh: TestGatehouse;
  let browser: Browser;
  let admin: ConsolePage;
  let adminApi: ApiCaller;
  const people: Record<string, { username: string; password: string }> = {};

  async function person(key: string, options: Parameters<typeof consolePerson>[1]) {
    const { caller, login } = await consolePerson(gh, options);
    people[key] = login;
    return caller;
  }

  before(async function () {
    gh = await startConsoleGatehouse(this);
    // Subscribing a webhook endpoint is for an Admin. The person's own API token ends with the
    // password set here (a password change ends the other sessions): the checks use a service account.
    await person('admin', { permissions: 'all', roles: ['Admin'] });
    adminApi = await createServiceApiCaller(gh, adminCatalog(gh));
    await person('reader', { permissions: READ_ONLY });
    ({ browser, admin } = await signedInConsole(gh, people.admin!));
  });
  after(async () => {
    // The PostgreSQL suite shares one tenant: the navigation overrides made here would change the
    // menus every later test expects.
    if (adminApi) await resetMenu(adminApi);
    await browser?.close();
    await gh?.close();
  });

  it("changes the password policy's minimum length; the API then refuses a shorter password, and an invalid value shows the API's message", async () => {
    await admin.open('Policies');
    await announced(admin.page);
    await admin.assertAccessible('Policies');
    const policies = new PoliciesPageObject(admin);
    await policies.setMinimumLength('20');
    await policies.saved().waitFor();
    const stored = await adminApi.request('get', '/password-policy');
    assert.equal(stored.body.policy.minLength, 20);

    const short = await adminApi.request('post', '/users', { username: uniqueName('short'), password: 'a-sixteen-chars!', identity: { kind: 'internal' } });
    assert.equal(short.status, 400, JSON.stringify(short.body));
    assert.equal(short.body.code, 'password.policy');
    const long = await adminApi.request('post', '/users', { username: uniqueName('long'), password: 'twenty-one-chars-ok!!', identity: { kind: 'internal' } });
    assert.equal(long.status, 201, JSON.stringify(long.body));

    await policies.setMinimumLength('300');
    await policies
      .error()
      .filter({ hasText: /minLength/ })
      .waitFor();
    assert.equal((await adminApi.request('get', '/password-policy')).body.policy.minLength, 20, 'nothing saved');
    await announced(admin.page);
    await admin.assertAccessible('Policies with an error');
    // The browser logs the refused request itself; that refusal was the point.
    const refusal = admin.problems.findIndex((p) => /status of 400.*\/api\/v1\/password-policy/.test(p));
    assert.ok(refusal >= 0, admin.problems.join('\n'));
    admin.problems.splice(refusal, 1);
    assert.deepEqual(admin.problems, []);
  });

  it('renames and disables a navigation item for the tenant', async () => {
    // The tenant may keep overrides from an earlier run on a lasting database: start from the definition.
    for (const key of ['bookings', 'dashboard']) assert.ok([200, 204, 404].includes((await adminApi.request('delete', `/applications/smart-hub/navigation/overrides/${key}`)).status));
    await admin.open('Navigation menus');
    const navigation = new NavigationPageObject(admin);
    await navigation.chooseApplication('Smart Hub');
    await announced(admin.page);
    await admin.assertAccessible('Navigation menus');
    await navigation.rename('Bookings', 'Reservations');
    await navigation.disable('Dashboard');
    const tree = await adminApi.request('get', '/applications/smart-hub/navigation');
    const byKey = new Map((tree.body.items as { key: string; label: string; disabled: boolean; overridden: boolean }[]).map((i) => [i.key, i]));
    assert.equal(byKey.get('bookings')!.label, 'Reservations');
    assert.equal(byKey.get('bookings')!.overridden, true);
    assert.equal(byKey.get('dashboard')!.disabled, true);
    // Back as the application defines it.
    await navigation.item('Reservations').getByRole('button', { name: "Reset to the application's definition" }).click();
    await navigation.item('Bookings').waitFor();
    assert.equal((await adminApi.request('delete', '/applications/smart-hub/navigation/overrides/dashboard')).status, 204);
    assert.deepEqual(admin.problems, []);
  });

  it("reorders the menu's top level for the tenant", async () => {
    await resetMenu(adminApi);
    const [first, second] = await smartHubMenu(adminApi);
    assert.ok(first && second, 'Smart Hub defines at least two top-level items');
    await admin.open('Navigation menus');
    const navigation = new NavigationPageObject(admin);
    await navigation.chooseApplication('Smart Hub');
    await navigation
      .item(first.label)
      .getByRole('button', { name: `Move ${first.label} down` })
      .click();
    await eventually(
      async () => (await smartHubMenu(adminApi)).slice(0, 2).map((i) => i.key),
      (keys) => keys[0] === second.key && keys[1] === first.key,
      `${first.key} after ${second.key}`,
    );
    const shown = () => admin.page.getByRole('article', { name: /^Menu item / }).evaluateAll((nodes) => nodes.map((n) => n.getAttribute('aria-label')));
    await eventually(shown, (labels) => labels.indexOf(`Menu item ${second.label}`) < labels.indexOf(`Menu item ${first.label}`), 'the page shows the new order');
    await resetMenu(adminApi);
    assert.deepEqual(admin.problems, []);
  });

  it('changes the lockout threshold, a role that must use a second factor and the session idle timeout', async () => {
    const policyBefore = (await adminApi.request('get', '/password-policy')).body.policy;
    const { idleTimeoutSeconds, absoluteLifetimeSeconds, endSessionsOnPasswordChange } = (await adminApi.request('get', '/session-settings')).body as {
      idleTimeoutSeconds: number;
      absoluteLifetimeSeconds: number;
      endSessionsOnPasswordChange: boolean;
    };
    const sessionsBefore = { idleTimeoutSeconds, absoluteLifetimeSeconds, endSessionsOnPasswordChange };
    const role = await adminApi.request('post', '/roles', { name: uniqueName('Needs MFA'), permissions: [] });
    assert.equal(role.status, 201, JSON.stringify(role.body));
    try {
      await admin.open('Policies');
      await announced(admin.page);
      const policies = new PoliciesPageObject(admin);
      const form = policies.form();
      await form.getByLabel('Failed sign-ins in a row before the account locks').fill('7');
      // Roles are searched on the server (a lasting tenant holds hundreds); the one picked is listed ticked.
      await pickRole(admin.page, form.getByRole('combobox', { name: 'Add a role that must use a second factor' }), role.body.name, { clears: true });
      assert.equal(await form.getByRole('checkbox', { name: role.body.name, exact: true }).isChecked(), true);
      await form.getByRole('button', { name: 'Save password policy' }).click();
      await policies.saved().waitFor();
      const stored = (await adminApi.request('get', '/password-policy')).body.policy;
      assert.equal(stored.lockout.threshold, 7);
      assert.deepEqual(stored.mfa.roles, [...(policyBefore.mfa?.roles ?? []), role.body.name]);

      const sessions = admin.page.getByRole('form', { name: 'Sessions' });
      const idle = sessionsBefore.idleTimeoutSeconds + 60;
      await sessions.getByLabel('Idle timeout (seconds)').fill(String(idle));
      await sessions.getByRole('button', { name: 'Save session settings' }).click();
      await sessions.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      assert.equal((await adminApi.request('get', '/session-settings')).body.idleTimeoutSeconds, idle);
      await announced(admin.page);
      await admin.assertAccessible('Policies after saving');
      assert.deepEqual(admin.problems, []);
    } finally {
      // The PostgreSQL suite shares one tenant: the policies go back as they were.
      const policy = await adminApi.request('put', '/password-policy', policyBefore);
      assert.equal(policy.status, 200, JSON.stringify(policy.body));
      const sessions = await adminApi.request('put', '/session-settings', sessionsBefore);
      assert.equal(sessions.status, 200, JSON.stringify(sessions.body));
    }
  });

  it('subscribes a webhook endpoint and shows its signing secret once', async () => {
    await admin.open('Webhooks');
    await announced(admin.page);
    await admin.assertAccessible('Webhooks');
    const webhooks = new WebhooksPageObject(admin);
    const url = `https://hooks.example.test/${uniqueName('receiver')}`;
    const secret = await webhooks.subscribe(url, 'user.*, session.ended');
    assert.match(secret, /^whsec_/);
    await webhooks.endpoint(url).waitFor();
    await announced(admin.page);
    await admin.assertAccessible('Webhooks with a new secret');
    const listed = await adminApi.request('get', '/webhooks');
    const endpoint = (listed.body.items as { url: string; eventTypes: string[] }[]).find((e) => e.url === url);
    assert.deepEqual(endpoint?.eventTypes, ['user.*', 'session.ended']);
    assert.doesNotMatch(JSON.stringify(listed.body), /whsec_/, 'the API never shows the secret again');
    await admin.page.getByRole('button', { name: 'I have stored the secret' }).click();
    await admin.page.reload();
    await webhooks.endpoint(url).waitFor();
    assert.equal(await admin.page.getByText(secret).count(), 0, 'the secret is gone from the page');
    await webhooks.endpoint(url).getByRole('button', { name: 'Show deliveries' }).click();
    await webhooks.endpoint(url).getByText('No delivery yet.').waitFor();
    assert.deepEqual(admin.problems, []);
  });

  it('adds an upstream identity provider from the Microsoft Entra ID preset; the secret stays write-only', async () => {
    await admin.open('Identity providers');
    await announced(admin.page);
    await admin.assertAccessible('Identity providers');
    const providers = new IdentityProvidersPageObject(admin);
    const slug = uniqueName('entra')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-');
    const name = `Contoso ${slug}`;
    await providers.addFromPreset('Microsoft Entra ID', { slug, name, clientId: 'contoso-client', clientSecret: 'contoso-secret-value', entraTenant: 'contoso.onmicrosoft.com' });
    await providers.provider(name).getByText('client secret set').waitFor();
    await announced(admin.page);
    await admin.assertAccessible('Identity providers with one added');
    const listed = await adminApi.request('get', '/identity-providers');
    const created = (listed.body.providers as { slug: string; issuer: string; claimMapping: { groups?: string }; hasClientSecret: boolean }[]).find((p) => p.slug === slug);
    assert.equal(created?.issuer, 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0');
    assert.equal(created?.claimMapping.groups, 'groups');
    assert.equal(created?.hasClientSecret, true);
    assert.doesNotMatch(JSON.stringify(listed.body), /contoso-secret-value/);
    assert.deepEqual(admin.problems, []);
  });

  it("chooses the providers on an application's sign-in page, which then offers exactly those", async () => {
    const slug = uniqueName('offered')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-');
    const name = `Offered ${slug}`;
    const created = await adminApi.request('post', '/identity-providers', { slug, name, clientId: 'offered-client', issuer: 'https://idp.example.test' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const before = await adminApi.request('get', '/applications/smart-hub/identity-providers');
    const signInPage = async () => {
      const config = await discover(gh, 'smart-hub', 'smart-hub-secret-change-me-0123456789abcdef');
      return (await startAuthorization({ gatehouse: gh, config, redirectUri: 'http://localhost:8080/callback', scope: 'openid' })).response.body;
    };
    try {
      assert.doesNotMatch(await signInPage(), new RegExp(`Sign in with ${name}`));
      // Another page first: the provider list is read again when the page opens.
      await admin.open('Policies');
      await admin.open('Identity providers');
      const providers = new IdentityProvidersPageObject(admin);
      await providers.offerOn('Smart Hub', name, true);
      const offered = await adminApi.request('get', '/applications/smart-hub/identity-providers');
      assert.ok(offered.body.providers.some((p: { id: string }) => p.id === created.body.id));
      assert.match(await signInPage(), new RegExp(`Sign in with ${name}`));
      await providers.offerOn('Smart Hub', name, false);
      assert.doesNotMatch(await signInPage(), new RegExp(`Sign in with ${name}`));
      assert.deepEqual(admin.problems, []);
    } finally {
      await adminApi.request('put', '/applications/smart-hub/identity-providers', { providerIds: before.body.providers.map((p: { id: string }) => p.id) });
      await adminApi.request('delete', `/identity-providers/${created.body.id}`);
    }
  });

  it('shows a narrow administrator the settings sections read-only, with no change control', async () => {
    const reader = await ConsolePage.open(browser, gh.url);
    try {
      await reader.signIn(people.reader!.username, people.reader!.password);
      const menu = await reader.menu();
      for (const section of ['Policies', 'Navigation menus', 'Webhooks', 'Identity providers']) assert.ok(menu.includes(section), `${section} in ${menu.join(', ')}`);

      await reader.open('Policies');
      await reader.page.getByText('You may read these settings but not change them.').waitFor();
      assert.equal(await reader.page.getByLabel('Minimum length', { exact: true }).getAttribute('readonly'), '');
      assert.equal(await reader.page.getByRole('button', { name: /^Save/ }).count(), 0);
      await announced(reader.page);
      await reader.assertAccessible('Policies, read-only');

      await reader.open('Navigation menus');
      const navigation = new NavigationPageObject(reader);
      await navigation.chooseApplication('Smart Hub');
      await navigation.item('Dashboard').waitFor();
      assert.equal(await reader.page.getByRole('button', { name: /^(Rename|Disable|Enable|Up|Down)$/ }).count(), 0);
      await announced(reader.page);
      await reader.assertAccessible('Navigation menus, read-only');

      await reader.open('Webhooks');
      await reader.page.getByRole('article').first().waitFor();
      assert.equal(await reader.page.getByRole('button', { name: /^(Subscribe an endpoint|Save|Delete|Disable|Enable)$/ }).count(), 0);
      await announced(reader.page);
      await reader.assertAccessible('Webhooks, read-only');

      await reader.open('Identity providers');
      await reader.page.getByRole('article').first().waitFor();
      assert.equal(await reader.page.getByRole('button', { name: /^(Add an identity provider|Change|Delete)$/ }).count(), 0);
      await reader.page.getByRole('heading', { level: 2, name: "Providers on each application's sign-in page" }).waitFor();
      assert.equal(await reader.page.getByRole('button', { name: /^Save/ }).count(), 0);
      await announced(reader.page);
      await reader.assertAccessible('Identity providers, read-only');
      assert.deepEqual(reader.problems, []);
    } finally {
      await reader.close();
    }
  });
});
