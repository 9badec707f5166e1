// The SCIM 2.0 service provider on a real server: RFC 7644's own examples (create §3.3, filters
// §3.4.2.2, PATCH §3.5.2), pagination and sorting, userName case-insensitivity, ETags with
// If-Match, active=false ending the user's sessions, the PATCH forms Entra ID and Okta send,
// groups and their members, the discovery endpoints, a 1,000-user provisioning run, and a token
// without the SCIM permissions refused.
import assert from 'node:assert/strict';
import { adminCatalog, createServiceApiCaller, type ApiCaller, type ApiResponse } from '../helpers/admin-api.ts';
import { signInToAccount } from '../helpers/account.ts';
import { gatehouseForSuite, uniqueName } from '../helpers/gatehouse.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GATEHOUSE = 'urn:gatehouse:params:scim:schemas:extension:identities:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const SCIM_JSON = { 'content-type': 'application/scim+json' };

describe('SCIM 2.0 service provider', function () {
  this.timeout(300_000);
  const gh = gatehouseForSuite();
  let scim: ApiCaller;

  before(async () => {
    scim = await createServiceApiCaller(
      gh,
      adminCatalog(gh).filter((p) => p.startsWith('scim-')),
    );
  });

  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    scim.request(method, `/scim/v2${path}`, body === undefined ? undefined : JSON.stringify(body), { ...(body === undefined ? {} : SCIM_JSON), ...headers });
  const ok = (r: ApiResponse, status: number) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    return r.body;
  };
  const patchOf = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
  const list = async (query: Record<string, string>) => ok(await send('GET', `/Users?${new URLSearchParams(query)}`), 200);
  // Emails are unique per tenant and PostgreSQL keeps earlier runs' users: each run its own domain.
  const domain = `${uniqueName('mail').toLowerCase()}.example.com`;
  const createUser = async (userName: string, extra: Record<string, unknown> = {}) => ok(await send('POST', '/Users', { schemas: [USER], userName, ...extra }), 201);

  it('creates the user of RFC 7644 §3.3 and answers with Location, ETag and application/scim+json', async () => {
    const userName = uniqueName('bjensen');
    const response = await send('POST', '/Users', { schemas: [USER], userName, externalId: 'bjensen', name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara' } });
    const body = ok(response, 201);
    assert.match(response.headers.get('content-type') ?? '', /^application\/scim\+json/);
    assert.equal(response.headers.get('location'), `${gh.issuer}/scim/v2/Users/${body.id}`);
    assert.equal(response.headers.get('etag'), body.meta.version);
    assert.match(body.meta.version, /^W\/".+"$/);
    assert.equal(body.userName, userName);
    assert.equal(body.name.formatted, 'Ms. Barbara J Jensen III');
    assert.equal(body.active, true);
    assert.equal(body.meta.resourceType, 'User');
    const identities = body[GATEHOUSE].identities;
    assert.equal(identities.length, 1);
    assert.equal(identities[0].kind, 'internal');
    assert.equal(identities[0].default, true);
    // Written through the directory service with the SCIM client as the requester: audited as it.
    const [audited] = await gh.context.audit.list(gh.context.tenantId, { action: 'user.created', targetId: body.id });
    assert.equal(audited!.actorType, 'service');
    assert.equal(audited!.actorId, scim.userId);

    // The same userName in another case is taken (caseExact=false): 409 uniqueness.
    const duplicate = await send('POST', '/Users', { schemas: [USER], userName: userName.toUpperCase() });
    assert.equal(duplicate.status, 409);
    assert.deepEqual(duplicate.body.schemas, [ERROR]);
    assert.equal(duplicate.body.status, '409');
    assert.equal(duplicate.body.scimType, 'uniqueness');

    // Plain JSON is accepted too; other media types are not.
    assert.equal((await scim.request('POST', '/scim/v2/Users', { schemas: [USER], userName: uniqueName('plain') })).status, 201);
    assert.equal((await scim.request('POST', '/scim/v2/Users', 'userName=x', { 'content-type': 'application/x-www-form-urlencoded' })).status, 415);
    // No userName: invalidValue; nothing written.
    const missing = await send('POST', '/Users', { schemas: [USER], displayName: 'No Name' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.scimType, 'invalidValue');
    // The directory's own validation answers in SCIM form too; malformed JSON is invalidSyntax.
    const badEmail = await send('POST', '/Users', { schemas: [USER], userName: uniqueName('bad-email'), emails: [{ value: 'not-an-email' }] });
    assert.equal(badEmail.status, 400);
    assert.equal(badEmail.body.scimType, 'invalidValue');
    const malformed = await scim.request('POST', '/scim/v2/Users', '{"userName": ', SCIM_JSON);
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.scimType, 'invalidSyntax');
  });

  it('reads a user, 404 in SCIM form for an unknown one, and deletes', async () => {
    const created = await createUser(uniqueName('reader'));
    const read = await send('GET', `/Users/${created.id}`);
    assert.deepEqual(ok(read, 200), created);
    assert.equal(read.headers.get('etag'), created.meta.version);
    const projected = ok(await send('GET', `/Users/${created.id}?attributes=userName`), 200);
    assert.deepEqual(Object.keys(projected).sort(), ['id', 'meta', 'schemas', 'userName']);
    ok(await send('DELETE', `/Users/${created.id}`), 204);
    const gone = await send('GET', `/Users/${created.id}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body.schemas, [ERROR]);
    assert.equal(gone.body.status, '404');
    assert.equal((await send('GET', '/Users/not-a-uuid')).status, 404);
  });

  describe('filters (RFC 7644 §3.4.2.2), sorting and paging', () => {
    let p: string;
    const ids: Record<string, string> = {};
    before(async () => {
      p = uniqueName('flt').toLowerCase();
      const people = [
        { key: 'alice', name: { formatted: 'Alice Archer' }, emails: [{ value: `alice@${p}.example.com`, type: 'work', primary: true }], [ENTERPRISE]: { department: 'Sales' } },
        { key: 'bob', name: { givenName: 'Bob', familyName: "O'Malley" }, emails: [{ value: `bob@${p}.example.org`, type: 'work' }], [ENTERPRISE]: { department: 'Engineering' } },
        { key: 'carol', displayName: 'Carol Cole', phoneNumbers: [{ value: '+41 44 000 00 00', type: 'work' }], active: false },
        { key: 'dave', emails: [{ value: `dave@${p}.example.com` }], [ENTERPRISE]: { department: 'sales' } },
      ];
      for (const { key, ...rest } of people) ids[key] = (await createUser(`${p}-${key}`, rest)).id;
    });
    const names = (body: { Resources: { userName: string }[] }) => body.Resources.map((r) => r.userName.slice(p.length + 1)).sort();
    const where = async (filter: string) => names(await list({ filter: `userName sw "${p}-" and (${filter})` }));

    it('compares userName case-insensitively (RFC 7643 §2.1) and answers a ListResponse', async () => {
      const body = await list({ filter: `userName eq "${p.toUpperCase()}-ALICE"` });
      assert.deepEqual(body.schemas, ['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
      assert.equal(body.totalResults, 1);
      assert.equal(body.Resources[0].id, ids.alice);
      assert.deepEqual(names(await list({ filter: `UserName Eq "${p}-Bob"` })), ['bob']);
      assert.deepEqual(names(await list({ filter: `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "${p.toUpperCase()}-C"` })), ['carol']);
    });

    it('applies every operator, and, or, not and grouping', async () => {
      assert.deepEqual(await where(`name.formatted co "o'malley"`), ['bob']);
      assert.deepEqual(await where('displayName sw "carol"'), ['carol']);
      assert.deepEqual(await where('userName ew "-dave"'), ['dave']);
      assert.deepEqual(await where('emails pr'), ['alice', 'bob', 'dave']);
      assert.deepEqual(await where('phoneNumbers pr'), ['carol']);
      assert.deepEqual(await where('not (emails pr)'), ['carol']);
      assert.deepEqual(await where(`${ENTERPRISE}:department eq "SALES"`), ['alice', 'dave']);
      assert.deepEqual(await where(`${ENTERPRISE}:department ne "sales"`), ['bob', 'carol']);
      assert.deepEqual(await where('active eq false'), ['carol']);
      assert.deepEqual(await where('active eq true and emails.value ew ".org"'), ['bob']);
      assert.deepEqual(await where('emails co ".example.com" or emails.value co ".example.org"'), ['alice', 'bob', 'dave']);
      assert.deepEqual(await where('emails[type eq "work" and value co ".example.com"]'), ['alice', 'dave']);
      assert.deepEqual(await where(`userName gt "${p}-bob" and userName le "${p}-carol"`), ['carol']);
      assert.deepEqual(await where(`userName ge "${p}-bob" and not (userName lt "${p}-dave")`), ['dave']);
      assert.deepEqual(await where(`id eq "${ids.bob}"`), ['bob']);
      assert.deepEqual(await where('externalId eq "anything"'), []);
      const created = (await send('GET', `/Users/${ids.carol}`)).body.meta.created as string;
      assert.deepEqual(await where(`meta.created ge "${created}"`), ['carol', 'dave']);
      assert.deepEqual(await where(`meta.lastModified lt "${created}"`), ['alice', 'bob']);
    });

    it('refuses malformed or unsupported filters with 400 invalidFilter', async () => {
      for (const filter of ['userName eq', 'userName zz "x"', '(userName eq "x"', 'active gt true', 'meta.created gt "yesterday"', 'members[value eq "x"]']) {
        const response = await send('GET', `/Users?${new URLSearchParams({ filter })}`);
        assert.equal(response.status, 400, filter);
        assert.equal(response.body.scimType, 'invalidFilter', filter);
      }
    });

    it('sorts and pages with sortBy, sortOrder, startIndex and count', async () => {
      const filter = `userName sw "${p}-"`;
      const page1 = await list({ filter, sortBy: 'userName', count: '2' });
      assert.equal(page1.totalResults, 4);
      assert.equal(page1.itemsPerPage, 2);
      assert.equal(page1.startIndex, 1);
      assert.deepEqual(
        page1.Resources.map((r: { id: string }) => r.id),
        [ids.alice, ids.bob],
      );
      const page2 = await list({ filter, sortBy: 'userName', startIndex: '3', count: '2' });
      assert.deepEqual(
        page2.Resources.map((r: { id: string }) => r.id),
        [ids.carol, ids.dave],
      );
      const descending = await list({ filter, sortBy: 'userName', sortOrder: 'descending', count: '1' });
      assert.equal(descending.Resources[0].id, ids.dave);
      const past = await list({ filter, startIndex: '10' });
      assert.equal(past.totalResults, 4);
      assert.deepEqual(past.Resources, []);
      const countOnly = await list({ filter, count: '0' });
      assert.equal(countOnly.totalResults, 4);
      assert.equal(countOnly.itemsPerPage, 0);
      const byDepartment = await list({ filter, sortBy: `${ENTERPRISE}:department` });
      assert.equal(byDepartment.Resources[0].id, ids.bob);
    });
  });

  it('keeps externalId (RFC 7643 §3.1): returned, filtered case-exactly, changed by PATCH, removed by a PUT without it; on groups too', async () => {
    const userName = uniqueName('ext');
    const external = `HR-${uniqueName('id')}`;
    const created = await createUser(userName, { externalId: external });
    assert.equal(created.externalId, external);
    assert.equal(ok(await send('GET', `/Users/${created.id}`), 200).externalId, external);
    const found = await list({ filter: `externalId eq "${external}"` });
    assert.deepEqual(
      found.Resources.map((r: { id: string }) => r.id),
      [created.id],
    );
    assert.equal(found.Resources[0].externalId, external);
    assert.equal((await list({ filter: `externalId eq "${external.toLowerCase()}"` })).totalResults, 0, 'caseExact');
    assert.equal((await list({ filter: `userName eq "${userName}" and externalId pr` })).totalResults, 1);

    const patched = ok(await send('PATCH', `/Users/${created.id}`, patchOf({ op: 'replace', path: 'externalId', value: `${external}-2` })), 200);
    assert.equal(patched.externalId, `${external}-2`);
    assert.notEqual(patched.meta.version, created.meta.version, 'a new version');
    assert.equal((await list({ filter: `externalId eq "${external}"` })).totalResults, 0);
    // Entra ID sends it in a path-less replace.
    const pathless = ok(await send('PATCH', `/Users/${created.id}`, patchOf({ op: 'Replace', value: { externalId: `${external}-3` } })), 200);
    assert.equal(pathless.externalId, `${external}-3`);
    const replaced = ok(await send('PUT', `/Users/${created.id}`, { schemas: [USER], userName }), 200);
    assert.equal(replaced.externalId, undefined);
    assert.equal((await list({ filter: `userName eq "${userName}" and externalId pr` })).totalResults, 0);
    ok(await send('POST', '/Users', { schemas: [USER], userName: uniqueName('ext'), externalId: 42 }), 400);

    const group = ok(await send('POST', '/Groups', { schemas: [GROUP], displayName: uniqueName('ext-group'), externalId: external }), 201);
    assert.equal(group.externalId, external);
    const groups = ok(await send('GET', `/Groups?${new URLSearchParams({ filter: `externalId eq "${external}"` })}`), 200);
    assert.deepEqual(
      groups.Resources.map((r: { id: string }) => r.id),
      [group.id],
    );
    assert.equal(ok(await send('GET', `/Groups?${new URLSearchParams({ filter: `externalId eq "${external.toLowerCase()}"` })}`), 200).totalResults, 0);
    const renamed = ok(await send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'remove', path: 'externalId' })), 200);
    assert.equal(renamed.externalId, undefined);
  });

  it('writes externalId in the transaction that creates or changes the resource: a refused externalId leaves nothing behind', async () => {
    // A trigger stands for any failure of the externalId write; both PostgreSQL and PGlite run plpgsql.
    const refused = uniqueName('refused-ext');
    const knex = gh.context.knex;
    const fn = `scim_refuse_${refused.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
    await knex.raw(`create function ??() returns trigger language plpgsql as $$ begin if new.external_id = '${refused}' then raise exception 'externalId refused'; end if; return new; end $$`, [fn]);
    await knex.raw(`create trigger ?? before insert or update on scim_external_ids for each row execute function ??()`, [fn, fn]);
    try {
      const userName = uniqueName('ext-refused');
      const response = await send('POST', '/Users', { schemas: [USER], userName, externalId: refused });
      assert.equal(response.status, 500, JSON.stringify(response.body));
      assert.equal((await list({ filter: `userName eq "${userName}"` })).totalResults, 0, 'no user without its externalId');
      assert.ok(!(await gh.context.queries.users.findByUsername(gh.context.tenantId, userName)));

      const displayName = uniqueName('ext-refused-group');
      assert.equal((await send('POST', '/Groups', { schemas: [GROUP], displayName, externalId: refused })).status, 500);
      const groups = ok(await send('GET', `/Groups?${new URLSearchParams({ filter: `displayName eq "${displayName}"` })}`), 200);
      assert.equal(groups.totalResults, 0, 'no group without its externalId');

      // A change of an existing user or group with the refused externalId changes nothing either.
      const user = await createUser(uniqueName('ext-kept'), { externalId: 'kept' });
      const renamedTo = uniqueName('ext-renamed');
      assert.equal((await send('PUT', `/Users/${user.id}`, { schemas: [USER], userName: renamedTo, externalId: refused })).status, 500);
      const unchanged = ok(await send('GET', `/Users/${user.id}`), 200);
      assert.equal(unchanged.userName, user.userName);
      assert.equal(unchanged.externalId, 'kept');
      assert.equal((await send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', value: { active: false, externalId: refused } }))).status, 500);
      assert.equal(ok(await send('GET', `/Users/${user.id}`), 200).active, true);
      const group = ok(await send('POST', '/Groups', { schemas: [GROUP], displayName: uniqueName('ext-kept-group'), externalId: 'kept' }), 201);
      assert.equal((await send('PUT', `/Groups/${group.id}`, { schemas: [GROUP], displayName: uniqueName('ext-renamed-group'), externalId: refused })).status, 500);
      const sameGroup = ok(await send('GET', `/Groups/${group.id}`), 200);
      assert.equal(sameGroup.displayName, group.displayName);
      assert.equal(sameGroup.externalId, 'kept');
    } finally {
      await knex.raw('drop trigger if exists ?? on scim_external_ids', [fn]);
      await knex.raw('drop function if exists ??()', [fn]);
    }
  });

  it('creates or replaces a user and changes its status in one transaction: a refused status change leaves nothing behind', async () => {
    // A trigger stands for any failure of the status change; both PostgreSQL and PGlite run plpgsql.
    const knex = gh.context.knex;
    const prefix = uniqueName('status-refused');
    const fn = `scim_refuse_${prefix.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
    await knex.raw(
      `create function ??() returns trigger language plpgsql as $$ begin if exists (select 1 from users where id = new.user_id and username like '${prefix}%') and new.to_status = 'inactive' then raise exception 'status change refused'; end if; return new; end $$`,
      [fn],
    );
    await knex.raw(`create trigger ?? before insert on user_status_history for each row execute function ??()`, [fn, fn]);
    try {
      const userName = `${prefix}-new`;
      const response = await send('POST', '/Users', { schemas: [USER], userName, active: false, externalId: `${prefix}-ext` });
      assert.equal(response.status, 500, JSON.stringify(response.body));
      assert.ok(!(await gh.context.queries.users.findByUsername(gh.context.tenantId, userName)), 'no user left active when its deactivation failed');
      assert.equal((await list({ filter: `externalId eq "${prefix}-ext"` })).totalResults, 0);

      // A PUT changing fields and the status: neither is kept.
      const user = await createUser(`${prefix}-put`, { name: { formatted: 'Stay Same' } });
      assert.equal((await send('PUT', `/Users/${user.id}`, { schemas: [USER], userName: user.userName, name: { formatted: 'Changed Name' }, active: false })).status, 500);
      const unchanged = ok(await send('GET', `/Users/${user.id}`), 200);
      assert.equal(unchanged.active, true);
      assert.equal(unchanged.name.formatted, 'Stay Same');
      assert.equal(unchanged.meta.version, user.meta.version);
      // The same through PATCH.
      assert.equal((await send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', value: { active: false, displayName: 'Changed Name' } }))).status, 500);
      assert.equal(ok(await send('GET', `/Users/${user.id}`), 200).name.formatted, 'Stay Same');
    } finally {
      await knex.raw('drop trigger if exists ?? on user_status_history', [fn]);
      await knex.raw('drop function if exists ??()', [fn]);
    }
    // Without the trigger, both work, each as one change.
    const inactive = await createUser(`${prefix}-after`, { active: false });
    assert.equal(inactive.active, false);
    const replaced = ok(await send('PUT', `/Users/${inactive.id}`, { schemas: [USER], userName: inactive.userName, name: { formatted: 'New Name' }, active: true }), 200);
    assert.equal(replaced.active, true);
    assert.equal(replaced.name.formatted, 'New Name');
  });

  it('replaces a user with PUT; If-Match with a stale version is answered 412 and writes nothing', async () => {
    const created = await createUser(uniqueName('putter'), { name: { formatted: 'Pat Putter' }, emails: [{ value: `pat@${domain}` }], [ENTERPRISE]: { department: 'Ops' } });
    const replaced = ok(
      await send('PUT', `/Users/${created.id}`, { schemas: [USER], userName: created.userName, name: { givenName: 'Patricia', familyName: 'Putter' }, phoneNumbers: [{ value: '+1 555 0100' }] }, { 'if-match': created.meta.version }),
      200,
    );
    assert.equal(replaced.name.formatted, 'Patricia Putter');
    assert.equal(replaced.emails, undefined, 'a PUT without emails clears the email');
    assert.equal(replaced.phoneNumbers[0].value, '+1 555 0100');
    assert.deepEqual(replaced[ENTERPRISE], {});
    assert.notEqual(replaced.meta.version, created.meta.version);

    for (const [method, body] of [
      ['PUT', { schemas: [USER], userName: created.userName, displayName: 'Stale' }],
      ['PATCH', patchOf({ op: 'replace', path: 'displayName', value: 'Stale' })],
      ['DELETE', undefined],
    ] as const) {
      const stale = await send(method, `/Users/${created.id}`, body, { 'if-match': created.meta.version });
      assert.equal(stale.status, 412, method);
      assert.deepEqual(stale.body.schemas, [ERROR]);
    }
    assert.deepEqual(ok(await send('GET', `/Users/${created.id}`), 200), replaced);
    ok(await send('PATCH', `/Users/${created.id}`, patchOf({ op: 'replace', path: 'displayName', value: 'Fresh' }), { 'if-match': replaced.meta.version }), 200);
  });

  it('applies the PATCH operations of RFC 7644 §3.5.2 and refuses read-only targets', async () => {
    const user = await createUser(uniqueName('patcher'), { name: { formatted: 'Pat Cher' } });
    const patch = async (...ops: unknown[]) => ok(await send('PATCH', `/Users/${user.id}`, patchOf(...ops)), 200);
    // §3.5.2.1 add without a path: an object of attributes.
    let after = await patch({ op: 'add', value: { emails: [{ value: `babs@${domain}`, type: 'home' }], nickName: 'Babs' } });
    assert.equal(after.emails[0].value, `babs@${domain}`);
    // §3.5.2.3 replace with a path and a sub-attribute.
    after = await patch({ op: 'replace', path: 'name.formatted', value: 'Barbara Jensen' });
    assert.equal(after.name.formatted, 'Barbara Jensen');
    after = await patch({ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Finance' });
    assert.equal(after[ENTERPRISE].department, 'Finance');
    // §3.5.2.2 remove.
    after = await patch({ op: 'remove', path: 'emails' }, { op: 'remove', path: `${ENTERPRISE}:department` });
    assert.equal(after.emails, undefined);
    assert.deepEqual(after[ENTERPRISE], {});

    const readOnly = await send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', path: `${GATEHOUSE}:identities`, value: [] }));
    assert.equal(readOnly.status, 400);
    assert.equal(readOnly.body.scimType, 'mutability');
    const noPath = await send('PATCH', `/Users/${user.id}`, patchOf({ op: 'remove' }));
    assert.equal(noPath.body.scimType, 'noTarget');
    const badSchema = await send('PATCH', `/Users/${user.id}`, { Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] });
    assert.equal(badSchema.body.scimType, 'invalidSyntax');
    const badPath = await send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', path: 'emails[type eq', value: 'x' }));
    assert.equal(badPath.body.scimType, 'invalidPath');
  });

  it('accepts Entra ID\'s PATCH forms: capitalised ops, string booleans, path-less keys that are paths, emails[type eq "work"].value', async () => {
    const user = await createUser(uniqueName('entra'), { name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: `ada@${domain}`, type: 'work', primary: true }] });
    const patch = async (...ops: unknown[]) => ok(await send('PATCH', `/Users/${user.id}`, patchOf(...ops)), 200);
    let after = await patch(
      { op: 'Replace', path: 'emails[type eq "work"].value', value: `ada.lovelace@${domain}` },
      { op: 'Replace', path: 'name.givenName', value: 'Augusta' },
      { op: 'Replace', path: 'name.familyName', value: 'Lovelace' },
      { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Analytics' },
    );
    assert.equal(after.emails[0].value, `ada.lovelace@${domain}`);
    assert.equal(after.name.formatted, 'Augusta Lovelace');
    assert.equal(after[ENTERPRISE].department, 'Analytics');
    after = await patch({ op: 'Replace', value: { 'name.givenName': 'Augusta', 'name.familyName': 'King', [`${ENTERPRISE}:department`]: 'Research', displayName: 'ignored when name changes' } });
    assert.equal(after.name.formatted, 'Augusta King');
    assert.equal(after[ENTERPRISE].department, 'Research');
    after = await patch({ op: 'Replace', path: 'active', value: 'False' });
    assert.equal(after.active, false);
    after = await patch({ op: 'Replace', path: 'active', value: 'True' });
    assert.equal(after.active, true);
  });

  it("accepts Okta's forms: path-less replace of active, and PUT of the whole profile", async () => {
    const user = await createUser(uniqueName('okta'), { name: { givenName: 'Grace', familyName: 'Hopper' }, emails: [{ value: `grace@${domain}`, primary: true }] });
    let after = ok(await send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', value: { active: false } })), 200);
    assert.equal(after.active, false);
    after = ok(
      await send('PUT', `/Users/${user.id}`, { schemas: [USER], id: user.id, userName: user.userName, name: { givenName: 'Grace', familyName: 'Hopper' }, emails: [{ value: `grace.hopper@${domain}`, primary: true, type: 'work' }], active: true }),
      200,
    );
    assert.equal(after.active, true);
    assert.equal(after.emails[0].value, `grace.hopper@${domain}`);
  });

  it('active=false deactivates the user and ends its sessions, like the admin API', async () => {
    const password = `Pw-${uniqueName('secret')}-Long-Enough-1`;
    const user = await createUser(uniqueName('leaver'), { password });
    const { browser } = await signInToAccount(gh, user.userName, password);
    assert.ok((await gh.context.sessions.listForUser(gh.context.tenantId, user.id)).length >= 1);
    const after = ok(await send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', value: { active: false } })), 200);
    assert.equal(after.active, false);
    assert.deepEqual(await gh.context.sessions.listForUser(gh.context.tenantId, user.id), []);
    const page = await browser.follow('/account');
    assert.notEqual(page.response.url.pathname, '/account', 'the account page needs a new sign-in');
    const history = await gh.context.directoryUsers.statusHistory(gh.context.tenantId, user.id);
    assert.equal(history[0]!.toStatus, 'inactive');
  });

  it('manages groups: create with members, PATCH members (Entra form), rename, PUT, filter, delete', async () => {
    const a = await createUser(uniqueName('member-a'));
    const b = await createUser(uniqueName('member-b'));
    const c = await createUser(uniqueName('member-c'));
    const displayName = uniqueName('Sales');
    const created = await send('POST', '/Groups', { schemas: [GROUP], displayName, members: [{ value: a.id }] });
    const group = ok(created, 201);
    assert.equal(created.headers.get('location'), `${gh.issuer}/scim/v2/Groups/${group.id}`);
    assert.deepEqual(
      group.members.map((m: { value: string }) => m.value),
      [a.id],
    );
    assert.equal(group.members[0].display, a.userName);
    const members = async () => (ok(await send('GET', `/Groups/${group.id}`), 200).members as { value: string }[]).map((m) => m.value).sort();

    // §3.5.2.1: add members.
    ok(await send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'Add', path: 'members', value: [{ value: b.id }, { value: c.id }] })), 200);
    assert.deepEqual(await members(), [a.id, b.id, c.id].sort());
    // §3.5.2.2 / Entra: remove one member by a value filter.
    ok(await send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'Remove', path: `members[value eq "${b.id}"]` })), 200);
    assert.deepEqual(await members(), [a.id, c.id].sort());
    // Rename path-less (Okta), and an unknown member is refused without a partial write.
    const renamed = ok(await send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'replace', value: { id: group.id, displayName: `${displayName}-renamed` } })), 200);
    assert.equal(renamed.displayName, `${displayName}-renamed`);
    const unknown = await send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'add', path: 'members', value: [{ value: '00000000-0000-4000-8000-000000000000' }] }));
    assert.equal(unknown.status, 400);
    assert.deepEqual(await members(), [a.id, c.id].sort());
    // PUT: exactly these members.
    const replaced = ok(await send('PUT', `/Groups/${group.id}`, { schemas: [GROUP], displayName, members: [{ value: b.id }] }, { 'if-match': renamed.meta.version }), 200);
    assert.deepEqual(
      replaced.members.map((m: { value: string }) => m.value),
      [b.id],
    );
    assert.equal((await send('PUT', `/Groups/${group.id}`, { schemas: [GROUP], displayName }, { 'if-match': renamed.meta.version })).status, 412);
    // §3.5.2.2: remove all members.
    ok(await send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'remove', path: 'members' })), 200);
    assert.deepEqual(await members(), []);

    const found = ok(await send('GET', `/Groups?${new URLSearchParams({ filter: `displayName eq "${displayName.toUpperCase()}"`, excludedAttributes: 'members' })}`), 200);
    assert.equal(found.totalResults, 1);
    assert.equal(found.Resources[0].id, group.id);
    assert.equal(found.Resources[0].members, undefined);
    assert.equal(ok(await send('GET', `/Groups?${new URLSearchParams({ filter: 'displayName eq "no such group anywhere"' })}`), 200).totalResults, 0);

    ok(await send('DELETE', `/Groups/${group.id}`), 204);
    assert.equal((await send('GET', `/Groups/${group.id}`)).status, 404);
  });

  it('serves ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    const config = ok(await send('GET', '/ServiceProviderConfig'), 200);
    assert.equal(config.patch.supported, true);
    assert.equal(config.filter.supported, true);
    assert.equal(config.etag.supported, true);
    assert.equal(config.bulk.supported, false);
    assert.equal(config.authenticationSchemes[0].type, 'oauthbearertoken');
    const types = ok(await send('GET', '/ResourceTypes'), 200);
    assert.deepEqual(
      types.Resources.map((t: { id: string }) => t.id),
      ['User', 'Group'],
    );
    assert.deepEqual(
      types.Resources[0].schemaExtensions.map((e: { schema: string }) => e.schema),
      [ENTERPRISE, GATEHOUSE],
    );
    assert.equal(ok(await send('GET', '/ResourceTypes/Group'), 200).endpoint, '/Groups');
    const schemas = ok(await send('GET', '/Schemas'), 200);
    assert.deepEqual(
      schemas.Resources.map((s: { id: string }) => s.id),
      [USER, ENTERPRISE, GATEHOUSE, GROUP],
    );
    const user = ok(await send('GET', `/Schemas/${USER}`), 200);
    const userName = user.attributes.find((a: { name: string }) => a.name === 'userName');
    assert.equal(userName.caseExact, false);
    assert.equal(userName.uniqueness, 'server');
    assert.equal((await send('GET', '/Schemas/urn:nothing')).status, 404);
  });

  it('refuses a token without the SCIM permissions (403) and a missing token (401), in SCIM form', async () => {
    const narrow = await createServiceApiCaller(gh, ['users:read']);
    const forbidden = await narrow.request('GET', '/scim/v2/Users');
    assert.equal(forbidden.status, 403);
    assert.deepEqual(forbidden.body.schemas, [ERROR]);
    assert.equal(forbidden.body.status, '403');
    const readOnly = await createServiceApiCaller(gh, ['scim-users:list', 'scim-users:read']);
    assert.equal((await readOnly.request('GET', '/scim/v2/Users?count=1')).status, 200);
    const write = await readOnly.request('POST', '/scim/v2/Users', JSON.stringify({ schemas: [USER], userName: uniqueName('nope') }), SCIM_JSON);
    assert.equal(write.status, 403);
    const anonymous = await fetch(new URL('/scim/v2/Users', gh.url));
    assert.equal(anonymous.status, 401);
  });

  it('provisions 1,000 users in parallel batches and lists them all', async () => {
    const p = uniqueName('bulk').toLowerCase();
    const BATCH = 10;
    for (let start = 0; start < 1000; start += BATCH) {
      await Promise.all(
        Array.from({ length: BATCH }, async (_, i) => {
          const n = String(start + i).padStart(4, '0');
          const response = await send('POST', '/Users', {
            schemas: [USER, ENTERPRISE],
            userName: `${p}-${n}`,
            name: { givenName: 'User', familyName: n },
            emails: [{ value: `${p}-${n}@example.com`, primary: true }],
            [ENTERPRISE]: { department: start % 20 === 0 ? 'Even' : 'Odd' },
          });
          assert.equal(response.status, 201, JSON.stringify(response.body));
        }),
      );
    }
    const all = await list({ filter: `userName sw "${p}-"`, count: '1000', sortBy: 'userName' });
    assert.equal(all.totalResults, 1000);
    assert.equal(all.Resources.length, 1000);
    assert.equal(all.Resources[0].userName, `${p}-0000`);
    assert.equal(all.Resources[999].userName, `${p}-0999`);
    const last = await list({ filter: `userName sw "${p}-"`, sortBy: 'userName', startIndex: '991', count: '50' });
    assert.equal(last.itemsPerPage, 10);
    assert.equal(last.Resources[9].userName, `${p}-0999`);
    assert.equal((await list({ filter: `userName eq "${p.toUpperCase()}-0500"` })).totalResults, 1);
  });
});
