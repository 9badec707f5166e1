// Password hashing. New hashes are argon2id with the OWASP Password Storage Cheat Sheet minimum
// by default (m=19 MiB, t=2, p=1; GATEHOUSE_ARGON2_* change it). The parameters travel inside each
// encoded hash, so changing them affects new hashes only, and needsRehash() tells the sign-in to
// upgrade an old one. Hashes imported from other systems (bcrypt, PBKDF2 in Django's and passlib's
// formats, argon2i/argon2d) are verified as they are and upgraded at the next sign-in
// (OWASP ASVS 5 V6.2: a legacy hash is re-hashed once the password is known).
import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import { recordPasswordHashWait, setPasswordHashQueue } from '../telemetry/metrics.ts';
import { AppError } from './errors.ts';

const pbkdf2Async = promisify(pbkdf2);

export interface PasswordHashOptions {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const DEFAULT_PASSWORD_HASH_OPTIONS: PasswordHashOptions = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Refused before hashing: a huge input would let anyone burn CPU (NIST 800-63B rev 4 §3.1.1.2 allows a maximum). */
export const MAX_PASSWORD_BYTES = 1024;

export type HashScheme = 'argon2id' | 'argon2' | 'bcrypt' | 'pbkdf2';

interface Pbkdf2Hash {
  digest: 'sha1' | 'sha256' | 'sha512';
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

/** passlib's "adapted base64": standard base64 with "." for "+" and no padding. */
function ab64(text: string): Buffer {
  return Buffer.from(text.replace(/\./g, '+'), 'base64');
}

/**
 * PBKDF2 in the two formats systems export most: Django (`pbkdf2_sha256$iterations$salt$b64`)
 * and passlib (`$pbkdf2-sha256$rounds$ab64salt$ab64hash`, `$pbkdf2$` being SHA-1).
 */
function parsePbkdf2(encoded: string): Pbkdf2Hash | undefined {
  const django = /^pbkdf2_(sha1|sha256|sha512)\$(\d{1,9})\$([^$]{1,200})\$([A-Za-z0-9+/=]{16,200})$/.exec(encoded);
  if (django) return { digest: django[1] as Pbkdf2Hash['digest'], iterations: Number(django[2]), salt: Buffer.from(django[3]!, 'utf8'), hash: Buffer.from(django[4]!, 'base64') };
  const passlib = /^\$pbkdf2(?:-(sha256|sha512))?\$(\d{1,9})\$([A-Za-z0-9./]{1,200})\$([A-Za-z0-9./]{16,200})$/.exec(encoded);
  if (passlib) return { digest: (passlib[1] ?? 'sha1') as Pbkdf2Hash['digest'], iterations: Number(passlib[2]), salt: ab64(passlib[3]!), hash: ab64(passlib[4]!) };
  return undefined;
}

/** Which scheme an encoded hash is in; undefined when Gatehouse cannot verify it. */
export function hashScheme(encoded: string): HashScheme | undefined {
  if (encoded.startsWith('$argon2id$')) return 'argon2id';
  if (/^\$argon2(i|d)\$/.test(encoded)) return 'argon2';
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(encoded)) return 'bcrypt';
  const pbkdf = parsePbkdf2(encoded);
  if (pbkdf && pbkdf.iterations >= 1 && pbkdf.hash.length >= 16) return 'pbkdf2';
  return undefined;
}

/**
 * The most work an imported hash may ask of one verification. Above these a single sign-in would
 * hold a core (or, for argon2, memory) for seconds to minutes: a denial of service by import.
 * They sit above what current guidance recommends (OWASP Password Storage Cheat Sheet: PBKDF2-SHA1
 * 1.3M, bcrypt 10+, argon2id 19-47 MiB; RFC 9106 §4: 64 MiB, t=3), so real exports fit.
 */
export const HASH_COST_LIMITS = { pbkdf2Iterations: 2_000_000, bcryptCost: 14, argon2MemoryKib: 131_072, argon2TimeCost: 10, argon2Parallelism: 16 };

/** Why a hash Gatehouse can verify costs too much to verify; undefined when it is within bounds. */
export function hashCostProblem(encoded: string): string | undefined {
  const scheme = hashScheme(encoded);
  const limits = HASH_COST_LIMITS;
  if (scheme === 'pbkdf2') {
    const { iterations } = parsePbkdf2(encoded)!;
    if (iterations > limits.pbkdf2Iterations) return `PBKDF2 with ${iterations} iterations is above the ${limits.pbkdf2Iterations} accepted`;
  } else if (scheme === 'bcrypt') {
    const cost = Number(encoded.slice(4, 6));
    if (cost < 4 || cost > limits.bcryptCost) return `bcrypt cost ${cost} is outside the 4 to ${limits.bcryptCost} accepted`;
  } else if (scheme === 'argon2id' || scheme === 'argon2') {
    const params = Object.fromEntries([...encoded.matchAll(/[$,]([mtp])=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
    const { m = 0, t = 0, p = 0 } = params as Record<string, number>;
    if (m > limits.argon2MemoryKib) return `argon2 memory ${m} KiB is above the ${limits.argon2MemoryKib} KiB accepted`;
    if (t > limits.argon2TimeCost) return `argon2 time cost ${t} is above the ${limits.argon2TimeCost} accepted`;
    if (p > limits.argon2Parallelism) return `argon2 parallelism ${p} is above the ${limits.argon2Parallelism} accepted`;
  }
  return undefined;
}

export function createPasswordHasher(options: PasswordHashOptions = DEFAULT_PASSWORD_HASH_OPTIONS) {
  const hashOptions = { type: argon2.argon2id as 0 | 1 | 2, ...options };
  // A real hash of a random value: verifying against it costs what a real verification costs,
  // so an unknown username takes as long as a wrong password.
  let dummyHash: Promise<string> | undefined;
  // Unicode normalisation before hashing (NIST 800-63B rev 4 §3.1.1.2: NFKC or NFKD), so the same
  // password typed on two keyboards or systems hashes the same.
  const normalize = (password: string) => password.normalize('NFKC');
  /**
   * Hash verifications done, and how many of them were against the dummy hash (tests count them:
   * an unknown user costs one too; past a limit no real hash is checked).
   */
  const stats = { verifications: 0, dummyVerifications: 0 };

  async function verifyLegacy(encoded: string, scheme: 'bcrypt' | 'pbkdf2', password: string): Promise<boolean> {
    // Another system may or may not have normalised before hashing: try the password as typed,
    // then its NFKC form when that differs.
    const candidates = [...new Set([password, normalize(password)])];
    for (const candidate of candidates) {
      if (scheme === 'bcrypt') {
        if (await bcrypt.compare(candidate, encoded)) return true;
        continue;
      }
      const parsed = parsePbkdf2(encoded)!;
      const derived = await pbkdf2Async(Buffer.from(candidate, 'utf8'), parsed.salt, parsed.iterations, parsed.hash.length, parsed.digest);
      if (timingSafeEqual(derived, parsed.hash)) return true;
    }
    return false;
  }

  return {
    stats,
    async hash(password: string): Promise<string> {
      return argon2.hash(normalize(password), hashOptions);
    },
    async verify(hash: string | null | undefined, password: string): Promise<boolean> {
      // Oversize input is refused before any hashing work (and says nothing about the account).
      if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
      stats.verifications += 1;
      // A hash beyond the cost limits (stored before they existed) is not worth its work: it
      // answers like an unknown user, and the account needs a reset.
      const scheme = hash && !hashCostProblem(hash) ? hashScheme(hash) : undefined;
      if (!hash || !scheme) {
        stats.dummyVerifications += 1;
        dummyHash ??= argon2.hash(`dummy-${Math.random()}`, hashOptions);
        await argon2.verify(await dummyHash, normalize(password)).catch(() => false);
        return false;
      }
      try {
        if (scheme === 'argon2id' || scheme === 'argon2') return await argon2.verify(hash, normalize(password));
        return await verifyLegacy(hash, scheme, password);
      } catch {
        return false;
      }
    },
    /** True when the hash is not argon2id with the current parameters: re-hash it at sign-in. */
    needsRehash(hash: string): boolean {
      if (hashScheme(hash) !== 'argon2id') return true;
      try {
        return argon2.needsRehash(hash, hashOptions);
      } catch {
        return true;
      }
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;

/**
 * At most `max` argon2id computations at once, the rest waiting their turn in order. Each one
 * holds its memory cost (19 MiB by default) and a libuv thread for its whole run, and on a machine with N cores more than N
 * at once only share the same cores (no more verifications per second): a burst of sign-ins
 * would instead hold memory and every threadpool thread, starving the other users of the pool
 * (WebCrypto signing of ID tokens, file reads). Default: one per core. At most `maxWaiting`
 * wait their turn; past that a call fails at once with AppError service.busy (503).
 */
export function limitPasswordConcurrency<H extends PasswordHasher>(hasher: H, max: number, maxWaiting = Number.POSITIVE_INFINITY): H {
  let running = 0;
  const waiting: (() => void)[] = [];
  const limited =
    <A extends unknown[], R>(work: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      // A full line is answered at once (503 with Retry-After) rather than queued without end: a
      // burst would otherwise make every sign-in behind it wait (RFC 9110 §15.6.4).
      if (running >= max && waiting.length >= maxWaiting) throw new AppError('service.busy', 503, 'Too many sign-ins at once. Try again in a few seconds.');
      if (running >= max) {
        const queued = performance.now();
        setPasswordHashQueue(waiting.length + 1);
        await new Promise<void>((resolve) => waiting.push(resolve));
        recordPasswordHashWait((performance.now() - queued) / 1000, waiting.length);
      } else {
        running += 1;
        recordPasswordHashWait(0, waiting.length);
      }
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
