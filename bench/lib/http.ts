// A lean HTTP/1.1 client for the multi-step scenarios autocannon cannot drive (a login is six or
// seven requests that carry cookies, a form and a PKCE verifier from one to the next): node:http
// with a keep-alive agent, no redirect following, a per-flow cookie jar, and just enough HTML
// form parsing for Gatehouse's server-rendered pages. Kept small because it shares the machine's
// cores with the server under test.
import http from 'node:http';

export interface LeanResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export class LeanHttp {
  readonly agent: http.Agent;
  readonly host: string;
  readonly port: number;

  constructor(origin: string, maxSockets: number) {
    const url = new URL(origin);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(method: string, path: string, headers: Record<string, string>, body?: string): Promise<LeanResponse> {
    return new Promise((resolve, reject) => {
      const outgoing: http.OutgoingHttpHeaders = { ...headers };
      if (body !== undefined) outgoing['content-length'] = Buffer.byteLength(body);
      const req = http.request({ host: this.host, port: this.port, method, path, headers: outgoing, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Cookies by name for one host. Path attributes are ignored: a flow visits its paths in order and
 * the server only reads the cookies it expects, so sending a few extra is harmless.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(setCookie: string[] | undefined): void {
    if (!setCookie) return;
    for (const header of setCookie) {
      const semicolon = header.indexOf(';');
      const pair = semicolon === -1 ? header : header.slice(0, semicolon);
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const attributes = header.slice(pair.length).toLowerCase();
      const expired = /max-age=0\b/.test(attributes) || /expires=thu, 01 jan 1970/.test(attributes) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    let out = '';
    for (const [name, value] of this.cookies) out += `${out ? '; ' : ''}${name}=${value}`;
    return out;
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#34': '"', '#x2F': '/', '#47': '/' };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x?[0-9a-f]+|[a-z]+);/gi, (whole, entity: string) => ENTITIES[entity] ?? ENTITIES[entity.toLowerCase()] ?? whole);
}

export interface PageForm {
  action: string;
  fields: Record<string, string>;
}

/** The form on the page that contains `marker` (e.g. name="password"), with its hidden fields. */
export function formContaining(html: string, marker: string): PageForm | undefined {
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const inner = match[2] ?? '';
    if (!inner.includes(marker)) continue;
    const action = decodeEntities(/\baction="([^"]*)"/i.exec(match[1] ?? '')?.[1] ?? '');
    const fields: Record<string, string> = {};
    for (const input of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const attrs = input[1] ?? '';
      if (!/\btype="hidden"/i.test(attrs)) continue;
      const name = /\bname="([^"]*)"/i.exec(attrs)?.[1];
      if (name) fields[decodeEntities(name)] = decodeEntities(/\bvalue="([^"]*)"/i.exec(attrs)?.[1] ?? '');
    }
    return { action, fields };
  }
  return undefined;
}

/** The value of the selected <option> of the <select name="...">, or of its first option. */
export function selectedOption(html: string, name: string): string | undefined {
  const select = new RegExp(`<select\\b[^>]*\\bname="${name}"[^>]*>([\\s\\S]*?)</select>`, 'i').exec(html)?.[1];
  if (!select) return undefined;
  const options = [...select.matchAll(/<option\b([^>]*)>/gi)].map((m) => m[1] ?? '');
  const chosen = options.find((attrs) => /\bselected\b/i.test(attrs)) ?? options[0];
  const value = chosen ? /\bvalue="([^"]*)"/i.exec(chosen)?.[1] : undefined;
  return value === undefined ? undefined : decodeEntities(value);
}

export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export function basicAuth(clientId: string, clientSecret: string): string {
  // RFC 6749 §2.3.1: form-urlencode each part before base64.
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}
