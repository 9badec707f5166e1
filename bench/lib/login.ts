// The full password sign-in, as a browser and a relying party do it, in a loop per worker:
//   GET /auth (PKCE S256)            -> 303 /interaction/:uid
//   GET /interaction/:uid            -> 200 login form
//   POST /interaction/:uid/login     -> 303 /auth/:uid              (one argon2id verification)
//   GET /auth/:uid                   -> 303 redirect_uri?code=...   (or the identity page first:)
//     GET /interaction/:uid2         -> 200 identity selection
//     POST .../select-identity       -> 303 /auth/:uid2 -> 303 redirect_uri?code=...
//   POST /token (authorization_code + code_verifier, client_secret_basic) -> tokens
// Each worker signs in as a new browser (empty cookie jar) every time, so every flow creates a
// session and verifies a password. Latency is recorded per flow and per step.
import { createHash, randomBytes } from 'node:crypto';
import { basicAuth, CookieJar, formBody, formContaining, type LeanHttp, selectedOption, type LeanResponse } from './http.ts';
import { LatencyRecorder } from './stats.ts';

export interface LoginTarget {
  origin: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scope: string;
  resource?: string;
  password: string;
}

export interface LoginTokens {
  accessToken: string;
  refreshToken?: string;
}

export interface LoginRound {
  completed: number;
  failed: number;
  seconds: number;
  flow: LatencyRecorder;
  steps: Record<string, LatencyRecorder>;
  /** Logins that showed the identity-selection page. */
  withIdentityPage: number;
  firstError?: string;
}

const base64url = (buffer: Buffer) => buffer.toString('base64url');

class FlowError extends Error {}

function expectRedirect(response: LeanResponse, step: string): string {
  const location = response.headers.location;
  if (response.status < 300 || response.status > 399 || !location) {
    throw new FlowError(`${step}: expected a redirect, got ${response.status}: ${response.body.slice(0, 300).replace(/\s+/g, ' ')}`);
  }
  return location;
}

/** One complete sign-in; returns the tokens. `timed` records each step's latency. */
export async function signInOnce(http: LeanHttp, target: LoginTarget, username: string, timed: (step: string, ms: number) => void): Promise<{ tokens: LoginTokens; identityPage: boolean }> {
  const jar = new CookieJar();
  const origin = new URL(target.origin);
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier).digest());
  const state = base64url(randomBytes(12));
  const query = new URLSearchParams({
    client_id: target.clientId,
    response_type: 'code',
    scope: target.scope,
    redirect_uri: target.redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    ...(target.resource ? { resource: target.resource } : {}),
  });

  const send = async (step: string, method: string, path: string, body?: string, extra: Record<string, string> = {}): Promise<LeanResponse> => {
    const headers: Record<string, string> = { ...extra };
    const cookie = jar.header();
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const started = performance.now();
    const response = await http.request(method, path, headers, body);
    timed(step, performance.now() - started);
    jar.store(response.headers['set-cookie']);
    return response;
  };
  const pathOf = (location: string) => {
    const url = new URL(location, origin);
    return url.origin === origin.origin ? `${url.pathname}${url.search}` : undefined;
  };

  let location = expectRedirect(await send('authorize', 'GET', `/auth?${query}`), 'GET /auth');
  let identityPage = false;
  let code: string | undefined;
  for (let hop = 0; hop < 8 && !code; hop += 1) {
    const path = pathOf(location);
    if (!path) {
      const callback = new URL(location);
      code = callback.searchParams.get('code') ?? undefined;
      if (!code) throw new FlowError(`redirected to the application without a code: ${location}`);
      if (callback.searchParams.get('state') !== state) throw new FlowError('state mismatch');
      break;
    }
    const isInteraction = path.startsWith('/interaction/');
    const page = await send(isInteraction ? 'interaction page' : 'resume', 'GET', path);
    if (page.status >= 300 && page.status <= 399) {
      location = expectRedirect(page, `GET ${path}`);
      continue;
    }
    if (page.status !== 200) throw new FlowError(`GET ${path}: ${page.status}: ${page.body.slice(0, 300).replace(/\s+/g, ' ')}`);
    const login = formContaining(page.body, 'name="password"');
    if (login) {
      const answer = await send('login POST', 'POST', login.action, formBody({ ...login.fields, username, password: target.password }));
      location = expectRedirect(answer, 'POST login');
      continue;
    }
    const select = formContaining(page.body, 'name="identity_id"');
    const identityId = select ? selectedOption(page.body, 'identity_id') : undefined;
    if (select && identityId) {
      identityPage = true;
      const answer = await send('identity POST', 'POST', select.action, formBody({ ...select.fields, identity_id: identityId }));
      location = expectRedirect(answer, 'POST select-identity');
      continue;
    }
    throw new FlowError(`unexpected page at ${path}: ${page.body.slice(0, 300).replace(/\s+/g, ' ')}`);
  }
  if (!code) throw new FlowError('no authorization code after 8 redirects');

  const tokenResponse = await send('token', 'POST', '/token', formBody({ grant_type: 'authorization_code', code, redirect_uri: target.redirectUri, code_verifier: verifier }), { authorization: basicAuth(target.clientId, target.clientSecret) });
  if (tokenResponse.status !== 200) throw new FlowError(`POST /token: ${tokenResponse.status}: ${tokenResponse.body.slice(0, 300)}`);
  const tokens = JSON.parse(tokenResponse.body) as { access_token?: string; refresh_token?: string };
  if (!tokens.access_token) throw new FlowError('no access_token in the token response');
  return { tokens: { accessToken: tokens.access_token, ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}) }, identityPage };
}

/**
 * `workers` concurrent sign-in loops for `seconds`; users are taken round-robin. Tokens of
 * successful logins go to `onTokens` (the refresh, introspection and userinfo pools).
 */
export async function runLogins(options: { http: LeanHttp; target: LoginTarget; users: string[]; workers: number; seconds: number; onTokens?: (tokens: LoginTokens) => void }): Promise<LoginRound> {
  const round: LoginRound = { completed: 0, failed: 0, seconds: 0, flow: new LatencyRecorder(), steps: {}, withIdentityPage: 0 };
  const timed = (step: string, ms: number) => (round.steps[step] ??= new LatencyRecorder()).record(ms);
  let next = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.workers }, async () => {
      while (performance.now() < deadline) {
        const username = options.users[next++ % options.users.length]!;
        const flowStarted = performance.now();
        try {
          const { tokens, identityPage } = await signInOnce(options.http, options.target, username, timed);
          round.flow.record(performance.now() - flowStarted);
          round.completed += 1;
          if (identityPage) round.withIdentityPage += 1;
          options.onTokens?.(tokens);
        } catch (error) {
          round.failed += 1;
          round.firstError ??= (error as Error).message;
          // A broken flow must not spin: back off a little before the next attempt.
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }),
  );
  // Flows still running at the deadline finish and count: the round lasts until the last one ends.
  round.seconds = (performance.now() - started) / 1000;
  return round;
}
