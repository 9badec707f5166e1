// One error type for everything a caller can cause: a stable code ("area.reason"), an HTTP status
// and a message safe to show. Anything else is an internal error and shown as such.
import type { z } from 'zod';
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export function assertThat(condition: unknown, code: string, status: number, message: string): asserts condition {
  if (!condition) throw new AppError(code, status, message);
}

/**
 * A zod failure as a 400: each issue as `path: message` (the message alone for the root), all of
 * them in `details.issues`. `where` prefixes every path (`body`, `query`).
 */
export function invalidInput(code: string, error: z.ZodError, where?: string): AppError {
  const issues = error.issues.map((i) => ({ path: [...(where ? [where] : []), ...i.path.map(String)].join('.'), message: i.message }));
  return new AppError(code, 400, issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), { issues });
}

/** Parses `input` with `schema`, or throws `invalidInput(code, …)`. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, code: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalidInput(code, parsed.error);
  return parsed.data;
}
