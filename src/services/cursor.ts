// Keyset-pagination cursors: the sort key of a page's last row, as base64url JSON, opaque to
// clients. A cursor that does not parse back into the expected key is refused with a clear error.
import type { z } from 'zod';
import { AppError } from './errors.ts';

export function encodeCursor(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>, code: string): T {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const parsed = schema.safeParse(decoded);
  if (!parsed.success) throw new AppError(code, 400, 'the cursor is not one this API returned');
  return parsed.data;
}

/**
 * One page out of rows fetched with a limit one higher than the page size: the extra row only tells
 * that another page exists (no count query). The next cursor is the last kept row's key.
 */
export function pageOf<T>(rows: readonly T[], limit: number, cursorOf: (last: T) => string): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
