// The start every console page object shares: the signed-in console it drives.
import type { ConsolePage } from './console-pages.ts';

export class ConsolePageObject {
  constructor(protected readonly console: ConsolePage) {}
  get page() {
    return this.console.page;
  }
}
