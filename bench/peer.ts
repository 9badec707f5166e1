// The bench's peer: a bare oidc-provider (the same package and version Gatehouse wraps) with an
// in-memory adapter (a Map), one client-credentials client with a plain client_secret_basic
// secret, and one resource indicator whose access tokens are JWTs signed RS256 — what Gatehouse
// issues for a registered API resource. The JWKS holds an RS256 and an ES256 key, as Gatehouse's
// does. Nothing else: no database, no Redis, no extra claims. It is what "losing almost nothing
// to the library we wrap" is measured against.
//
// For the sign-in and refresh scenarios it also has a web client (code + PKCE, client_secret_basic)
// with rotating refresh tokens and an ID token signed RS256, as Gatehouse issues them:
//   - a minimal sign-in: GET /interaction/:uid answers a bare HTML form (username, password);
//     POST /interaction/:uid/login verifies the password with argon2id at Gatehouse's parameters
//     (m=19456 KiB, t=2, p=1) against one stored hash, records a grant for the requested scopes
//     and finishes the interaction (login and consent at once), so the next hop issues the code.
//     Every username signs in with PEER_PASSWORD. The bench drives it with the same client code
//     (bench/lib/login.ts) that drives Gatehouse's pages.
//   - POST /bench/refresh-tokens?count=N (loopback only) mints refresh tokens for the refresh
//     scenario without a sign-in each.
//
// Run by bench/run.ts as a child process: node --import tsx bench/peer.ts
// Env: PEER_PORT, PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_RESOURCE, PEER_SCOPES, PEER_PASSWORD.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import argon2 from 'argon2';
import Provider, { type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';

const port = Number(process.env.PEER_PORT);
const clientId = process.env.PEER_CLIENT_ID ?? 'peer-service';
const clientSecret = process.env.PEER_CLIENT_SECRET ?? '';
const resource = process.env.PEER_RESOURCE ?? '';
const scopes = process.env.PEER_SCOPES ?? 'read write';
const password = process.env.PEER_PASSWORD ?? '';
const WEB_CLIENT_ID = 'peer-web';
if (!port || !clientSecret || !resource || !password) {
  process.stderr.write('peer: PEER_PORT, PEER_CLIENT_SECRET, PEER_RESOURCE and PEER_PASSWORD are required\n');
  process.exit(2);
}
// Gatehouse's parameters (src/services/passwords.ts DEFAULT_PASSWORD_HASH_OPTIONS, OWASP's
// argon2id minimum), NFKC as Gatehouse does; one hash for every user costs the same per verification.
const ARGON = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const passwordHash = await argon2.hash(password.normalize('NFKC'), ARGON);

function jwk(kind: 'rsa' | 'ec', alg: 'RS256' | 'ES256', kid: string): Record<string, unknown> {
  const pair = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...(pair.privateKey.export({ format: 'jwk' }) as Record<string, unknown>), alg, use: 'sig', kid };
}

/**
 * oidc-provider's own in-memory adapter keeps 1,000 entries (an LRU): a refresh run creates more
 * than that every few seconds, and evicted grants end the refresh chains. This one keeps
 * everything for the few minutes a bench runs; like the built-in one it is a Map lookup, so the
 * peer still pays nothing for storage.
 */
const memory = new Map<string, { payload: AdapterPayload; consumed?: number }>();
const sessionUids = new Map<string, string>();
class MapAdapter implements Adapter {
  constructor(private readonly model: string) {}
  private key(id: string): string {
    return `${this.model}:${id}`;
  }
  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    memory.set(this.key(id), { payload });
    // Sessions are also found by their uid (codes and tokens bound to a session check it).
    if (this.model === 'Session' && typeof payload.uid === 'string') sessionUids.set(payload.uid, id);
  }
  async find(id: string): Promise<AdapterPayload | undefined> {
    const entry = memory.get(this.key(id));
    return entry ? { ...entry.payload, ...(entry.consumed ? { consumed: entry.consumed } : {}) } : undefined;
  }
  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = sessionUids.get(uid);
    return id ? this.find(id) : undefined;
  }
  async findByUserCode(): Promise<AdapterPayload | undefined> {
    return undefined;
  }
  async consume(id: string): Promise<void> {
    const entry = memory.get(this.key(id));
    if (entry) entry.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string): Promise<void> {
    const entry = memory.get(this.key(id));
    if (this.model === 'Session' && typeof entry?.payload.uid === 'string') sessionUids.delete(entry.payload.uid);
    memory.delete(this.key(id));
  }
  async revokeByGrantId(): Promise<void> {
    // not needed by the scenarios the peer serves
  }
}

