// Page objects for the console's operations pages (sessions dashboard, audit log, overview),
// on top of ConsolePage from console-pages.ts.
import type { Download, Page } from 'playwright-core';
import { ConsolePageObject } from './console-page-object.ts';
import type { ConsolePage } from './console-pages.ts';

/** Waits until the page's list has loaded. */
async function loaded(page: Page): Promise<void> {
  await page.getByRole('status').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' });
}

/** The rows of the page's table that hold data (not the header). */
function dataRows(page: Page) {
  return page
    .getByRole('table')
    .getByRole('row')
    .filter({ has: page.getByRole('cell') });
}

/** The sessions dashboard: filters, the list, ending one session or all of a user's. */
export class SessionsPageObject extends ConsolePageObject {
  async filterByUsername(username: string): Promise<void> {
    const form = this.page.getByRole('search', { name: 'Filter sessions' });
    await form.getByLabel('Username').fill(username);
    await form.getByRole('button', { name: 'Filter', exact: true }).click();
    await loaded(this.page);
  }
  rows() {
    return dataRows(this.page);
  }
  async endFirstSession(): Promise<void> {
    await this.rows().first().getByRole('button', { name: 'End', exact: true }).click();
    const dialog = this.page.getByRole('alertdialog');
    await dialog.getByRole('button', { name: 'End session' }).click();
    await dialog.waitFor({ state: 'detached' });
  }
  async endAllOf(username: string): Promise<void> {
    await this.page.getByRole('button', { name: `End all sessions of ${username}` }).click();
    const dialog = this.page.getByRole('alertdialog');
    await dialog.getByRole('button', { name: 'End all sessions' }).click();
    await dialog.waitFor({ state: 'detached' });
  }
}

/** The audit log: filters, export, chain verification. */
export class AuditPageObject extends ConsolePageObject {
  form() {
    return this.page.getByRole('search', { name: 'Filter audit events' });
  }
  async filter(fields: { action?: string; actor?: string; target?: string; result?: 'Success' | 'Failure' }): Promise<void> {
    const form = this.form();
    if (fields.action !== undefined) await form.getByLabel('Action (e.g. user.created or user.*)').fill(fields.action);
    if (fields.actor !== undefined) await form.getByLabel('Actor id').fill(fields.actor);
    if (fields.target !== undefined) await form.getByLabel('Target id').fill(fields.target);
    if (fields.result) {
      await form.getByRole('button', { name: /Result/ }).click();
      await this.page.getByRole('option', { name: fields.result, exact: true }).click();
    }
    await form.getByRole('button', { name: 'Search', exact: true }).click();
    await loaded(this.page);
  }
  rows() {
    return dataRows(this.page);
  }
  async export(format: 'CSV' | 'JSON'): Promise<Download> {
    const [download] = await Promise.all([this.page.waitForEvent('download'), this.page.getByRole('button', { name: `Export ${format}` }).click()]);
    return download;
  }
  async verifyChain(): Promise<string> {
    await this.page.getByRole('button', { name: 'Verify the chain' }).click();
    const result = this.page.locator('.verification');
    await result.waitFor();
    return (await result.innerText()).trim();
  }
}

/** The overview: counts and the sign-in chart. */
export class OverviewPageObject extends ConsolePageObject {
  chart() {
    return this.page.getByRole('img', { name: /Sign-ins in the last 24 hours/ });
  }
  async legend(): Promise<{ succeeded: number; failed: number }> {
    await this.chart().waitFor();
    const number = async (label: string) => Number((await this.page.getByText(new RegExp(`^${label}: `)).innerText()).replace(/\D/g, ''));
    return { succeeded: await number('Succeeded'), failed: await number('Failed') };
  }
  async tableTotals(): Promise<{ succeeded: number; failed: number }> {
    await this.page.getByText('Show the figures as a table').click();
    const total = this.page.getByRole('row', { name: /^Total/ });
    const cells = await total.getByRole('cell').allInnerTexts();
    return { succeeded: Number(cells[0]!.replace(/\D/g, '')), failed: Number(cells[1]!.replace(/\D/g, '')) };
  }
  async count(label: string): Promise<number> {
    const item = this.page.locator('.counts > div').filter({ has: this.page.locator('dt').getByText(label, { exact: true }) });
    return Number((await item.locator('dd').innerText()).replace(/\D/g, ''));
  }
}

/**
 * Every piece of text a person meets on the page, one per text node, and the accessible-name
 * attributes (aria-label, title, placeholder), trimmed.
 */
export async function visibleTexts(page: ConsolePage['page']): Promise<string[]> {
  // A string, so that the DOM types stay out of the server's compilation.
  return page.evaluate(`(() => {
    const texts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      if (text) texts.push(text);
    }
    for (const element of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
      for (const name of ['aria-label', 'title', 'placeholder']) {
        const value = (element.getAttribute(name) || '').trim();
        if (value) texts.push(value);
      }
    }
    return texts;
  })()`) as Promise<string[]>;
}
