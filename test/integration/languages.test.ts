// The page language on a running Gatehouse: an application's ui_locales, then the browser's
// Accept-Language, then the tenant's default (GATEHOUSE_DEFAULT_LOCALE), through real
// authorization requests and the real sign-in form.
import assert from 'node:assert/strict';
import type * as client from 'openid-client';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { loadCatalogs } from '../../src/views/i18n.ts';
import { startTestGatehouse, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { HttpClient, type HttpResponse } from '../helpers/http.ts';
import { discover, startAuthorization, submitLogin } from '../helpers/oidc.ts';

const REDIRECT_URI = 'http://localhost:8153/callback';
const catalogs = loadCatalogs();

/** A browser that sends this Accept-Language on every request, as a real one does. */
class LanguageBrowser extends HttpClient {
  constructor(origin: string, acceptLanguage: string) {
    super(origin, { 'accept-language': acceptLanguage });
  }
}

const langOf = (page: HttpResponse) => /<html lang="([a-z]+)">/.exec(page.body)?.[1];
const heading = (page: HttpResponse) => /<h1>([^<]*)<\/h1>/.exec(page.body)?.[1];

describe('page languages', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let french: TestGatehouse | undefined;
  let config: client.Configuration;

  before(async () => {
    gh = await startTestGatehouse();
    const created = await gh.context.applications.create({ name: 'Languages App', type: 'web', redirectUris: [REDIRECT_URI] }, SYSTEM_ACTOR);
    config = await discover(gh, created.application.id, created.clientSecret!);
  });
  after(async () => {
    await french?.close();
    await gh?.close();
  });

  const login = (browser: HttpClient, uiLocales?: string) => startAuthorization({ gatehouse: gh, config, redirectUri: REDIRECT_URI, scope: 'openid', browser, ...(uiLocales ? { extraParams: { ui_locales: uiLocales } } : {}) });

  it('shows the sign-in page in the language of ui_locales, ahead of Accept-Language', async () => {
    const { response } = await login(new LanguageBrowser(gh.issuer, 'de'), 'es fr');
    assert.equal(langOf(response), 'fr');
    assert.equal(heading(response), catalogs.fr['Sign in']);
  });

  it('falls back to Accept-Language, and keeps the language for the error after a wrong password', async () => {
    const browser = new LanguageBrowser(gh.issuer, 'it, de-CH;q=0.8, en;q=0.5');
    const { response } = await login(browser, 'es');
    assert.equal(langOf(response), 'de');
    const username = uniqueName('sprache');
    await gh.context.users.create({ username, password: 'eine lange Passphrase 42' }, SYSTEM_ACTOR);
    const failed = await submitLogin(browser, response, username, 'not the password at all');
    assert.equal(failed.status, 401);
    assert.ok(failed.body.includes(catalogs.de['Invalid username or password.']!), failed.body);
  });

  it('shows English without a preference, and error pages in the browser’s language', async () => {
    const { response } = await login(new HttpClient(gh.issuer));
    assert.equal(langOf(response), 'en');
    assert.equal(heading(response), 'Sign in');
    const expired = await new LanguageBrowser(gh.issuer, 'fr').request('/interaction/no-such-interaction');
    assert.equal(expired.status, 400);
    assert.equal(langOf(expired), 'fr');
    assert.ok(expired.body.includes(catalogs.fr['This sign-in request has expired or was already used. Go back to the application and start again.']!), expired.body);
  });

  it('uses the tenant’s default language when the request names none Gatehouse has', async () => {
    french = await startTestGatehouse({ GATEHOUSE_DEFAULT_LOCALE: 'fr' });
    const created = await french.context.applications.create({ name: 'Languages App', type: 'web', redirectUris: [REDIRECT_URI] }, SYSTEM_ACTOR);
    const frenchConfig = await discover(french, created.application.id, created.clientSecret!);
    const { response } = await startAuthorization({ gatehouse: french, config: frenchConfig, redirectUri: REDIRECT_URI, scope: 'openid', browser: new LanguageBrowser(french.issuer, 'es') });
    assert.equal(langOf(response), 'fr');
    assert.equal(heading(response), catalogs.fr['Sign in']);
  });

  it('gives the console the language of ?ui_locales=, then Accept-Language, then the tenant’s default', async () => {
    const page = await new LanguageBrowser(gh.issuer, 'de').request('/console/users?ui_locales=fr');
    assert.equal(page.status, 200, 'the console is built');
    assert.equal(langOf(page), 'fr');
    assert.equal(langOf(await new LanguageBrowser(gh.issuer, 'es, de;q=0.5').request('/console/')), 'de');
    assert.equal(langOf(await new LanguageBrowser(gh.issuer, 'es').request('/console/')), 'en');
    assert.equal(langOf(await new LanguageBrowser(french!.issuer, 'es').request('/console/')), 'fr');
  });
});
