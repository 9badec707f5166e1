// Parses application/x-www-form-urlencoded bodies of the interaction forms, with a size limit.
import type { Context } from 'koa';
import { AppError } from '../services/errors.ts';

const LIMIT_BYTES = 16 * 1024;

export async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new AppError('request.unsupported_media_type', 415, 'expected a form submission');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > LIMIT_BYTES) throw new AppError('request.too_large', 413, 'the form is too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
