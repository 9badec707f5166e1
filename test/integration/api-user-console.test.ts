// The admin API the console's user screens use: role search for the picker on a tenant with many
// roles, the effective-access view with each permission's origin, the user export as CSV, a reset
// link sent by an administrator (read from a real SMTP server), and a user's passkeys listed and
// removed by an administrator.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';

describe(`admin API for the console's user screens (${storageMode})`, function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let smtp: TestSmtpServer;
  let admin: ApiCaller;
  const system = () => ({ tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' as const });

  before(async () => {
    smtp = await startSmtpServer();
    gh = await startTestGatehouse({ SMTP_URL: smtp.url });
    admin = await createApiCaller(gh, { permissions: 'all' });
  });
  after(async () => {
    await gh?.close();
    await smtp?.close();
  });

  async function newUser(email = true) {
    const username = uniqueName('cu');
    const user = await gh.context.users.create({ username, name: 'Casey User', ...(email ? { email: `${username}@example.test` } : {}) }, SYSTEM_ACTOR);
    const identity = (await gh.context.identities.listForUser(gh.context.tenantId, user.id))[0]!;
    return { id: user.id, username, email: `${username}@example.test`, identityId: identity.id };
  }

  it('searches roles by name, the exact name first, with a limit', async () => {
    const stem = `Picker${randomUUID().slice(0, 6)}`;
    for (const name of [`${stem} extra`, `A ${stem}`, stem, `${stem}s`]) {
      const created = await admin.request('POST', '/roles', { name, permissions: [] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    const found = await admin.request('GET', `/roles?q=${encodeURIComponent(stem.toLowerCase())}`);
    assert.equal(found.status, 200);
    const names = (found.body.roles as { name: string }[]).map((r) => r.name);
    assert.deepEqual(names, [stem, `${stem} extra`, `${stem}s`, `A ${stem}`]);
    const limited = await admin.request('GET', `/roles?q=${encodeURIComponent(stem)}&limit=2`);
    assert.deepEqual(
      (limited.body.roles as { name: string }[]).map((r) => r.name),
      [stem, `${stem} extra`],
    );
    const wildcard = await admin.request('GET', '/roles?q=%25');
    assert.ok(
      (wildcard.body.roles as { name: string }[]).every((r) => r.name.includes('%')),
      'a % in q is matched literally',
    );
    assert.equal((await admin.request('GET', '/roles?limit=0')).status, 400);
    const all = await admin.request('GET', '/roles');
    assert.ok((all.body.roles as unknown[]).length >= 4, 'without q every role is listed');
    assert.equal(all.body.nextCursor, null);
  });

  it('pages through roles with a cursor, each role on exactly one page, the search kept', async () => {
    const stem = `Paged${randomUUID().slice(0, 6)}`;
    const names = ['a', 'b', 'c', 'd', 'e'].map((letter) => `${stem} ${letter}`);
    for (const name of names) assert.equal((await admin.request('POST', '/roles', { name, permissions: [] })).status, 201);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 3; pages++) {
      const query: string = `/roles?q=${encodeURIComponent(stem)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await admin.request('GET', query);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      seen.push(...(page.body.roles as { name: string }[]).map((r) => r.name));
      cursor = page.body.nextCursor;
      if (pages < 2) assert.ok(cursor, `a cursor after page ${pages + 1}`);
    }
    assert.equal(cursor, null, 'no page after the third');
    assert.deepEqual(seen, names);
    assert.equal((await admin.request('GET', '/roles?limit=2&cursor=bm90LWEtY3Vyc29y')).status, 400, 'a cursor the API did not give');
    assert.equal((await admin.request('GET', `/roles?cursor=${encodeURIComponent('WzJd')}`)).status, 400, 'a cursor without limit');
  });

  it('shows each permission an identity holds with the roles and paths it comes by', async () => {
    const resource = `https://effective-${randomUUID().slice(0, 8)}.example/api`;
    await gh.context.apiResources.upsert({ identifier: resource, name: 'Effective', scopes: ['things:read', 'things:write'] }, SYSTEM_ACTOR);
    const reader = await gh.context.roles.create({ name: uniqueName('Reader'), permissions: [{ resource, permission: 'things:read' }] }, system(), []);
    const writer = await gh.context.roles.create(
      {
        name: uniqueName('Writer'),
        permissions: [
          { resource, permission: 'things:read' },
          { resource, permission: 'things:write' },
        ],
      },
      system(),
      [],
    );
    const user = await newUser();
    await gh.context.roles.assignToIdentity(user.identityId, [reader.id], system());
    const group = await gh.context.groups.create({ name: uniqueName('Writers') }, system());
    await gh.context.groups.assignRoles(group.id, [writer.id], system());
    await gh.context.groups.addMembers(group.id, [user.identityId], system());

    const response = await admin.request('GET', `/identities/${user.identityId}/effective-access`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const mine = (response.body.permissions as { resource: string; permission: string; via: { roleName: string; sources: { type: string; groupName?: string }[] }[] }[]).filter((p) => p.resource === resource);
    assert.deepEqual(
      mine.map((p) => [p.permission, p.via.map((v) => `${v.roleName}:${v.sources.map((s) => (s.type === 'group' ? `group ${s.groupName}` : s.type)).join('+')}`).sort()]),
      [
        ['things:read', [`${reader.name}:direct`, `${writer.name}:group ${group.name}`].sort()],
        ['things:write', [`${writer.name}:group ${group.name}`]],
      ],
    );
    assert.equal((await admin.request('GET', `/identities/${randomUUID()}/effective-access`)).status, 404);
  });

  it('exports the users of the current filter as CSV, one line per identity, formulas neutralised', async () => {
    const user = await newUser();
    assert.equal((await admin.request('PATCH', `/users/${user.id}`, { department: '=HYPERLINK("x")' })).status, 200);
    await admin.request('POST', '/identities', { username: user.username, kind: 'client', alias: 'Second hat' });
    const response = await fetch(`${gh.url}/api/v1/user-maintenance/export?q=${user.username}`, { headers: { authorization: `Bearer ${admin.token}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(response.headers.get('content-disposition') ?? '', /attachment; filename="users-.*\.csv"/);
    const lines = (await response.text()).trimEnd().split('\r\n');
    assert.equal(lines[0], 'user_id,username,email,name,phone,department,status,identity_kind,identity_alias,roles,groups,data_scope,password_set,mfa_enrolled');
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.ok(lines.slice(1).every((line) => line.startsWith(`"${user.id}","${user.username}"`)));
    assert.ok(lines.some((line) => line.includes('"client","Second hat"')));
    assert.ok(lines[1]!.includes(`"'=HYPERLINK(""x"")"`), lines[1]);
    const audited = await gh.context.knex('audit_events').where({ tenant_id: gh.context.tenantId, action: 'users.exported', actor_id: admin.userId }).count({ n: '*' }).first();
    assert.ok(Number((audited as { n: string | number }).n) >= 1);
    const refused = await fetch(`${gh.url}/api/v1/user-maintenance/export?status=gone`, { headers: { authorization: `Bearer ${admin.token}` } });
    assert.equal(refused.status, 400);
  });

  it('sends a reset link an administrator asks for, audited; refuses a user without email', async () => {
    const user = await newUser();
    const sent = await admin.request('POST', `/users/${user.id}/password-reset`, {});
    assert.equal(sent.status, 204, JSON.stringify(sent.body));
    const [mail] = await smtp.waitFor(user.email);
    assert.match(mail!.text, /\/account\/password\/reset\?token=[A-Za-z0-9_-]{43}/);
    const event = await gh.context.knex('audit_events').where({ action: 'user.password_reset_sent', target_id: user.id }).first('actor_id');
    assert.equal((event as { actor_id: string }).actor_id, admin.userId);

    const mailless = await newUser(false);
    const refused = await admin.request('POST', `/users/${mailless.id}/password-reset`, {});
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'user.no_email');
    assert.equal((await admin.request('POST', `/users/${randomUUID()}/password-reset`, {})).status, 404);
  });

  it("lists a user's passkeys and removes one, audited", async () => {
    const user = await newUser();
    const passkeyId = randomUUID();
    await gh.context
      .knex('user_passkeys')
      .insert({ id: passkeyId, tenant_id: gh.context.tenantId, user_id: user.id, credential_id: `cred-${passkeyId}`, public_key: Buffer.from([1, 2, 3]), transports: ['internal'], backup_state: true, name: 'Laptop' });
    const listed = await admin.request('GET', `/users/${user.id}/passkeys`);
    assert.equal(listed.status, 200);
    assert.deepEqual(
      (listed.body.items as { id: string; name: string; synced: boolean; transports: string[] }[]).map((p) => [p.id, p.name, p.synced, p.transports]),
      [[passkeyId, 'Laptop', true, ['internal']]],
    );
    assert.equal((await admin.request('DELETE', `/users/${user.id}/passkeys/${passkeyId}`)).status, 204);
    assert.deepEqual((await admin.request('GET', `/users/${user.id}/passkeys`)).body.items, []);
    const event = await gh.context.knex('audit_events').where({ action: 'user.passkey_removed', target_id: user.id }).first('actor_id');
    assert.equal((event as { actor_id: string }).actor_id, admin.userId);
    assert.equal((await admin.request('DELETE', `/users/${user.id}/passkeys/${passkeyId}`)).status, 404);
  });
});
