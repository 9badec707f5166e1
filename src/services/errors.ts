// One error type for everything a caller can cause: a stable code ("area.reason"), an HTTP status
// and a message safe to show. Anything else is an internal error and shown as such.
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
