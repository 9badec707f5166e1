// The bench's peer: a bare oidc-provider (the same package and version Gatehouse wraps) with an
// in-memory adapter (a Map), one client-credentials client with a plain client_secret_basic
// secret, and one resource indicator whose access tokens are JWTs signed RS256 — what Gatehouse
// issues for a registered API resource. The JWKS holds an RS256 and an ES256 key, as Gatehouse's
// does. Nothing else: no database, no Redis, no extra claims. It is what "losing almost nothing
// to the library we wrap" is measured against.
//
// For the refresh scenario it also has a web client with rotating refresh tokens and an ID token
// signed RS256, as Gatehouse issues them, and mints refresh tokens on request
// (POST /bench/refresh-tokens?count=N, loopback only): it has no sign-in pages, and how fast a
// bare oidc-provider refreshes is what Gatehouse's refresh figure is read against.
//
// Run by bench/run.ts as a child process: node --import tsx bench/peer.ts
// Env: PEER_PORT, PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_RESOURCE, PEER_SCOPES.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import Provider, { type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';

const port = Number(process.env.PEER_PORT);
const clientId = process.env.PEER_CLIENT_ID ?? 'peer-service';
const clientSecret = process.env.PEER_CLIENT_SECRET ?? '';
const resource = process.env.PEER_RESOURCE ?? '';
const scopes = process.env.PEER_SCOPES ?? 'read write';
const WEB_CLIENT_ID = 'peer-web';
if (!port || !clientSecret || !resource) {
  process.stderr.write('peer: PEER_PORT, PEER_CLIENT_SECRET and PEER_RESOURCE are required\n');
  process.exit(2);
}

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
class MapAdapter implements Adapter {
  constructor(private readonly model: string) {}
  private key(id: string): string {
    return `${this.model}:${id}`;
  }
  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    memory.set(this.key(id), { payload });
  }
  async find(id: string): Promise<AdapterPayload | undefined> {
    const entry = memory.get(this.key(id));
    return entry ? { ...entry.payload, ...(entry.consumed ? { consumed: entry.consumed } : {}) } : undefined;
  }
  async findByUid(): Promise<AdapterPayload | undefined> {
    return undefined;
  }
  async findByUserCode(): Promise<AdapterPayload | undefined> {
    return undefined;
  }
  async consume(id: string): Promise<void> {
    const entry = memory.get(this.key(id));
    if (entry) entry.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string): Promise<void> {
    memory.delete(this.key(id));
  }
  async revokeByGrantId(): Promise<void> {
    // not needed by the scenarios the peer serves
  }
}

const issuer = `http://127.0.0.1:${port}`;
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
  scopes: ['openid', 'offline_access', 'profile'],
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, name: 'Peer User', preferred_username: 'peer-user' }) }),
  jwks: { keys: [jwk('rsa', 'RS256', 'peer-rs256'), jwk('ec', 'ES256', 'peer-es256')] as NonNullable<Configuration['jwks']>['keys'] },
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf ?? resource,
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

const callback = provider.callback();
const server = http.createServer((req, res) => {
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
