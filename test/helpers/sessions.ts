// Helpers for the session tests: browsers that present a given User-Agent, a relying party's
// back-channel logout endpoint that collects logout tokens, and raw refresh requests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from './http.ts';

export const USER_AGENTS = {
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  windowsChrome: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
  macFirefox: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0',
};

/** A browser stand-in that sends this User-Agent on every request, as a real one would. */
export class DeviceBrowser extends HttpClient {
  constructor(origin: string, userAgent: string) {
    super(origin, { 'user-agent': userAgent });
  }
}

export interface LogoutReceiver {
  uri: string;
  /** logout_token values received, in order. */
  tokens: string[];
  /** Resolves once at least `count` tokens arrived (or rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

/** An application's backchannel_logout_uri (OIDC Back-Channel Logout 1.0 §2.5) on loopback. */
export async function startLogoutReceiver(): Promise<LogoutReceiver> {
  const tokens: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (req.method === 'POST' && token) tokens.push(token);
      // §2.8: 200 OK when the logout succeeded.
      res.writeHead(token ? 200 : 400, { 'cache-control': 'no-store' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}/backchannel-logout`,
    tokens,
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (tokens.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} logout tokens, got ${tokens.length}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return tokens.slice(0, count);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function basicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

/** A refresh_token grant sent as is (no client library), to see exactly what the endpoint answers. */
export async function rawRefresh(baseUrl: string, client: { clientId: string; clientSecret?: string }, refreshToken: string): Promise<{ status: number; body: Record<string, string> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const params = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  if (client.clientSecret) headers.authorization = basicAuth(client.clientId, client.clientSecret);
  else params.set('client_id', client.clientId);
  const response = await fetch(`${baseUrl}/token`, { method: 'POST', headers, body: params });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

/** RFC 7662 introspection by a confidential client. */
export async function introspect(baseUrl: string, client: { clientId: string; clientSecret: string }, token: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${baseUrl}/token/introspection`, {
    method: 'POST',
    headers: { authorization: basicAuth(client.clientId, client.clientSecret), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ token }),
  });
  return (await response.json()) as Record<string, unknown>;
}
