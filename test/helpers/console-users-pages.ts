// Page objects for the console's user screens beyond the journey's: the list's filters, pages,
// export and bulk assignments, and a user's status, security, sessions, clone and delete.
import type { Download, Locator } from 'playwright-core';
import { choose, pickRole, type ConsolePage } from './console-pages.ts';

/** Polls `read` until `done` holds of its value (at most `ms`); returns the last value. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The users list's search form, its table, its pager and the bulk bar. */
export class UserListPageObject {
  constructor(private readonly console: ConsolePage) {}
  get page() {
    return this.console.page;
  }
  form(): Locator {
    return this.page.getByRole('search', { name: 'Find users' });
  }
  async search(text: string): Promise<void> {
    await this.form().getByRole('searchbox', { name: 'Search username, email or name' }).fill(text);
  }
  /** Picks an option of one of the select filters (Status, Identity kind, Group). */
  async filter(label: string, option: string): Promise<void> {
    await choose(this.form(), this.page, label, option);
  }
  async filterByRole(role: string): Promise<void> {
    await pickRole(this.page, this.form().getByRole('combobox', { name: 'Role' }), role);
  }
  /** The usernames the table lists now. */
  async listed(): Promise<string[]> {
    return (await this.page.getByRole('table', { name: 'Users' }).locator('tbody tr').getByRole('link').allInnerTexts()).map((t) => t.trim());
  }
  /** Waits until the table lists exactly `usernames` (in any order). */
  async waitForListed(usernames: string[]): Promise<void> {
    const want = [...usernames].sort();
    await eventually(
      async () => (await this.listed()).sort(),
      (got) => JSON.stringify(got) === JSON.stringify(want),
      `the users list should show ${want.join(', ')}`,
    );
  }
  /** Waits until the table lists `count` users, all of whose names start with `prefix`; returns them. */
  async waitForCount(prefix: string, count: number): Promise<string[]> {
    return eventually(
      () => this.listed(),
      (got) => got.length === count && got.every((name) => name.startsWith(prefix)),
      `the users list should show ${count} users named ${prefix}…`,
    );
  }
  pager(): Locator {
    return this.page.getByRole('navigation', { name: 'Pages of users' });
  }
  async nextPage(): Promise<void> {
    await this.pager().getByRole('button', { name: 'Next page' }).click();
  }
  async previousPage(): Promise<void> {
    await this.pager().getByRole('button', { name: 'Previous page' }).click();
  }
  /** Clicks "Export CSV" and returns the download. */
  async export(): Promise<Download> {
    const [download] = await Promise.all([this.page.waitForEvent('download'), this.page.getByRole('button', { name: 'Export CSV' }).click()]);
    return download;
  }
  /** Assigns a role or adds to a group in bulk through its dialog; returns the report's summary, then dismisses it. */
  async bulkAssign(kind: 'role' | 'group', name: string, count: number): Promise<{ question: string; summary: string }> {
    const bar = this.page.getByRole('region', { name: 'Bulk actions' });
    await bar.getByRole('button', { name: kind === 'role' ? 'Assign a role' : 'Add to a group', exact: true }).click();
    const dialog = this.page.getByRole('alertdialog');
    const question = await dialog.getByRole('heading').innerText();
    if (kind === 'role') await pickRole(this.page, dialog.getByRole('combobox', { name: 'Role' }), name);
    else await choose(dialog, this.page, 'Group', name);
    await dialog.getByRole('button', { name: kind === 'role' ? `Assign to ${count}` : `Add ${count}`, exact: true }).click();
    return { question, summary: await this.takeReport(kind === 'role' ? 'Role assigned' : 'Added to the group') };
  }
  /** The bulk report's summary; the report is dismissed. */
  async takeReport(title: string): Promise<string> {
    const report = this.page.getByRole('region', { name: title, exact: true });
    await report.waitFor();
    const summary = await report.getByRole('status').innerText();
    await report.getByRole('button', { name: 'Dismiss' }).click();
    await report.waitFor({ state: 'detached' });
    return summary;
  }
}

/** A user's details page: status, clone, delete, general information, security, sessions, audit trail. */
export class UserPageObject {
  constructor(private readonly console: ConsolePage) {}
  get page() {
    return this.console.page;
  }
  async open(baseUrl: string, userId: string): Promise<void> {
    await this.page.goto(`${baseUrl}/console/users/${userId}`);
    await this.page.getByRole('heading', { level: 2, name: 'General information' }).waitFor();
  }
  status(): Locator {
    return this.page.locator('.title-row .badge').first();
  }
  async waitForStatus(status: string): Promise<void> {
    await eventually(
      () => this.status().innerText(),
      (text) => text.trim() === status,
      `the status badge should read ${status}`,
    );
  }
  /** Clicks a button that asks first, then its confirmation button. */
  async confirm(button: string, confirmLabel: string): Promise<string> {
    await this.page.getByRole('button', { name: button, exact: true }).click();
    const dialog = this.page.getByRole('alertdialog');
    const question = await dialog.innerText();
    await dialog.getByRole('button', { name: confirmLabel, exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    return question;
  }
  async saveGeneral(fields: Record<string, string>): Promise<void> {
    const section = this.page.getByRole('region', { name: 'General information' });
    for (const [label, value] of Object.entries(fields)) await section.getByLabel(label, { exact: true }).fill(value);
    await section.getByRole('button', { name: 'Save', exact: true }).click();
    await section.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  }
  async joinGroup(alias: string, group: string): Promise<void> {
    const card = this.page.getByRole('article', { name: `Identity ${alias}` });
    await choose(card, this.page, `Add ${alias} to a group`, group);
    await card.getByRole('button', { name: 'Add to group', exact: true }).click();
    await card.getByRole('button', { name: `Remove ${alias} from group ${group}` }).waitFor();
  }
  async clone(fields: { username: string; name: string; email: string }): Promise<void> {
    await this.page.getByRole('button', { name: 'Clone', exact: true }).click();
    const dialog = this.page.getByRole('dialog');
    await dialog.getByLabel('Username').fill(fields.username);
    await dialog.getByLabel('Name', { exact: true }).fill(fields.name);
    await dialog.getByLabel('Email').fill(fields.email);
    await dialog.getByRole('button', { name: 'Clone', exact: true }).click();
    await this.page.getByRole('heading', { level: 1, name: fields.name }).waitFor();
  }
  security(): Locator {
    return this.page.getByRole('region', { name: 'Security' });
  }
  sessionRows(): Locator {
    return this.page.getByRole('region', { name: 'Sessions' }).locator('tbody tr');
  }
  /** The actions listed in the audit trail. */
  async trail(): Promise<string[]> {
    const region = this.page.getByRole('region', { name: 'Audit trail' });
    await region.getByRole('table').waitFor();
    return region.locator('tbody tr td:nth-child(2)').allInnerTexts();
  }
}
