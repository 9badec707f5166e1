// A tiny browser stand-in for end-to-end tests: fetch with redirect: 'manual', a cookie jar that
// keeps cookies per name and path (one host only, the issuer's), and a `follow` that walks the
// issuer's own redirects and stops at the first one leaving its origin (the relying party's
// redirect_uri or post_logout_redirect_uri), which is where a real browser would hand over to the RP.

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** The URL that was requested. */
  url: URL;
  body: string;
  /** The Location header resolved against `url`, when there is one. */
  location?: URL;
}

export interface FollowResult {
  /** The last response served by the issuer: a page, or the redirect that leaves its origin. */
  response: HttpResponse;
  /** The first redirect target on another origin, if the chain got that far. */
  redirect?: URL;
  /** Every URL requested on the issuer's origin, in order. */
  visited: URL[];
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string> | URLSearchParams;
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expiresAt?: number;
}

/** RFC 6265 §5.1.4 default-path: the request path up to, not including, its last "/". */
function defaultPath(url: URL): string {
  const path = url.pathname;
  if (!path.startsWith('/')) return '/';
  const last = path.lastIndexOf('/');
  return last <= 0 ? '/' : path.slice(0, last);
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();

  /** Records the Set-Cookie headers of a response to `url`. */
  store(url: URL, setCookieHeaders: readonly string[]): void {
    for (const header of setCookieHeaders) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const cookie: StoredCookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: defaultPath(url) };
      let maxAge: number | undefined;
      for (const attribute of attributes) {
        const [rawName = '', ...rest] = attribute.split('=');
        const name = rawName.trim().toLowerCase();
        const value = rest.join('=').trim();
        if (name === 'path' && value.startsWith('/')) cookie.path = value;
        else if (name === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
        else if (name === 'expires' && !Number.isNaN(Date.parse(value))) cookie.expiresAt = Date.parse(value);
      }
      if (maxAge !== undefined) cookie.expiresAt = Date.now() + maxAge * 1000; // Max-Age wins over Expires
      const key = `${cookie.name}\u0000${cookie.path}`;
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= Date.now()) this.cookies.delete(key);
      else this.cookies.set(key, cookie);
    }
  }

  /** The Cookie header for a request to `url`, longest paths first; undefined when empty. */
  header(url: URL): string | undefined {
    const now = Date.now();
    const matching = [...this.cookies.values()].filter((cookie) => (cookie.expiresAt === undefined || cookie.expiresAt > now) && pathMatches(url.pathname, cookie.path)).sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ') : undefined;
  }

  /** Names of the cookies currently held, whatever their path. */
  names(): string[] {
    return [...new Set([...this.cookies.values()].map((cookie) => cookie.name))];
  }

  clear(): void {
    this.cookies.clear();
  }
}

export class HttpClient {
  readonly jar = new CookieJar();
  readonly origin: string;

  /**
   * `origin`: the issuer; its redirects are followed, redirects elsewhere are not. `headers` go
   * with every request (a request's own headers win), as a browser sends its User-Agent.
   */
  constructor(
    origin: string,
    private readonly headers: Record<string, string> = {},
  ) {
    this.origin = new URL(origin).origin;
  }

