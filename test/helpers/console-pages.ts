// Page objects for the admin console at /console, driven in Chromium.
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** For a suite's `before`: skips the suite where Chromium is missing (in CI, a failure). */
export function requireChromium(suite: Mocha.Context): void {
  if (existsSync(CHROMIUM)) return;
  if (process.env.CI) throw new Error(`Chromium is required in CI at ${CHROMIUM} (apt-get install -y chromium)`);
  suite.skip();
}

/** Headless Chromium for a test file. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Types `role` into a role picker and chooses it. The picker asks the server once typing settles:
 * this waits until every option listed matches the text, so the click does not land on a list
 * that is being replaced. A picker that adds the role to a list (`clears`) is empty again after.
 */
export async function pickRole(page: Page, input: Locator, role: string, how: { clears?: boolean } = {}): Promise<void> {
  await input.fill(role);
  const options = page.getByRole('listbox').getByRole('option');
  for (let tries = 0; ; tries++) {
    const names = await options.allInnerTexts();
    if (names.length > 0 && names.every((n) => n.toLowerCase().includes(role.toLowerCase()))) break;
    if (tries > 100) throw new Error(`the role picker never listed only matches of "${role}": ${names.join(', ')}`);
    await page.waitForTimeout(100);
  }
  await page.getByRole('option', { name: role, exact: true }).click();
  if (!how.clears) assert.equal(await input.inputValue(), role);
}

