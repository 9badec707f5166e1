// The AuthZEN endpoints (OpenID AuthZEN Authorization API 1.0): the demo cast's decisions as a
// table, the batch endpoint's defaults and semantics, malformed requests, the caller's own
// permission, the PDP metadata, and (PostgreSQL + Redis) a role change on one node seen by the
// other node's next decision.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { apiRequest, createApiCaller, createServiceApiCaller, type ApiCaller, type ApiResponse } from '../helpers/admin-api.ts';
import { startTestGatehouse, startTwoNodes, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';

interface Cast {
  api: string;
  userRoleId: string;
  kim: { userId: string; identityId: string };
  lucy: { userId: string; identityId: string };
  jack: { userId: string; identityId: string };
  simon: { userId: string; identityId: string };
  service: { id: string; identityId: string };
}

/**
 * The demo's cast, built through the admin API: Kim (User, client ROOM), Lucy (User, client *),
 * Jack and Simon (Client: read only, ROOM and Pharma). The administrator holds the bookings
 * permissions and every client, so the administration guard lets it grant them.
 */
async function buildCast(gh: TestGatehouse): Promise<Cast & { admin: ApiCaller }> {
  const api = `${gh.issuer}/${uniqueName('bookings-api')}`;
  await gh.context.apiResources.upsert({ identifier: api, name: 'Bookings', scopes: ['bookings:read', 'bookings:create'] }, SYSTEM_ACTOR);
  const grantor = uniqueName('bookings-grantor');
  const grantorId = randomUUID();
  await gh.context.knex('roles').insert({ id: grantorId, tenant_id: gh.context.tenantId, name: grantor });
  await gh.context.knex('role_permissions').insert(['bookings:read', 'bookings:create'].map((permission) => ({ tenant_id: gh.context.tenantId, role_id: grantorId, resource: api, permission })));
  const admin = await createApiCaller(gh, { permissions: 'all', dataScope: { client: ['*'] }, roles: [grantor] });
  const ok = (r: ApiResponse, ...statuses: number[]) => {
    assert.ok(statuses.includes(r.status), JSON.stringify(r.body));
    return r.body;
  };
  ok(await admin.request('POST', '/data-scope-keys', { key: 'client' }), 201, 409);
  const userRole = ok(
    await admin.request('POST', '/roles', {
      name: uniqueName('User'),
      permissions: [
        { resource: api, permission: 'bookings:read' },
        { resource: api, permission: 'bookings:create' },
      ],
    }),
    201,
  );
  const clientRole = ok(await admin.request('POST', '/roles', { name: uniqueName('Client'), permissions: [{ resource: api, permission: 'bookings:read' }] }), 201);
  async function person(name: string, kind: string, roleId: string, clients: string[]) {
    const created = ok(await admin.request('POST', '/identities', { username: uniqueName(name), kind, alias: name }), 201);
    const identityId: string = created.identity.id;
    ok(await admin.request('POST', `/identities/${identityId}/roles`, { roleIds: [roleId] }), 200);
    ok(await admin.request('PUT', `/identities/${identityId}/data-scopes/client`, { values: clients }), 200);
    return { userId: created.identity.userId as string, identityId };
  }
  const account = await gh.context.serviceAccounts.create({ name: uniqueName('booking-robot') }, SYSTEM_ACTOR);
  ok(await admin.request('POST', `/identities/${account.identityId}/roles`, { roleIds: [userRole.id] }), 200);
  ok(await admin.request('PUT', `/identities/${account.identityId}/data-scopes/client`, { values: ['ROOM'] }), 200);
  return {
    admin,
    api,
    userRoleId: userRole.id,
    kim: await person('Kim', 'internal', userRole.id, ['ROOM']),
    lucy: await person('Lucy', 'internal', userRole.id, ['*']),
    jack: await person('Jack', 'client', clientRole.id, ['ROOM']),
    simon: await person('Simon', 'client', clientRole.id, ['Pharma']),
    service: { id: account.id, identityId: account.identityId! },
  };
}

const booking = (client: string | string[]) => ({ type: 'booking', properties: { client } });

describe('AuthZEN access evaluation', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let admin: ApiCaller;
  let pep: ApiCaller;
  let cast: Cast & { admin: ApiCaller };

  before(async () => {
    gh = await startTestGatehouse();
    cast = await buildCast(gh);
    admin = cast.admin;
    pep = await createServiceApiCaller(gh, ['access:evaluate', 'access:evaluate-many']);
  });
  after(async () => gh?.close());

  const evaluate = (body: unknown, headers?: Record<string, string>) => pep.request('POST', '/access/v1/evaluation', body, headers);

  it("decides the demo cast's bookings: who may do what to which client's rows", async () => {
    const identity = (who: { identityId: string }) => ({ type: 'identity', id: who.identityId });
    const table: [string, unknown, string, unknown, boolean, string?][] = [
      ['Kim creates a ROOM booking', identity(cast.kim), 'bookings:create', booking('ROOM'), true],
      ['Kim creates a Pharma booking', identity(cast.kim), 'bookings:create', booking('Pharma'), false, 'data_scope_not_covered'],
      ['Kim reads ROOM and Pharma bookings at once', identity(cast.kim), 'bookings:read', booking(['ROOM', 'Pharma']), false, 'data_scope_not_covered'],
      ['Lucy (client *) creates a Pharma booking', identity(cast.lucy), 'bookings:create', booking('Pharma'), true],
      ['Lucy reads ROOM and Pharma bookings at once', identity(cast.lucy), 'bookings:read', booking(['ROOM', 'Pharma']), true],
      ['Jack (Client) reads a ROOM booking', identity(cast.jack), 'bookings:read', booking('ROOM'), true],
      ['Jack (Client) creates a ROOM booking', identity(cast.jack), 'bookings:create', booking('ROOM'), false, 'permission_missing'],
      ['Simon as a user (default identity) reads a Pharma booking', { type: 'user', id: cast.simon.userId }, 'bookings:read', booking('Pharma'), true],
      ['Simon as a user reads a ROOM booking', { type: 'user', id: cast.simon.userId }, 'bookings:read', booking('ROOM'), false, 'data_scope_not_covered'],
      ['the booking robot (service account) creates a ROOM booking', { type: 'service_account', id: cast.service.id }, 'bookings:create', booking('ROOM'), true],
      ['Kim acts on a row keyed by a scope she holds none of', identity(cast.kim), 'bookings:read', { type: 'booking', properties: { supplier: 'ACME' } }, false, 'data_scope_not_covered'],
      ['Kim on a resource without properties: the permission alone decides', identity(cast.kim), 'bookings:create', { type: 'booking', id: '42' }, true],
      ['an unknown identity', { type: 'identity', id: randomUUID() }, 'bookings:read', booking('ROOM'), false, 'subject_not_found'],
      ['an id that is no uuid', { type: 'user', id: 'kim' }, 'bookings:read', booking('ROOM'), false, 'subject_not_found'],
    ];
    for (const [name, subject, permission, resource, expected, code] of table) {
      const response = await evaluate({ subject, action: { name: permission }, resource });
      assert.equal(response.status, 200, `${name}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.decision, expected, `${name}: ${JSON.stringify(response.body)}`);
      if (expected) assert.equal(response.body.context, undefined, name);
      else {
        assert.equal(response.body.context.code, code, name);
        assert.equal(typeof response.body.context.reason_admin.en, 'string', name);
      }
    }
  });

  it('names the uncovered key and narrows a permission to the API resource given in the action', async () => {
    const denied = await evaluate({ subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:create' }, resource: booking('Pharma') });
    assert.equal(denied.body.context.key, 'client');
    const onItsResource = await evaluate({ subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:create', properties: { resource: cast.api } }, resource: booking('ROOM') });
    assert.equal(onItsResource.body.decision, true);
    const elsewhere = await evaluate({ subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:create', properties: { resource: `${gh.issuer}/other-api` } }, resource: booking('ROOM') });
    assert.equal(elsewhere.body.decision, false);
    assert.equal(elsewhere.body.context.code, 'permission_missing');
  });

  it('denies an inactive account, whichever way the subject is named', async () => {
    const created = await admin.request('POST', '/identities', { username: uniqueName('leaver'), kind: 'internal', alias: 'Leaver' });
    const identityId: string = created.body.identity.id;
    const userId: string = created.body.identity.userId;
    assert.equal((await admin.request('POST', `/identities/${identityId}/roles`, { roleIds: [cast.userRoleId] })).status, 200);
    const asUser = { subject: { type: 'user', id: userId }, action: { name: 'bookings:read' }, resource: { type: 'booking' } };
    const asIdentity = { ...asUser, subject: { type: 'identity', id: identityId } };
    assert.equal((await evaluate(asUser)).body.decision, true);
    assert.equal((await admin.request('POST', `/users/${userId}/deactivate`, { reason: 'left the company' })).status, 200);
    for (const body of [asUser, asIdentity]) {
      const response = await evaluate(body);
      assert.equal(response.body.decision, false);
      assert.equal(response.body.context.code, 'subject_inactive');
    }
  });

  it('sees a role removed at once', async () => {
    const created = await admin.request('POST', '/identities', { username: uniqueName('mover'), kind: 'internal', alias: 'Mover' });
    const identityId: string = created.body.identity.id;
    assert.equal((await admin.request('POST', `/identities/${identityId}/roles`, { roleIds: [cast.userRoleId] })).status, 200);
    const body = { subject: { type: 'identity', id: identityId }, action: { name: 'bookings:create' }, resource: { type: 'booking' } };
    assert.equal((await evaluate(body)).body.decision, true);
    assert.equal((await admin.request('DELETE', `/identities/${identityId}/roles/${cast.userRoleId}`)).status, 204);
    assert.equal((await evaluate(body)).body.decision, false);
  });

  it('answers a batch with top-level defaults each evaluation may replace', async () => {
    const response = await pep.request('POST', '/access/v1/evaluations', {
      subject: { type: 'identity', id: cast.kim.identityId },
      action: { name: 'bookings:read' },
      evaluations: [{ resource: booking('ROOM') }, { resource: booking('Pharma') }, { subject: { type: 'identity', id: cast.lucy.identityId }, resource: booking('Pharma') }, { action: { name: 'bookings:delete' }, resource: booking('ROOM') }],
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(
      response.body.evaluations.map((e: { decision: boolean }) => e.decision),
      [true, false, true, false],
    );
    assert.equal(response.body.evaluations[3].context.code, 'permission_missing');
  });

  it('stops at the first deny or the first permit when asked to', async () => {
    const base = { subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:read' } };
    const evaluations = [{ resource: booking('ROOM') }, { resource: booking('Pharma') }, { resource: booking('ROOM') }];
    const all = await pep.request('POST', '/access/v1/evaluations', { ...base, evaluations });
    assert.deepEqual(
      all.body.evaluations.map((e: { decision: boolean }) => e.decision),
      [true, false, true],
    );
    const denyFirst = await pep.request('POST', '/access/v1/evaluations', { ...base, evaluations, options: { evaluations_semantic: 'deny_on_first_deny' } });
    assert.deepEqual(
      denyFirst.body.evaluations.map((e: { decision: boolean }) => e.decision),
      [true, false],
    );
    const permitFirst = await pep.request('POST', '/access/v1/evaluations', { ...base, evaluations: evaluations.slice(1), options: { evaluations_semantic: 'permit_on_first_permit' } });
    assert.deepEqual(
      permitFirst.body.evaluations.map((e: { decision: boolean }) => e.decision),
      [false, true],
    );
  });

  it('answers a batch without evaluations as a single evaluation', async () => {
    const response = await pep.request('POST', '/access/v1/evaluations', { subject: { type: 'identity', id: cast.lucy.identityId }, action: { name: 'bookings:create' }, resource: booking('Pharma') });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { decision: true });
  });

  it('answers malformed requests with a clear 400', async () => {
    const valid = { subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:read' }, resource: booking('ROOM') };
    const cases: [string, unknown, string][] = [
      ['no subject', { action: valid.action, resource: valid.resource }, 'body.subject'],
      ['an unknown subject type', { ...valid, subject: { type: 'robot', id: 'x' } }, 'body.subject.type'],
      ['an action without a name', { ...valid, action: {} }, 'body.action.name'],
      ['a resource without a type', { ...valid, resource: { properties: { client: 'ROOM' } } }, 'body.resource.type'],
      ['a property that is an object', { ...valid, resource: { type: 'booking', properties: { client: { name: 'ROOM' } } } }, 'body.resource.properties.client'],
    ];
    for (const [name, body, path] of cases) {
      const response = await evaluate(body);
      assert.equal(response.status, 400, name);
      assert.equal(response.body.code, 'request.invalid', name);
      assert.ok(
        response.body.details.issues.some((i: { path: string }) => i.path === path),
        `${name}: ${JSON.stringify(response.body.details.issues)}`,
      );
    }
    const notJson = await evaluate('{"subject":', { 'content-type': 'application/json' });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.code, 'request.malformed_json');
    const missingInBatch = await pep.request('POST', '/access/v1/evaluations', { action: valid.action, resource: valid.resource, evaluations: [{ subject: valid.subject }, {}] });
    assert.equal(missingInBatch.status, 400);
    assert.match(missingInBatch.body.title, /body\.evaluations\.1\.subject/);
    const tooMany = await pep.request('POST', '/access/v1/evaluations', { ...valid, evaluations: Array.from({ length: 1001 }, () => ({})) });
    assert.equal(tooMany.status, 400);
    const badSemantic = await pep.request('POST', '/access/v1/evaluations', { ...valid, evaluations: [{}], options: { evaluations_semantic: 'majority' } });
    assert.equal(badSemantic.status, 400);
  });

  it("needs a Gatehouse token holding the endpoint's own permission", async () => {
    const body = { subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:read' }, resource: booking('ROOM') };
    const none = await apiRequest(gh, undefined, 'POST', '/access/v1/evaluation', body);
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'auth.missing_token');
    const single = await createServiceApiCaller(gh, ['access:evaluate']);
    assert.equal((await single.request('POST', '/access/v1/evaluation', body)).status, 200);
    const batch = await single.request('POST', '/access/v1/evaluations', { ...body, evaluations: [{}] });
    assert.equal(batch.status, 403);
    assert.equal(batch.body.code, 'auth.forbidden');
  });

  it('refuses a control character in the body or the query, naming the field', async () => {
    const body = { subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:read' }, resource: booking('RO\u0000OM') };
    const raw = await evaluate(body);
    assert.equal(raw.status, 400);
    assert.equal(raw.body.code, 'request.control_character');
    assert.equal(raw.body.details.field, 'resource.properties.client');
    const escaped = await evaluate(JSON.stringify(body).replace('\\u0000', '\\u001F'), { 'content-type': 'application/json' });
    assert.equal(escaped.body.details?.field, 'resource.properties.client', JSON.stringify(escaped.body));
    const inKey = await pep.request('POST', '/access/v1/evaluations', { ...body, resource: booking('ROOM'), evaluations: [{ context: { ['a\bb']: 1 } }] });
    assert.equal(inKey.status, 400);
    assert.equal(inKey.body.details.field, 'evaluations[0].context.a\bb');
    const query = await pep.request('POST', '/access/v1/evaluation?x=%00', { ...body, resource: booking('ROOM') });
    assert.equal(query.status, 400);
    assert.equal(query.body.details.field, 'x');
    // Checked before the caller is: the same order as on every other endpoint.
    const anonymous = await apiRequest(gh, undefined, 'POST', '/access/v1/evaluation', body);
    assert.equal(anonymous.body.code, 'request.control_character');
    // A body that is not JSON at all, and one sent as another type, get the API's own answers.
    assert.equal((await evaluate('{"subject":\u0000', { 'content-type': 'application/json' })).body.code, 'request.malformed_json');
    assert.equal((await evaluate(JSON.stringify({ ...body, resource: booking('ROOM') }), { 'content-type': 'text/plain' })).status, 415);
  });

  it("refuses a PEP's token at once once it may no longer ask, though its token was used a moment before", async () => {
    const body = { subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:read' }, resource: booking('ROOM') };
    // A service account losing the permission, then the role altogether, then being deactivated.
    const robot = await createServiceApiCaller(gh, ['access:evaluate']);
    assert.equal((await robot.request('POST', '/access/v1/evaluation', body)).status, 200);
    const roleIds: string[] = await gh.context.knex('identity_roles').where({ identity_id: robot.identityId }).pluck('role_id');
    assert.equal((await admin.request('DELETE', `/identities/${robot.identityId}/roles/${roleIds[0]}`)).status, 204);
    const unpermitted = await robot.request('POST', '/access/v1/evaluation', body);
    assert.equal(unpermitted.status, 403);
    assert.equal(unpermitted.body.code, 'auth.forbidden');
    const robot2 = await createServiceApiCaller(gh, ['access:evaluate']);
    assert.equal((await robot2.request('POST', '/access/v1/evaluation', body)).status, 200);
    assert.equal((await admin.request('PATCH', `/service-accounts/${robot2.userId}`, { status: 'inactive' })).status, 200);
    const inactive = await robot2.request('POST', '/access/v1/evaluation', body);
    assert.equal(inactive.status, 401);
    assert.match(inactive.body.title, /not active/);
    // A user's browser token: its session ended, or the user deactivated.
    const person = await createApiCaller(gh, { permissions: ['access:evaluate'] });
    assert.equal((await person.request('POST', '/access/v1/evaluation', body)).status, 200);
    const sid = (JSON.parse(Buffer.from(person.token.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
    assert.equal((await admin.request('DELETE', `/sessions/${sid}`)).status, 204);
    const ended = await person.request('POST', '/access/v1/evaluation', body);
    assert.equal(ended.status, 401);
    assert.match(ended.body.title, /session/);
    const person2 = await createApiCaller(gh, { permissions: ['access:evaluate'] });
    assert.equal((await person2.request('POST', '/access/v1/evaluation', body)).status, 200);
    assert.equal((await admin.request('POST', `/users/${person2.userId}/deactivate`, {})).status, 200);
    assert.equal((await person2.request('POST', '/access/v1/evaluation', body)).status, 401);
    // A token altered by one character is no token, though the original was just accepted.
    const last = robot.token.at(-2) === 'A' ? 'B' : 'A';
    const forged = await apiRequest(gh, `${robot.token.slice(0, -2)}${last}${robot.token.at(-1)}`, 'POST', '/access/v1/evaluation', body);
    assert.equal(forged.status, 401);
  });

  it("returns the PEP's X-Request-ID", async () => {
    const response = await evaluate({ subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:read' }, resource: booking('ROOM') }, { 'x-request-id': 'req-1234' });
    assert.equal(response.headers.get('x-request-id'), 'req-1234');
  });

  it('answers alike whether the request is answered before Koa or through it: security headers, no-store, problem details', async () => {
    const body = JSON.stringify({ subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:read' }, resource: booking('ROOM') });
    // application/json is answered before Koa; another spelling of it goes through Koa's middleware.
    const send = (type: string, token: string | undefined, payload: string) =>
      fetch(new URL('/access/v1/evaluation', gh.url), { method: 'POST', headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: payload });
    const headersOf = (response: Response) => Object.fromEntries([...response.headers].filter(([name]) => !['date', 'content-length'].includes(name)));
    for (const [token, payload, status] of [
      [pep.token, body, 200],
      [undefined, body, 401],
      [pep.token, '{"subject":', 400],
      [pep.token, '{}', 400],
    ] as const) {
      const early = await send('application/json', token, payload);
      const throughKoa = await send('application/json; charset=UTF-8', token, payload);
      assert.equal(early.status, status);
      assert.equal(throughKoa.status, status);
      assert.deepEqual(headersOf(early), headersOf(throughKoa));
      assert.deepEqual(await early.json(), await throughKoa.json());
      assert.equal(early.headers.get('x-frame-options'), 'DENY');
      assert.match(early.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      if (status === 200) assert.equal(early.headers.get('cache-control'), 'no-store');
    }
  });

  it('publishes the PDP metadata and documents the endpoints', async () => {
    const response = await fetch(new URL('/.well-known/authzen-configuration', gh.url));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      policy_decision_point: gh.issuer,
      access_evaluation_endpoint: `${gh.issuer}/access/v1/evaluation`,
      access_evaluations_endpoint: `${gh.issuer}/access/v1/evaluations`,
    });
    const openapi = await apiRequest(gh, undefined, 'GET', '/openapi.json');
    assert.equal(openapi.body.paths['/access/v1/evaluation'].post['x-permission'], 'access:evaluate');
    assert.equal(openapi.body.paths['/access/v1/evaluations'].post['x-permission'], 'access:evaluate-many');
  });
});

// Two nodes on one PostgreSQL and Redis: a decision on node B follows a change made on node A at
// once, because both read the same per-node cache that every change drops on every node.
describe('AuthZEN access evaluation on two nodes', function () {
  this.timeout(120_000);
  let a: TestGatehouse;
  let b: TestGatehouse | undefined;

  before(async function () {
    [a, b] = await startTwoNodes(this, (first) => ({ GATEHOUSE_ISSUER: first.issuer }));
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it("sees a role and a data scope changed on node A in node B's next decision", async () => {
    const cast = await buildCast(a);
    const { admin } = cast;
    const pepOnB = await createServiceApiCaller(b!, ['access:evaluate']);
    const body = { subject: { type: 'identity', id: cast.kim.identityId }, action: { name: 'bookings:create' }, resource: booking('ROOM') };
    // Node B decides (and caches Kim's authorization) before the changes.
    {
      const first = await pepOnB.request('POST', '/access/v1/evaluation', body);
      assert.equal(first.body.decision, true, JSON.stringify(first.body));
    }

    assert.equal((await admin.request('PUT', `/identities/${cast.kim.identityId}/data-scopes/client`, { values: ['Pharma'] })).status, 200);
    const scoped = await pepOnB.request('POST', '/access/v1/evaluation', body);
    assert.equal(scoped.body.decision, false);
    assert.equal(scoped.body.context.code, 'data_scope_not_covered');

    assert.equal((await admin.request('DELETE', `/identities/${cast.kim.identityId}/roles/${cast.userRoleId}`)).status, 204);
    const unroled = await pepOnB.request('POST', '/access/v1/evaluation', { ...body, resource: booking('Pharma') });
    assert.equal(unroled.body.decision, false);
    assert.equal(unroled.body.context.code, 'permission_missing');
  });
});
