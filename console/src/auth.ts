// Signs the administrator in through Gatehouse as the built-in public client `gatehouse-console`:
// authorization code with PKCE S256 (RFC 7636) and state, the admin API named as the resource
// (RFC 8707), refresh tokens rotated by Gatehouse on every use. Tokens live in this page's memory
// only; a reload signs in again through the still-open Gatehouse session without a prompt.
import * as oauth from 'oauth4webapi';

export const CLIENT_ID = 'gatehouse-console';
const origin = window.location.origin;
const issuer = new URL(origin);
const client: oauth.Client = { client_id: CLIENT_ID };
const clientAuth = oauth.None();
const redirectUri = `${origin}/console/callback`;
const resource = `${origin}/api`;
// Plain http is only for a Gatehouse on loopback (development and tests).
const insecure = issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
const PENDING = 'gatehouse-console:pending';

interface Tokens {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  expiresAt: number;
}

let server: oauth.AuthorizationServer | undefined;
let tokens: Tokens | undefined;
let refreshing: Promise<void> | undefined;

async function authorizationServer(): Promise<oauth.AuthorizationServer> {
  server ??= await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
  return server;
}

function keep(result: oauth.TokenEndpointResponse): void {
  tokens = {
    accessToken: result.access_token,
    refreshToken: result.refresh_token ?? tokens?.refreshToken,
    idToken: result.id_token ?? tokens?.idToken,
    expiresAt: Date.now() + (result.expires_in ?? 60) * 1000,
  };
}

/** Sends the browser to Gatehouse's sign-in, coming back to `returnTo`. */
export async function signIn(returnTo = window.location.pathname + window.location.search, extra: Record<string, string> = {}): Promise<never> {
  const as = await authorizationServer();
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo: returnTo.startsWith('/console') ? returnTo : '/console/' }));
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid admin',
    resource,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  }).toString();
  window.location.assign(url.href);
  return new Promise<never>(() => {});
}

/** Completes the sign-in on /console/callback; returns where to go next. */
export async function completeSignIn(): Promise<string> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { verifier: string; state: string; returnTo: string } | null;
  sessionStorage.removeItem(PENDING);
  if (!pending) throw new Error('This sign-in was not started here, or was already completed. Start again.');
  const as = await authorizationServer();
  const params = oauth.validateAuthResponse(as, client, new URL(window.location.href), pending.state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, pending.verifier, { additionalParameters: { resource }, ...insecure });
  keep(await oauth.processAuthorizationCodeResponse(as, client, response));
  return pending.returnTo;
}

async function refresh(): Promise<void> {
  const refreshToken = tokens?.refreshToken;
  if (!refreshToken) await signIn();
  const as = await authorizationServer();
  try {
    const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken!, { additionalParameters: { resource }, ...insecure });
    keep(await oauth.processRefreshTokenResponse(as, client, response));
  } catch {
    // The session ended (signed out elsewhere, ended by an administrator): sign in again.
    tokens = undefined;
    await signIn();
  }
}

/** A valid access token for the admin API, refreshed shortly before it expires. */
export async function accessToken(): Promise<string> {
  if (!tokens) await signIn();
  if (tokens!.expiresAt - 30_000 < Date.now()) {
    refreshing ??= refresh().finally(() => (refreshing = undefined));
    await refreshing;
  }
  return tokens!.accessToken;
}

/** Forgets the access token after the API refused it (401); the next call refreshes. */
export function expire(): void {
  if (tokens) tokens.expiresAt = 0;
}

export function hasTokens(): boolean {
  return tokens !== undefined;
}

/** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2), back to the console's start. */
export async function signOut(): Promise<void> {
  const as = await authorizationServer();
  const url = new URL(as.end_session_endpoint!);
  url.search = new URLSearchParams({ client_id: CLIENT_ID, post_logout_redirect_uri: `${origin}/console/`, ...(tokens?.idToken ? { id_token_hint: tokens.idToken } : {}) }).toString();
  tokens = undefined;
  window.location.assign(url.href);
}
