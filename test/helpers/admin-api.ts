// A real admin-API caller for tests: a user whose identity holds a role with the given admin
// permissions signs in through the authorization code flow and gets a Gatehouse-issued JWT
// access token for `{issuer}/api`. Nothing is faked: the token is what a real admin client gets.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestGatehouse } from './gatehouse.ts';
import { uniqueName } from './gatehouse.ts';
import { discover, signIn } from './oidc.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { ADMIN_API_RESOURCE } from '../../src/services/authorization.ts';
import { allRoutes } from '../../src/routes/api/index.ts';
import { permissionCatalog } from '../../src/routes/api/framework.ts';

export interface ApiResponse {
  status: number;
  // Test code reads arbitrary JSON response fields.
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

export interface ApiCaller {
  token: string;
  userId: string;
  identityId: string;
  username: string;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
}

const REDIRECT_URI = 'http://127.0.0.1:9/admin-callback';
const apps = new WeakMap<TestGatehouse, Promise<{ clientId: string; clientSecret: string }>>();

function adminApp(gh: TestGatehouse) {
  let app = apps.get(gh);
  if (!app) {
    app = gh.context.applications
      .create({ name: uniqueName('admin-console'), type: 'web', redirectUris: [REDIRECT_URI], adminApiClient: true }, SYSTEM_ACTOR)
      .then(({ application, clientSecret }) => ({ clientId: application.id, clientSecret: clientSecret! }));
    apps.set(gh, app);
  }
  return app;
}

export function adminCatalog(gh: TestGatehouse): string[] {
  return permissionCatalog(allRoutes({ ...gh.context, issuer: gh.issuer })).map((p) => p.name);
}

export async function apiRequest(gh: TestGatehouse, token: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const response = await fetch(new URL(/^\/(api|access|scim)\//.test(path) ? path : `/api/v1${path}`, gh.url), {
    method: method.toUpperCase(),
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  if (/json/.test(response.headers.get('content-type') ?? '') && text) parsed = JSON.parse(text);
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Gives an identity a new role holding these admin-API permissions, and the named roles of the tenant. */
async function grantAdminRights(gh: TestGatehouse, identityId: string, permissions: string[], roles: string[] = []): Promise<void> {
  const { knex, tenantId } = gh.context;
  const roleId = randomUUID();
  await knex('roles').insert({ id: roleId, tenant_id: tenantId, name: uniqueName('test-role') });
  if (permissions.length) await knex('role_permissions').insert(permissions.map((permission) => ({ tenant_id: tenantId, role_id: roleId, resource: ADMIN_API_RESOURCE, permission })));
  await knex('identity_roles').insert({ tenant_id: tenantId, identity_id: identityId, role_id: roleId });
  for (const name of roles) {
    const role: { id: string } = await knex('roles').where({ tenant_id: tenantId, name }).first('id');
    await knex('identity_roles').insert({ tenant_id: tenantId, identity_id: identityId, role_id: role.id });
  }
}

export async function createApiCaller(gh: TestGatehouse, options: { permissions: string[] | 'all'; dataScope?: Record<string, string[]>; roles?: string[] }): Promise<ApiCaller> {
  const { knex, tenantId } = gh.context;
  const username = uniqueName('api-caller');
  const password = `pw-${randomUUID()}`;
  const user = await gh.context.users.create({ username, password }, SYSTEM_ACTOR);
  const identity: { id: string } = await knex('identities').where({ user_id: user.id }).first('id');
  await grantAdminRights(gh, identity.id, options.permissions === 'all' ? adminCatalog(gh) : options.permissions, options.roles);
  for (const [key, values] of Object.entries(options.dataScope ?? {})) {
    await knex('data_scope_keys').insert({ tenant_id: tenantId, key }).onConflict(['tenant_id', 'key']).ignore();
    await knex('identity_data_scopes').insert({ tenant_id: tenantId, identity_id: identity.id, key, values: JSON.stringify(values) });
  }
  await gh.context.authorization.invalidateAll();

  const { clientId, clientSecret } = await adminApp(gh);
  const config = await discover(gh, clientId, clientSecret);
  const { tokens } = await signIn({ gatehouse: gh, config, redirectUri: REDIRECT_URI, username, password, scope: 'openid admin', resource: `${gh.issuer}/api` });
  const token = tokens.access_token;
  return {
    token,
    userId: user.id,
    identityId: identity.id,
    username,
    request: (method, path, body, headers) => apiRequest(gh, token, method, path, body, headers),
  };
}

/** An admin-API caller made in a `before` hook registered now, for the tests of the suite of `gh`. */
export function apiCallerForSuite(gh: TestGatehouse, options: Parameters<typeof createApiCaller>[1]): ApiCaller {
  const caller = {} as ApiCaller;
  before(async function () {
    Object.assign(caller, await createApiCaller(gh, options));
  });
  return caller;
}

/**
 * An admin-API caller that is a service account (client credentials): its token belongs to no
 * session, so it keeps working while a test ends sessions or moves the session clock.
 */
export async function createServiceApiCaller(gh: TestGatehouse, permissions: string[], options: { roles?: string[] } = {}): Promise<ApiCaller> {
  const account = await gh.context.serviceAccounts.create({ name: uniqueName('svc-admin') }, SYSTEM_ACTOR);
  const { secret } = await gh.context.serviceAccounts.createKey(account.id, {}, SYSTEM_ACTOR);
  await grantAdminRights(gh, account.identityId!, permissions, options.roles);
  await gh.context.authorization.invalidateAll();
  const response = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(account.id)}:${encodeURIComponent(secret)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${gh.issuer}/api`, scope: 'admin' }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token for the service account: ${JSON.stringify(body)}`);
  const token = body.access_token;
  return { token, userId: account.id, identityId: account.identityId ?? '', username: account.name, request: (method, path, payload, headers) => apiRequest(gh, token, method, path, payload, headers) };
}

/** Asserts an RFC 9457 problem response with this status and code. */
export function expectProblem(response: ApiResponse, status: number, code: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.equal(response.body.code, code, response.body.title);
}

/** A route a test expects, with the one permission it requires. */
export interface ExpectedRoute {
  method: string;
  path: string;
  permission: string;
}

/**
 * Expected routes written one a line as "METHOD /path permission" (path parameters as `:name`).
 * The table is the test's own: taking it from the served route table would let a wrong permission
 * pass.
 */
export function routeTable(lines: readonly string[]): ExpectedRoute[] {
  return lines.map((line) => {
    const [method, path, permission, ...rest] = line.trim().split(/\s+/);
    if (!method || !path?.startsWith('/') || !permission || rest.length > 0) throw new Error(`"${line}" is not "METHOD /path permission"`);
    return { method, path, permission };
  });
}
