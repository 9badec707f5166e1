// Every admin route × (no token, a token without the route's permission, a token with it),
// driven from the route table itself, and the OpenAPI document checked against the same table.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestGatehouse, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { discover, signIn } from '../helpers/oidc.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { apiRequest, createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { allRoutes } from '../../src/routes/api/index.ts';
import { routeUrl, type ApiRoute } from '../../src/routes/api/framework.ts';

describe('admin API authorization, route by route', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let routes: ApiRoute[];
  let nobody: ApiCaller;

  before(async () => {
    gh = await startTestGatehouse();
    routes = allRoutes({ ...gh.context, issuer: gh.issuer });
    nobody = await createApiCaller(gh, { permissions: [] });
  });
  after(async () => gh?.close());

  const isScim = (route: ApiRoute) => route.path.startsWith('/scim/');
  const pathFor = (route: ApiRoute) => routeUrl(route).replace(/:([A-Za-z0-9_]+)/g, () => randomUUID());
  const bodyFor = (route: ApiRoute) => (route.body ? (route.bodyType === 'text/csv' ? 'username\n' : {}) : undefined);
  const headersFor = (route: ApiRoute): Record<string, string> => (route.bodyType === 'text/csv' ? { 'content-type': 'text/csv' } : {});

  it('has routes, each with at most one permission, and one distinct permission per route', () => {
    assert.ok(routes.length >= 10, `expected the admin API to have routes, found ${routes.length}`);
    const withPermission = routes.filter((r) => r.permission);
    const names = withPermission.map((r) => r.permission);
    assert.equal(new Set(names).size, names.length, 'two routes share a permission');
    for (const route of withPermission) assert.match(route.permission!, /^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/, `${route.method} ${route.path}`);
  });

  it('answers 401 to every route without a token, and with a malformed or foreign token', async () => {
    for (const route of routes) {
      const path = pathFor(route);
      const none = await apiRequest(gh, undefined, route.method, path, bodyFor(route), headersFor(route));
      assert.equal(none.status, 401, `${route.method.toUpperCase()} ${route.path} without a token`);
      if (isScim(route)) {
        // RFC 7644 §3.12: SCIM answers in its own error schema.
        assert.match(none.headers.get('content-type') ?? '', /application\/scim\+json/);
        assert.equal(none.body.status, '401');
      } else {
        assert.match(none.headers.get('content-type') ?? '', /application\/problem\+json/);
        assert.equal(none.body.code, 'auth.missing_token');
      }
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      const forged = await apiRequest(gh, `${nobody.token.slice(0, -4)}AAAA`, route.method, path, bodyFor(route), headersFor(route));
      assert.equal(forged.status, 401, `${route.method.toUpperCase()} ${route.path} with a forged token`);
    }
  });

  it('answers 403 to every permission-guarded route for a caller without the permission', async () => {
    for (const route of routes.filter((r) => r.permission)) {
      const response = await nobody.request(route.method, pathFor(route), bodyFor(route), headersFor(route));
      assert.equal(response.status, 403, `${route.method.toUpperCase()} ${route.path}`);
      if (isScim(route)) {
        assert.deepEqual(response.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
        assert.ok(response.body.detail.includes(route.permission!));
      } else {
        assert.equal(response.body.code, 'auth.forbidden');
        assert.ok(response.body.title.includes(route.permission!));
      }
    }
  });

  it('lets a caller holding exactly the route permission past authorization', async function () {
    // One sign-in per route: on a shared 2-core machine this outlasts the file's default.
    this.timeout(600_000);
    for (const route of routes.filter((r) => r.permission)) {
      const caller = await createApiCaller(gh, { permissions: [route.permission!] });
      const response = await caller.request(route.method, pathFor(route), bodyFor(route), headersFor(route));
      // Past the route's permission, the administration guard may still refuse what the caller lacks beyond it.
      const guarded = response.status === 403 && response.body.code === 'auth.escalation';
      assert.ok(guarded || ![401, 403].includes(response.status), `${route.method.toUpperCase()} ${route.path} with ${route.permission} answered ${response.status}: ${JSON.stringify(response.body)}`);
      assert.ok(response.status < 500, `${route.method.toUpperCase()} ${route.path} answered ${response.status}: ${JSON.stringify(response.body)}`);
    }
  });

  it('refuses a valid Gatehouse token issued for another audience', async () => {
    const resource = `${gh.issuer}/${uniqueName('other-api')}`;
    await gh.context.apiResources.upsert({ identifier: resource, name: 'Other API', scopes: ['things:read'] }, SYSTEM_ACTOR);
    const username = uniqueName('other-aud');
    await gh.context.users.create({ username, password: 'other-audience-password' }, SYSTEM_ACTOR);
    const { application, clientSecret } = await gh.context.applications.create({ name: uniqueName('other-app'), type: 'web', redirectUris: ['http://127.0.0.1:9/cb'] }, SYSTEM_ACTOR);
    const config = await discover(gh, application.id, clientSecret);
    const { tokens } = await signIn({ gatehouse: gh, config, redirectUri: 'http://127.0.0.1:9/cb', username, password: 'other-audience-password', scope: 'openid things:read', resource });
    const response = await apiRequest(gh, tokens.access_token, 'get', '/permissions');
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'auth.invalid_token');
  });

  it('publishes an OpenAPI 3.1 document whose operations are exactly the route table', async () => {
    const response = await fetch(new URL('/api/v1/openapi.json', gh.url));
    assert.equal(response.status, 200);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, { 'x-permission': string | null; responses: Record<string, unknown> }>> };
    assert.equal(doc.openapi, '3.1.0');
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => `${method} ${path} ${op['x-permission']}`))
      .sort();
    const served = routes.map((r) => `${r.method} ${routeUrl(r).replace(/:([A-Za-z0-9_]+)/g, '{$1}')} ${r.permission}`).sort();
    assert.deepEqual(documented, served);
  });
});
