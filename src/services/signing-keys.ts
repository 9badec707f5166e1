// Signing keys: generated at first start (RS256 and ES256), stored encrypted with a key derived
// from GATEHOUSE_SECRET, loaded at every start so tokens stay verifiable across restarts.
import { generateKeyPairSync, createHash } from 'node:crypto';
import type { Queries } from '../queries/index.ts';
import { decrypt, encrypt } from './secrets.ts';

export type SigningAlg = 'RS256' | 'ES256';
export const SIGNING_ALGS: SigningAlg[] = ['RS256', 'ES256'];

export interface PrivateJwk {
  kid: string;
  alg: SigningAlg;
  use: 'sig';
  kty: string;
  [k: string]: unknown;
}

function generate(alg: SigningAlg): { privateJwk: PrivateJwk; publicJwk: Record<string, unknown> } {
  const pair = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const priv = pair.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const pub = pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  // RFC 7638 thumbprint as kid: stable and derived from the key itself.
  const members = alg === 'RS256' ? { e: pub.e, kty: pub.kty, n: pub.n } : { crv: pub.crv, kty: pub.kty, x: pub.x, y: pub.y };
  const kid = createHash('sha256').update(JSON.stringify(members)).digest('base64url');
  return {
    privateJwk: { ...priv, kid, alg, use: 'sig', kty: String(priv.kty) },
    publicJwk: { ...pub, kid, alg, use: 'sig' },
  };
}

/**
 * Makes sure one active key per algorithm exists and returns every active private key.
 * An advisory lock makes several nodes starting at once agree on one key.
 */
export async function loadSigningKeys(queries: Pick<Queries, 'transaction'>, options: { tenantId: string; encryptionKey: Buffer }): Promise<PrivateJwk[]> {
  const rows = await queries.transaction(async (tx) => {
    await tx.advisoryLock(74201);
    const active = await tx.signingKeys.listActive(options.tenantId);
    for (const alg of SIGNING_ALGS) {
      if (active.some((row) => row.alg === alg)) continue;
      const { privateJwk, publicJwk } = generate(alg);
      await tx.signingKeys.insert({ id: privateJwk.kid, tenant_id: options.tenantId, alg, private_jwk_encrypted: encrypt(options.encryptionKey, JSON.stringify(privateJwk)), public_jwk: publicJwk });
    }
    return tx.signingKeys.listActive(options.tenantId);
  });
  return rows.map((row) => JSON.parse(decrypt(options.encryptionKey, row.private_jwk_encrypted)) as PrivateJwk);
}
