// Sessions in the OIDC layer (services/sessions.ts holds the rules):
// - withSessionChecks: the adapter of Session, RefreshToken and AccessToken asks the session
//   service on every read whether the session behind it is still open (not ended, not idle past
//   its timeout, not past its absolute lifetime, and for refresh tokens within the
//   application's stricter limits). A closed session reads as absent, so oidc-provider refuses
//   it exactly as it refuses a missing one, on whichever node the request lands.
// - recordSessions: after an authorization request, records a password sign-in (device,
//   address) and each grant issued in the session, which is what ending the session revokes.
// - installSessionHooks: `sid` is the session uid for every client (so ID tokens, access tokens
//   and logout tokens name the session the same way, as in OIDC Back-Channel Logout 1.0 §2.4),
//   RP-initiated logout ends the session record, and ended sessions send logout tokens
//   (OIDC Back-Channel Logout 1.0 §2.5) to the applications that have a backchannel_logout_uri.
import type { Adapter, AdapterPayload, KoaContextWithOIDC } from 'oidc-provider';
import type { Provider } from './provider.ts';
import type { Logger } from '../logger.ts';
import { describeDevice } from '../services/devices.ts';
import type { GrantIdentityService } from '../services/grant-identities.ts';
import type { EndedSession, SessionService } from '../services/sessions.ts';
import { PREFETCHED_SESSION, type PrefetchedSession } from './adapter.ts';
import { grantIdentityOf, type RequestMemo } from './identity.ts';
import { currentContext, findBackchannelClient, includeSidForEveryClient, sessionDestroyed, sessionUidAsSid } from './internals.ts';

type AdapterFactory = (model: string) => Adapter;

/** Browser routes: their address is the user's, worth recording as the session's. */
const BROWSER_ROUTES = new Set(['authorization', 'resume']);

function currentRequest(): { ip?: string; route?: string } {
  const ctx = currentContext();
  if (!ctx) return {};
  const route = ctx.oidc?.route;
  return { route, ip: route && BROWSER_ROUTES.has(route) ? ctx.ip : undefined };
}

class SessionCheckedAdapter implements Adapter {
  constructor(
    private readonly model: 'Session' | 'RefreshToken' | 'AccessToken',
    private readonly base: Adapter,
    private readonly sessions: SessionService,
  ) {}

  private async open(payload: AdapterPayload | undefined | void): Promise<AdapterPayload | undefined> {
    if (!payload) return undefined;
    // The session's hot copy, when the adapter read it with the payload: this request's own read.
    const prefetched = (payload as Record<symbol, PrefetchedSession | undefined>)[PREFETCHED_SESSION];
    delete (payload as Record<symbol, unknown>)[PREFETCHED_SESSION];
    const hotOf = (uid: string) => (prefetched?.uid === uid ? { hot: { raw: prefetched.raw } } : {});
    const request = currentRequest();
    if (this.model === 'Session') {
      // A session nobody signed in to yet (an interaction in progress) has no record to check.
      if (!payload.accountId || !payload.uid) return payload;
      const verdict = await this.sessions.check(payload.uid, { activity: true, ip: request.ip, ...hotOf(payload.uid) });
      return verdict.alive && verdict.userId === payload.accountId ? payload : undefined;
    }
    if (!payload.sessionUid) return payload; // client credentials: no session
    const use = this.model === 'RefreshToken' ? { clientId: payload.clientId, grantId: payload.grantId, activity: request.route === 'token' } : {};
    const verdict = await this.sessions.check(payload.sessionUid, { ...use, ...hotOf(payload.sessionUid) });
    return verdict.alive ? payload : undefined;
  }

  upsert(id: string, payload: AdapterPayload, expiresIn: number) {
    return this.base.upsert(id, payload, expiresIn);
  }
  async find(id: string) {
    return this.open(await this.base.find(id));
  }
  async findByUid(uid: string) {
    return this.open(await this.base.findByUid(uid));
  }
  findByUserCode(userCode: string) {
    return this.base.findByUserCode(userCode);
  }
  consume(id: string) {
    return this.base.consume(id);
  }
  destroy(id: string) {
    return this.base.destroy(id);
  }
  revokeByGrantId(grantId: string) {
    return this.base.revokeByGrantId(grantId);
  }
}

