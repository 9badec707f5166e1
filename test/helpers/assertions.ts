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