export class ConsolePage {
  /** Content-Security-Policy reports and script errors seen by the page. */
  readonly problems: string[] = [];
  /** axe-core adds <style> elements of its own, which the CSP rightly refuses: not the console's. */
  private auditing = false;

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly baseUrl: string,
  ) {
    page.on('console', (message) => {
      if (message.type() === 'debug' && message.text() === 'gatehouse-test:axe-done') this.auditing = false;
      else if (message.type() === 'error' && !this.auditing) this.problems.push(`${message.text()} at ${JSON.stringify(message.location())} on ${page.url()}`);
    });
    page.on('pageerror', (error) => this.problems.push(error.message));
  }

  static async open(browser: Browser, baseUrl: string, width = 1280): Promise<ConsolePage> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    return new ConsolePage(context, await context.newPage(), baseUrl);
  }

  /** Opens /console, signs in on Gatehouse's sign-in page, and waits for the console to show. */
  async signIn(username: string, password: string): Promise<void> {
    await this.page.goto(`${this.baseUrl}/console/`);
    await this.page.getByLabel('Username or email').fill(username);
    await this.page.getByLabel('Password').fill(password);
    await this.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await this.page.waitForURL(/\/console\/(\?|$)/);
    await this.page.getByRole('heading', { level: 1 }).waitFor();
  }

  nav() {
    return this.page.getByRole('navigation', { name: 'Console sections' });
  }

  async menu(): Promise<string[]> {
    return (await this.nav().getByRole('link').allInnerTexts()).map((t) => t.trim());
  }

  async open(section: string): Promise<void> {
    await this.nav().getByRole('link', { name: section, exact: true }).click();
    await this.page.getByRole('heading', { level: 1, name: section }).waitFor();
    await this.page.getByRole('status').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' });
  }

  heading() {
    return this.page.getByRole('heading', { level: 1 });
  }

  /** axe-core on the page as it stands: no serious or critical violation of WCAG 2 A/AA. */
  async assertAccessible(where: string): Promise<void> {
    this.auditing = true;
    const result = await new AxeBuilder({ page: this.page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    // Console messages arrive in order: the marker ends the audit's window.
    await this.page.evaluate('console.debug("gatehouse-test:axe-done")');
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(
      bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.html.slice(0, 200)).join(', ')})`),
      [],
      `accessibility violations on ${where}`,
    );
  }

  async screenshot(file: string): Promise<void> {
    if (process.env.CONSOLE_SCREENSHOTS) await this.page.screenshot({ path: `${process.env.CONSOLE_SCREENSHOTS}/${file}`, fullPage: false });
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** Picks `option` in a React Aria Select labelled `label` (its button is named by the value and the label). */
export async function choose(scope: Locator, page: Page, label: string, option: string): Promise<void> {
  await scope.getByRole('button', { name: new RegExp(`${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

/** The Users page: search, filters, the list, bulk actions, CSV import. */
export class UsersPageObject {
  constructor(private readonly console: ConsolePage) {}
  get page() {
    return this.console.page;
  }
  async search(text: string): Promise<void> {
    await this.page.getByRole('searchbox', { name: 'Search username, email or name' }).fill(text);
  }
  row(username: string) {
    return this.page.getByRole('row').filter({ has: this.page.getByRole('link', { name: username, exact: true }) });
  }
  async openUser(username: string): Promise<void> {
    await this.row(username).getByRole('link', { name: username, exact: true }).click();
    await this.page.getByRole('heading', { level: 2, name: 'General information' }).waitFor();
  }
  /** Creates a user in the dialog; `kind` is the identity kind's label as listed (e.g. "Internal user", "Client"). */
  async createUser(fields: { username: string; name: string; password: string; kind: string; alias: string }): Promise<void> {
    await this.page.getByRole('button', { name: 'Create user' }).click();
    const dialog = this.page.getByRole('dialog');
    await dialog.getByLabel('Username').fill(fields.username);
    await dialog.getByLabel('Name', { exact: true }).fill(fields.name);
    await dialog.getByLabel('Password').fill(fields.password);
    await choose(dialog, this.page, 'First identity: kind', fields.kind);
    await dialog.getByLabel('First identity: alias').fill(fields.alias);
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await this.page.getByRole('heading', { level: 2, name: 'General information' }).waitFor();
  }
  /** Ticks the row of each user (the list must show them), by keyboard. */
  async select(usernames: string[]): Promise<void> {
    for (const username of usernames) {
      const box = this.row(username).getByRole('checkbox');
      await box.focus();
      await this.page.keyboard.press('Space');
      await this.page.waitForFunction((el) => (el as { checked?: boolean } | null)?.checked === true, await box.elementHandle());
    }
  }
  /** Runs a bulk action through its confirmation; returns the confirmation's text and the report's summary. */
  async bulk(action: string, confirmLabel: string): Promise<{ question: string; summary: string }> {
    await this.page.getByRole('region', { name: 'Bulk actions' }).getByRole('button', { name: action, exact: true }).click();
    const dialog = this.page.getByRole('alertdialog');
    const question = await dialog.innerText();
    await dialog.getByRole('button', { name: confirmLabel, exact: true }).click();
    const report = this.page.getByRole('region', { name: /^(Activated|Deactivated|Role assigned|Added to the group|Deleted)$/ });
    await report.waitFor();
    return { question, summary: await report.getByRole('status').innerText() };
  }
  /** Uploads a CSV, runs the dry run and then the import; returns both reports' text. */
  async importCsv(csv: string): Promise<{ check: string; result: string }> {
    await this.page.getByRole('button', { name: 'Import CSV' }).click();
    const dialog = this.page.getByRole('dialog');
    await dialog.locator('input[type="file"]').setInputFiles({ name: 'users.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await dialog.getByText('users.csv:').waitFor();
    await dialog.getByRole('button', { name: 'Check (dry run)' }).click();
    const check = dialog.getByRole('region', { name: 'Check report' });
    await check.waitFor();
    const checkText = await check.innerText();
    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    const result = dialog.getByRole('region', { name: 'Import report' });
    await result.waitFor();
    return { check: checkText, result: await result.innerText() };
  }
  async closeDialog(): Promise<void> {
    await this.page.getByRole('dialog').getByRole('button', { name: 'Close', exact: true }).click();
  }
}

/** A user's details page: identities, their roles, data scopes and groups, sessions, security. */
export class UserDetailsPageObject {
  constructor(private readonly console: ConsolePage) {}
  get page() {
    return this.console.page;
  }
  identity(alias: string) {
    return this.page.getByRole('article', { name: `Identity ${alias}` });
  }
  /** Adds a role through the picker, which searches the server as one types. */
  async addRole(alias: string, role: string): Promise<void> {
    const card = this.identity(alias);
    const input = card.getByRole('combobox', { name: `Add a role to ${alias}` });
    await pickRole(this.page, input, role);
    await card.getByRole('button', { name: 'Add role' }).click();
    await card.getByRole('listitem').filter({ hasText: role }).first().waitFor();
    // React Aria announces the chosen option through a transient live-region node that points at
    // the option's (now gone) label; it removes the node itself once announced.
    await this.page.locator('[data-live-announcer] [role="img"]').first().waitFor({ state: 'detached' });
  }
  async setScope(alias: string, key: string, values: string): Promise<void> {
    const form = this.page.getByRole('form', { name: `Set a data scope of ${alias}` });
    await form.getByLabel('Scope key').fill(key);
    await form.getByLabel('Values (comma-separated, * for all)').fill(values);
    await form.getByRole('button', { name: 'Set scope' }).click();
    await this.identity(alias).getByText(`${key} = ${values}`).waitFor();
  }
  /** Adds an identity of the kind (its label as listed) with the alias. */
  async addIdentity(kind: string, alias: string): Promise<void> {
    const form = this.page.getByRole('form', { name: 'Add an identity' });
    await choose(form, this.page, 'Kind', kind);
    await form.getByLabel('Alias').fill(alias);
    await form.getByRole('button', { name: 'Add identity' }).click();
    await this.identity(alias).waitFor();
  }
  /** The permissions listed in an identity's effective-access view, each "permission: origin". */
  async effectiveAccess(alias: string): Promise<string[]> {
    const card = this.identity(alias);
    await card.getByRole('button', { name: `Show effective access of ${alias}` }).click();
    const table = card.getByRole('table', { name: `Effective access of ${alias}` });
    await table.waitFor();
    const rows = await table.getByRole('row').all();
    const out: string[] = [];
    for (const row of rows.slice(1)) {
      const cells = await row.getByRole('cell').allInnerTexts();
      out.push(`${cells[1]}: ${cells[2]}`);
    }
    return out;
  }
  sessionRows() {
    return this.page.getByRole('region', { name: 'Sessions' }).getByRole('row');
  }
  /** Ends the first session listed, through its confirmation, and waits until the list shows one fewer. */
  async endOneSession(): Promise<void> {
    const before = await this.sessionRows().count();
    await this.sessionRows().nth(1).getByRole('button', { name: 'End', exact: true }).click();
    await this.page.getByRole('alertdialog').getByRole('button', { name: 'End session' }).click();
    // Rows: a header and before - 1 sessions; once one ends, the last body row's index is gone.
    await this.page
      .locator('section[aria-labelledby="user-sessions"] tbody tr')
      .nth(before - 2)
      .waitFor({ state: 'detached' });
  }
}
