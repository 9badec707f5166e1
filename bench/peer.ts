// The bench's peer: a bare oidc-provider (the same package and version Gatehouse wraps) with its
// default in-memory adapter, one client-credentials client with a plain client_secret_basic
// secret, and one resource indicator whose access tokens are JWTs signed RS256 — what Gatehouse
// issues for a registered API resource. The JWKS holds an RS256 and an ES256 key, as Gatehouse's
// does. Nothing else: no database, no Redis, no extra claims. It is what "losing almost nothing
// to the library we wrap" is measured against.
//
// Run by bench/run.ts as a child process: node --import tsx bench/peer.ts
// Env: PEER_PORT, PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_RESOURCE, PEER_SCOPES.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import Provider, { type Configuration } from 'oidc-provider';

const port = Number(process.env.PEER_PORT);
const clientId = process.env.PEER_CLIENT_ID ?? 'peer-service';
const clientSecret = process.env.PEER_CLIENT_SECRET ?? '';
const resource = process.env.PEER_RESOURCE ?? '';
const scopes = process.env.PEER_SCOPES ?? 'read write';
if (!port || !clientSecret || !resource) {
  process.stderr.write('peer: PEER_PORT, PEER_CLIENT_SECRET and PEER_RESOURCE are required\n');
  process.exit(2);
}

function jwk(kind: 'rsa' | 'ec', alg: 'RS256' | 'ES256', kid: string): Record<string, unknown> {
  const pair = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...(pair.privateKey.export({ format: 'jwk' }) as Record<string, unknown>), alg, use: 'sig', kid };
}

const issuer = `http://127.0.0.1:${port}`;
const configuration: Configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
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
const server = http.createServer(provider.callback());
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`peer listening at ${issuer}\n`));

const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