  async request(target: string | URL, options: RequestOptions = {}): Promise<HttpResponse> {
    const url = new URL(target, this.origin);
    const headers = new Headers({ ...this.headers, ...options.headers });
    if (url.origin === this.origin) {
      const cookie = this.jar.header(url);
      if (cookie) headers.set('cookie', cookie);
    }
    let body: string | undefined;
    if (options.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded');
      body = new URLSearchParams(options.form).toString();
    }
    const response = await fetch(url, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
    if (url.origin === this.origin) this.jar.store(url, response.headers.getSetCookie());
    const location = response.headers.get('location');
    return {
      status: response.status,
      headers: response.headers,
      url,
      body: await response.text(),
      ...(location ? { location: new URL(location, url) } : {}),
    };
  }

  get(target: string | URL): Promise<HttpResponse> {
    return this.request(target);
  }

  postForm(target: string | URL, form: Record<string, string> | URLSearchParams): Promise<HttpResponse> {
    return this.request(target, { method: 'POST', form });
  }

  /**
   * GETs `start` (or starts from a response already received) and follows redirects while they
   * stay on the issuer's origin. Stops at the first page that is not a redirect, or at the first
   * redirect to another origin (or one `stopAt` picks, e.g. a callback on the issuer's origin),
   * which is returned as `redirect` without being requested.
   */
  async follow(start: string | URL | HttpResponse, maxHops = 20, stopAt?: (url: URL) => boolean): Promise<FollowResult> {
    const visited: URL[] = [];
    let response: HttpResponse;
    if (typeof start === 'string' || start instanceof URL) {
      response = await this.get(start);
      visited.push(response.url);
    } else {
      response = start;
    }
    for (let hop = 0; hop < maxHops; hop += 1) {
      const { location } = response;
      if (response.status < 300 || response.status > 399 || !location) return { response, visited };
      if (location.origin !== this.origin || stopAt?.(location)) return { response, redirect: location, visited };
      response = await this.get(location);
      visited.push(response.url);
    }
    throw new Error(`more than ${maxHops} redirects, last at ${response.url.href}`);
  }
}

export interface HtmlForm {
  /** The action resolved against the page URL (the page URL itself when the form has none). */
  action: URL;
  method: string;
  /** Named <input> values (hidden fields, prefilled text), entity-decoded. Buttons are left out. */
  fields: Record<string, string>;
  /** Names of every <input>, <select>, <textarea> and <button> in the form. */
  controls: string[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code = entity[1] === 'x' || entity[1] === 'X' ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

function attributesOf(tag: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  const pattern = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const match of tag.matchAll(pattern)) {
    const name = (match[1] ?? '').toLowerCase();
    if (!name || name in attributes) continue;
    attributes[name] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? '');
  }
  return attributes;
}

/** Every <form> of an HTML page, parsed well enough for the server-rendered pages under test. */
export function parseForms(page: Pick<HttpResponse, 'body' | 'url'>): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of page.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const formAttributes = attributesOf(match[1] ?? '');
    const inner = match[2] ?? '';
    const fields: Record<string, string> = {};
    const controls: string[] = [];
    for (const control of inner.matchAll(/<(input|select|textarea|button)\b([^>]*)>/gi)) {
      const attributes = attributesOf(control[2] ?? '');
      if (!attributes.name) continue;
      controls.push(attributes.name);
      const type = (attributes.type ?? '').toLowerCase();
      if ((control[1] ?? '').toLowerCase() === 'input' && type !== 'submit' && type !== 'button') fields[attributes.name] = attributes.value ?? '';
    }
    forms.push({
      action: new URL(formAttributes.action || page.url.href, page.url),
      method: (formAttributes.method ?? 'get').toUpperCase(),
      fields,
      controls,
    });
  }
  return forms;
}

/** The one form on the page that has a control named `control`; throws, quoting the page, otherwise. */
export function formWith(page: Pick<HttpResponse, 'body' | 'url' | 'status'>, control: string): HtmlForm {
  const found = parseForms(page).filter((form) => form.controls.includes(control));
  if (found.length !== 1) {
    throw new Error(`expected one form with a "${control}" field at ${page.url.href} (status ${page.status}), found ${found.length}:\n${page.body.slice(0, 2000)}`);
  }
  return found[0];
}

/** The text content of the first element whose opening tag has id="<id>", entity-decoded and trimmed. */
export function textOfId(html: string, id: string): string | undefined {
  const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`<([a-z0-9]+)\\b[^>]*\\bid=["']${escaped}["'][^>]*>([\\s\\S]*?)</\\1>`, 'i').exec(html);
  return match ? decodeEntities((match[2] ?? '').replace(/<[^>]*>/g, '')).trim() : undefined;
}
