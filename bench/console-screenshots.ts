// Screenshots of the console's main pages for the documentation: `npm run docs:screenshots`
// writes docs/console/console-*.png (1280 px wide) from a demo Gatehouse (bench/lib/console-demo.ts),
// signed in as its administrator. Needs the console built (npm run build) and Chromium.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { ADMIN, startConsoleDemo } from './lib/console-demo.ts';

const OUT = fileURLToPath(new URL('../docs/console/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function settle(page: Page, heading: string | RegExp): Promise<void> {
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  await page.getByRole('status').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' });
}

await mkdir(OUT, { recursive: true });
const demo = await startConsoleDemo();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-GB' });
  const page = await context.newPage();
  await page.goto(`${demo.url}/console/`);
  await page.getByLabel('Username or email').fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const nav = page.getByRole('navigation', { name: 'Console sections' });
  const shoot = (name: string) => page.screenshot({ path: `${OUT}console-${name}.png` });

  await settle(page, 'Overview');
  await page.locator('.chart').waitFor();
  await shoot('overview');
  for (const [section, name] of [
    ['Users', 'users'],
    ['Sessions', 'sessions'],
    ['Roles', 'roles'],
  ] as const) {
    await nav.getByRole('link', { name: section, exact: true }).click();
    await settle(page, section);
    await shoot(name);
  }
  await nav.getByRole('link', { name: 'Audit log', exact: true }).click();
  await settle(page, 'Audit log');
  await page.getByRole('button', { name: 'Verify the chain' }).click();
  await page.locator('.verification').waitFor();
  await page.evaluate('window.scrollTo(0, 0)');
  await shoot('audit-log');
  await nav.getByRole('link', { name: 'Users', exact: true }).click();
  await settle(page, 'Users');
  await page.getByRole('link', { name: 'lucy', exact: true }).click();
  await page.getByRole('heading', { level: 2, name: 'General information' }).waitFor();
  await shoot('user-details');
  console.log(`wrote ${OUT}console-{overview,users,user-details,sessions,audit-log,roles}.png`);
} finally {
  await browser.close();
  await demo.close();
}
