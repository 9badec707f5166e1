// Page objects for the console checks past the screens' own suites: the CSV import's progress
// while the server works, the users list's columns read by heading, the removals on a user's
// page, an access key's use and expiry, the sessions dashboard's filters, and roles found on the
// server (the roles list's search and pages, the assignable-roles and identity-provider pickers).
import type { Locator, Page, Route } from 'playwright-core';
import { choose, pickRole } from './console-pages.ts';
import { ConsolePageObject } from './console-page-object.ts';
import { eventually } from './console-users-pages.ts';

/** Waits until no list or query of the page is loading. */
async function settled(page: Page): Promise<void> {
  await page.getByRole('status').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' });
}

/** A table row as heading → cell text (the table's column headings name its cells in order). */
async function byHeading(table: Locator, row: Locator): Promise<Record<string, string>> {
  const headings = (await table.getByRole('columnheader').allInnerTexts()).map((h) => h.trim());
  const cells = (await row.getByRole('cell').allInnerTexts()).map((c) => c.trim());
  return Object.fromEntries(headings.map((heading, i) => [heading, cells[i] ?? '']));
}

/** The progress bar as assistive technology reads it. */
export interface ProgressRead {
  name: string | null;
  text: string;
  valueNow: string | null;
  valueMin: string | null;
  valueMax: string | null;
}

/** A request the test lets through to the server but whose answer it holds until released. */
export class HeldAnswer {
  private release!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));
  /** Resolves with the server's status once it has answered (the page does not have it yet). */
  readonly answered: Promise<number>;
  private answer!: (status: number) => void;

  private constructor() {
    this.answered = new Promise((resolve) => (this.answer = resolve));
  }

  /** Holds the answer of the next request to a URL matching `url`. */
  static async on(page: Page, url: RegExp): Promise<HeldAnswer> {
    const held = new HeldAnswer();
    const handler = async (route: Route) => {
      const response = await route.fetch();
      held.answer(response.status());
      await held.released;
      await route.fulfill({ response });
    };
    await page.route(url, handler, { times: 1 });
    return held;
  }

  let(): void {
    this.release();
  }
}

