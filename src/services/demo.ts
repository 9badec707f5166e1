// The demo loaded by `gatehouse start --demo`: the seed documents' cast and three applications.
import type { SeedInput } from './seed.ts';

export const DEMO_PASSWORD = 'gatehouse-demo-password';

export function demoSeed(issuer: string): SeedInput {
  return {
    users: [
      { username: 'lucy', email: 'lucy@example.com', name: 'Lucy', password: DEMO_PASSWORD },
      { username: 'kim', email: 'kim@example.com', name: 'Kim', password: DEMO_PASSWORD },
      { username: 'jack', email: 'jack@example.com', name: 'Jack', password: DEMO_PASSWORD },
      { username: 'simon', email: 'simon@example.com', name: 'Simon', password: DEMO_PASSWORD },
    ],
    apiResources: [{ identifier: `${issuer}/demo-api`, name: 'Demo API', scopes: ['bookings:read', 'bookings:create'] }],
    applications: [
      { clientId: 'demo-web', name: 'Smart Hub (demo web app)', type: 'web', redirectUris: ['http://localhost:8080/callback'], postLogoutRedirectUris: ['http://localhost:8080/'], clientSecret: 'demo-web-secret-change-me-0123456789abcdef' },
      { clientId: 'demo-spa', name: 'Client Portal (demo SPA)', type: 'spa', redirectUris: ['http://localhost:5173/callback'], postLogoutRedirectUris: ['http://localhost:5173/'] },
      { clientId: 'demo-service', name: 'Demo service', type: 'service', clientSecret: 'demo-service-secret-change-me-0123456789ab' },
    ],
  };
}
