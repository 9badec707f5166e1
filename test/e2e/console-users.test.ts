// The console's user screens in Chromium against a real Gatehouse, past the administrator
// journey: the list's filters (status, identity kind, group, role) and keyset pages, the export
// of a filter, bulk activate / assign a role / add to a group / delete; a user's general
// information, group membership, an all-values data scope, the effective-access view naming a
// group and the default policy, clone; unlock, second-factor reset, reset mail, "end all"
// sessions, the audit trail and delete. Each result is checked through the API or the database.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { type Browser } from 'playwright-core';
import * as client from 'openid-client';
import { generate } from 'otplib';
import { storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { adminCatalog, createServiceApiCaller, type ApiCaller, type ApiResponse } from '../helpers/admin-api.ts';
import { discover, signIn } from '../helpers/oidc.ts';
import { HttpClient } from '../helpers/http.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { consolePerson, signedInConsole, startConsoleGatehouse } from '../helpers/console-suite.ts';
import { type ConsolePage, UserDetailsPageObject, UsersPageObject } from '../helpers/console-pages.ts';
import { assertSettledAccessible } from '../helpers/console-objects-pages.ts';
import { UserListPageObject, UserPageObject } from '../helpers/console-users-pages.ts';

const SMART_HUB = { clientId: 'smart-hub', secret: 'smart-hub-secret-change-me-0123456789abcdef', redirectUri: 'http://localhost:8080/callback' };
const PAGE_SIZE = 25;
const GROUPS_PAST_THE_SCREEN = 40;

interface Made {
  id: string;
  username: string;
  defaultIdentityId: string;
}

describe(`console user screens (Chromium, ${storageMode})`, function () {
  this.timeout(240_000);
  let gh: TestGatehouse;
  let browser: Browser;
  let admin: ConsolePage;
  let adminUserId: string;
  let api: ApiCaller;
  const prefix = uniqueName('list');
  const listed: Made[] = [];
  let group: { id: string; name: string };
  let role: { id: string; name: string };

  async function createUser(body: Record<string, unknown>): Promise<Made> {
    const made = await api.request('POST', '/users', body);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    return made.body as Made;
  }
  async function createRole(permission: string): Promise<{ id: string; name: string }> {
    const made = await api.request('POST', '/roles', { name: uniqueName('Console role'), permissions: [{ resource: 'gatehouse', permission }] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    return made.body;
  }
  async function ok(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const response = await api.request(method, path, body);
    assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response;
  }

  before(async function () {
    gh = await startConsoleGatehouse(this);
    // Granting a data scope takes holding it: the administrator holds every value of both keys.
    const person = await consolePerson(gh, { permissions: 'all', dataScope: { client: ['*'], supplier: ['*'] } });
    adminUserId = person.caller.userId;
    api = await createServiceApiCaller(gh, adminCatalog(gh));
    // More users than one page holds; the first four stand out by one filter each.
    for (let n = 0; n < PAGE_SIZE + 2; n++) {
      const username = `${prefix}-${String(n).padStart(2, '0')}`;
      listed.push(await createUser({ username, email: `${username}@example.com`, name: `List ${n}`, identity: { kind: n === 1 ? 'client' : 'internal' } }));
    }
    group = (await ok('POST', '/groups', { name: uniqueName('Console team') })).body;
    // More groups than a group choice's list has room for on screen, on either storage mode: the
    // list must scroll inside its popover rather than spill over the button that opened it.
    const held = ((await ok('GET', '/groups')).body.groups as unknown[]).length;
    for (let n = held; n < GROUPS_PAST_THE_SCREEN; n++) await ok('POST', '/groups', { name: uniqueName(`Filler group ${n}`) });
    role = await createRole('identity-kinds:list');
    await ok('POST', `/users/${listed[2]!.id}/deactivate`, {});
    await ok('POST', `/groups/${group.id}/members`, { identityIds: [listed[3]!.defaultIdentityId] });
    await ok('POST', `/identities/${listed[4]!.defaultIdentityId}/roles`, { roleIds: [role.id] });
    ({ browser, admin } = await signedInConsole(gh, person.login));
  });
  after(async () => {
    await browser?.close();
    await gh?.close();
  });

  it('filters the users list by status, identity kind, group and role, and pages through it with the keyset cursor', async () => {
    await admin.open('Users');
    const users = new UserListPageObject(admin);
    await users.search(prefix);
    const first = await users.waitForCount(prefix, PAGE_SIZE);
    await users.pager().getByText('Page 1').waitFor();
    await users.nextPage();
    const second = await users.waitForCount(prefix, listed.length - PAGE_SIZE);
    await users.pager().getByText('Page 2').waitFor();
    assert.equal((await users.pager().getByRole('button', { name: 'Next page' }).getAttribute('disabled')) !== null, true, 'no third page');
    assert.deepEqual([...first, ...second].sort(), listed.map((u) => u.username).sort(), 'each user on exactly one page');
    await users.previousPage();
    await users.waitForListed(first);

    await users.filter('Status', 'inactive');
    await users.waitForListed([listed[2]!.username]);
    await users.filter('Status', 'Any status');
    await users.waitForCount(prefix, PAGE_SIZE);
    await users.filter('Identity kind', 'Client');
    await users.waitForListed([listed[1]!.username]);
    await users.filter('Identity kind', 'Any kind');
    await users.filter('Group', group.name);
    await users.waitForListed([listed[3]!.username]);
    await users.filter('Group', 'Any group');
    await users.filterByRole(role.name);
    await users.waitForListed([listed[4]!.username]);
    await assertSettledAccessible(admin, 'Users filtered by role');
    assert.deepEqual(admin.problems, []);
  });

  it('exports the users of the current filter as CSV, every page of them', async () => {
    await admin.page.goto(`${gh.url}/console/users`);
    const users = new UserListPageObject(admin);
    await users.search(prefix);
    await users.waitForCount(prefix, PAGE_SIZE);
    const all = await users.export();
    assert.match(all.suggestedFilename(), /^users-.*\.csv$/);
    const lines = (await readFile((await all.path())!, 'utf8')).trimEnd().split('\r\n');
    assert.equal(lines[0]!.split(',')[0], 'user_id');
    assert.deepEqual(
      lines
        .slice(1)
        .map((line) => line.split(',')[1]!.replace(/"/g, ''))
        .sort(),
      listed.map((u) => u.username).sort(),
    );

    await users.filter('Identity kind', 'Client');
    await users.waitForListed([listed[1]!.username]);
    const clients = await users.export();
    const rows = (await readFile((await clients.path())!, 'utf8')).trimEnd().split('\r\n');
    assert.equal(rows.length, 2, rows.join('\n'));
    assert.ok(rows[1]!.startsWith(`"${listed[1]!.id}","${listed[1]!.username}"`), rows[1]);
    assert.deepEqual(admin.problems, []);
  });

  it('activates, assigns a role, adds to a group and deletes users in bulk, each confirmation saying how many', async () => {
    const bulkPrefix = uniqueName('bulk');
    const pair = [await createUser({ username: `${bulkPrefix}-1`, identity: { kind: 'internal' } }), await createUser({ username: `${bulkPrefix}-2`, identity: { kind: 'internal' } })];
    for (const user of pair) await ok('POST', `/users/${user.id}/deactivate`, {});
    const bulkRole = await createRole('groups:list');
    await admin.page.goto(`${gh.url}/console/users`);
    const list = new UserListPageObject(admin);
    const users = new UsersPageObject(admin);
    await list.search(bulkPrefix);
    await list.waitForListed(pair.map((u) => u.username));
    const names = pair.map((u) => u.username);

    await users.select(names);
    const activated = await users.bulk('Activate', 'Activate 2');
    assert.match(activated.question, /Activate 2 users\?/);
    assert.equal(activated.summary, '2 done, 0 refused.');
    await list.takeReport('Activated');
    for (const user of pair) assert.equal((await gh.context.users.findByUsername(user.username))?.status, 'active');

    await users.select(names);
    const assigned = await list.bulkAssign('role', bulkRole.name, 2);
    assert.equal(assigned.question, 'Assign a role to 2 users');
    assert.equal(assigned.summary, '2 done, 0 refused.');
    for (const user of pair) {
      const roles = (await ok('GET', `/identities/${user.defaultIdentityId}/roles`)).body;
      assert.ok(JSON.stringify(roles).includes(bulkRole.id), JSON.stringify(roles));
    }

    await users.select(names);
    const added = await list.bulkAssign('group', group.name, 2);
    assert.equal(added.question, 'Add 2 users to a group');
    assert.equal(added.summary, '2 done, 0 refused.');
    const members = (await ok('GET', `/groups/${group.id}/members`)).body.members.map((m: { identityId: string }) => m.identityId);
    for (const user of pair) assert.ok(members.includes(user.defaultIdentityId));

    await users.select(names);
    await assertSettledAccessible(admin, 'users list with a selection');
    const deleted = await users.bulk('Delete', 'Delete 2');
    assert.match(deleted.question, /Delete 2 users with their identities/);
    assert.equal(deleted.summary, '2 done, 0 refused.');
    await list.waitForListed([]);
    for (const user of pair) assert.equal(await gh.context.users.findByUsername(user.username), undefined);
    assert.deepEqual(admin.problems, []);
  });

  it('edits general information, joins a group, sets an all-values scope, shows effective access from a group and the default policy, and clones the user', async () => {
    const dora = await createUser({ username: uniqueName('dora'), name: 'Dora Desk', email: `${uniqueName('dora')}@example.com`, identity: { kind: 'supplier', alias: 'Dora supplies' } });
    const fromGroup = await createRole('groups:list');
    const fromPolicy = await createRole('identity-kinds:list');
    const team = (await ok('POST', '/groups', { name: uniqueName('Suppliers desk') })).body as { id: string; name: string };
    await ok('POST', `/groups/${team.id}/roles`, { roleIds: [fromGroup.id] });
    // The default policy is tenant-wide (and the PostgreSQL suite shares the tenant): it gives the
    // role to suppliers only while this test runs.
    const kept = ((await ok('GET', '/default-policy')).body.roles as { roleId: string; identityKind: string | null }[]).map((e) => ({ roleId: e.roleId, identityKind: e.identityKind }));
    await ok('PUT', '/default-policy', { roles: [...kept, { roleId: fromPolicy.id, identityKind: 'supplier' }] });
    try {
      const user = new UserPageObject(admin);
      await user.open(gh.url, dora.id);
      await user.saveGeneral({ Phone: '+44 20 7946 0000', Department: 'Procurement' });
      const stored = await gh.context.users.findByUsername(dora.username);
      assert.deepEqual([stored?.phone, stored?.department], ['+44 20 7946 0000', 'Procurement']);

      await user.joinGroup('Dora supplies', team.name);
      const details = new UserDetailsPageObject(admin);
      await details.setScope('Dora supplies', 'supplier', '*');
      const access = await details.effectiveAccess('Dora supplies');
      assert.ok(access.includes(`groups:list: role ${fromGroup.name} (group ${team.name})`), access.join('\n'));
      assert.ok(access.includes(`identity-kinds:list: role ${fromPolicy.name} (default policy for supplier)`), access.join('\n'));
      await assertSettledAccessible(admin, 'user details with a group, a scope and the effective access');

      const copy = { username: uniqueName('dora-copy'), name: 'Dora Copy', email: `${uniqueName('dora-copy')}@example.com` };
      await user.clone(copy);
      const cloned = (await ok('GET', `/users/${admin.page.url().split('/').pop()}`)).body as { username: string; department: string | null; identities: { id: string; kind: string; alias: string; groups: { name: string }[] }[] };
      assert.equal(cloned.username, copy.username);
      assert.equal(cloned.department, 'Procurement');
      assert.deepEqual(
        cloned.identities.map((i) => [i.kind, i.alias, i.groups.map((g) => g.name)]),
        [['supplier', 'Dora supplies', [team.name]]],
      );
      const scopes = await gh.context.knex('identity_data_scopes').where({ identity_id: cloned.identities[0]!.id }).select('key', 'values');
      assert.deepEqual(
        scopes.map((s: { key: string; values: unknown }) => [s.key, typeof s.values === 'string' ? JSON.parse(s.values) : s.values]),
        [['supplier', ['*']]],
      );
      assert.deepEqual(admin.problems, []);
    } finally {
      await ok('PUT', '/default-policy', { roles: kept });
    }
  });

  it('unlocks a locked user, resets the second factor, sends a reset mail, ends all sessions, shows the audit trail, and deletes the user', async () => {
    const username = uniqueName('erin');
    const password = `pw-${crypto.randomUUID()}`;
    const erin = await gh.context.users.create({ username, password, email: `${username}@example.com` }, SYSTEM_ACTOR);
    const hub = await discover(gh, SMART_HUB.clientId, SMART_HUB.secret);
    const refreshTokens: string[] = [];
    for (let n = 0; n < 2; n++) {
      const { tokens } = await signIn({ gatehouse: gh, config: hub, redirectUri: SMART_HUB.redirectUri, username, password, scope: 'openid', browser: new HttpClient(gh.issuer) });
      assert.ok(tokens.refresh_token);
      refreshTokens.push(tokens.refresh_token);
    }
    const enrollment = await gh.context.mfa.startEnrollment(gh.context.tenantId, { id: erin.id, username });
    assert.ok(await gh.context.mfa.confirmEnrollment(gh.context.tenantId, erin.id, await generate({ secret: enrollment.secret }), SYSTEM_ACTOR));
    await gh.context
      .knex('users')
      .where({ id: erin.id })
      .update({ status: 'locked', locked_until: new Date(Date.now() + 3_600_000) });

    const user = new UserPageObject(admin);
    await user.open(gh.url, erin.id);
    await user.waitForStatus('locked');
    await admin.page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await user.waitForStatus('active');
    assert.equal((await gh.context.users.findByUsername(username))?.status, 'active');

    await user.security().getByText('enabled', { exact: true }).waitFor();
    assert.match(await user.confirm('Reset second factor', 'Reset second factor'), /authenticator app and recovery codes/);
    await user.security().getByRole('status').filter({ hasText: 'The second factor was removed.' }).waitFor();
    assert.equal(await gh.context.mfa.enabled(gh.context.tenantId, erin.id), false);

    await user.confirm('Send password reset mail', 'Send');
    await user.security().getByRole('status').filter({ hasText: 'The reset mail is on its way.' }).waitFor();
    const sent = await gh.context.knex('audit_events').where({ tenant_id: gh.context.tenantId, action: 'user.password_reset_sent', target_id: erin.id }).first('actor_id');
    assert.equal((sent as { actor_id: string } | undefined)?.actor_id, adminUserId);

    assert.equal(await user.sessionRows().count(), 2);
    assert.match(await user.confirm('End all sessions', 'End 2 sessions'), /End all 2 sessions of/);
    await admin.page.getByRole('region', { name: 'Sessions' }).getByText('No active session.').waitFor();
    for (const token of refreshTokens) await assert.rejects(client.refreshTokenGrant(hub, token), (error: unknown) => error instanceof client.ResponseBodyError && error.error === 'invalid_grant');

    await admin.page.reload();
    await admin.page.getByRole('heading', { level: 2, name: 'General information' }).waitFor();
    const trail = await user.trail();
    for (const action of ['user.unlocked', 'user.password_reset_sent']) assert.ok(trail.includes(action), `${action} in ${trail.join(', ')}`);
    await assertSettledAccessible(admin, 'user details with security, sessions and the audit trail');

    assert.match(await user.confirm('Delete user', 'Delete user'), /This cannot be undone/);
    await admin.page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    assert.equal(await gh.context.users.findByUsername(username), undefined);
    assert.deepEqual(admin.problems, []);
  });

  it('answers an unknown console address with a page that passes axe-core', async () => {
    await admin.page.goto(`${gh.url}/console/no-such-page`);
    await admin.page.getByText('There is no such page.').waitFor();
    await admin.assertAccessible('an unknown console page');
  });
});
