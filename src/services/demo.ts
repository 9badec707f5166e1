// The demo loaded by `gatehouse start --demo`: the seed documents' cast (001/003) with their
// identities, roles and data scopes, and applications that accept different identity kinds.
import type { SeedInput } from './seed.ts';

export const DEMO_PASSWORD = 'gatehouse-demo-password';

export function demoSeed(issuer: string): SeedInput {
  return {
    dataScopeKeys: ['client', 'supplier'],
    users: [
      {
        username: 'lucy', email: 'lucy@example.com', name: 'Lucy', password: DEMO_PASSWORD,
        identities: [
          { kind: 'internal', alias: 'Lucy', roles: ['User', 'Admin'], dataScope: { client: ['*'], supplier: ['*'] } },
          { kind: 'client', alias: 'Lucy (client view)', roles: ['Client'], dataScope: { client: ['*'] } },
        ],
      },
      { username: 'kim', email: 'kim@example.com', name: 'Kim', password: DEMO_PASSWORD, identities: [{ kind: 'internal', alias: 'Kim', roles: ['User'], dataScope: { client: ['ROOM'] } }] },
      { username: 'jack', email: 'jack@example.com', name: 'Jack', password: DEMO_PASSWORD, identities: [{ kind: 'client', alias: 'Jack', roles: ['Client'], dataScope: { client: ['ROOM'] } }] },
      { username: 'simon', email: 'simon@example.com', name: 'Simon', password: DEMO_PASSWORD, identities: [{ kind: 'client', alias: 'Simon', roles: ['Client'], dataScope: { client: ['Pharma'] } }] },
    ],
    apiResources: [{ identifier: `${issuer}/demo-api`, name: 'Demo bookings API', scopes: ['bookings:read', 'bookings:create'] }],
    applications: [
      { clientId: 'smart-hub', name: 'Smart Hub', type: 'web', redirectUris: ['http://localhost:8080/callback'], postLogoutRedirectUris: ['http://localhost:8080/'], clientSecret: 'smart-hub-secret-change-me-0123456789abcdef', acceptedIdentityKinds: ['internal'] },
      { clientId: 'client-portal', name: 'Client Portal', type: 'spa', redirectUris: ['http://localhost:5173/callback'], postLogoutRedirectUris: ['http://localhost:5173/'], acceptedIdentityKinds: ['client'] },
      { clientId: 'ops-console', name: 'Operations Console', type: 'web', redirectUris: ['http://localhost:8081/callback'], clientSecret: 'ops-console-secret-change-me-0123456789abcd', acceptedIdentityKinds: ['internal', 'client'] },
      { clientId: 'demo-service', name: 'Demo service', type: 'service', clientSecret: 'demo-service-secret-change-me-0123456789ab' },
    ],
  };
}
