// Page objects for the console's object pages (roles, groups, applications, service accounts,
// API resources, default policy, data-scope keys), on top of ConsolePage.
import type { Locator } from 'playwright-core';
import { pickRole, type ConsolePage } from './console-pages.ts';

/**
 * axe-core once React Aria's live announcer is done: after a choice or a pending button it leaves
 * transient nodes pointing at labels that may be gone, and removes them itself a few seconds later.
 */
export async function assertSettledAccessible(console: ConsolePage, where: string): Promise<void> {
  await console.page.locator('[data-live-announcer] [role="img"]').first().waitFor({ state: 'detached' });
  await console.assertAccessible(where);
}

/** What every object page shares: its create dialog, the secret shown once, the list's links. */
class ObjectPage {
  constructor(readonly console: ConsolePage) {}
  get page() {
    return this.console.page;
  }
  dialog(): Locator {
    return this.page.getByRole('dialog');
  }
  async submitDialog(label: string): Promise<void> {
    await this.dialog().getByRole('button', { name: label, exact: true }).click();
    await this.dialog().waitFor({ state: 'detached' });
  }
  async openItem(name: string): Promise<void> {
    await this.page.getByRole('link', { name, exact: true }).click();
    await this.page.getByRole('heading', { level: 1, name }).waitFor();
  }
  /** The secret Gatehouse shows once, read from its labelled field; then dismissed. */
  async takeSecret(label: string): Promise<string> {
    const field = this.page.getByRole('textbox', { name: label, exact: true });
    await field.waitFor();
    const secret = await field.inputValue();
    await this.page.getByRole('button', { name: 'I have stored it' }).click();
    await field.waitFor({ state: 'detached' });
    return secret;
  }
  /** Picks an option of a select field, whose button is named by its value and its label. */
  async choose(field: string, option: string, within: Locator = this.page.locator('body')): Promise<void> {
    await within
      .getByRole('button', { name: new RegExp(`${field}$`) })
      .first()
      .click();
    await this.page.getByRole('option', { name: option, exact: true }).click();
  }
}

export class RolesPageObject extends ObjectPage {
  async createRole(fields: { name: string; description: string; permissions: { group: string; permission: string }[] }): Promise<void> {
    await this.page.getByRole('button', { name: 'Create role' }).click();
    const dialog = this.dialog();
    await dialog.getByLabel('Name', { exact: true }).fill(fields.name);
    await dialog.getByLabel('Description', { exact: true }).fill(fields.description);
    for (const { group, permission } of fields.permissions) {
      const details = dialog.locator('details').filter({ has: this.page.locator('summary', { hasText: `${group}:` }) });
      if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
      // React Aria keeps the input visually hidden: a person clicks its label.
      await details.getByText(permission, { exact: true }).click();
      if (!(await details.getByRole('checkbox', { name: permission, exact: true }).isChecked())) throw new Error(`${permission} was not ticked`);
    }
    await this.submitDialog('Create');
    await this.page.getByRole('heading', { level: 1, name: fields.name }).waitFor();
  }
}

export class GroupsPageObject extends ObjectPage {
  async createGroup(name: string, type: 'Department' | 'Team'): Promise<void> {
    await this.page.getByRole('button', { name: 'Create group' }).click();
    await this.dialog().getByLabel('Name', { exact: true }).fill(name);
    await this.choose('Type', type, this.dialog());
    await this.submitDialog('Create');
    await this.page.getByRole('heading', { level: 1, name }).waitFor();
  }
  async addMember(search: string, alias: string, username: string): Promise<void> {
    await this.page.getByRole('searchbox', { name: 'Find identities by username, email or name' }).fill(search);
    await this.page.getByRole('button', { name: `Add ${alias} of ${username} to the group` }).click();
    await this.page.getByRole('table', { name: 'Members' }).getByRole('cell', { name: alias, exact: true }).waitFor();
  }
  async giveRole(role: string): Promise<void> {
    const form = this.page.getByRole('form', { name: 'Give the group a role' });
    const input = form.getByRole('combobox', { name: 'Role to give' });
    await pickRole(this.page, input, role);
    await form.getByRole('button', { name: 'Give role' }).click();
    await this.page.getByRole('region', { name: 'Roles' }).getByRole('listitem').filter({ hasText: role }).waitFor();
  }
}

export class ApplicationsPageObject extends ObjectPage {
  /** Registers a web application and returns its client secret, shown once. */
  async register(name: string, redirectUri: string): Promise<string> {
    await this.page.getByRole('button', { name: 'Register application' }).click();
    await this.dialog().getByLabel('Name', { exact: true }).fill(name);
    await this.dialog().getByLabel('Redirect URIs').fill(redirectUri);
    await this.submitDialog('Register');
    return this.takeSecret('Client secret');
  }
  async rotateSecret(): Promise<string> {
    await this.page.getByRole('button', { name: 'Rotate secret' }).click();
    await this.page.getByRole('alertdialog').getByRole('button', { name: 'Rotate secret' }).click();
    return this.takeSecret('Client secret');
  }
}

export class ServiceAccountsPageObject extends ObjectPage {
  async create(name: string): Promise<void> {
    await this.page.getByRole('button', { name: 'Create service account' }).click();
    await this.dialog().getByLabel('Name', { exact: true }).fill(name);
    await this.submitDialog('Create');
    await this.page.getByRole('heading', { level: 1, name }).waitFor();
  }
  async createKey(description: string): Promise<string> {
    await this.page.getByRole('button', { name: 'Create access key' }).click();
    await this.dialog().getByLabel('Description', { exact: true }).fill(description);
    await this.submitDialog('Create');
    return this.takeSecret('Access key secret');
  }
  keyRow(description: string): Locator {
    return this.page.getByRole('table', { name: 'Access keys' }).getByRole('row').filter({ hasText: description });
  }
  async revoke(prefix: string): Promise<void> {
    await this.page.getByRole('button', { name: `Revoke the key ${prefix}` }).click();
    await this.page.getByRole('alertdialog').getByRole('button', { name: 'Revoke' }).click();
  }
}

export class DataScopeKeysPageObject extends ObjectPage {
  async create(key: string, description: string): Promise<void> {
    await this.page.getByRole('button', { name: 'Create key' }).click();
    await this.dialog().getByLabel('Key', { exact: true }).fill(key);
    await this.dialog().getByLabel('Description', { exact: true }).fill(description);
    await this.submitDialog('Create');
    await this.page.getByRole('cell', { name: key, exact: true }).waitFor();
  }
}
