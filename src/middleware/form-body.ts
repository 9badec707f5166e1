// Reads request bodies, for every reader in the app: the pages' forms (readForm) and the admin
// API's JSON, CSV and SCIM bodies (readBody, src/routes/api/framework.ts). Each has a size limit;
// the whole body is read, so its size is checked before anything parses it.
import type { Context } from 'koa';
import { AppError } from '../services/errors.ts';

/** Largest form submission accepted, in bytes. */
export const FORM_LIMIT_BYTES = 16 * 1024;

/**
 * The request body as UTF-8 text, refused with 413 (`request.too_large`) once it is larger than
 * `limit` bytes; `tooLarge` is the message then (by default it names the limit).
 */
export async function readBody(ctx: Context, limit: number, tooLarge = `the request body is larger than ${limit} bytes`): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AppError('request.too_large', 413, tooLarge);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An application/x-www-form-urlencoded body (415 for any other type), at most FORM_LIMIT_BYTES. */
export async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new AppError('request.unsupported_media_type', 415, 'expected a form submission');
  return new URLSearchParams(await readBody(ctx, FORM_LIMIT_BYTES, 'the form is too large'));
}