const issuer = `http://127.0.0.1:${port}`;
/** oidc-provider features switched on with their defaults. */
function enabled<F extends string>(...features: F[]): Record<F, { enabled: true }> {
  return Object.fromEntries(features.map((feature) => [feature, { enabled: true }])) as Record<F, { enabled: true }>;
}

const configuration: Configuration = {
  adapter: MapAdapter,
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: WEB_CLIENT_ID,
      client_secret: clientSecret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  // As Gatehouse: every refresh rotates the refresh token (RFC 9700 §4.14.2).
  rotateRefreshToken: true,
  // As Gatehouse: the web client gets a refresh token at sign-in (no offline_access needed).
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  scopes: ['openid', 'offline_access', 'profile'],
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, name: 'Peer User', preferred_username: 'peer-user' }) }),
  jwks: { keys: [jwk('rsa', 'RS256', 'peer-rs256'), jwk('ec', 'ES256', 'peer-es256')] as NonNullable<Configuration['jwks']>['keys'] },
  features: {
    // The library features the measured flows use, set as Gatehouse sets them.
    ...enabled('clientCredentials', 'introspection'),
    // Its own minimal sign-in pages (below) instead of the library's development ones.
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      // The service client's tokens are for the API; the web client's sign-in, as Gatehouse's
      // without a resource parameter, gets an opaque access token for userinfo.
      defaultResource: async (_ctx, client, oneOf) => (client.clientId === clientId ? (oneOf ?? resource) : oneOf),
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => ({
        scope: scopes,
        audience: indicator,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
};

const provider = new Provider(issuer, configuration);

/** Refresh tokens as a sign-in would leave them: a grant with openid and profile, one token each. */
async function mintRefreshTokens(count: number): Promise<string[]> {
  const client = await provider.Client.find(WEB_CLIENT_ID);
  if (!client) throw new Error('peer web client missing');
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const accountId = `peer-user-${i}`;
    const grant = new provider.Grant({ accountId, clientId: WEB_CLIENT_ID });
    grant.addOIDCScope('openid profile');
    const grantId = await grant.save();
    const token = new provider.RefreshToken({ accountId, client, grantId, scope: 'openid profile', gty: 'authorization_code', authTime: Math.floor(Date.now() / 1000) });
    tokens.push(await token.save());
  }
  return tokens;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid: string, message = ''): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body>${message ? `<p>${escapeHtml(message)}</p>` : ''}<form method="post" action="/interaction/${escapeHtml(uid)}/login"><input name="username" autocomplete="username"><input type="password" name="password" autocomplete="current-password"><button>Sign in</button></form></body></html>`;
}

function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 16_384) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

/** The minimal sign-in: the form, then argon2id, a grant for what was asked, and back to /auth. */
async function interaction(req: http.IncomingMessage, res: http.ServerResponse, uid: string, action: string | undefined): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET' && !action) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(uid));
    return;
  }
  if (req.method !== 'POST' || action !== 'login') {
    res.writeHead(404);
    res.end();
    return;
  }
  const form = await readForm(req);
  const username = form.get('username') ?? '';
  const ok = username !== '' && (await argon2.verify(passwordHash, (form.get('password') ?? '').normalize('NFKC')));
  if (!ok) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(uid, 'Wrong username or password.'));
    return;
  }
  const params = details.params as { client_id: string; scope?: string };
  const grant = new provider.Grant({ accountId: username, clientId: params.client_id });
  grant.addOIDCScope(params.scope ?? 'openid');
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: username }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

// Why a token request failed, in the peer's log (the bench keeps it when a run fails).
provider.on('grant.error', (_ctx, error) => process.stderr.write(`grant.error ${String((error as Error & { error_detail?: string }).error_detail ?? error)}\n`));
const callback = provider.callback();
const server = http.createServer((req, res) => {
  const interactionPath = req.url ? /^\/interaction\/([\w-]+)(?:\/(\w+))?$/.exec(req.url) : null;
  if (interactionPath) {
    interaction(req, res, interactionPath[1]!, interactionPath[2]).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(error.message);
    });
    return;
  }
  if (req.method === 'POST' && req.url?.startsWith('/bench/refresh-tokens')) {
    const count = Math.min(Number(new URL(req.url, issuer).searchParams.get('count')) || 1, 100_000);
    mintRefreshTokens(count).then(
      (tokens) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ tokens }));
      },
      (error: Error) => {
        res.writeHead(500);
        res.end(error.message);
      },
    );
    return;
  }
  void callback(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`peer listening at ${issuer}\n`));

const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
