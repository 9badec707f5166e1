// pino with a redaction list: authorization headers, cookies, passwords, codes and tokens never
// reach a log line (DESIGN.md "Security defaults").
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Field names whose values never reach a log line, wherever they appear near the top of an entry. */
const SENSITIVE_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'client_secret',
  'clientSecret',
  'secret',
  'code',
  'code_verifier',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'authorization',
  'cookie',
];

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  // A bare `*.key` only matches one level down: `logger.info({ password })` and
  // `logger.info({ req: { body: { password } } })` would otherwise be written in clear.
  ...SENSITIVE_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}

/** Drops query strings from a URL before logging: they may carry codes or tokens. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?[redacted]`;
}
