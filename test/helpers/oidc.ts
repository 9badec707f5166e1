// Relying-party side of the end-to-end tests: openid-client v6 builds the requests and checks the
// responses, HttpClient plays the browser through Gatehouse's real login form.
import * as client from 'openid-client';
import type { TestGatehouse } from './gatehouse.ts';
import { formWith, HttpClient, type HttpResponse } from './http.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';

/**
 * openid-client Configuration from Gatehouse's discovery document. A client secret means
 * client_secret_basic (what Gatehouse registers for confidential apps); none means a public client.
 */
export function discover(gatehouse: Pick<TestGatehouse, 'issuer'>, clientId: string, clientSecret?: string): Promise<client.Configuration> {
  const auth = clientSecret === undefined ? client.None() : client.ClientSecretBasic(clientSecret);
  // The test issuer is plain http on loopback, which openid-client refuses unless told otherwise.
  return client.discovery(new URL(gatehouse.issuer), clientId, clientSecret, auth, { execute: [client.allowInsecureRequests] });
}

/** A confidential web application as its relying party knows it. */
export interface WebClient {
  clientId: string;
  clientSecret: string;
  config: client.Configuration;
}

/** Registers a web application named `name` that redirects to `redirectUri`, and discovers it. */
export async function createWebClient(gatehouse: Pick<TestGatehouse, 'issuer' | 'context'>, name: string, redirectUri: string): Promise<WebClient> {
  const { application, clientSecret } = await gatehouse.context.applications.create({ name, type: 'web', redirectUris: [redirectUri] }, SYSTEM_ACTOR);
  return { clientId: application.id, clientSecret: clientSecret!, config: await discover(gatehouse, application.id, clientSecret!) };
}

export interface AuthorizationOptions {
  gatehouse: Pick<TestGatehouse, 'issuer'>;
  config: client.Configuration;
  redirectUri: string;
  scope: string;
  /** RFC 8707 resource indicator. */
  resource?: string;
  /** More authorization request parameters; they override the defaults above. */
  extraParams?: Record<string, string>;
  /** The browser to use, e.g. one that already has a Gatehouse session. Default: a new one. */
  browser?: HttpClient;
}

export interface StartedAuthorization {
  browser: HttpClient;
  authorizationUrl: URL;
  codeVerifier: string;
  state: string;
  /** Where the browser ended up: the login page, or (with a session) the redirect back to the RP. */
  response: HttpResponse;
  /** Set when Gatehouse redirected straight back to the RP without showing a page. */
  callbackUrl?: URL;
}

/** Matches the redirect URI (its origin and path), which may be on the issuer's own origin. */
function isCallback(redirectUri: string): (url: URL) => boolean {
  const expected = new URL(redirectUri);
  return (url) => url.origin === expected.origin && url.pathname === expected.pathname;
}

/** Builds an authorization request (PKCE S256 + state) and follows it as a browser would. */
export async function startAuthorization(options: AuthorizationOptions): Promise<StartedAuthorization> {
  const browser = options.browser ?? new HttpClient(options.gatehouse.issuer);
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const authorizationUrl = client.buildAuthorizationUrl(options.config, {
    redirect_uri: options.redirectUri,
    scope: options.scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    ...(options.resource ? { resource: options.resource } : {}),
    ...options.extraParams,
  });
  const { response, redirect } = await browser.follow(authorizationUrl, 20, isCallback(options.redirectUri));
  return { browser, authorizationUrl, codeVerifier, state, response, ...(redirect ? { callbackUrl: redirect } : {}) };
}

/** Fills in and submits the sign-in form shown on `loginPage`; resolves to Gatehouse's direct answer. */
export async function submitLogin(browser: HttpClient, loginPage: HttpResponse, username: string, password: string): Promise<HttpResponse> {
  const form = formWith(loginPage, 'password');
  return browser.postForm(form.action, { ...form.fields, username, password });
}

export interface SignInOptions extends AuthorizationOptions {
  username: string;
  password: string;
}

export interface AuthorizedCode extends StartedAuthorization {
  callbackUrl: URL;
  /** The authorization code from the callback URL. */
  code: string;
  /** Whether the login form was shown (false when an existing session was reused). */
  loginPageShown: boolean;
}

/**
 * Runs the front channel of the authorization code flow to the point where Gatehouse redirects to
 * the RP: signs in through the login form when asked. The code is not redeemed.
 */
export async function authorize(options: SignInOptions): Promise<AuthorizedCode> {
  const started = await startAuthorization(options);
  let callbackUrl = started.callbackUrl;
  const loginPageShown = callbackUrl === undefined;
  if (!callbackUrl) {
    const answer = await submitLogin(started.browser, started.response, options.username, options.password);
    const { response, redirect } = await started.browser.follow(answer, 20, isCallback(options.redirectUri));
    if (!redirect) {
      throw new Error(`sign-in did not return to the application: ${response.status} at ${response.url.href}\n${response.body.slice(0, 2000)}`);
    }
    callbackUrl = redirect;
  }
  const redirectUri = new URL(options.redirectUri);
  if (callbackUrl.origin + callbackUrl.pathname !== redirectUri.origin + redirectUri.pathname) {
    throw new Error(`expected a redirect to ${options.redirectUri}, got ${callbackUrl.href}`);
  }
  const code = callbackUrl.searchParams.get('code');
  if (!code) throw new Error(`no code in the callback: ${callbackUrl.href}`);
  return { ...started, callbackUrl, code, loginPageShown };
}

export type TokenResponse = Awaited<ReturnType<typeof client.authorizationCodeGrant>>;

export interface SignInResult extends AuthorizedCode {
  tokens: TokenResponse;
}

/** The whole authorization code + PKCE flow through the login form, tokens checked by openid-client. */
export async function signIn(options: SignInOptions): Promise<SignInResult> {
  const authorized = await authorize(options);
  const tokens = await client.authorizationCodeGrant(options.config, authorized.callbackUrl, {
    pkceCodeVerifier: authorized.codeVerifier,
    expectedState: authorized.state,
    idTokenExpected: options.scope.split(' ').includes('openid'),
  });
  return { ...authorized, tokens };
}