/** The users page's CSV import dialog. */
export class ImportDialogObject extends ConsolePageObject {
  dialog(): Locator {
    return this.page.getByRole('dialog');
  }
  /** Opens the dialog, chooses the file and runs the dry run; returns the check report's text. */
  async check(csv: string, fileName = 'users.csv'): Promise<string> {
    await this.page.getByRole('button', { name: 'Import CSV' }).click();
    await this.dialog()
      .locator('input[type="file"]')
      .setInputFiles({ name: fileName, mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await this.dialog().getByText(`${fileName}:`).waitFor();
    await this.dialog().getByRole('button', { name: 'Check (dry run)' }).click();
    const report = this.dialog().getByRole('region', { name: 'Check report' });
    await report.waitFor();
    return report.innerText();
  }
  async startImport(): Promise<void> {
    await this.dialog().getByRole('button', { name: 'Import', exact: true }).click();
  }
  progressBar(): Locator {
    return this.dialog().getByRole('progressbar');
  }
  async readProgress(): Promise<ProgressRead> {
    const bar = this.progressBar();
    await bar.waitFor();
    return {
      name: await bar.getAttribute('aria-label'),
      text: (await bar.innerText()).trim(),
      valueNow: await bar.getAttribute('aria-valuenow'),
      valueMin: await bar.getAttribute('aria-valuemin'),
      valueMax: await bar.getAttribute('aria-valuemax'),
    };
  }
  async importReport(): Promise<string> {
    const report = this.dialog().getByRole('region', { name: 'Import report' });
    await report.waitFor();
    return report.innerText();
  }
}

/** The users table read by its column headings. */
export class UserColumnsObject extends ConsolePageObject {
  table(): Locator {
    return this.page.getByRole('table', { name: 'Users' });
  }
  async headings(): Promise<string[]> {
    return (await this.table().getByRole('columnheader').allInnerTexts()).map((h) => h.trim());
  }
  /** The row of `username` as heading → cell text. */
  async rowByHeading(username: string): Promise<Record<string, string>> {
    const row = this.table()
      .getByRole('row')
      .filter({ has: this.page.getByRole('link', { name: username, exact: true }) });
    await row.waitFor();
    return byHeading(this.table(), row);
  }
}

/** The removals on a user's page, each in the identity's card. */
export class IdentityRemovalsObject extends ConsolePageObject {
  card(alias: string): Locator {
    return this.page.getByRole('article', { name: `Identity ${alias}` });
  }
  async removeRole(alias: string, role: string): Promise<void> {
    const button = this.card(alias).getByRole('button', { name: `Remove role ${role} from ${alias}` });
    await button.click();
    await button.waitFor({ state: 'detached' });
  }
  async removeScope(alias: string, key: string): Promise<void> {
    const button = this.card(alias).getByRole('button', { name: `Remove data scope ${key} from ${alias}` });
    await button.click();
    await button.waitFor({ state: 'detached' });
  }
  async leaveGroup(alias: string, group: string): Promise<void> {
    const button = this.card(alias).getByRole('button', { name: `Remove ${alias} from group ${group}` });
    await button.click();
    await button.waitFor({ state: 'detached' });
  }
  /** Deletes the identity through its confirmation; returns the question asked. */
  async deleteIdentity(alias: string): Promise<string> {
    await this.card(alias).getByRole('button', { name: 'Delete identity', exact: true }).click();
    const dialog = this.page.getByRole('alertdialog');
    const question = await dialog.innerText();
    await dialog.getByRole('button', { name: 'Delete identity', exact: true }).click();
    await this.card(alias).waitFor({ state: 'detached' });
    return question;
  }
}

/** A service account's access keys table, read by heading. */
export class AccessKeysObject extends ConsolePageObject {
  async open(baseUrl: string, accountId: string, accountName: string): Promise<void> {
    await this.page.goto(`${baseUrl}/console/service-accounts/${accountId}`);
    await this.page.getByRole('heading', { level: 1, name: accountName }).waitFor();
    await this.page.getByRole('region', { name: 'Access keys' }).waitFor();
    await settled(this.page);
  }
  /** Creates a key through the dialog with an expiry date (YYYY-MM-DD); returns the secret shown once. */
  async createKey(description: string, expires: string): Promise<string> {
    await this.page.getByRole('button', { name: 'Create access key' }).click();
    const dialog = this.page.getByRole('dialog');
    await dialog.getByLabel('Description', { exact: true }).fill(description);
    await dialog.getByLabel('Expires on (empty: never)').fill(expires);
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    const field = this.page.getByRole('textbox', { name: 'Access key secret', exact: true });
    const secret = await field.inputValue();
    await this.page.getByRole('button', { name: 'I have stored it' }).click();
    return secret;
  }
  async keyByHeading(description: string): Promise<Record<string, string>> {
    const table = this.page.getByRole('table', { name: 'Access keys' });
    const row = table.getByRole('row').filter({ hasText: description });
    await row.waitFor();
    return byHeading(table, row);
  }
}

/** The sessions dashboard's filters and its rows read by heading. */
export class SessionFiltersObject extends ConsolePageObject {
  form(): Locator {
    return this.page.getByRole('search', { name: 'Filter sessions' });
  }
  async filter(fields: { identityKind?: string; application?: string }): Promise<void> {
    const form = this.form();
    await form.getByRole('button', { name: 'Clear filters' }).click();
    await settled(this.page);
    if (fields.identityKind !== undefined) await form.getByLabel('Identity kind').fill(fields.identityKind);
    if (fields.application !== undefined) await choose(form, this.page, 'Application', fields.application);
    await form.getByRole('button', { name: 'Filter', exact: true }).click();
    await settled(this.page);
  }
  /** Every row of the page as heading → cell text. */
  async rows(): Promise<Record<string, string>[]> {
    const table = this.page.getByRole('table');
    const rows = await table
      .getByRole('row')
      .filter({ has: this.page.getByRole('cell') })
      .all();
    return Promise.all(rows.map((row) => byHeading(table, row)));
  }
}

/** The roles list's search and pages, and the role pickers that search the server. */
export class RoleSearchObject extends ConsolePageObject {
  async search(text: string): Promise<void> {
    await this.page.getByRole('search', { name: 'Find roles' }).getByRole('searchbox', { name: 'Search role names' }).fill(text);
  }
  pager(): Locator {
    return this.page.getByRole('navigation', { name: 'Pages of roles' });
  }
  /** The role names the table lists now. */
  async listed(): Promise<string[]> {
    return (await this.page.getByRole('table', { name: 'Roles' }).locator('tbody tr td:first-child').allInnerTexts()).map((t) => t.trim());
  }
  /** Waits until the table lists `count` roles, every one passing `each`; returns them. */
  async waitForListed(count: number, each: (name: string) => boolean, what: string): Promise<string[]> {
    return eventually(
      () => this.listed(),
      (names) => names.length === count && names.every(each),
      what,
    );
  }
  async nextPage(): Promise<void> {
    await this.pager().getByRole('button', { name: 'Next page' }).click();
  }
  async isNextEnabled(): Promise<boolean> {
    return (await this.pager().getByRole('button', { name: 'Next page' }).getAttribute('disabled')) === null;
  }
  /** On a role's page: finds `role` in the assignable-roles picker, then saves. */
  async addAssignable(role: string): Promise<void> {
    const section = this.page.getByRole('region', { name: 'Roles its holders may assign' });
    await pickRole(this.page, section.getByRole('combobox', { name: 'Add a role its holders may assign' }), role, { clears: true });
    await section.getByRole('checkbox', { name: role }).waitFor();
    await section.getByRole('button', { name: 'Save assignable roles' }).click();
    await section.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  }
  /** On the identity providers page: changes `provider`, adding `role` found by search to its default roles, and saves. */
  async addDefaultRole(provider: string, role: string): Promise<void> {
    const card = this.page.getByRole('article', { name: `Identity provider ${provider}`, exact: true });
    await card.getByRole('button', { name: 'Change', exact: true }).click();
    const form = card.getByRole('form', { name: `Change ${provider}` });
    await pickRole(this.page, form.getByRole('combobox', { name: 'Add a default role' }), role, { clears: true });
    await form.getByRole('checkbox', { name: role }).waitFor();
    await form.getByRole('button', { name: 'Save', exact: true }).click();
    await form.waitFor({ state: 'detached' });
  }
}
