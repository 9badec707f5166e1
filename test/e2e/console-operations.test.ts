// The console's operations pages in Chromium against a real Gatehouse: the sessions dashboard
// ends a session (and the application's refresh token then fails, as openid-client sees it) and
// all of a user's; the audit log's filter finds an event and its export downloads exactly the
// filtered rows; chain verification reports an intact chain; the overview charts the sign-ins
// the audit log holds; the pages in German show no English; axe-core finds no serious or
// critical violation. One browser for the file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type Browser } from 'playwright-core';
import * as client from 'openid-client';
import { storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { discover, signIn, startAuthorization, submitLogin } from '../helpers/oidc.ts';
import { HttpClient } from '../helpers/http.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { consolePerson, signedInConsole, startConsoleGatehouse } from '../helpers/console-suite.ts';
import { ConsolePage } from '../helpers/console-pages.ts';
import { AuditPageObject, OverviewPageObject, SessionsPageObject, visibleTexts } from '../helpers/console-ops-pages.ts';

const SMART_HUB = { clientId: 'smart-hub', secret: 'smart-hub-secret-change-me-0123456789abcdef', redirectUri: 'http://localhost:8080/callback' };
const HOUR_MS = 3_600_000;

/** The English strings of the operations catalog that German translates differently, as patterns ({placeholders} match anything). */
function englishOperationsStrings(): RegExp[] {
  const catalog = JSON.parse(readFileSync(new URL('../../console/src/locales/de/operations.json', import.meta.url), 'utf8')) as Record<string, string>;
  return Object.entries(catalog)
    .filter(([english, german]) => english !== german)
    .map(([english]) => new RegExp(`^${english.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '.+')}$`));
}

describe(`console operations pages (Chromium, ${storageMode})`, function () {
  this.timeout(180_000);
  let gh: TestGatehouse;
  let browser: Browser;
  let admin: ConsolePage;
  let adminLogin: { username: string; password: string };
  let kim: { id: string; username: string; password: string };

  async function signInKim(): Promise<{ refreshToken: string; config: client.Configuration }> {
    const config = await discover(gh, SMART_HUB.clientId, SMART_HUB.secret);
    const { tokens } = await signIn({ gatehouse: gh, config, redirectUri: SMART_HUB.redirectUri, username: kim.username, password: kim.password, scope: 'openid', browser: new HttpClient(gh.issuer) });
    assert.ok(tokens.refresh_token, 'Smart Hub gets a refresh token');
    return { refreshToken: tokens.refresh_token, config };
  }

  async function failedSignIn(): Promise<void> {
    const config = await discover(gh, SMART_HUB.clientId, SMART_HUB.secret);
    const browser = new HttpClient(gh.issuer);
    const started = await startAuthorization({ gatehouse: gh, config, redirectUri: SMART_HUB.redirectUri, scope: 'openid', browser });
    const refused = await submitLogin(browser, started.response, kim.username, 'not the password');
    assert.equal(refused.status, 401, 'the login form again, with the refusal');
  }

  before(async function () {
    gh = await startConsoleGatehouse(this);
    adminLogin = (await consolePerson(gh, { permissions: 'all' })).login;
    const username = uniqueName('kim');
    const password = `pw-${crypto.randomUUID()}`;
    const user = await gh.context.users.create({ username, password }, SYSTEM_ACTOR);
    kim = { id: user.id, username, password };
    ({ browser, admin } = await signedInConsole(gh, adminLogin));
  });
  after(async () => {
    await browser?.close();
    await gh?.close();
  });

  it("ends one session from the dashboard, after which the application's refresh token fails; then all of the user's", async () => {
    const first = await signInKim();
    await admin.open('Sessions');
    const sessions = new SessionsPageObject(admin);
    await sessions.filterByUsername(kim.username.toUpperCase());
    assert.equal(await sessions.rows().count(), 1);
    await admin.assertAccessible('Sessions filtered');
    await sessions.endFirstSession();
    await admin.page.getByText('No active session.').waitFor();
    await assert.rejects(client.refreshTokenGrant(first.config, first.refreshToken), (error: unknown) => error instanceof client.ResponseBodyError && error.error === 'invalid_grant');

    const second = await signInKim();
    await signInKim();
    await sessions.filterByUsername(kim.username);
    assert.equal(await sessions.rows().count(), 2);
    await sessions.endAllOf(kim.username);
    await admin.page.getByRole('status').filter({ hasText: '2 sessions ended.' }).waitFor();
    await admin.page.getByText('No active session.').waitFor();
    await assert.rejects(client.refreshTokenGrant(second.config, second.refreshToken), client.ResponseBodyError);
    assert.deepEqual(admin.problems, []);
  });

  it('finds events with the filters, and the export downloads exactly the filtered rows', async () => {
    await failedSignIn();
    await admin.open('Audit log');
    const audit = new AuditPageObject(admin);
    await audit.filter({ action: 'user.sign_in', target: kim.id });
    const shown = await audit.rows().count();
    assert.ok(shown >= 4, `Kim's sign-ins are listed (${shown})`);
    await audit.filter({ result: 'Failure' });
    assert.equal(await audit.rows().count(), 1, 'one failed sign-in');
    await admin.assertAccessible('Audit log filtered');

    const csv = await audit.export('CSV');
    assert.match(csv.suggestedFilename(), /^audit-events-.*\.csv$/);
    const lines = (await readFile((await csv.path())!, 'utf8')).split('\r\n').filter(Boolean);
    assert.equal(lines[0]!.split(',')[0], 'id');
    assert.equal(lines.length, 2, 'the header and the one filtered row');
    assert.match(lines[1]!, /"user\.sign_in","failure"/);
    assert.ok(lines[1]!.includes(`"${kim.id}"`));

    const json = await audit.export('JSON');
    const events = JSON.parse(await readFile((await json.path())!, 'utf8')) as { action: string; result: string; targetId: string }[];
    assert.deepEqual(
      events.map((e) => [e.action, e.result, e.targetId]),
      [['user.sign_in', 'failure', kim.id]],
    );
  });

  it('verifies the hash chain and shows it intact', async () => {
    await admin.open('Audit log');
    const text = await new AuditPageObject(admin).verifyChain();
    assert.match(text, /^The chain is intact: [\d,]+ events of this tenant verified at /);
    await admin.assertAccessible('Audit log with the verification');
  });

  it('charts the sign-ins and failures of the last 24 hours with the counts the audit log holds', async () => {
    await admin.page.goto(`${gh.url}/console/`);
    const overview = new OverviewPageObject(admin);
    await overview.chart().waitFor();
    // The window the page shows: the 24 whole hours up to the end of the current one.
    const to = new Date(Math.ceil((Date.now() + 1) / HOUR_MS) * HOUR_MS);
    const from = new Date(to.getTime() - 24 * HOUR_MS);
    const counted = await gh.context.knex('audit_events').where({ tenant_id: gh.context.tenantId, action: 'user.sign_in' }).andWhere('occurred_at', '>=', from).andWhere('occurred_at', '<', to).select('result').count({ n: '*' }).groupBy('result');
    const expected = { succeeded: 0, failed: 0 };
    for (const row of counted as { result: string; n: string | number }[]) expected[row.result === 'success' ? 'succeeded' : 'failed'] = Number(row.n);
    assert.ok(expected.succeeded >= 3 && expected.failed >= 1, JSON.stringify(expected));
    assert.deepEqual(await overview.legend(), expected);
    assert.deepEqual(await overview.tableTotals(), expected);
    const users = await gh.context.knex('users').where({ tenant_id: gh.context.tenantId }).count({ n: '*' });
    assert.equal(await overview.count('Users'), Number((users[0] as { n: string | number }).n));
    await admin.assertAccessible('Overview with the chart and its table');
    await admin.screenshot('console-overview.png');
    assert.deepEqual(admin.problems, []);
  });

  it("in German (?ui_locales=de) shows no English catalog string on the landing page's link, the overview, sessions and audit pages", async () => {
    const landing = await (await fetch(new URL('/?ui_locales=de', gh.url))).text();
    assert.match(landing, /<html lang="de"/);
    assert.match(landing, /<a href="\/console\/\?ui_locales=de">Verwaltungskonsole<\/a>/);
    const german = await ConsolePage.open(browser, gh.url);
    try {
      await german.signIn(adminLogin.username, adminLogin.password);
      const english = englishOperationsStrings();
      const pages: [string, () => Promise<unknown>][] = [
        ['', () => german.page.getByRole('img', { name: /Anmeldungen der letzten 24 Stunden/ }).waitFor()],
        ['sessions', () => german.page.getByRole('search', { name: 'Sitzungen filtern' }).waitFor()],
        [
          'audit',
          async () => {
            await german.page.getByRole('table').waitFor();
            await german.page.getByRole('button', { name: 'Kette prüfen' }).click();
            await german.page.locator('.verification').waitFor();
          },
        ],
      ];
      for (const [path, ready] of pages) {
        await german.page.goto(`${gh.url}/console/${path}?ui_locales=de`);
        await ready();
        await german.page.getByRole('status').filter({ hasText: 'Wird geladen' }).waitFor({ state: 'detached' });
        assert.equal(await german.page.evaluate('document.documentElement.lang'), 'de');
        const found = (await visibleTexts(german.page)).filter((text) => english.some((pattern) => pattern.test(text)));
        assert.deepEqual(found, [], `English on /console/${path}`);
        await german.assertAccessible(`/console/${path} in German`);
      }
      assert.deepEqual(german.problems, []);
    } finally {
      await german.close();
    }
  });
});
