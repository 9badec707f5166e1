// What every console suite in Chromium sets up: a Gatehouse with the demo seed (the suite is
// skipped where Chromium is missing, except in CI, and refused without a built console), people
// who sign in to the console with a password, and a browser signed in as one of them.
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { startTestGatehouse, type TestGatehouse } from './gatehouse.ts';
import { createApiCaller, type ApiCaller } from './admin-api.ts';
import { ConsolePage, launchChromium, requireChromium } from './console-pages.ts';
import { applySeed } from '../../src/services/seed.ts';
import { adminPermissionCatalog } from '../../src/routes/api/index.ts';
import { demoSeed } from '../../src/services/demo.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';

export interface ConsoleLogin {
  username: string;
  password: string;
}

/** Gatehouse with the demo seed, for a suite's `before`; skips the suite without Chromium. */
export async function startConsoleGatehouse(suite: Mocha.Context): Promise<TestGatehouse> {
  requireChromium(suite);
  if (!existsSync(new URL('../../console/dist/index.html', import.meta.url))) throw new Error('the console is not built: run npm run build');
  const gh = await startTestGatehouse();
  await applySeed(gh.context, demoSeed(gh.issuer), SYSTEM_ACTOR, { adminCatalog: adminPermissionCatalog() });
  return gh;
}

/** An administrator made through the admin API and given a password, so it can sign in to the console. */
export async function consolePerson(gh: TestGatehouse, options: Parameters<typeof createApiCaller>[1]): Promise<{ caller: ApiCaller; login: ConsoleLogin }> {
  const caller = await createApiCaller(gh, options);
  const password = `pw-${crypto.randomUUID()}`;
  await gh.context.users.setPassword(caller.username, password, SYSTEM_ACTOR);
  return { caller, login: { username: caller.username, password } };
}

/** Chromium, and a console page in it signed in as `login`. */
export async function signedInConsole(gh: TestGatehouse, login: ConsoleLogin): Promise<{ browser: Browser; admin: ConsolePage }> {
  const browser = await launchChromium();
  const admin = await ConsolePage.open(browser, gh.url);
  await admin.signIn(login.username, login.password);
  return { browser, admin };
}
