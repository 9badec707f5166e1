// One zod schema for the environment. loadConfig(env) returns a frozen Config or throws a
// ConfigError naming every problem at once (never a secret's value).
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const urlWithProtocols = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  GATEHOUSE_ISSUER: urlWithProtocols(['http:', 'https:']).optional(),
  DATABASE_URL: urlWithProtocols(['postgres:', 'postgresql:']).optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: urlWithProtocols(['redis:', 'rediss:']).optional(),
  GATEHOUSE_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]*$/, 'letters, digits, ":", "_" and "-" only').default('gh:'),
  GATEHOUSE_DATA_DIR: z.string().min(1).default('./.gatehouse'),
  GATEHOUSE_SECRET: z.string().min(32, 'must be at least 32 characters (generate one with: openssl rand -base64 48)').optional(),
  GATEHOUSE_ADMIN_USERNAME: z.string().min(1).max(254).optional(),
  GATEHOUSE_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').max(1024).optional(),
  GATEHOUSE_MIGRATE_ON_START: booleanFromEnv.default(true),
  GATEHOUSE_ID_TOKEN_ALG: z.enum(['RS256', 'ES256']).default('RS256'),
  GATEHOUSE_ACCESS_TOKEN_TTL: z.coerce.number().int().min(30).max(86400).default(600),
  GATEHOUSE_REFRESH_TOKEN_TTL: z.coerce.number().int().min(60).default(14 * 24 * 3600),
  GATEHOUSE_SESSION_TTL: z.coerce.number().int().min(60).default(14 * 24 * 3600),
  GATEHOUSE_SESSION_IDLE_TIMEOUT: z.coerce.number().int().min(60).default(3 * 24 * 3600),
  GATEHOUSE_REFRESH_REUSE_GRACE: z.coerce.number().int().min(0).max(60).default(5),
  GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE: booleanFromEnv.default(false),
  GATEHOUSE_TRUST_PROXY: booleanFromEnv.default(false),
  GATEHOUSE_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(365),
  // Account security (issue 5). argon2id parameters of new hashes (OWASP Password Storage Cheat
  // Sheet minimum by default; tests lower them to stay fast).
  GATEHOUSE_ARGON2_MEMORY_KIB: z.coerce.number().int().min(1024).max(4 * 1024 * 1024).default(19456),
  GATEHOUSE_ARGON2_TIME_COST: z.coerce.number().int().min(1).max(100).default(2),
  GATEHOUSE_ARGON2_PARALLELISM: z.coerce.number().int().min(1).max(16).default(1),
  GATEHOUSE_PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  GATEHOUSE_PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(100_000).default(128),
  SMTP_URL: urlWithProtocols(['smtp:', 'smtps:']).optional(),
  GATEHOUSE_MAIL_FROM: z.string().min(3).max(320).default('Gatehouse <no-reply@localhost>'),
  GATEHOUSE_RESET_TOKEN_TTL: z.coerce.number().int().min(300).max(86400).default(1800),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  readonly env: Env['NODE_ENV'];
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  /** Issuer identifier; when not configured it follows the port: http://localhost:PORT. */
  readonly issuer: string | undefined;
  readonly databaseUrl: string | undefined;
  readonly databasePoolMax: number;
  readonly redisUrl: string | undefined;
  readonly redisPrefix: string;
  readonly dataDir: string;
  /** undefined: generated and kept in the data directory (refused in production). */
  readonly secret: string | undefined;
  readonly adminUsername: string | undefined;
  readonly adminPassword: string | undefined;
  readonly migrateOnStart: boolean;
  readonly idTokenAlg: 'RS256' | 'ES256';
  readonly accessTokenTtl: number;
  readonly refreshTokenTtl: number;
  /** Longest a session is kept, and the tenants' default absolute lifetime (s). */
  readonly sessionTtl: number;
  /** The tenants' default idle timeout (s). */
  readonly sessionIdleTimeout: number;
  /** Seconds after a rotation in which a repeated refresh is refused without revoking the grant. */
  readonly refreshReuseGraceSeconds: number;
  /** Send back-channel logout tokens to private and loopback addresses too (off: SSRF protection). */
  readonly backchannelAllowPrivate: boolean;
  readonly trustProxy: boolean;
  /** Audit events older than this many days are removed by the retention purge. */
  readonly auditRetentionDays: number;
  /** argon2id computations at once (sign-ins, password changes); default one per core. */
  readonly passwordHashConcurrency: number;
  /** Password hash computations that may wait for a slot; past that, 503 with Retry-After. */
  readonly passwordHashQueue: number;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly argon2: { memoryCost: number; timeCost: number; parallelism: number };
  /** undefined: mails go to GATEHOUSE_DATA_DIR/outbox (a warning at start in production). */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /** Lifetime of a password-reset link (s). */
  readonly resetTokenTtl: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as a shell `FOO=` usually means.
  const env = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(env);
  // Issue messages only: zod never echoes the input value here, so secrets stay out of logs.
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  // Checked on the raw values so that production requirements are reported together with any
  // invalid variable, not only after it has been fixed. A set but invalid value is reported above.
  if (env.NODE_ENV === 'production') {
    if (!env.DATABASE_URL) problems.push('DATABASE_URL: required when NODE_ENV=production (the embedded database is for a single-process trial)');
    if (!env.REDIS_URL) problems.push('REDIS_URL: required when NODE_ENV=production (the in-process store is for a single-process trial)');
    if (!env.GATEHOUSE_SECRET) problems.push('GATEHOUSE_SECRET: required when NODE_ENV=production (generated secrets are refused)');
    if (!env.GATEHOUSE_ISSUER) problems.push('GATEHOUSE_ISSUER: required when NODE_ENV=production (the public https URL of Gatehouse)');
  }
  if (parsed.success && parsed.data.GATEHOUSE_SESSION_IDLE_TIMEOUT > parsed.data.GATEHOUSE_SESSION_TTL) {
    problems.push('GATEHOUSE_SESSION_IDLE_TIMEOUT: must not be longer than GATEHOUSE_SESSION_TTL (the absolute session lifetime)');
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;

  return Object.freeze({
    env: e.NODE_ENV,
    production: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    issuer: e.GATEHOUSE_ISSUER?.replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.GATEHOUSE_REDIS_PREFIX,
    dataDir: path.resolve(e.GATEHOUSE_DATA_DIR),
    secret: e.GATEHOUSE_SECRET,
    adminUsername: e.GATEHOUSE_ADMIN_USERNAME,
    adminPassword: e.GATEHOUSE_ADMIN_PASSWORD,
    migrateOnStart: e.GATEHOUSE_MIGRATE_ON_START,
    idTokenAlg: e.GATEHOUSE_ID_TOKEN_ALG,
    accessTokenTtl: e.GATEHOUSE_ACCESS_TOKEN_TTL,
    refreshTokenTtl: e.GATEHOUSE_REFRESH_TOKEN_TTL,
    sessionTtl: e.GATEHOUSE_SESSION_TTL,
    sessionIdleTimeout: e.GATEHOUSE_SESSION_IDLE_TIMEOUT,
    refreshReuseGraceSeconds: e.GATEHOUSE_REFRESH_REUSE_GRACE,
    backchannelAllowPrivate: e.GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE,
    trustProxy: e.GATEHOUSE_TRUST_PROXY,
    auditRetentionDays: e.GATEHOUSE_AUDIT_RETENTION_DAYS,
    passwordHashConcurrency: e.GATEHOUSE_PASSWORD_HASH_CONCURRENCY ?? os.availableParallelism(),
    passwordHashQueue: e.GATEHOUSE_PASSWORD_HASH_QUEUE,
    logLevel: e.LOG_LEVEL,
    argon2: { memoryCost: e.GATEHOUSE_ARGON2_MEMORY_KIB, timeCost: e.GATEHOUSE_ARGON2_TIME_COST, parallelism: e.GATEHOUSE_ARGON2_PARALLELISM },
    smtpUrl: e.SMTP_URL,
    mailFrom: e.GATEHOUSE_MAIL_FROM,
    resetTokenTtl: e.GATEHOUSE_RESET_TOKEN_TTL,
  });
}
