// The admin API client, typed from Gatehouse's own OpenAPI document (schema.d.ts is generated
// by `npm run generate` from the document the server serves).
import createClient from 'openapi-fetch';
import { accessToken, expire } from '../auth.ts';
import type { paths } from './schema';

export const api = createClient<paths>({ baseUrl: window.location.origin });

api.use({
  async onRequest({ request }) {
    request.headers.set('authorization', `Bearer ${await accessToken()}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) expire();
    return response;
  },
});

/** A refusal from the admin API (RFC 9457 problem details), readable as it stands. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The data of an openapi-fetch result, or an ApiError with the API's own message. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    const problem = (error ?? {}) as { title?: string; code?: string };
    throw new ApiError(response.status, problem.code ?? 'error', problem.title ?? `The request failed (${response.status}).`);
  }
  return data as T;
}
