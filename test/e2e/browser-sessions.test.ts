// A real browser (Chromium through playwright-core): the same user signed in from two browser
// contexts (two devices) sees both sessions on /account/sessions, this one marked, and ends the
// other one from there; the other device is then asked to sign in again.
import assert from 'node:assert/strict';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { startTestGatehouse, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { USER_AGENTS } from '../helpers/sessions.ts';
import { launchChromium, requireChromium } from '../helpers/console-pages.ts';

const PASSWORD = 'two browsers one person 7';

/** Page object for /account/sessions. */
class SessionsPage {
  constructor(private readonly page: Page) {}
  async open(gh: TestGatehouse, username: string) {
    await this.page.goto(`${gh.url}/account/sessions`);
    if (await this.page.getByLabel('Username or email').isVisible()) {
      await this.page.getByLabel('Username or email').fill(username);
      await this.page.getByLabel('Password').fill(PASSWORD);
      await this.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    }
    await this.page.getByRole('heading', { name: 'Your sessions', level: 1 }).waitFor();
  }
  sessions() {
    return this.page.locator('li.session');
  }
  session(device: string) {
    return this.sessions().filter({ has: this.page.getByRole('heading', { name: new RegExp(device) }) });
  }
}

describe('session list in the browser (Chromium)', function () {
  this.timeout(90_000);
  let gh: TestGatehouse;
  let browser: Browser;
  let phone: BrowserContext;
  let laptop: BrowserContext;

  before(async function () {
    requireChromium(this);
    gh = await startTestGatehouse();
    browser = await launchChromium();
    phone = await browser.newContext({ userAgent: USER_AGENTS.iphone });
    laptop = await browser.newContext({ userAgent: USER_AGENTS.windowsChrome });
  });
  after(async () => {
    await browser?.close();
    await gh?.close();
  });

  it('lists the sessions of two browsers and ends one from the other', async () => {
    const username = uniqueName('twobrowsers');
    await gh.context.users.create({ username, password: PASSWORD }, SYSTEM_ACTOR);
    const onLaptop = new SessionsPage(await laptop.newPage());
    await onLaptop.open(gh, username);
    const phonePage = await phone.newPage();
    const onPhone = new SessionsPage(phonePage);
    await onPhone.open(gh, username);

    // Arrange: both sessions are listed on the phone, the phone's own one marked.
    assert.equal(await onPhone.sessions().count(), 2);
    const phoneEntry = onPhone.session('Phone');
    const laptopEntry = onPhone.session('Computer');
    assert.match(await phoneEntry.getByRole('heading').innerText(), /Phone: Mobile Safari 17 on iOS 17\.1 \(this device\)/);
    assert.match(await laptopEntry.getByRole('heading').innerText(), /Computer: Chrome 120 on Windows 10/);
    assert.doesNotMatch(await laptopEntry.getByRole('heading').innerText(), /this device/);
    assert.match(await laptopEntry.innerText(), /127\.0\.0\.1/);

    // Act: end the laptop's session from the phone.
    await laptopEntry.getByRole('button', { name: 'End this session' }).click();

    // Assert: the phone sees one session and a notice; the laptop has to sign in again.
    await phonePage.getByRole('status').waitFor();
    assert.match(await phonePage.getByRole('status').innerText(), /session has ended/);
    assert.equal(await onPhone.sessions().count(), 1);
    const laptopPage = await laptop.newPage();
    await laptopPage.goto(`${gh.url}/account/sessions`);
    await laptopPage.getByLabel('Username or email').waitFor();
    assert.ok(await laptopPage.getByLabel('Password').isVisible(), 'the laptop is signed out');
  });
});
