// Assertion helpers shared by the test files.
import assert from 'node:assert/strict';
import { AppError } from '../../src/services/errors.ts';

/** assert.rejects validator: an AppError with this code (and status). */
export function appError(code: string, status?: number) {
  return (error: unknown): true => {
    assert.ok(error instanceof AppError, `expected an AppError, got: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (status !== undefined) assert.equal(error.status, status);
    return true;
  };
}

/** Polls until `find` returns something (for what is written without being awaited, such as audit events). */
export async function eventually<T>(find: () => Promise<T | undefined>, what: string, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
