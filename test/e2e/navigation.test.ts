// Security-trimmed navigation for the demo cast: Kim, Lucy and Jack sign in to their applications,
// ask GET /api/v1/me/navigation with their own access token, and get exactly the items their
// permissions allow; a tenant override changes what they see at once, no restart.
import assert from 'node:assert/strict';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { DEMO_PASSWORD, demoSeed } from '../../src/services/demo.ts';
import { applySeed } from '../../src/services/seed.ts';
import { adminPermissionCatalog } from '../../src/routes/api/index.ts';
import { apiRequest, createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { discover, signIn } from '../helpers/oidc.ts';

const SMART_HUB = { clientId: 'smart-hub', secret: 'smart-hub-secret-change-me-0123456789abcdef', redirectUri: 'http://localhost:8080/callback' };
const CLIENT_PORTAL = { clientId: 'client-portal', redirectUri: 'http://localhost:5173/callback' };

interface Node {
  label: string;
  path: string | null;
  children: Node[];
}

/** "Label" or "Label > Child" lines, depth first, in menu order. */
function outline(nodes: Node[], prefix = ''): string[] {
  return nodes.flatMap((n) => [`${prefix}${n.label}`, ...outline(n.children, `${prefix}${n.label} > `)]);
}

describe('security-trimmed navigation for the demo cast', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let admin: ApiCaller;
  const tokens = new Map<string, string>();

  before(async () => {
    gh = await startTestGatehouse();
    await applySeed(gh.context, demoSeed(gh.issuer), SYSTEM_ACTOR, { adminCatalog: adminPermissionCatalog() });
    admin = await createApiCaller(gh, { permissions: ['navigation:override', 'navigation:reset', 'navigation:read'] });
  });
  after(async () => gh?.close());

  /** The user's own access token for the admin API, from signing in to the application. */
  async function tokenFor(username: string, app: { clientId: string; secret?: string; redirectUri: string }): Promise<string> {
    const key = `${username}@${app.clientId}`;
    if (!tokens.has(key)) {
      const config = await discover(gh, app.clientId, app.secret);
      const { tokens: t } = await signIn({ gatehouse: gh, config, redirectUri: app.redirectUri, username, password: DEMO_PASSWORD, scope: 'openid admin', resource: `${gh.issuer}/api` });
      tokens.set(key, t.access_token);
    }
    return tokens.get(key)!;
  }

  async function menu(username: string, app: typeof SMART_HUB | typeof CLIENT_PORTAL): Promise<string[]> {
    const response = await apiRequest(gh, await tokenFor(username, app), 'GET', `/me/navigation?app=${app.clientId}`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return outline(response.body.items);
  }

  it('gives each member of the cast exactly the items their permissions allow', async () => {
    // Kim (User: bookings:read, bookings:create; no admin permissions)
    assert.deepEqual(await menu('kim', SMART_HUB), ['Dashboard', 'Bookings', 'Bookings > New booking']);
    // Lucy's internal identity (User + Admin): everything, maintenance included
    assert.deepEqual(await menu('lucy', SMART_HUB), ['Dashboard', 'Bookings', 'Bookings > New booking', 'Maintenance', 'Maintenance > Users', 'Maintenance > Audit log']);
    // Jack (Client: bookings:read only)
    assert.deepEqual(await menu('jack', CLIENT_PORTAL), ['Home', 'My bookings']);
  });

  it('applies a tenant override on the next request, without a restart, and undoes it on reset', async () => {
    const rename = await admin.request('PUT', '/applications/smart-hub/navigation/overrides/bookings', { label: 'Reservations', sortOrder: -1 });
    assert.equal(rename.status, 200, JSON.stringify(rename.body));
    const disable = await admin.request('PUT', '/applications/smart-hub/navigation/overrides/audit', { disabled: true });
    assert.equal(disable.status, 200, JSON.stringify(disable.body));
    try {
      assert.deepEqual(await menu('kim', SMART_HUB), ['Reservations', 'Reservations > New booking', 'Dashboard']);
      assert.deepEqual(await menu('lucy', SMART_HUB), ['Reservations', 'Reservations > New booking', 'Dashboard', 'Maintenance', 'Maintenance > Users']);
      assert.deepEqual(await menu('jack', CLIENT_PORTAL), ['Home', 'My bookings'], 'another application is untouched');
    } finally {
      assert.equal((await admin.request('DELETE', '/applications/smart-hub/navigation/overrides/bookings')).status, 204);
      assert.equal((await admin.request('DELETE', '/applications/smart-hub/navigation/overrides/audit')).status, 204);
    }
    assert.deepEqual(await menu('kim', SMART_HUB), ['Dashboard', 'Bookings', 'Bookings > New booking']);
  });

  it('follows a role change on the next request', async () => {
    const kim = (await gh.context.users.findByUsername('kim'))!;
    const identity: { id: string } = await gh.context.knex('identities').where({ user_id: kim.id, kind: 'internal' }).first('id');
    const adminRole: { id: string } = await gh.context.knex('roles').where({ tenant_id: gh.context.tenantId, name: 'Admin' }).first('id');
    await gh.context.roles.assignToIdentity(identity.id, [adminRole.id], { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    try {
      assert.deepEqual(await menu('kim', SMART_HUB), ['Dashboard', 'Bookings', 'Bookings > New booking', 'Maintenance', 'Maintenance > Users', 'Maintenance > Audit log']);
    } finally {
      await gh.context.roles.unassignFromIdentity(identity.id, adminRole.id, { tenantId: gh.context.tenantId, actor: SYSTEM_ACTOR, granter: 'system' });
    }
    assert.deepEqual(await menu('kim', SMART_HUB), ['Dashboard', 'Bookings', 'Bookings > New booking']);
  });

  it('answers 401 without a token and 404 for an unknown application', async () => {
    assert.equal((await apiRequest(gh, undefined, 'GET', '/me/navigation?app=smart-hub')).status, 401);
    const unknown = await apiRequest(gh, await tokenFor('kim', SMART_HUB), 'GET', '/me/navigation?app=no-such-app');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'application.not_found');
  });

  it('applying the demo seed again changes nothing in the menus', async () => {
    const report = await applySeed(gh.context, demoSeed(gh.issuer), SYSTEM_ACTOR, { adminCatalog: adminPermissionCatalog() });
    assert.deepEqual(report.navigation, { updated: [], unchanged: ['smart-hub', 'client-portal'] });
  });
});
