// pino with a redaction list: authorization headers, cookies, passwords, codes and tokens never
// reach a log line (docs/user-guide.md, "Secrets at rest and in logs").
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Field names whose values never reach a log line, wherever they appear near the top of an entry. */
const SENSITIVE_KEYS = ['password', 'newPassword', 'currentPassword', 'client_secret', 'clientSecret', 'secret', 'code', 'code_verifier', 'access_token', 'refresh_token', 'id_token', 'token', 'authorization', 'cookie'];

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  // A bare `*.key` only matches one level down: `logger.info({ password })` and
  // `logger.info({ req: { body: { password } } })` would otherwise be written in clear.
  ...SENSITIVE_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
];

/**
 * What a database error carries besides its message that may hold the statement's values:
 * PGlite's `params`, knex's `bindings`, PostgreSQL's DETAIL (`Key (id)=(<token>) already exists`),
 * WHERE and internal query. None of it reaches a log line; the SQLSTATE code, constraint, table
 * and column stay, which is what a reader needs (OWASP ASVS 5 V16.2.5: no sensitive data in logs).
 */
const STATEMENT_VALUE_FIELDS = ['params', 'parameters', 'bindings', 'detail', 'where', 'internalQuery', 'queryOptions', 'query', 'sql'];

/**
 * PostgreSQL quotes the offending input in some messages (`invalid input syntax for type uuid:
 * "<value>"`). knex itself is told not to inline the values (compileSqlOnError: false in
 * src/db/index.ts); this is the second line, for whatever reaches a log as text.
 */
export function scrubStatementValues(text: string): string {
  return text.replace(/(invalid input (?:syntax|value) for (?:type |enum )?[^:"]*: )"(?:[^"]|"")*"/g, '$1"[redacted]"');
}

type Serialized = Record<string, unknown>;

export function serializeError(err: unknown, depth = 0): unknown {
  const base = (err instanceof Error ? pino.stdSerializers.err(err) : err) as Serialized | unknown;
  if (typeof base !== 'object' || base === null || depth > 4) return base;
  const out: Serialized = { ...(base as Serialized) };
  for (const field of STATEMENT_VALUE_FIELDS) delete out[field];
  // `code` is redacted everywhere (authorization codes); a SQLSTATE is worth keeping readable.
  if (typeof out.code === 'string' && /^[0-9A-Z]{5}$/.test(out.code) && typeof out.severity === 'string') out.sqlstate = out.code;
  for (const field of ['message', 'stack']) if (typeof out[field] === 'string') out[field] = scrubStatementValues(out[field] as string);
  if (out.cause !== undefined) out.cause = serializeError(out.cause, depth + 1);
  if (Array.isArray(out.errors)) out.errors = out.errors.map((e) => serializeError(e, depth + 1));
  return out;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError },
      // Messages copied into other fields (`error: err.message`) get the same scrubbing.
      formatters: {
        log(object) {
          const scrubbed = { ...object };
          for (const field of ['error', 'message']) if (typeof scrubbed[field] === 'string') scrubbed[field] = scrubStatementValues(scrubbed[field] as string);
          return scrubbed;
        },
      },
    },
    destination,
  );
}

/** Drops query strings from a URL before logging: they may carry codes or tokens. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?[redacted]`;
}
