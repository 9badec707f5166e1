// One edge check for every endpoint (oidc-provider's and Gatehouse's alike): a NUL byte or another
// control character where text cannot hold one is refused with a 400 that names the field, before
// any handler sees it (OWASP ASVS 5 V1.2 / V2.2: validate input at the trust boundary). PostgreSQL
// text cannot store NUL at all, so without this such input reached the database and failed
// there as a 500. Checked: the path, every query parameter (names and values), and every field
// of a form or JSON body (keys and string values, at any depth). Tab, line feed and carriage
// return stay allowed (a description may have lines). A JSON string may also spell a lone UTF-16
// surrogate (\ud800 with no partner), which no UTF-8 text can hold: PostgreSQL refuses it in
// text and jsonb, so it is refused here the same way.
//
// A body is read here once and handed on unchanged: the request stream replays the same bytes
// to whoever reads it next (oidc-provider's parser, readForm, the API's JSON reader).
import type { Context, Next } from 'koa';
import type { IncomingMessage } from 'node:http';
import { AppError } from '../services/errors.ts';
import { holdsControlCharacter, holdsForbiddenCharacter } from '../services/text.ts';

/** A control character percent-encoded in a raw path. */
const ENCODED_CONTROL = /%(0[0-8BCEF]|1[0-9A-F]|7F)/i;
/** Bodies larger than this are not inspected here; their readers refuse them as too large. */
const INSPECT_LIMIT = 1024 * 1024;
/** oidc-provider endpoints that answer in JSON (RFC 6749 §5.2 error format). */
const OAUTH_JSON = /^\/(token(\/introspection|\/revocation)?|me|reg(\/.*)?|request)$/;

/**
 * Whether JSON text can hold a control character or a lone surrogate once parsed: JSON allows no
 * control character raw in a string except DEL, and raw UTF-8 cannot encode a surrogate, so either
 * can only come from DEL itself or an escape (\b, \f, \u0000–\u001f, \u007f, \ud800–\udfff).
 * False means none is there; true (rarely) means findInJson has to look.
 */
const JSON_CONTROL = /\x7f|\\(?:[bf]|u00[01][0-9a-f]|u007f|ud[89a-f])/i;
export function jsonMayHoldControl(text: string): boolean {
  return JSON_CONTROL.test(text);
}

/** The first field (dotted path) whose name or text holds a control character or a lone surrogate. */
export function findInJson(value: unknown, path: string, depth = 0): string | undefined {
  if (depth > 32) return undefined;
  if (typeof value === 'string') return holdsForbiddenCharacter(value) ? path || '(body)' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = findInJson(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const field = path ? `${path}.${key}` : key;
      if (holdsForbiddenCharacter(key)) return field;
      const found = findInJson(inner, field, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

export function findInParams(params: URLSearchParams): string | undefined {
  for (const [name, value] of params) if (holdsControlCharacter(name) || holdsControlCharacter(value)) return name;
  return undefined;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    chunks.push(chunk as Buffer);
    if (size > INSPECT_LIMIT) break;
  }
  return Buffer.concat(chunks);
}

/** Makes the request stream give `body` to its next reader, as if it had not been read. */
function replay(req: IncomingMessage, body: Buffer, complete: boolean): void {
  const rest = req.iterator.bind(req);
  async function* chunks() {
    yield body;
    if (!complete) for await (const chunk of rest({ destroyOnReturn: false })) yield chunk as Buffer;
  }
  Object.defineProperty(req, 'readable', { value: true, configurable: true });
  Object.defineProperty(req, 'iterator', { value: () => chunks(), configurable: true });
  Object.defineProperty(req, Symbol.asyncIterator, { value: () => chunks(), configurable: true });
}

export function rejectControlCharacters() {
  return async function controlCharacters(ctx: Context, next: Next): Promise<void> {
    let field: string | undefined;
    if (ENCODED_CONTROL.test(ctx.path) || holdsControlCharacter(ctx.path)) field = '(path)';
    field ??= findInParams(new URLSearchParams(ctx.querystring));
    const form = ctx.is('application/x-www-form-urlencoded');
    const json = ctx.is('application/json', '+json');
    if (!field && (form || json) && ctx.req.readable && (ctx.request.length ?? 0) <= INSPECT_LIMIT) {
      const body = await readAll(ctx.req);
      const complete = body.length <= INSPECT_LIMIT;
      replay(ctx.req, body, complete);
      if (complete) {
        const text = body.toString('utf8');
        if (form) field = findInParams(new URLSearchParams(text));
        else {
          try {
            field = findInJson(JSON.parse(text), '');
          } catch {
            // Not JSON: its reader answers that.
          }
        }
      }
    }
    if (!field) return next();
    if (OAUTH_JSON.test(ctx.path)) {
      ctx.status = 400;
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: 'invalid_request', error_description: controlCharacterMessage(field) };
      return;
    }
    throw controlCharacterError(field);
  };
}

function controlCharacterMessage(field: string): string {
  return `the field "${field}" contains a control character (such as NUL) or an unpaired UTF-16 surrogate, which is not allowed`;
}

/** The 400 for a field holding a control character (for a route that reads its body before this check). */
export function controlCharacterError(field: string): AppError {
  return new AppError('request.control_character', 400, controlCharacterMessage(field), { field });
}
