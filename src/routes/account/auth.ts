// Who is signed in to the account pages (/account/...). The pages ride on the OpenID Provider's
// own browser session: a visitor without one is sent through the normal authorization code
// flow of the built-in first-party client `gatehouse-account` (so sign-in, lockout, MFA and every
// other step of the sign-in flow apply unchanged), and the callback only checks the state and
// consumes the code server-side. Forms carry a CSRF token bound to the session.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { Provider } from '../../oidc/provider.ts';
import { ACCOUNT_CLIENT_ID } from '../../services/applications.ts';
import { AppError } from '../../services/errors.ts';
import { randomToken } from '../../services/secrets.ts';
import type { User, UserService } from '../../services/users.ts';

/** The signed-in user of an account page. */
export interface AccountVisitor {
  user: User;
  /** oidc-provider's session id (jti): what the CSRF token is bound to. */
  sessionId: string;
  /** oidc-provider's session uid (the `sid` of ID tokens). */
  sessionUid: string;
}

export interface AccountAuth {
  /** The visitor, or undefined when nobody (active) is signed in. */
  visitor(ctx: Context): Promise<AccountVisitor | undefined>;
  /** The visitor, or a redirect to sign-in that returns to this page (and undefined). */
  require(ctx: Context): Promise<AccountVisitor | undefined>;
  csrfToken(visitor: AccountVisitor): string;
  /** Throws 403 account.csrf unless the form carries this session's token. */
  verifyCsrf(visitor: AccountVisitor, form: URLSearchParams): void;
  /** Where sign-in starts: builds the authorization request and remembers where to return. */
  startSignIn(ctx: Context, returnTo: string): void;
  /** The redirect_uri: checks state, consumes the code, returns where to go next. */
  finishSignIn(ctx: Context): Promise<string>;
}

const FLOW_COOKIE = 'gh_account_flow';
const FLOW_TTL_MS = 10 * 60_000;

/** Only our own account pages are allowed as return targets: no open redirect. */
export function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/account(\/[A-Za-z0-9/_-]*)?(\?[A-Za-z0-9=&_%-]*)?$/.test(value) ? value : '/account';
}

export function createAccountAuth(deps: { provider: Provider; users: UserService; issuer: string; hashKey: Buffer }): AccountAuth {
  const { provider, users, issuer } = deps;
  const csrfKey = createHmac('sha256', deps.hashKey).update('gatehouse account csrf').digest();

  const csrfToken = (visitor: AccountVisitor) => createHmac('sha256', csrfKey).update(visitor.sessionId).digest('base64url');

  async function visitor(ctx: Context): Promise<AccountVisitor | undefined> {
    const session = await provider.Session.get(ctx);
    const accountId = session.accountId;
    if (!accountId) return undefined;
    const user = await users.findById(accountId);
    if (!user || user.status !== 'active') return undefined;
    return { user, sessionId: session.jti, sessionUid: session.uid };
  }

  return {
    visitor,
    csrfToken,
    async require(ctx) {
      const found = await visitor(ctx);
      if (found) return found;
      const returnTo = safeReturnTo(ctx.method === 'GET' ? ctx.originalUrl : '/account');
      ctx.redirect(`/account/signin?return_to=${encodeURIComponent(returnTo)}`);
      return undefined;
    },
    verifyCsrf(found, form) {
      const given = Buffer.from(form.get('_csrf') ?? '');
      const wanted = Buffer.from(csrfToken(found));
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
        throw new AppError('account.csrf', 403, 'This form has expired. Go back, reload the page and try again.');
      }
    },
    startSignIn(ctx, returnTo) {
      const state = randomToken(24);
      // PKCE is required of this public client. The verifier is thrown away: the code is
      // consumed server-side at the callback and never redeemed, so a stolen one is worthless.
      const challenge = createHash('sha256').update(randomToken(32)).digest('base64url');
      ctx.cookies.set(FLOW_COOKIE, JSON.stringify({ state, returnTo: safeReturnTo(returnTo) }), {
        signed: true,
        httpOnly: true,
        sameSite: 'lax',
        path: '/account',
        maxAge: FLOW_TTL_MS,
        secure: ctx.secure,
      });
      const url = new URL('/auth', issuer);
      url.search = new URLSearchParams({
        client_id: ACCOUNT_CLIENT_ID,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: `${issuer}/account/callback`,
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      ctx.redirect(url.pathname + url.search);
    },
    async finishSignIn(ctx) {
      const raw = ctx.cookies.get(FLOW_COOKIE, { signed: true });
      ctx.cookies.set(FLOW_COOKIE, null, { path: '/account' });
      let flow: { state?: unknown; returnTo?: unknown } = {};
      try {
        flow = raw ? (JSON.parse(raw) as typeof flow) : {};
      } catch {
        flow = {};
      }
      const state = ctx.query.state;
      const expired = new AppError('account.signin_expired', 400, 'This sign-in has expired or was started in another window. Open your account page again.');
      if (typeof flow.state !== 'string' || typeof state !== 'string' || Buffer.byteLength(state) !== Buffer.byteLength(flow.state) || !timingSafeEqual(Buffer.from(state), Buffer.from(flow.state))) throw expired;
      if (typeof ctx.query.error === 'string') throw new AppError('account.signin_cancelled', 400, 'Sign-in was cancelled. Open your account page again to sign in.');
      const value = ctx.query.code;
      if (typeof value !== 'string' || value.length > 200) throw expired;
      const code = await provider.AuthorizationCode.find(value);
      const session = await provider.Session.get(ctx);
      if (!code || code.clientId !== ACCOUNT_CLIENT_ID || code.isExpired || !session.accountId || code.accountId !== session.accountId) throw expired;
      // Atomic in the store: the code is used up here, whoever else holds it.
      await code.consume();
      return safeReturnTo(flow.returnTo);
    },
  };
}
