// The body of a PATCH: some of a resource's fields, each optional, nothing else.
import { z } from 'zod';

/** A PATCH body of `shape`'s optional fields: unknown fields are refused, and one field at least is given (else `message`). */
export function patchSchema<S extends z.ZodRawShape>(shape: S, message: string) {
  return z
    .object(shape)
    .strict()
    .refine((patch) => Object.values(patch).some((value) => value !== undefined), message);
}
