// Signs a browser stand-in in to the account pages through the real sign-in flow:
// GET /account/... → /account/signin → /auth → login form → /account/callback → the page.
import type { TestGatehouse } from './gatehouse.ts';
import { formWith, HttpClient, type HttpResponse } from './http.ts';

export interface AccountBrowser {
  browser: HttpClient;
  /** The account page the browser ended on. */
  page: HttpResponse;
}

/** Opens `path` (an account page), signing in on the way; throws unless the page is reached. */
export async function signInToAccount(gh: Pick<TestGatehouse, 'url'>, username: string, password: string, path = '/account', browser = new HttpClient(gh.url)): Promise<AccountBrowser> {
  const start = await browser.follow(path);
  if (start.response.status === 200 && start.response.url.pathname === path) return { browser, page: start.response };
  const form = formWith(start.response, 'password');
  const submitted = await browser.postForm(form.action, { ...form.fields, username, password });
  const { response } = await browser.follow(submitted);
  if (response.status !== 200 || response.url.pathname !== path) {
    throw new Error(`expected to land on ${path}, got ${response.status} at ${response.url.href}\n${response.body.slice(0, 1500)}`);
  }
  return { browser, page: response };
}

/** The CSRF token of the account page's forms. */
export function csrfOf(page: HttpResponse): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(page.body);
  if (!match) throw new Error(`no CSRF token on ${page.url.href}`);
  return match[1]!;
}
