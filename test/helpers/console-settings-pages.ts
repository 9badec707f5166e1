// Page objects for the console's settings pages (policies, navigation menus, webhooks, identity
// providers), driven in Chromium on top of ConsolePage.
import type { Page } from 'playwright-core';
import { ConsolePageObject } from './console-page-object.ts';

/**
 * Chooses an option of a React Aria select. React Aria announces the choice through a transient
 * live-region node that points at the option's (then gone) label, and removes it once announced.
 */
async function choose(page: Page, option: string): Promise<void> {
  await page.getByRole('option', { name: option, exact: true }).click();
  // The announcement is made a moment after the choice.
  await page
    .locator('[data-live-announcer] [role="img"]')
    .first()
    .waitFor({ state: 'attached', timeout: 2_000 })
    .catch(() => undefined);
  await announced(page);
}

/** Waits until React Aria's live-region announcements (which may be several) are gone and stay gone for a moment. */
export async function announced(page: Page): Promise<void> {
  const nodes = page.locator('[data-live-announcer] [role="img"]');
  const deadline = Date.now() + 30_000;
  let quiet = 0;
  while (quiet < 5) {
    if (Date.now() > deadline) throw new Error("React Aria's announcements did not end");
    quiet = (await nodes.count()) === 0 ? quiet + 1 : 0;
    await page.waitForTimeout(100);
  }
}

export class PoliciesPageObject extends ConsolePageObject {
  form() {
    return this.page.getByRole('form', { name: 'Password policy' });
  }
  async setMinimumLength(value: string): Promise<void> {
    await this.form().getByLabel('Minimum length', { exact: true }).fill(value);
    await this.form().getByRole('button', { name: 'Save password policy' }).click();
  }
  saved() {
    return this.form().getByRole('status').filter({ hasText: 'Saved.' });
  }
  error() {
    return this.form().getByRole('alert');
  }
}

export class NavigationPageObject extends ConsolePageObject {
  async chooseApplication(name: string): Promise<void> {
    await this.page
      .getByRole('button', { name: /Application/ })
      .first()
      .click();
    await choose(this.page, name);
    await this.page.getByRole('heading', { level: 2, name: /^Menu of / }).waitFor();
  }
  item(label: string) {
    return this.page.getByRole('article', { name: `Menu item ${label}`, exact: true });
  }
  async rename(label: string, to: string): Promise<void> {
    await this.item(label)
      .getByRole('textbox', { name: `New name for ${label}` })
      .fill(to);
    await this.item(label).getByRole('button', { name: 'Rename' }).click();
    await this.item(to).waitFor();
  }
  async disable(label: string): Promise<void> {
    const item = this.item(label);
    await item.getByRole('button', { name: 'Disable', exact: true }).click();
    await item.getByRole('button', { name: 'Enable', exact: true }).waitFor();
  }
}

export class WebhooksPageObject extends ConsolePageObject {
  /** Subscribes an endpoint and returns the secret the page shows once. */
  async subscribe(url: string, eventTypes: string): Promise<string> {
    await this.page.getByRole('button', { name: 'Subscribe an endpoint' }).click();
    const dialog = this.page.getByRole('dialog');
    await dialog.getByLabel('Endpoint URL').fill(url);
    await dialog.getByLabel(/^Event types/).fill(eventTypes);
    await dialog.getByRole('button', { name: 'Subscribe', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await announced(this.page);
    return (await this.page.getByTestId('webhook-secret').innerText()).trim();
  }
  endpoint(url: string) {
    return this.page.getByRole('article', { name: `Endpoint ${url}` });
  }
}

export class IdentityProvidersPageObject extends ConsolePageObject {
  async addFromPreset(preset: string, fields: { slug: string; name: string; clientId: string; clientSecret: string; entraTenant?: string }): Promise<void> {
    await this.page.getByRole('button', { name: 'Add an identity provider' }).click();
    const dialog = this.page.getByRole('form', { name: 'Add an identity provider' });
    await dialog.getByRole('button', { name: /Preset/ }).click();
    await choose(this.page, preset);
    await dialog.getByLabel('Short name (in addresses)').fill(fields.slug);
    await dialog.getByLabel('Name on the sign-in button').fill(fields.name);
    if (fields.entraTenant) await dialog.getByLabel('Entra ID directory (tenant) id').fill(fields.entraTenant);
    await dialog.getByLabel('Client id').fill(fields.clientId);
    await dialog.getByLabel('Client secret').fill(fields.clientSecret);
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await this.provider(fields.name).waitFor();
  }
  provider(name: string) {
    return this.page.getByRole('article', { name: `Identity provider ${name}`, exact: true });
  }
  /** Ticks or unticks `provider` for `application`'s sign-in page and saves. */
  async offerOn(application: string, provider: string, offered: boolean): Promise<void> {
    const section = this.page.getByRole('region', { name: "Providers on each application's sign-in page" });
    await section.getByRole('button', { name: /Application/ }).click();
    await choose(this.page, application);
    // React Aria's checkbox: the label takes the click and says data-selected when ticked.
    const label = section.locator('label').filter({ hasText: provider });
    if (((await label.getAttribute('data-selected')) !== null) !== offered) await label.click();
    await section
      .locator(`label${offered ? '[data-selected]' : ':not([data-selected])'}`)
      .filter({ hasText: provider })
      .waitFor();
    await section.getByRole('button', { name: "Save the sign-in page's providers" }).click();
    await section.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  }
}
