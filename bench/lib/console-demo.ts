// A Gatehouse for measuring and photographing the console: embedded database in a temporary
// directory, the demo seed, an administrator "ada", and a few sign-ins (and failures) so that the
// overview's chart and the sessions and audit pages have something to show.
import { randomBytes } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { DEMO_PASSWORD, demoSeed } from '../../src/services/demo.ts';
import { applySeed } from '../../src/services/seed.ts';
import { adminPermissionCatalog } from '../../src/routes/api/index.ts';
import { startLocalGatehouse } from '../../test/helpers/gatehouse.ts';
import { HttpClient } from '../../test/helpers/http.ts';
import { discover, signIn, startAuthorization, submitLogin } from '../../test/helpers/oidc.ts';

export const ADMIN = { username: 'ada', password: 'quiet-harbour-lantern-4815' };
const SMART_HUB = { clientId: 'smart-hub', secret: 'smart-hub-secret-change-me-0123456789abcdef', redirectUri: 'http://localhost:8080/callback' };

export interface ConsoleDemo {
  url: string;
  close(): Promise<void>;
}

export async function startConsoleDemo(): Promise<ConsoleDemo> {
  const gatehouse = await startLocalGatehouse({ NODE_ENV: 'development', GATEHOUSE_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'warn' }, { purpose: 'console demo' });
  const { context, server } = gatehouse;
  const seed = demoSeed(server.issuer);
  seed.users = [...(seed.users ?? []), { username: ADMIN.username, name: 'Ada Admin', email: 'ada@example.com', password: ADMIN.password, identities: [{ kind: 'internal', alias: 'Ada', roles: ['Admin'] }] }];
  await applySeed(context, seed, SYSTEM_ACTOR, { adminCatalog: adminPermissionCatalog() });
  const config2 = await discover({ issuer: server.issuer }, SMART_HUB.clientId, SMART_HUB.secret);
  for (const username of ['kim', 'kim', 'lucy', 'kim']) {
    await signIn({ gatehouse: { issuer: server.issuer }, config: config2, redirectUri: SMART_HUB.redirectUri, username, password: DEMO_PASSWORD, scope: 'openid', browser: new HttpClient(server.issuer) });
  }
  const browser = new HttpClient(server.issuer);
  const started = await startAuthorization({ gatehouse: { issuer: server.issuer }, config: config2, redirectUri: SMART_HUB.redirectUri, scope: 'openid', browser });
  await submitLogin(browser, started.response, 'kim', 'a wrong password');
  return { url: server.url, close: () => gatehouse.close() };
}
