// The console's object pages in Chromium against a real Gatehouse: an administrator creates a
// role with permissions from the picker, a group with a member and that role, an application
// whose secret is shown once and rotated, a service account whose key is shown once; each result
// is checked through the admin API and the token endpoint. A narrow administrator sees the same
// pages read-only, and axe-core finds no serious or critical violation on any of them.
import assert from 'node:assert/strict';
import { type Browser } from 'playwright-core';
import { uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { consolePerson, signedInConsole, startConsoleGatehouse } from '../helpers/console-suite.ts';
import { ConsolePage, pickRole } from '../helpers/console-pages.ts';
import { ApplicationsPageObject, assertSettledAccessible, DataScopeKeysPageObject, GroupsPageObject, RolesPageObject, ServiceAccountsPageObject } from '../helpers/console-objects-pages.ts';

const OBJECT_SECTIONS = ['Roles', 'Groups', 'Applications', 'Service accounts', 'API resources', 'Default policy', 'Data-scope keys'];
/** What a narrow administrator may read on these pages, and nothing it may change. */
const READ_ONLY = [
  'roles:list',
  'permissions:list',
  'roles:read-assignable-roles',
  'groups:list',
  'group-members:list',
  'applications:list',
  'applications:read',
  'application-session-settings:read',
  'identity-kinds:list',
  'service-accounts:list',
  'access-keys:list',
  'api-resources:list',
  'default-policy:read',
  'data-scope-keys:list',
];

function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** The token endpoint's answer to a client authenticating with `secret` (client_secret_basic). */
async function tokenStatus(gh: TestGatehouse, clientId: string, secret: string, params: Record<string, string>): Promise<{ status: number; error?: string }> {
  const response = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  const body = (await response.json()) as { error?: string };
  return { status: response.status, error: body.error };
}

describe('console object pages (Chromium)', function () {
  this.timeout(240_000);
  let gh: TestGatehouse;
  let browser: Browser;
  let admin: ConsolePage;
  let api: ApiCaller;
  const people: Record<string, { username: string; password: string }> = {};
  const resource = `https://bookings-${crypto.randomUUID().slice(0, 8)}.example.com`;
  const made: { roleName?: string; groupName?: string; appName?: string; accountName?: string } = {};

  async function person(key: string, options: Parameters<typeof consolePerson>[1]): Promise<void> {
    people[key] = (await consolePerson(gh, options)).login;
  }

  before(async function () {
    gh = await startConsoleGatehouse(this);
    // An Admin may grant what it does not hold, such as an API resource's permissions.
    await person('admin', { permissions: 'all', roles: ['Admin'] });
    // Setting a person's password ends their sessions and so their token: the checks get their own.
    api = await createApiCaller(gh, { permissions: 'all', roles: ['Admin'] });
    await person('narrow', { permissions: READ_ONLY });
    const registered = await api.request('PUT', '/api-resources', { identifier: resource, name: 'Bookings', scopes: ['bookings:read', 'bookings:create'] });
    assert.ok(registered.status < 300, JSON.stringify(registered.body));
    ({ browser, admin } = await signedInConsole(gh, people.admin!));
  });
  after(async () => {
    // The PostgreSQL suite shares one tenant: the role this file put in the tenant-wide default
    // policy would reach every other test's identities, so it is taken out again.
    if (api && made.roleName) {
      const policy = await api.request('GET', '/default-policy');
      const entries = (policy.body?.roles ?? []) as { roleId: string; roleName: string; identityKind: string | null }[];
      if (entries.some((e) => e.roleName === made.roleName)) {
        const kept = entries.filter((e) => e.roleName !== made.roleName).map((e) => ({ roleId: e.roleId, identityKind: e.identityKind }));
        const put = await api.request('PUT', '/default-policy', { roles: kept });
        assert.equal(put.status, 200, JSON.stringify(put.body));
      }
    }
    await browser?.close();
    await gh?.close();
  });

  it('creates a role with permissions from the picker, grouped by API resource', async () => {
    await admin.open('Roles');
    const roles = new RolesPageObject(admin);
    made.roleName = uniqueName('Booking clerk');
    await roles.createRole({
      name: made.roleName,
      description: 'Takes bookings',
      permissions: [
        { group: 'Gatehouse admin API', permission: 'users:list' },
        { group: resource, permission: 'bookings:read' },
      ],
    });
    await assertSettledAccessible(admin, 'a custom role');
    const listed = (await api.request('GET', '/roles')).body.roles.find((r: { name: string }) => r.name === made.roleName);
    assert.ok(listed, 'the role exists');
    assert.equal(listed.description, 'Takes bookings');
    assert.deepEqual(listed.permissions.map((p: { resource: string; permission: string }) => `${p.resource} ${p.permission}`).sort(), [`${resource} bookings:read`, 'gatehouse users:list'].sort());
  });

  it('creates a group, adds a member found by search and gives the group the role', async () => {
    const member = await api.request('POST', '/users', { username: uniqueName('nora'), name: 'Nora Night', identity: { kind: 'internal', alias: 'Nora at night' } });
    assert.equal(member.status, 201, JSON.stringify(member.body));
    await admin.open('Groups');
    const groups = new GroupsPageObject(admin);
    made.groupName = uniqueName('Night shift');
    await groups.createGroup(made.groupName, 'Department');
    await groups.addMember(member.body.username, 'Nora at night', member.body.username);
    await groups.giveRole(made.roleName!);
    await assertSettledAccessible(admin, 'a group');

    const group = (await api.request('GET', '/groups')).body.groups.find((g: { name: string }) => g.name === made.groupName);
    assert.equal(group.type, 'department');
    assert.deepEqual(
      group.roles.map((r: { name: string }) => r.name),
      [made.roleName],
    );
    const members = await api.request('GET', `/groups/${group.id}/members`);
    assert.deepEqual(
      members.body.members.map((m: { identityId: string }) => m.identityId),
      [member.body.defaultIdentityId],
    );
    const effective = await api.request('GET', `/identities/${member.body.defaultIdentityId}/roles`);
    assert.ok(effective.body.effective.some((r: { name: string; sources: { type: string }[] }) => r.name === made.roleName && r.sources.some((s) => s.type === 'group')));
  });

  it('registers an application with a redirect URI, shows its secret once, and rotates it', async () => {
    await admin.open('Applications');
    const apps = new ApplicationsPageObject(admin);
    made.appName = uniqueName('Bookings web');
    const redirectUri = 'https://bookings.example.com/callback';
    const first = await apps.register(made.appName, redirectUri);
    assert.ok(first.length >= 32, 'a client secret');
    assert.equal(await admin.page.getByRole('textbox', { name: 'Client secret', exact: true }).count(), 0, 'shown only once');

    const app = (await api.request('GET', '/applications')).body.applications.find((a: { name: string }) => a.name === made.appName);
    assert.deepEqual(app.redirectUris, [redirectUri]);
    assert.equal(app.type, 'web');
    // A wrong secret is an invalid_client; the right one gets as far as the (bogus) code.
    const bogusCode = { grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: redirectUri };
    assert.equal((await tokenStatus(gh, app.clientId, first, bogusCode)).error, 'invalid_grant');

    await apps.openItem(made.appName);
    await assertSettledAccessible(admin, 'an application');
    const second = await apps.rotateSecret();
    assert.notEqual(second, first);
    assert.equal((await tokenStatus(gh, app.clientId, first, bogusCode)).error, 'invalid_client', 'the old secret stops working');
    assert.equal((await tokenStatus(gh, app.clientId, second, bogusCode)).error, 'invalid_grant', 'the new secret works');
    await admin.page.reload();
    await admin.page.getByRole('heading', { level: 1, name: made.appName }).waitFor();
    assert.equal(await admin.page.getByRole('textbox', { name: 'Client secret', exact: true }).count(), 0, 'not shown again');
  });

  it("sets an application's accepted identity kinds, who may use it and its session limits", async () => {
    await admin.open('Applications');
    const apps = new ApplicationsPageObject(admin);
    await apps.openItem(made.appName!);
    const page = admin.page;
    const settings = page.getByRole('region', { name: 'Settings' });
    // React Aria keeps each checkbox's input visually hidden: a person clicks its label.
    await settings.getByText('Any kind', { exact: true }).click();
    await settings.getByText('Client (client)', { exact: true }).click();
    await settings.getByRole('button', { name: 'Save', exact: true }).click();
    await settings.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

    const access = page.getByRole('region', { name: 'Who may use it' });
    await apps.choose('Access', 'Only the listed users, groups and identity kinds', access);
    await access.getByText('Client (client)', { exact: true }).click();
    await access.getByRole('button', { name: 'Save access' }).click();
    await access.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

    const limits = page.getByRole('region', { name: 'Session limits' });
    await limits.getByLabel('Idle timeout (seconds)').fill('900');
    await limits.getByLabel('Absolute lifetime (seconds)').fill('7200');
    await limits.getByRole('button', { name: 'Save session limits' }).click();
    await limits.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await assertSettledAccessible(admin, 'an application with restricted access');

    const app = (await api.request('GET', '/applications')).body.applications.find((a: { name: string }) => a.name === made.appName);
    assert.deepEqual(app.acceptedIdentityKinds, ['client']);
    const detail = await api.request('GET', `/applications/${app.clientId}`);
    assert.equal(detail.body.access.accessMode, 'restricted');
    assert.deepEqual(detail.body.access.identityKinds, ['client']);
    const session = await api.request('GET', `/applications/${app.clientId}/session-settings`);
    assert.deepEqual([session.body.idleTimeoutSeconds, session.body.absoluteLifetimeSeconds], [900, 7200]);
    assert.deepEqual(admin.problems, []);
  });

  it('creates a service account and an access key shown once, which gets a token, and revokes it', async () => {
    await admin.open('Service accounts');
    const accounts = new ServiceAccountsPageObject(admin);
    made.accountName = uniqueName('Booking sync');
    await accounts.create(made.accountName);
    const secret = await accounts.createKey('nightly import');
    const account = (await api.request('GET', '/service-accounts')).body.serviceAccounts.find((s: { name: string }) => s.name === made.accountName);
    assert.equal((await tokenStatus(gh, account.id, secret, { grant_type: 'client_credentials' })).status, 200);
    const keys = (await api.request('GET', `/service-accounts/${account.id}/keys`)).body.keys;
    assert.equal(keys.length, 1);
    assert.equal(keys[0].description, 'nightly import');
    assert.ok(secret.startsWith(keys[0].prefix), "the listed prefix is the secret's");
    await assertSettledAccessible(admin, 'a service account');

    await accounts.revoke(keys[0].prefix);
    await accounts
      .keyRow('nightly import')
      .getByText(/^revoked/)
      .waitFor();
    const after = (await api.request('GET', `/service-accounts/${account.id}/keys`)).body.keys;
    assert.ok(after[0].revokedAt, 'revoked');
    assert.equal((await tokenStatus(gh, account.id, secret, { grant_type: 'client_credentials' })).error, 'invalid_client');
  });

  it('registers an API resource with its permission catalog', async () => {
    await admin.open('API resources');
    const identifier = `https://stock-${crypto.randomUUID().slice(0, 8)}.example.com`;
    await admin.page.getByRole('button', { name: 'Register API resource' }).click();
    const dialog = admin.page.getByRole('dialog');
    await dialog.getByLabel('Identifier (an absolute URI)').fill(identifier);
    await dialog.getByLabel('Name', { exact: true }).fill('Stock');
    await dialog.getByLabel('Permission catalog').fill('stock:read\nstock:count');
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await admin.page.getByRole('cell', { name: identifier, exact: true }).waitFor();
    const listed = (await api.request('GET', '/api-resources')).body;
    const registered = listed.resources.find((r: { identifier: string }) => r.identifier === identifier);
    assert.ok(registered, JSON.stringify(listed).slice(0, 500));
    assert.deepEqual([registered.name, registered.scopes], ['Stock', ['stock:read', 'stock:count']]);
    await assertSettledAccessible(admin, 'API resources with a new one');
  });

  it('creates a data-scope key and adds a role to the default policy', async () => {
    await admin.open('Data-scope keys');
    const keys = new DataScopeKeysPageObject(admin);
    const key = `site_${crypto.randomUUID().slice(0, 6)}`;
    await keys.create(key, 'Building site');
    assert.ok((await api.request('GET', '/data-scope-keys')).body.items.some((k: { key: string; description: string }) => k.key === key && k.description === 'Building site'));

    await admin.open('Default policy');
    const form = admin.page.getByRole('form', { name: 'Add a role to the default policy' });
    await pickRole(admin.page, form.getByRole('combobox', { name: 'Role' }), made.roleName!);
    await form.getByRole('button', { name: 'Add to policy' }).click();
    await admin.page.getByRole('table', { name: 'Default policy' }).getByRole('cell', { name: made.roleName!, exact: true }).waitFor();
    const policy = (await api.request('GET', '/default-policy')).body.roles;
    assert.ok(policy.some((e: { roleName: string; identityKind: string | null }) => e.roleName === made.roleName && e.identityKind === null));
    await assertSettledAccessible(admin, 'the default policy');
  });

  it('shows every object page to an administrator, each passing axe-core, with no CSP or script error', async () => {
    for (const section of OBJECT_SECTIONS) {
      await admin.open(section);
      await assertSettledAccessible(admin, section);
    }
    assert.deepEqual(admin.problems, []);
  });

  it('shows a narrow administrator the same pages read-only, with no change control', async () => {
    const narrow = await ConsolePage.open(browser, gh.url);
    try {
      await narrow.signIn(people.narrow!.username, people.narrow!.password);
      assert.deepEqual(await narrow.menu(), ['Overview', ...OBJECT_SECTIONS]);
      const page = narrow.page;
      const noButtons = async (where: string, names: (string | RegExp)[]) => {
        for (const name of names) assert.equal(await page.getByRole('button', { name }).count(), 0, `${where}: no ${name} button`);
      };
      const readOnly = async (label: string) => assert.equal(await page.getByLabel(label, { exact: true }).first().getAttribute('readonly'), '', `${label} is read-only`);

      await narrow.open('Roles');
      await noButtons('Roles', ['Create role']);
      await assertSettledAccessible(narrow, 'read-only roles');
      await new RolesPageObject(narrow).openItem(made.roleName!);
      await readOnly('Name');
      await noButtons('a role', ['Save', 'Save permissions', 'Save assignable roles', 'Delete role']);
      const picker = page.locator('details').filter({ has: page.locator('summary', { hasText: `${resource}:` }) });
      await picker.locator('summary').click();
      const box = picker.getByRole('checkbox', { name: 'bookings:read', exact: true });
      assert.equal(await box.isChecked(), true);
      await picker.getByText('bookings:read', { exact: true }).click();
      assert.equal(await box.isChecked(), true, 'a read-only permission cannot be unticked');
      await assertSettledAccessible(narrow, 'a read-only role');

      await narrow.open('Groups');
      await noButtons('Groups', ['Create group']);
      await new GroupsPageObject(narrow).openItem(made.groupName!);
      await readOnly('Name');
      await noButtons('a group', ['Save', 'Give role', 'Delete group', /^Remove/, /^Add /]);
      assert.equal(await page.getByRole('searchbox').count(), 0, 'no member search');
      await assertSettledAccessible(narrow, 'a read-only group');

      await narrow.open('Applications');
      await noButtons('Applications', ['Register application']);
      await new ApplicationsPageObject(narrow).openItem(made.appName!);
      await readOnly('Name');
      await readOnly('Redirect URIs');
      await noButtons('an application', ['Save', 'Save access', 'Save session limits', 'Rotate secret', 'Delete application']);
      await assertSettledAccessible(narrow, 'a read-only application');

      await narrow.open('Service accounts');
      await noButtons('Service accounts', ['Create service account']);
      await new ServiceAccountsPageObject(narrow).openItem(made.accountName!);
      await readOnly('Name');
      await noButtons('a service account', ['Save', 'Create access key', /^Revoke/, 'Delete service account']);
      await assertSettledAccessible(narrow, 'a read-only service account');

      await narrow.open('API resources');
      await noButtons('API resources', ['Register API resource', /^Edit/]);
      await narrow.open('Default policy');
      await noButtons('Default policy', ['Add to policy', /^Stop giving/]);
      await narrow.open('Data-scope keys');
      await noButtons('Data-scope keys', ['Create key', /^Edit/, /^Delete/]);
      await assertSettledAccessible(narrow, 'read-only data-scope keys');
      assert.deepEqual(narrow.problems, []);
    } finally {
      await narrow.close();
    }
  });
});
