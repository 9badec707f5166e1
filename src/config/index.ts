// One zod schema for the environment. loadConfig(env) returns a frozen Config or throws a
// ConfigError naming every problem at once (never a secret's value).
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const booleanFromEnv = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((value) => value === 'true' || value === '1' || value === 'yes');

const urlWithProtocols = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  );

export interface RedisNode {
  host: string;
  port: number;
}

/**
 * Where Redis is: one server (a URL), a primary found through Sentinel, or a Redis Cluster.
 * Sentinel and Cluster are ioredis's own support: it asks the sentinels for the primary (and
 * again after a failover), and follows the cluster's slot map (MOVED/ASK) by itself.
 */
export type RedisConnection =
  | { mode: 'standalone'; url: string }
  | { mode: 'sentinel'; sentinels: RedisNode[]; name: string; sentinelPassword?: string; username?: string; password?: string; db?: number; tls?: boolean }
  | { mode: 'cluster'; nodes: RedisNode[]; username?: string; password?: string; tls?: boolean };

// host:port,host:port — the sentinels or the cluster's seed nodes. A host name, IPv4 address or
// bracketed IPv6 address, and a port.
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const nodeList = z.string().transform((value, ctx): RedisNode[] => {
  const nodes: RedisNode[] = [];
  for (const item of value.split(',').map((part) => part.trim())) {
    const match = HOST_PORT.exec(item);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not host:port (a comma-separated list of host:port is expected)` });
      return z.NEVER;
    }
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return nodes;
});

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  GATEHOUSE_ISSUER: urlWithProtocols(['http:', 'https:']).optional(),
  DATABASE_URL: urlWithProtocols(['postgres:', 'postgresql:']).optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: urlWithProtocols(['redis:', 'rediss:']).optional(),
  // Sentinel: the sentinels and the name of the primary they watch (sentinel monitor NAME ...).
  REDIS_SENTINELS: nodeList.optional(),
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only')
    .optional(),
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  // Cluster: some of its nodes; ioredis learns the rest from CLUSTER SLOTS.
  REDIS_CLUSTER_NODES: nodeList.optional(),
  // Sentinel and Cluster only (REDIS_URL carries its own): ACL user and password of the data
  // nodes, TLS, and (Sentinel only: a cluster has database 0 alone) the database index.
  REDIS_USERNAME: z.string().optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_TLS: booleanFromEnv.default(false),
  REDIS_DB: z.coerce.number().int().min(0).max(255).optional(),
  GATEHOUSE_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]*$/, 'letters, digits, ":", "_" and "-" only')
    .default('gh:'),
  GATEHOUSE_DATA_DIR: z.string().min(1).default('./.gatehouse'),
  GATEHOUSE_SECRET: z.string().min(32, 'must be at least 32 characters (generate one with: openssl rand -base64 48)').optional(),
  GATEHOUSE_ADMIN_USERNAME: z.string().min(1).max(254).optional(),
  GATEHOUSE_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').max(1024).optional(),
  GATEHOUSE_MIGRATE_ON_START: booleanFromEnv.default(true),
  GATEHOUSE_ID_TOKEN_ALG: z.enum(['RS256', 'ES256']).default('RS256'),
  GATEHOUSE_ACCESS_TOKEN_TTL: z.coerce.number().int().min(30).max(86400).default(600),
  GATEHOUSE_REFRESH_TOKEN_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .default(14 * 24 * 3600),
  GATEHOUSE_SESSION_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .default(14 * 24 * 3600),
  GATEHOUSE_SESSION_IDLE_TIMEOUT: z.coerce
    .number()
    .int()
    .min(60)
    .default(3 * 24 * 3600),
  // Refresh-token reuse is strict by default (RFC 9700 §4.14.2); a grace window is a setting of
  // each application (refreshTokenReuseGraceSeconds), never deployment-wide.
  GATEHOUSE_REFRESH_REUSE_GRACE: z.never({ error: 'is no longer read: set refreshTokenReuseGraceSeconds on the applications that need a grace window' }).optional(),
  GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE: booleanFromEnv.default(false),
  GATEHOUSE_TRUST_PROXY: booleanFromEnv.default(false),
  GATEHOUSE_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(365),
  // Account security. argon2id parameters of new hashes (OWASP Password Storage Cheat
  // Sheet minimum by default; tests lower them to stay fast).
  GATEHOUSE_ARGON2_MEMORY_KIB: z.coerce
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024)
    .default(19456),
  GATEHOUSE_ARGON2_TIME_COST: z.coerce.number().int().min(1).max(100).default(2),
  GATEHOUSE_ARGON2_PARALLELISM: z.coerce.number().int().min(1).max(16).default(1),
  GATEHOUSE_PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  GATEHOUSE_PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(100_000).default(128),
  SMTP_URL: urlWithProtocols(['smtp:', 'smtps:']).optional(),
  GATEHOUSE_MAIL_FROM: z.string().min(3).max(320).default('Gatehouse <no-reply@localhost>'),
  GATEHOUSE_RESET_TOKEN_TTL: z.coerce.number().int().min(300).max(86400).default(1800),
  // Passkeys (WebAuthn): the relying party follows from the issuer unless set.
  GATEHOUSE_PASSKEY_RP_ID: z
    .string()
    .regex(/^[a-z0-9.-]+$/i)
    .max(253)
    .optional(),
  GATEHOUSE_PASSKEY_ORIGINS: z.string().max(2000).optional(),
  GATEHOUSE_PASSKEY_USER_VERIFICATION: z.enum(['required', 'preferred']).default('required'),
  GATEHOUSE_PASSKEY_ATTACHMENT: z.enum(['any', 'platform', 'cross-platform']).default('any'),
  // The language of the sign-in and account pages when neither ui_locales nor Accept-Language
  // names one Gatehouse has (the tenant's default).
  GATEHOUSE_DEFAULT_LOCALE: z.enum(['en', 'de', 'fr']).default('en'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Operating: shutdown, metrics, tracing (README "Operating Gatehouse").
  GATEHOUSE_SHUTDOWN_DELAY: z.coerce.number().int().min(0).max(300).default(0),
  GATEHOUSE_SHUTDOWN_TIMEOUT: z.coerce.number().int().min(1).max(600).default(15),
  GATEHOUSE_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  GATEHOUSE_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  OTEL_EXPORTER_OTLP_ENDPOINT: urlWithProtocols(['http:', 'https:']).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: urlWithProtocols(['http:', 'https:']).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(200).default('gatehouse'),
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
  /** Where Redis is (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES); undefined: the in-process store. */
  readonly redis: RedisConnection | undefined;
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
  /** The pages' language when the request asks for none Gatehouse has. */
  readonly defaultLocale: Env['GATEHOUSE_DEFAULT_LOCALE'];
  /** Seconds /readyz answers 503 while requests are still served, before the listener closes. */
  readonly shutdownDelaySeconds: number;
  /** Longest wait for in-flight requests and running jobs at shutdown (s); then connections are cut. */
  readonly shutdownTimeoutSeconds: number;
  /** Prometheus listener; undefined: no metrics listener. */
  readonly metrics: { port: number; host: string } | undefined;
  /** OTLP/HTTP trace export; undefined: tracing off. */
  readonly tracing: { tracesEndpoint: string; serviceName: string } | undefined;
  readonly argon2: { memoryCost: number; timeCost: number; parallelism: number };
  /** undefined: mails go to GATEHOUSE_DATA_DIR/outbox (a warning at start in production). */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /** Lifetime of a password-reset link (s). */
  readonly resetTokenTtl: number;
  readonly passkeys: { rpId?: string; origins?: string[]; userVerification: 'required' | 'preferred'; attachment: 'any' | 'platform' | 'cross-platform' };
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
    if (!env.REDIS_URL && !env.REDIS_SENTINELS && !env.REDIS_CLUSTER_NODES) {
      problems.push('REDIS_URL: required when NODE_ENV=production, or REDIS_SENTINELS or REDIS_CLUSTER_NODES (the in-process store is for a single-process trial)');
    }
    if (!env.GATEHOUSE_SECRET) problems.push('GATEHOUSE_SECRET: required when NODE_ENV=production (generated secrets are refused)');
    if (!env.GATEHOUSE_ISSUER) problems.push('GATEHOUSE_ISSUER: required when NODE_ENV=production (the public https URL of Gatehouse)');
  }
  if (parsed.success && parsed.data.GATEHOUSE_SESSION_IDLE_TIMEOUT > parsed.data.GATEHOUSE_SESSION_TTL) {
    problems.push('GATEHOUSE_SESSION_IDLE_TIMEOUT: must not be longer than GATEHOUSE_SESSION_TTL (the absolute session lifetime)');
  }
  problems.push(...redisProblems(env));
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
    redis: redisConnection(e),
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
    backchannelAllowPrivate: e.GATEHOUSE_BACKCHANNEL_ALLOW_PRIVATE,
    trustProxy: e.GATEHOUSE_TRUST_PROXY,
    auditRetentionDays: e.GATEHOUSE_AUDIT_RETENTION_DAYS,
    passwordHashConcurrency: e.GATEHOUSE_PASSWORD_HASH_CONCURRENCY ?? os.availableParallelism(),
    passwordHashQueue: e.GATEHOUSE_PASSWORD_HASH_QUEUE,
    logLevel: e.LOG_LEVEL,
    defaultLocale: e.GATEHOUSE_DEFAULT_LOCALE,
    shutdownDelaySeconds: e.GATEHOUSE_SHUTDOWN_DELAY,
    shutdownTimeoutSeconds: e.GATEHOUSE_SHUTDOWN_TIMEOUT,
    metrics: e.GATEHOUSE_METRICS_PORT === undefined ? undefined : { port: e.GATEHOUSE_METRICS_PORT, host: e.GATEHOUSE_METRICS_HOST },
    // OTLP's own variables: the signal-specific one wins; the general one gets /v1/traces appended.
    tracing: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
      ? { tracesEndpoint: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME }
      : e.OTEL_EXPORTER_OTLP_ENDPOINT
        ? { tracesEndpoint: `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`, serviceName: e.OTEL_SERVICE_NAME }
        : undefined,
    argon2: { memoryCost: e.GATEHOUSE_ARGON2_MEMORY_KIB, timeCost: e.GATEHOUSE_ARGON2_TIME_COST, parallelism: e.GATEHOUSE_ARGON2_PARALLELISM },
    smtpUrl: e.SMTP_URL,
    mailFrom: e.GATEHOUSE_MAIL_FROM,
    resetTokenTtl: e.GATEHOUSE_RESET_TOKEN_TTL,
    passkeys: {
      ...(e.GATEHOUSE_PASSKEY_RP_ID ? { rpId: e.GATEHOUSE_PASSKEY_RP_ID.toLowerCase() } : {}),
      ...(e.GATEHOUSE_PASSKEY_ORIGINS ? { origins: e.GATEHOUSE_PASSKEY_ORIGINS.split(',').map((origin) => new URL(origin.trim()).origin) } : {}),
      userVerification: e.GATEHOUSE_PASSKEY_USER_VERIFICATION,
      attachment: e.GATEHOUSE_PASSKEY_ATTACHMENT,
    },
  });
}

/** Exactly one way to reach Redis, and only the settings that way uses. */
function redisProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const ways = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter((name) => env[name]);
  if (ways.length > 1) problems.push(`${ways[1]}: only one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES may be set (found ${ways.join(', ')})`);
  if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME) problems.push('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name in the sentinels\' "sentinel monitor NAME ...")');
  if (!env.REDIS_SENTINELS) {
    for (const name of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD']) if (env[name]) problems.push(`${name}: only meaningful with REDIS_SENTINELS`);
  }
  if (!env.REDIS_SENTINELS && !env.REDIS_CLUSTER_NODES) {
    for (const name of ['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS', 'REDIS_DB']) {
      // REDIS_TLS=false says nothing that REDIS_URL could contradict.
      if (env[name] && !(name === 'REDIS_TLS' && ['false', '0', 'no'].includes(env[name]!))) problems.push(`${name}: only meaningful with REDIS_SENTINELS or REDIS_CLUSTER_NODES (REDIS_URL carries its own user, password, TLS and database)`);
    }
  }
  if (env.REDIS_CLUSTER_NODES && env.REDIS_DB && env.REDIS_DB !== '0') problems.push('REDIS_DB: a Redis Cluster has database 0 only');
  return problems;
}

function redisConnection(e: Env): RedisConnection | undefined {
  const auth = { ...(e.REDIS_USERNAME ? { username: e.REDIS_USERNAME } : {}), ...(e.REDIS_PASSWORD ? { password: e.REDIS_PASSWORD } : {}), ...(e.REDIS_TLS ? { tls: true } : {}) };
  if (e.REDIS_SENTINELS && e.REDIS_SENTINEL_NAME) {
    return { mode: 'sentinel', sentinels: e.REDIS_SENTINELS, name: e.REDIS_SENTINEL_NAME, ...(e.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: e.REDIS_SENTINEL_PASSWORD } : {}), ...(e.REDIS_DB !== undefined ? { db: e.REDIS_DB } : {}), ...auth };
  }
  if (e.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes: e.REDIS_CLUSTER_NODES, ...auth };
  if (e.REDIS_URL) return { mode: 'standalone', url: e.REDIS_URL };
  return undefined;
}
