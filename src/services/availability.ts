// Whether an error means a backing service (PostgreSQL, Redis) cannot be reached right now, as
// opposed to a bug: such requests answer 503 (RFC 9110 §15.6.4) with Retry-After, fast and
// without a stack trace, and the node keeps running so service resumes when the link is back.

// Node socket errors, and PostgreSQL's SQLSTATE classes 08 (connection exception) and 57P
// (operator intervention: shutdown, cannot connect now) and 53300 (too many connections).
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
const SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
// Texts of pg, knex/tarn and ioredis when the connection is gone.
const MESSAGES = /Connection terminated|Connection is closed|Client has encountered a connection error|timeout exceeded when trying to connect|Reached the max retries per request limit|Stream isn't writeable|Knex: Timeout acquiring a connection/i;

export function isUnavailableError(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const { code, name, message, cause, errors } = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE.test(code))) return true;
  if (name === 'KnexTimeoutError' || name === 'MaxRetriesPerRequestError') return true;
  if (typeof message === 'string' && MESSAGES.test(message)) return true;
  if (Array.isArray(errors) && errors.some((e) => isUnavailableError(e, depth + 1))) return true;
  return isUnavailableError(cause, depth + 1);
}

export const UNAVAILABLE_MESSAGE = 'Gatehouse is temporarily unable to reach its storage. Please try again in a moment.';

const UNAVAILABLE = Symbol('gatehouse.unavailable');

/** Records on a request's state that it failed because storage was out of reach. */
export function markUnavailable(ctx: { state: unknown }): void {
  (ctx.state as Record<symbol, boolean>)[UNAVAILABLE] = true;
}

export function markedUnavailable(ctx: { state: unknown }): boolean {
  return (ctx.state as Record<symbol, boolean | undefined>)[UNAVAILABLE] === true;
}
