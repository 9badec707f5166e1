// The demo loaded by `gatehouse start --demo`: a cast of users (Lucy, Kim, Jack, Simon) with their
// identities, roles and data scopes, and applications that accept different identity kinds.
import type { SeedInput } from './seed.ts';

export const DEMO_PASSWORD = 'gatehouse-demo-password';

export function demoSeed(issuer: string): SeedInput {
  const api = `${issuer}/demo-api`;
  const bookings = (permission: string) => ({ resource: api, permission });
  return {
    dataScopeKeys: ['client', 'supplier'],
    // The system roles exist from the first start (created programmatically); this gives them
    // permissions on the demo's own API (their admin-API permissions are Gatehouse's).
    roles: [
      { name: 'User', permissions: [bookings('bookings:read'), bookings('bookings:create')] },
      { name: 'Client', permissions: [bookings('bookings:read')] },
    ],
    users: [
      {
        username: 'lucy',
        email: 'lucy@example.com',
        name: 'Lucy',
        password: DEMO_PASSWORD,
        identities: [
          { kind: 'internal', alias: 'Lucy', roles: ['User', 'Admin'], dataScope: { client: ['*'], supplier: ['*'] } },
          { kind: 'client', alias: 'Lucy (client view)', roles: ['Client'], dataScope: { client: ['*'] } },
        ],
      },
      { username: 'kim', email: 'kim@example.com', name: 'Kim', password: DEMO_PASSWORD, identities: [{ kind: 'internal', alias: 'Kim', roles: ['User'], dataScope: { client: ['ROOM'] } }] },
      { username: 'jack', email: 'jack@example.com', name: 'Jack', password: DEMO_PASSWORD, identities: [{ kind: 'client', alias: 'Jack', roles: ['Client'], dataScope: { client: ['ROOM'] } }] },
      { username: 'simon', email: 'simon@example.com', name: 'Simon', password: DEMO_PASSWORD, identities: [{ kind: 'client', alias: 'Simon', roles: ['Client'], dataScope: { client: ['Pharma'] } }] },
    ],
    apiResources: [{ identifier: api, name: 'Demo bookings API', scopes: ['bookings:read', 'bookings:create'] }],
    // Security-trimmed navigation: what each member of the cast sees depends on their permissions.
    navigation: [
      {
        application: 'smart-hub',
        items: [
          { key: 'dashboard', label: 'Dashboard', path: '/', sortOrder: 0 },
          { key: 'bookings', label: 'Bookings', path: '/bookings', sortOrder: 10, requiredPermission: bookings('bookings:read') },
          { key: 'new-booking', label: 'New booking', path: '/bookings/new', parentKey: 'bookings', sortOrder: 0, requiredPermission: bookings('bookings:create') },
          { key: 'maintenance', label: 'Maintenance', path: null, sortOrder: 20, requiredPermission: { resource: 'gatehouse', permission: 'users:list' } },
          { key: 'users', label: 'Users', path: '/maintenance/users', parentKey: 'maintenance', sortOrder: 0, requiredPermission: { resource: 'gatehouse', permission: 'users:list' } },
          { key: 'audit', label: 'Audit log', path: '/maintenance/audit', parentKey: 'maintenance', sortOrder: 10, requiredPermission: { resource: 'gatehouse', permission: 'audit-events:list' } },
        ],
      },
      {
        application: 'client-portal',
        items: [
          { key: 'home', label: 'Home', path: '/', sortOrder: 0 },
          { key: 'bookings', label: 'My bookings', path: '/bookings', sortOrder: 10, requiredPermission: bookings('bookings:read') },
          { key: 'new-booking', label: 'New booking', path: '/bookings/new', sortOrder: 20, requiredPermission: bookings('bookings:create') },
        ],
      },
    ],
    // Smart Hub and the Client Portal read their users' menus from /api/v1/me/navigation, so they
    // are admin-API clients (the audience is closed to others); each token still carries only the
    // signed-in user's own rights.
    applications: [
      {
        clientId: 'smart-hub',
        name: 'Smart Hub',
        type: 'web',
        redirectUris: ['http://localhost:8080/callback'],
        postLogoutRedirectUris: ['http://localhost:8080/'],
        clientSecret: 'smart-hub-secret-change-me-0123456789abcdef',
        acceptedIdentityKinds: ['internal'],
        adminApiClient: true,
      },
      { clientId: 'client-portal', name: 'Client Portal', type: 'spa', redirectUris: ['http://localhost:5173/callback'], postLogoutRedirectUris: ['http://localhost:5173/'], acceptedIdentityKinds: ['client'], adminApiClient: true },
      { clientId: 'ops-console', name: 'Operations Console', type: 'web', redirectUris: ['http://localhost:8081/callback'], clientSecret: 'ops-console-secret-change-me-0123456789abcd', acceptedIdentityKinds: ['internal', 'client'] },
      { clientId: 'demo-service', name: 'Demo service', type: 'service', clientSecret: 'demo-service-secret-change-me-0123456789ab' },
    ],
  };
}
