// GATEHOUSE_SECRET is the root of every key Gatehouse derives: cookie signing keys, the key that
// encrypts signing keys at rest, and the HMAC key for client secrets and access keys. HKDF
// (RFC 5869) keeps the derived keys independent of each other.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface DerivedKeys {
  readonly cookieKeys: string[];
  readonly encryptionKey: Buffer;
  readonly hashKey: Buffer;
}

export class SecretError extends Error {}

/**
 * The configured secret, or outside production one generated once and kept (mode 0600) in the
 * data directory, so that signing keys and sessions survive a restart of a trial install.
 */
export async function loadOrCreateSecret(options: { secret?: string; production: boolean; dataDir: string }): Promise<{ secret: string; generated: boolean }> {
  if (options.secret) return { secret: options.secret, generated: false };
  if (options.production) throw new SecretError('GATEHOUSE_SECRET is required when NODE_ENV=production');
  const file = path.join(options.dataDir, 'secret');
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing.length >= 32) return { secret: existing, generated: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(options.dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { secret: (await readFile(file, 'utf8')).trim(), generated: false };
    throw error;
  }
  return { secret, generated: true };
}

function derive(secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from('gatehouse'), Buffer.from(info), 32));
}

export function deriveKeys(secret: string): DerivedKeys {
  return Object.freeze({
    cookieKeys: [derive(secret, 'cookie-signing').toString('base64url')],
    encryptionKey: derive(secret, 'signing-key-encryption'),
    hashKey: derive(secret, 'client-secret-hash'),
  });
}

/** AES-256-GCM; the output is `v1.<iv>.<tag>.<ciphertext>` in base64url. */
export function encrypt(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

export function decrypt(key: Buffer, sealed: string): string {
  const [version, iv, tag, ciphertext] = sealed.split('.');
  if (version !== 'v1' || !iv || !tag || ciphertext === undefined) throw new SecretError('unrecognised encrypted value');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretError('cannot decrypt a stored key: GATEHOUSE_SECRET differs from the one it was encrypted with');
  }
}

/**
 * Keyed hash for high-entropy secrets (client secrets, access keys). They carry >= 256 bits of
 * randomness, so a slow password hash buys nothing and would cost every token request.
 */
export function keyedHash(key: Buffer, value: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(value, 'utf8').digest('base64url')}`;
}

export function keyedHashMatches(key: Buffer, value: string, expected: string): boolean {
  const actual = Buffer.from(keyedHash(key, value));
  const wanted = Buffer.from(expected);
  return actual.length === wanted.length && timingSafeEqual(actual, wanted);
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * A store key part for a bearer value such as an interaction id (SHA-256, base64url): a dump of
 * the store's key names does not yield the value (RFC 6819 §5.1.4.1.3). The values are random
 * and long, so an unkeyed hash cannot be reversed.
 */
export function opaqueKey(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}
