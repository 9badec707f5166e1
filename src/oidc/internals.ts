// The only code that reaches past oidc-provider's documented API: prototype methods replaced,
// properties the library sets for itself, the request context it keeps, the shape of a payload it
// stores. Everything else in src/oidc/ uses the configuration, events and models as documented.
//
// Each entry names the upstream file in panva/node-oidc-provider (lib/…) at OIDC_PROVIDER_VERSION,
// the version it was checked against. test/unit/oidc-internals.test.ts checks each one in the
// installed library (the method or property exists with the same arity, and the library still
// calls or sets it), so an upgrade that renames, drops or stops using one fails that test instead
// of silently undoing what Gatehouse relies on. After an upgrade: re-read each file named here,
// then bump OIDC_PROVIDER_VERSION.
import type { AdapterPayload, KoaContextWithOIDC } from 'oidc-provider';
import Provider from 'oidc-provider';

/** The oidc-provider version the references below were checked against (node_modules/oidc-provider/package.json). */
export const OIDC_PROVIDER_VERSION = '9.13.3';

type Prototype<T> = { prototype: T };

export interface ClientSecretHolder {
  clientId: string;
  /** The registered client_secret: here a keyed hash, or the service-account marker. */
  clientSecret?: string;
}

/**
 * lib/models/client.js `Client#compareClientSecret(actual)`, called by lib/shared/client_auth.js
 * for client_secret_basic and client_secret_post: replaced by `compare`, as the stored secret is
 * not the clear one.
 */
export function replaceClientSecretComparison(provider: Provider, compare: (client: ClientSecretHolder, presented: string) => boolean | Promise<boolean>): void {
  const prototype = (provider.Client as unknown as Prototype<{ compareClientSecret(this: ClientSecretHolder, actual: string): boolean | Promise<boolean> }>).prototype;
  prototype.compareClientSecret = function compareClientSecret(this: ClientSecretHolder, actual: string) {
    return compare(this, actual);
  };
}

/**
 * lib/models/client.js `Client#includeSid()` (true only with a backchannel_logout_uri and
 * backchannel_logout_session_required), asked by lib/helpers/process_response_types.js and
 * lib/actions/authorization/device.js before they put `sid` into an ID token: always true.
 */
export function includeSidForEveryClient(provider: Provider): void {
  const prototype = (provider.Client as unknown as Prototype<{ includeSid(): boolean }>).prototype;
  prototype.includeSid = () => true;
}

interface SessionSids {
  uid: string;
  sidFor(clientId: string, value?: string): string | undefined;
}

/**
 * lib/models/session.js `Session#ensureClientContainer(clientId)` (a random `sid` per client,
 * through `Session#sidFor(clientId, value)`), called by lib/actions/authorization/session.js:
 * the client's `sid` becomes the session's uid instead.
 */
export function sessionUidAsSid(provider: Provider): void {
  const prototype = (provider.Session as unknown as Prototype<{ ensureClientContainer(this: SessionSids, clientId: string): void }>).prototype;
  prototype.ensureClientContainer = function ensureClientContainer(this: SessionSids, clientId: string) {
    if (!this.sidFor(clientId)) this.sidFor(clientId, this.uid);
  };
}

/**
 * lib/provider.js `static get ctx()`: the context of the request being handled (an
 * AsyncLocalStorage, lib/helpers/als.js), for code oidc-provider calls without one (the adapter).
 * Undefined outside a request.
 */
export function currentContext(): KoaContextWithOIDC | undefined {
  return Provider.ctx;
}

/**
 * lib/models/session.js `Session#destroy()` sets `destroyed = true` (and lib/shared/session.js
 * then saves nothing): whether the request ended the session, e.g. "sign out of everything" at
 * the logout page.
 */
export function sessionDestroyed(session: object | undefined): boolean {
  return (session as { destroyed?: unknown } | undefined)?.destroyed === true;
}

/**
 * lib/shared/xsrf.js keeps the logout form's anti-forgery secret in `session.state.secret`;
 * lib/actions/end_session.js checks the posted `xsrf` field against it (views/logout.eta sends it).
 */
export function logoutFormSecret(session: object | undefined): string {
  return (session as { state?: { secret?: string } } | undefined)?.state?.secret ?? '';
}

export interface BackchannelClient {
  backchannelLogoutUri?: string;
  backchannelLogout(sub: string, sid: string): Promise<void>;
}

/**
 * lib/models/client.js `Client#backchannelLogout(sub, sid)` (not in @types/oidc-provider), which
 * lib/actions/end_session.js calls on sign-out: the logout token for a session ended elsewhere.
 */
export async function findBackchannelClient(provider: Provider, clientId: string): Promise<BackchannelClient | undefined> {
  return (await provider.Client.find(clientId)) as unknown as BackchannelClient | undefined;
}

/**
 * lib/models/interaction.js copies the session cookie's value into the Interaction it stores
 * (`session.cookie`): the stored copy without it, as a bearer value is never stored.
 */
export function interactionWithoutSessionCookie(payload: AdapterPayload): AdapterPayload {
  if (!payload.session || typeof payload.session !== 'object') return payload;
  const { cookie: _cookie, ...session } = payload.session as Record<string, unknown>;
  return { ...payload, session: session as AdapterPayload['session'] };
}
