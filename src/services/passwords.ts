// argon2id with the OWASP Password Storage Cheat Sheet minimum (m=19 MiB, t=2, p=1). The
// parameters travel inside each encoded hash, so changing them later only affects new hashes.
import argon2 from 'argon2';

export interface PasswordHashOptions {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const DEFAULT_PASSWORD_HASH_OPTIONS: PasswordHashOptions = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Refused before hashing: a huge input would let anyone burn CPU (NIST 800-63B rev 4 §3.1.1.2 allows a maximum). */
export const MAX_PASSWORD_BYTES = 1024;

export function createPasswordHasher(options: PasswordHashOptions = DEFAULT_PASSWORD_HASH_OPTIONS) {
  const hashOptions = { type: argon2.argon2id as 0 | 1 | 2, ...options };
  // A real hash of a random value: verifying against it costs what a real verification costs,
  // so an unknown username takes as long as a wrong password.
  let dummyHash: Promise<string> | undefined;
  const normalize = (password: string) => password.normalize('NFKC');

  return {
    async hash(password: string): Promise<string> {
      return argon2.hash(normalize(password), hashOptions);
    },
    async verify(hash: string | null | undefined, password: string): Promise<boolean> {
      if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
      if (!hash) {
        dummyHash ??= argon2.hash(`dummy-${Math.random()}`, hashOptions);
        await argon2.verify(await dummyHash, normalize(password)).catch(() => false);
        return false;
      }
      try {
        return await argon2.verify(hash, normalize(password));
      } catch {
        return false;
      }
    },
    needsRehash(hash: string): boolean {
      return argon2.needsRehash(hash, hashOptions);
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;

/**
 * At most `max` argon2id computations at once, the rest waiting their turn in order. Each one
 * holds 19 MiB and a libuv thread for its whole run, and on a machine with N cores more than N
 * at once only share the same cores (no more verifications per second): a burst of sign-ins
 * would instead hold memory and every threadpool thread, starving the other users of the pool
 * (WebCrypto signing of ID tokens, file reads). Default: one per core.
 */
export function limitPasswordConcurrency<H extends PasswordHasher>(hasher: H, max: number): H {
  let running = 0;
  const waiting: (() => void)[] = [];
  const limited = <A extends unknown[], R>(work: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await work(...args);
    } finally {
      // Hand the slot straight to the next in line, or give it back.
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
  return { ...hasher, hash: limited(hasher.hash), verify: limited(hasher.verify) };
}
