// Bulk CSV import through POST /api/v1/users/import with a real admin token, against a real
// Gatehouse (PGlite + in-process store, or PostgreSQL + Redis). Every username is unique to the run.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { ADMIN_API_RESOURCE } from '../../src/services/authorization.ts';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { passwordSignIn } from '../helpers/sign-in.ts';

const HEADER = 'username,email,name,department,identity_kind,identity_alias,roles,groups,data_scope,password_hash';

describe(`bulk CSV import (${storageMode})`, function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let admin: ApiCaller;
  let groupName: string;
  let roleName: string;
  let scopeKey: string;
  const run = randomUUID().slice(0, 8);
  const name = (base: string) => `${base}-${run}`;

  before(async () => {
    gh = await startTestGatehouse();
    scopeKey = `client_${run}`;
    await gh.context.dataScopes.createKey({ key: scopeKey }, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    roleName = uniqueName('Booker');
    const role = await gh.context.roles.create({ name: roleName, permissions: [] }, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' }, []);
    groupName = uniqueName('Operations');
    const group = await gh.context.groups.create({ name: groupName, type: 'department' }, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    await gh.context.groups.assignRoles(group.id, [role.id], { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    admin = await createApiCaller(gh, { permissions: ['users:import', 'users:read'], dataScope: { [scopeKey]: ['*'] } });
  });
  after(async () => gh?.close());

  const importCsv = (csv: string, query = '', caller: ApiCaller = admin) => caller.request('POST', `/users/import${query}`, csv, { 'content-type': 'text/csv' });
  const findUser = (username: string) => gh.context.users.findByUsername(username);

  it('creates each user with its identity, roles, group and data scope, audits them, and creates nothing twice', async () => {
    const hash = await argon2.hash('imported-password-123', { type: argon2.argon2id });
    const csv = [HEADER, `${name('amy')},${name('amy')}@example.com,Amy Adams,Operations,client,"Amy (client)",${roleName},${groupName},${scopeKey}=ROOM;,`, `${name('bob')},,"Bob, the builder",,,,,,,"${hash}"`, ''].join('\r\n');
    const response = await importCsv(csv);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual({ ...response.body, existing: undefined }, { dryRun: false, mode: 'all-or-nothing', rows: 2, created: 2, existing: undefined, refused: 0, problems: [], committed: true, invitations: 1 });

    const amy = (await findUser(name('amy')))!;
    assert.equal(amy.email, `${name('amy')}@example.com`);
    assert.equal(amy.department, 'Operations');
    const identity = await gh.context.knex('identities').where({ user_id: amy.id }).first('id', 'kind', 'alias');
    assert.deepEqual([identity.kind, identity.alias], ['client', 'Amy (client)']);
    assert.equal(amy.defaultIdentityId, identity.id);
    const authz = (await gh.context.authorization.forIdentity(identity.id))!;
    assert.deepEqual(authz.roles, [roleName], 'the direct role (also given by the group)');
    assert.deepEqual(authz.groups, [groupName]);
    assert.deepEqual(authz.dataScope, { [scopeKey]: ['ROOM'] });
    const bob = (await findUser(name('bob')))!;
    assert.equal(bob.name, 'Bob, the builder', 'a quoted field may hold a comma');
    assert.equal((await passwordSignIn(gh.context, name('bob'), 'imported-password-123')).userId, bob.id, 'the imported hash signs in');
    const created = await gh.context.audit.list(gh.context.tenantId, { action: 'user.created', targetId: amy.id });
    assert.equal(created.length, 1);
    assert.equal(created[0]!.details.source, 'import');
    assert.ok((await gh.context.audit.verify()).ok, 'the bulk audit rows keep the hash chain');

    // The same file again, with a case variant of a username: nothing new.
    const again = await importCsv(csv.replace(name('amy'), name('AMY')));
    assert.equal(again.status, 200);
    assert.equal(again.body.created, 0);
    assert.deepEqual(
      again.body.existing.map((e: { line: number }) => e.line),
      [2, 3],
    );
  });

  it('reports every bad row with line, column and reason, and commits nothing in all-or-nothing mode', async () => {
    const csv = [HEADER, `${name('good')},${name('good')}@example.com,,,,,,,,`, `bad name,,,,,,,,,`, `${name('carl')},not-an-email,,,alien,,NoSuchRole,NoSuchGroup,undefinedkey=x,plaintext`, `${name('Good')},${name('GOOD')}@example.com,,,,,,,,`].join(
      '\n',
    );
    const response = await importCsv(csv);
    assert.equal(response.status, 422);
    assert.equal(response.body.committed, false);
    assert.equal(response.body.created, 0);
    assert.equal(response.body.refused, 3);
    const problems = response.body.problems.map((p: { line: number; column: string; reason: string }) => `${p.line} ${p.column}: ${p.reason}`);
    assert.ok(
      problems.some((p: string) => p.startsWith('3 username: username may contain')),
      problems.join('\n'),
    );
    for (const [column, reason] of [
      ['email', 'valid email'],
      ['identity_kind', 'identity kind "alien" is not defined'],
      ['roles', 'no role named "NoSuchRole"'],
      ['groups', 'no group named "NoSuchGroup"'],
      ['data_scope', 'data-scope key "undefinedkey" is not defined'],
      ['password_hash', 'not a supported password hash'],
    ]) {
      assert.ok(
        problems.some((p: string) => p.startsWith(`4 ${column}:`) && p.includes(reason)),
        `${column}: ${problems.join('\n')}`,
      );
    }
    assert.ok(
      problems.some((p: string) => p.startsWith('5 username:') && p.includes('already on line 2')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p: string) => p.startsWith('5 email:') && p.includes('already on line 2')),
      problems.join('\n'),
    );
    assert.equal(await findUser(name('good')), undefined, 'the good row was not committed either');
  });

  it('commits the good rows in per-row mode, and a dry run writes nothing', async () => {
    const csv = [HEADER, `${name('dora')},,,,,,,,,`, `${name('dora')},,,,,,,,,`, `${name('eve')},,,,,,,,,`].join('\n');
    const dry = await importCsv(csv, '?mode=per-row&dryRun=true');
    assert.equal(dry.status, 422);
    assert.deepEqual([dry.body.dryRun, dry.body.created, dry.body.refused, dry.body.committed], [true, 2, 1, false]);
    assert.equal(await findUser(name('dora')), undefined, 'a dry run writes nothing');
    const real = await importCsv(csv, '?mode=per-row');
    assert.equal(real.status, 422);
    assert.deepEqual([real.body.created, real.body.refused, real.body.committed], [2, 1, true]);
    assert.ok(await findUser(name('dora')));
    assert.ok(await findUser(name('eve')));
  });

  it('reports a cell holding a NUL as a bad row (the edge check does not read CSV bodies), and imports the rest in per-row mode', async () => {
    const csv = [HEADER, `${name('nul')},,Nu\u0000ll,,,,,,,`, `${name('nul-ok')},,Fay,,,,,,,`].join('\n');
    const result = await importCsv(csv, '?mode=per-row');
    assert.equal(result.status, 422, JSON.stringify(result.body));
    assert.deepEqual([result.body.created, result.body.refused, result.body.committed], [1, 1, true]);
    const problem = (result.body.problems as { line: number; column: string; reason: string }[]).find((p) => p.line === 2);
    assert.equal(problem?.column, 'name');
    assert.match(problem!.reason, /control character/);
    assert.equal(await findUser(name('nul')), undefined);
    assert.ok(await findUser(name('nul-ok')));
  });

  it('refuses rows that would grant a role, a group or a data scope wider than the importer holds', async () => {
    const { knex, tenantId } = gh.context;
    const powerful = uniqueName('Powerful');
    const roleId = randomUUID();
    await knex('roles').insert({ id: roleId, tenant_id: tenantId, name: powerful });
    await knex('role_permissions').insert({ tenant_id: tenantId, role_id: roleId, resource: ADMIN_API_RESOURCE, permission: 'users:delete' });
    const narrow = await createApiCaller(gh, { permissions: ['users:import'], dataScope: { [scopeKey]: ['ROOM'] } });
    const csv = [HEADER, `${name('fay')},,,,,,${powerful},,,`, `${name('gus')},,,,,,,,${scopeKey}=Pharma,`, `${name('hal')},,,,,,,,${scopeKey}=ROOM,`].join('\n');
    const response = await importCsv(csv, '', narrow);
    assert.equal(response.status, 422);
    const problems = response.body.problems.map((p: { line: number; column: string; reason: string }) => `${p.line} ${p.column}: ${p.reason}`);
    assert.ok(
      problems.some((p: string) => p.startsWith('2 roles:') && p.includes('permissions you do not hold (users:delete)')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p: string) => p.startsWith(`3 data_scope:`) && p.includes(`${scopeKey}=Pharma`)),
      problems.join('\n'),
    );
    assert.equal(response.body.problems.length, 2, "the row within the importer's scope is fine");
    assert.equal(await findUser(name('hal')), undefined, 'all-or-nothing: nothing was written');

    // An importer with no data scope for the key at all grants none of it.
    const unscoped = await createApiCaller(gh, { permissions: ['users:import'] });
    const refused = await importCsv([HEADER, `${name('ida')},,,,,,,,${scopeKey}=ROOM,`].join('\n'), '', unscoped);
    assert.equal(refused.status, 422);
    assert.deepEqual(
      refused.body.problems.map((p: { line: number; column: string }) => [p.line, p.column]),
      [[2, 'data_scope']],
    );
  });

  it('refuses malformed files as a whole, with a clear message', async () => {
    const unknown = await importCsv('username,shoe_size\nx,42\n');
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.title, /unknown column\(s\) "shoe_size"/);
    const noUsername = await importCsv('email\na@example.com\n');
    assert.equal(noUsername.status, 400);
    assert.match(noUsername.body.title, /"username" column/);
    const broken = await importCsv('username,name\n"unterminated,x\n');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.code, 'import.malformed_csv');
    const json = await admin.request('POST', '/users/import', { username: 'x' });
    assert.equal(json.status, 415);
    const forbidden = await createApiCaller(gh, { permissions: ['users:read'] });
    assert.equal((await importCsv(`${HEADER}\n${name('ivy')},,,,,,,,,`, '', forbidden)).status, 403);
  });
});
