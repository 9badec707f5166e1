// Console features the screens' own suites left unchecked, in Chromium against a real Gatehouse:
// the CSV import's progress bar while a real import of 2,000 rows runs; the users list's columns
// as the requirement names them, each cell under its heading; removing a role, a data scope, a
// group membership and an identity on a user's page; an access key's "last used" after it gets a
// token, and its expiry; the sessions dashboard narrowed by identity kind and by application; and
// roles found on the server where a tenant holds more than a page of them (the roles list, the
// assignable-roles picker, an identity provider's default roles). Each result is checked through
// the admin API.
import assert from 'node:assert/strict';
import { type Browser } from 'playwright-core';
import { storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { adminCatalog, createServiceApiCaller, type ApiCaller, type ApiResponse } from '../helpers/admin-api.ts';
import { discover, signIn } from '../helpers/oidc.ts';
import { HttpClient } from '../helpers/http.ts';
import { consolePerson, signedInConsole, startConsoleGatehouse } from '../helpers/console-suite.ts';
import { type ConsolePage } from '../helpers/console-pages.ts';
import { eventually, UserListPageObject, UserPageObject } from '../helpers/console-users-pages.ts';
import { assertSettledAccessible } from '../helpers/console-objects-pages.ts';
import { AccessKeysObject, HeldAnswer, IdentityRemovalsObject, ImportDialogObject, RoleSearchObject, SessionFiltersObject, UserColumnsObject } from '../helpers/console-coverage-pages.ts';

const SMART_HUB = { clientId: 'smart-hub', secret: 'smart-hub-secret-change-me-0123456789abcdef', redirectUri: 'http://localhost:8080/callback' };
const OPS_CONSOLE = { clientId: 'ops-console', secret: 'ops-console-secret-change-me-0123456789abcd', redirectUri: 'http://localhost:8081/callback' };
const IMPORT_ROWS = 2_000;
/** Rows the roles list shows on a page. */
const ROLES_PAGE = 50;

describe(`console coverage: import progress, user columns and removals, access keys, session filters, roles searched on the server (Chromium, ${storageMode})`, function () {
  this.timeout(300_000);
  let gh: TestGatehouse;
  let browser: Browser;
  let admin: ConsolePage;
  let api: ApiCaller;

  async function ok(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const response = await api.request(method, path, body);
    assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response;
  }
  async function createUser(body: Record<string, unknown>): Promise<{ id: string; username: string; defaultIdentityId: string }> {
    return (await ok('POST', '/users', body)).body;
  }
  async function createRole(name: string): Promise<{ id: string; name: string }> {
    return (await ok('POST', '/roles', { name, permissions: [] })).body;
  }
  async function signInTo(app: typeof SMART_HUB, username: string, password: string): Promise<void> {
    const config = await discover(gh, app.clientId, app.secret);
    await signIn({ gatehouse: gh, config, redirectUri: app.redirectUri, username, password, scope: 'openid', browser: new HttpClient(gh.issuer) });
  }

  before(async function () {
    gh = await startConsoleGatehouse(this);
    // Giving a data scope takes holding it: the administrator and the API caller hold every client value.
    const person = await consolePerson(gh, { permissions: 'all', dataScope: { client: ['*'] } });
    // A service account calls the API: its token belongs to no session, so the console's own
    // sign-in as the administrator leaves it working.
    api = await createServiceApiCaller(gh, adminCatalog(gh));
    const { knex, tenantId } = gh.context;
    await knex('identity_data_scopes').insert({ tenant_id: tenantId, identity_id: api.identityId, key: 'client', values: JSON.stringify(['*']) });
    await gh.context.authorization.invalidateAll();
    ({ browser, admin } = await signedInConsole(gh, person.login));
  });
  after(async () => {
    await browser?.close();
    await gh?.close();
  });

  it(`shows an indeterminate progress bar, named and counting the rows, while a real import of ${IMPORT_ROWS.toLocaleString('en')} users runs`, async () => {
    const prefix = uniqueName('bulk');
    const lines = Array.from({ length: IMPORT_ROWS }, (_, n) => `${prefix}-${String(n).padStart(4, '0')},Imported ${n}`);
    const csv = `username,name\n${lines.join('\n')}\n`;
    await admin.open('Users');
    const dialog = new ImportDialogObject(admin);
    const check = await dialog.check(csv);
    assert.match(check, new RegExp(`Checked ${IMPORT_ROWS} rows: ${IMPORT_ROWS} would be created, 0 already exist, 0 refused\\.`));
    assert.equal(await dialog.progressBar().count(), 0, 'no progress bar once the dry run answered');

    // The import goes to the server; its answer is held until the bar has been read, so the page
    // is seen in the state a person sees while a large import runs.
    const held = await HeldAnswer.on(admin.page, /\/api\/v1\/users\/import\?.*dryRun=false/);
    await dialog.startImport();
    const during = await dialog.readProgress();
    assert.deepEqual(during, { name: 'Importing', text: `Importing ${IMPORT_ROWS.toLocaleString('en')} rows…`, valueNow: null, valueMin: '0', valueMax: '100' });
    assert.equal(await held.answered, 200, 'the server imported the file');
    assert.equal(await dialog.progressBar().count(), 1, 'the bar stays until the page has the answer');
    assert.equal(await dialog.dialog().getByRole('button', { name: 'Import', exact: true }).isDisabled(), true, 'no second import while one runs');
    await assertSettledAccessible(admin, 'the import dialog while importing');
    held.let();
    const report = await dialog.importReport();
    assert.match(report, new RegExp(`Imported: ${IMPORT_ROWS} users created, 0 already existed, 0 rows refused\\.`));
    assert.equal(await dialog.progressBar().count(), 0, 'the bar is gone with the report');

    const found = await ok('GET', `/users?q=${encodeURIComponent(prefix)}&limit=5`);
    assert.equal(found.body.items.length, 5);
    assert.ok(
      found.body.items.every((u: { username: string }) => u.username.startsWith(prefix)),
      JSON.stringify(found.body.items),
    );
    assert.ok(await gh.context.users.findByUsername(`${prefix}-${String(IMPORT_ROWS - 1).padStart(4, '0')}`), 'the last row was imported');
    assert.deepEqual(admin.problems, []);
  });

  it('lists users under the user-maintenance columns — user id, name, contact details, user type, identities and roles, associations, status, credential state', async () => {
    const role = await createRole(uniqueName('Columns role'));
    const username = uniqueName('cols');
    const user = await createUser({
      username,
      name: 'Cora Columns',
      email: `${username}@example.com`,
      phone: '+44 20 7946 0958',
      department: 'Pharmacy',
      password: `pw-${crypto.randomUUID()}`,
      identity: { kind: 'client', alias: 'Cora at ROOM' },
    });
    await ok('POST', `/identities/${user.defaultIdentityId}/roles`, { roleIds: [role.id] });
    await ok('PUT', `/identities/${user.defaultIdentityId}/data-scopes/client`, { values: ['ROOM'] });

    await admin.page.goto(`${gh.url}/console/users`);
    await new UserListPageObject(admin).search(username);
    const columns = new UserColumnsObject(admin);
    const row = await columns.rowByHeading(username);
    assert.deepEqual(await columns.headings(), ['Select', 'User ID', 'Name', 'Contact details', 'User type', 'Identities and roles', 'Associations', 'Status', 'Credential state']);
    assert.equal(row['User ID'], `${username}\n${user.id}`);
    assert.equal(row.Name, 'Cora Columns');
    assert.equal(row['Contact details'], `${username}@example.com\n+44 20 7946 0958\nPharmacy`);
    assert.equal(row['User type'], 'client');
    assert.equal(row['Identities and roles'], `Cora at ROOM (client): ${role.name}`);
    assert.equal(row.Associations, 'client=ROOM');
    assert.equal(row.Status, 'active');
    assert.equal(row['Credential state'], 'password set');
    assert.deepEqual(admin.problems, []);
  });

  it("removes a role, a data scope, a group membership and a second identity from a user's page", async () => {
    const role = await createRole(uniqueName('Removable role'));
    const group = (await ok('POST', '/groups', { name: uniqueName('Removable team') })).body as { id: string; name: string };
    const user = await createUser({ username: uniqueName('remy'), name: 'Remy Removals', identity: { kind: 'internal', alias: 'Remy at work' } });
    const second = (await ok('POST', '/identities', { username: user.username, kind: 'client', alias: 'Remy as client' })).body.identity as { id: string };
    for (const identityId of [user.defaultIdentityId, second.id]) {
      await ok('POST', `/identities/${identityId}/roles`, { roleIds: [role.id] });
      await ok('PUT', `/identities/${identityId}/data-scopes/client`, { values: ['ROOM'] });
      await ok('POST', `/groups/${group.id}/members`, { identityIds: [identityId] });
    }
    const roleIds = async (identityId: string) => ((await ok('GET', `/identities/${identityId}/roles`)).body.direct as { id: string }[]).map((r) => r.id);
    const members = async () => ((await ok('GET', `/groups/${group.id}/members`)).body.members as { identityId: string }[]).map((m) => m.identityId);

    await new UserPageObject(admin).open(gh.url, user.id);
    const removals = new IdentityRemovalsObject(admin);
    await removals.removeRole('Remy at work', role.name);
    assert.deepEqual(await roleIds(user.defaultIdentityId), [], 'the role is gone from the default identity');
    assert.deepEqual(await roleIds(second.id), [role.id], 'the other identity keeps it');

    await removals.removeScope('Remy at work', 'client');
    assert.deepEqual((await ok('GET', `/identities/${user.defaultIdentityId}/data-scopes`)).body, {});
    assert.deepEqual((await ok('GET', `/identities/${second.id}/data-scopes`)).body, { client: ['ROOM'] });

    await removals.leaveGroup('Remy at work', group.name);
    assert.deepEqual(await members(), [second.id], 'only the other identity is still a member');

    const question = await removals.deleteIdentity('Remy as client');
    assert.match(question, /Delete the identity Remy as client with its roles, memberships and data scopes\?/);
    const identities = ((await ok('GET', `/users/${user.id}`)).body.identities as { id: string; alias: string }[]).map((i) => i.alias);
    assert.deepEqual(identities, ['Remy at work']);
    assert.deepEqual(await members(), [], 'the deleted identity left the group with it');
    await removals.card('Remy at work').getByRole('button', { name: 'Delete identity' }).waitFor({ state: 'detached' });
    await assertSettledAccessible(admin, 'a user after removals');
    assert.deepEqual(admin.problems, []);
  });

  it('shows when an access key was last used once it gets a token, and the expiry it was created with', async () => {
    const name = uniqueName('Nightly sync');
    const account = (await ok('POST', '/service-accounts', { name })).body as { id: string };
    const keys = new AccessKeysObject(admin);
    await keys.open(gh.url, account.id, name);
    const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const secret = await keys.createKey('used key', expires);
    const created = await keys.keyByHeading('used key');
    assert.equal(created['Last used'], 'never');
    assert.equal(created.Status, 'active');

    const stored = ((await ok('GET', `/service-accounts/${account.id}/keys`)).body.keys as { expiresAt: string | null }[])[0]!;
    const shownExpiry = await admin.page.evaluate((value) => new Date(value).toLocaleString('en'), stored.expiresAt!);
    assert.equal(await admin.page.evaluate((value) => new Date(value).toLocaleDateString('sv'), stored.expiresAt!), expires, 'the key expires on the day chosen');
    assert.equal(created.Expires, shownExpiry);

    const token = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(account.id)}:${encodeURIComponent(secret)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    assert.equal(token.status, 200, await token.text());
    // The use is recorded off the token request's path.
    const used = await eventually(
      async () => ((await ok('GET', `/service-accounts/${account.id}/keys`)).body.keys as { lastUsedAt: string | null }[])[0]!.lastUsedAt,
      (value) => value !== null,
      'the key records its use',
    );
    await keys.open(gh.url, account.id, name);
    const after = await keys.keyByHeading('used key');
    assert.equal(after['Last used'], await admin.page.evaluate((value) => new Date(value).toLocaleString('en'), used!));
    assert.equal(after.Expires, shownExpiry);
    assert.equal(after.Status, 'active');

    // Once its expiry has passed the key is listed as expired (the clock cannot be moved here, so
    // the stored expiry is moved back).
    await gh.context
      .knex('access_keys')
      .where({ service_account_id: account.id })
      .update({ expires_at: new Date(Date.now() - 60_000) });
    await keys.open(gh.url, account.id, name);
    assert.equal((await keys.keyByHeading('used key')).Status, 'expired');
    assert.deepEqual(admin.problems, []);
  });

  it('narrows the sessions dashboard by identity kind and by application', async () => {
    const password = `pw-${crypto.randomUUID()}`;
    const ivy = await createUser({ username: uniqueName('ivy'), password, identity: { kind: 'internal', alias: 'Ivy inside' } });
    const cleo = await createUser({ username: uniqueName('cleo'), password, identity: { kind: 'client', alias: 'Cleo outside' } });
    await signInTo(SMART_HUB, ivy.username, password);
    await signInTo(OPS_CONSOLE, ivy.username, password);
    await signInTo(OPS_CONSOLE, cleo.username, password);

    await admin.open('Sessions');
    const sessions = new SessionFiltersObject(admin);
    const mine = (rows: Record<string, string>[]) => rows.filter((r) => r.User === ivy.username || r.User === cleo.username).map((r) => `${r.User} ${r.Identity} ${r.Applications}`);

    await sessions.filter({ identityKind: 'client' });
    const clients = await sessions.rows();
    assert.ok(clients.length > 0);
    assert.ok(
      clients.every((r) => r.Identity.endsWith('(client)')),
      JSON.stringify(clients.map((r) => r.Identity)),
    );
    assert.deepEqual(mine(clients), [`${cleo.username} Cleo outside (client) Operations Console`]);

    await sessions.filter({ application: 'Smart Hub' });
    const smartHub = await sessions.rows();
    assert.ok(
      smartHub.every((r) => r.Applications.split(', ').includes('Smart Hub')),
      JSON.stringify(smartHub.map((r) => r.Applications)),
    );
    assert.deepEqual(mine(smartHub), [`${ivy.username} Ivy inside (internal) Smart Hub`]);

    await sessions.filter({ application: 'Operations Console' });
    assert.deepEqual(mine(await sessions.rows()).sort(), [`${cleo.username} Cleo outside (client) Operations Console`, `${ivy.username} Ivy inside (internal) Operations Console`].sort());

    await sessions.filter({ identityKind: 'internal', application: 'Operations Console' });
    assert.deepEqual(mine(await sessions.rows()), [`${ivy.username} Ivy inside (internal) Operations Console`]);
    await admin.assertAccessible('Sessions filtered by kind and application');
    assert.deepEqual(admin.problems, []);
  });

  describe('with more roles than a page holds', () => {
    const stem = uniqueName('Paged role');
    const names = Array.from({ length: ROLES_PAGE + 5 }, (_, n) => `${stem} ${String(n).padStart(2, '0')}`);
    const roles: { id: string; name: string }[] = [];
    const last = () => roles[roles.length - 1]!;

    before(async () => {
      for (const name of names) roles.push(await createRole(name));
    });

    it('searches and pages the roles list on the server, and opens a role past the first page', async () => {
      await admin.open('Roles');
      const search = new RoleSearchObject(admin);
      await search.waitForListed(ROLES_PAGE, () => true, `the first page lists ${ROLES_PAGE} roles`);
      assert.equal(await search.isNextEnabled(), true, 'the tenant holds more roles than one page');

      await search.search(stem);
      const first = await search.waitForListed(ROLES_PAGE, (n) => n.startsWith(stem), `a page of ${ROLES_PAGE} roles named ${stem}`);
      await search.nextPage();
      const second = await search.waitForListed(names.length - ROLES_PAGE, (n) => n.startsWith(stem), 'the rest on the second page');
      await search.pager().getByText('Page 2').waitFor();
      assert.equal(await search.isNextEnabled(), false, 'no third page');
      assert.deepEqual([...first, ...second], names, 'each role once, in name order');

      await search.search(last().name);
      await search.waitForListed(1, (n) => n === last().name, `only ${last().name}`);
      await admin.page.getByRole('link', { name: last().name, exact: true }).click();
      await admin.page.getByRole('heading', { level: 1, name: last().name }).waitFor();
      await assertSettledAccessible(admin, 'a role opened from a searched list');
      assert.deepEqual(admin.problems, []);
    });

    it("adds a role found by search past the first page to the roles a role's holders may assign", async () => {
      const holder = roles[0]!;
      await admin.page.goto(`${gh.url}/console/roles/${holder.id}`);
      await admin.page.getByRole('heading', { level: 1, name: holder.name }).waitFor();
      const search = new RoleSearchObject(admin);
      await search.addAssignable(last().name);
      const assignable = (await ok('GET', `/roles/${holder.id}/assignable-roles`)).body.roles as { id: string }[];
      assert.deepEqual(
        assignable.map((r) => r.id),
        [last().id],
      );

      await admin.page.reload();
      const section = admin.page.getByRole('region', { name: 'Roles its holders may assign' });
      const box = section.getByRole('checkbox', { name: last().name });
      await box.waitFor({ state: 'attached' });
      assert.equal(await box.isChecked(), true, 'ticked after a reload');
      assert.equal(await section.getByRole('checkbox').count(), 1, 'only the roles it may assign are listed, not every role');
      assert.deepEqual(admin.problems, []);
    });

    it('gives an identity provider a default role found by search, keeping the one it had, both named', async () => {
      const slug = uniqueName('mapped')
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-');
      const provider = (await ok('POST', '/identity-providers', { slug, name: `Mapped ${slug}`, clientId: 'mapped-client', issuer: 'https://idp.example.test', defaultRoleIds: [roles[1]!.id] })).body as { id: string; name: string };
      await admin.open('Identity providers');
      const card = admin.page.getByRole('article', { name: `Identity provider ${provider.name}`, exact: true });
      await card.getByText(`roles: ${roles[1]!.name}`).waitFor();

      await new RoleSearchObject(admin).addDefaultRole(provider.name, last().name);
      const stored = ((await ok('GET', '/identity-providers')).body.providers as { id: string; defaultRoleIds: string[] }[]).find((p) => p.id === provider.id);
      assert.deepEqual([...(stored?.defaultRoleIds ?? [])].sort(), [roles[1]!.id, last().id].sort());
      const shown = await eventually(
        async () => /roles: (.*)$/m.exec(await card.innerText())?.[1],
        (text) => text !== undefined && text.split(', ').includes(last().name),
        'the card names the roles it gives',
      );
      assert.deepEqual(shown!.split(', ').sort(), [roles[1]!.name, last().name].sort());
      await ok('DELETE', `/identity-providers/${provider.id}`);
      assert.deepEqual(admin.problems, []);
    });
  });
});