export function withSessionChecks(factory: AdapterFactory, sessions: SessionService): AdapterFactory {
  return (model) => {
    const base = factory(model);
    return model === 'Session' || model === 'RefreshToken' || model === 'AccessToken' ? new SessionCheckedAdapter(model, base, sessions) : base;
  };
}

/**
 * Runs after oidc-provider answered an authorization request (outside recordGrantIdentity, so the
 * grant's identity is known): a password sign-in creates or renews the session record before
 * the response that carries the new session cookie leaves, so no request can use the session
 * before it has a record; an issued code records its grant in the session.
 */
export function recordSessions(deps: { sessions: SessionService; grantIdentities: GrantIdentityService; requestMemo: RequestMemo; tenantId: string }) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const route = ctx.oidc?.route;
    if (route !== 'authorization' && route !== 'resume') return;
    const session = ctx.oidc.session;
    const accountId = session?.accountId;
    if (!session || !accountId || sessionDestroyed(session)) return;
    const result = ctx.oidc.result as { login?: unknown } | undefined;
    if (route === 'resume' && result?.login) {
      await deps.sessions.recordSignIn({
        tenantId: deps.tenantId,
        uid: session.uid,
        userId: accountId,
        device: describeDevice(ctx.get('user-agent')),
        ip: ctx.ip || null,
      });
    }
    const grantId = ctx.oidc.entities.Grant?.jti;
    const clientId = ctx.oidc.client?.clientId;
    if (!ctx.oidc.entities.AuthorizationCode || !grantId || !clientId) return;
    // recordGrantIdentity (inside this middleware) has just recorded it in the request's memo.
    const identityId = (await grantIdentityOf(deps, ctx, grantId)) ?? null;
    await deps.sessions.recordGrant({ tenantId: deps.tenantId, sessionUid: session.uid, userId: accountId, clientId, grantId, identityId });
  };
}

export function installSessionHooks(provider: Provider, deps: { sessions: SessionService; tenantId: string; logger: Logger }): void {
  const { sessions, tenantId, logger } = deps;

  // One `sid` per browser session for every client: the session uid (oidc-provider would make
  // one per client). Tokens, logout tokens and the session lists then share one identifier.
  sessionUidAsSid(provider);

  // `sid` in every ID token, not only for clients with a back-channel logout URI: discovery
  // advertises backchannel_logout_session_supported, and a client registering a logout URI later
  // must be able to match logout tokens to sessions it already holds (Back-Channel Logout 1.0 §2.1).
  includeSidForEveryClient(provider);

  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const session = ctx.oidc.session;
    // "Stay signed in" at the logout page only ends one application's part: the session lives on.
    if (!session || !sessionDestroyed(session) || !session.uid) return;
    void sessions
      .recordSignOut(tenantId, session.uid, { actorType: 'user', actorId: session.accountId ?? null, ip: ctx.ip, userAgent: ctx.get('user-agent') || null })
      .catch((error: unknown) => logger.error({ err: error }, 'could not record a sign-out'));
  });
  provider.on('backchannel.error', (_ctx: KoaContextWithOIDC, err: Error, client: { clientId: string }) => {
    logger.warn({ clientId: client.clientId, error: err.message }, 'back-channel logout failed');
  });

  sessions.onEnded((ended: EndedSession[]) => {
    for (const session of ended) {
      for (const clientId of session.clientIds) {
        void (async () => {
          const client = await findBackchannelClient(provider, clientId);
          if (!client?.backchannelLogoutUri) return;
          await client.backchannelLogout(session.userId, session.uid);
        })().catch((error: unknown) => logger.warn({ clientId, error: (error as Error).message }, 'back-channel logout failed'));
      }
    }
  });
}
