// The HTTP server: oidc-provider's Koa app with Gatehouse's middleware and routes in front of it.
import http from 'node:http';
import type Router from '@koa/router';
import type Koa from 'koa';
import type { AddressInfo } from 'node:net';
import type { GatehouseContext } from './context.ts';
import { redactUrl } from './logger.ts';
import { rejectControlCharacters } from './middleware/control-chars.ts';
import { errorHandler } from './middleware/error-handler.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { createAdapterFactory, revokeGrant } from './oidc/adapter.ts';
import { rehashLegacyPayloadIds, withHashedIds } from './oidc/hashed-ids.ts';
import { createFindAccount } from './oidc/account.ts';
import { buildConfiguration } from './oidc/configuration.ts';
import { createProvider } from './oidc/provider.ts';
import { mountMiddleware } from './oidc/middleware-order.ts';
import { introspectJwtAccessTokens, nativePostMethods, postAsGet, revocationWithoutContentType } from './oidc/protocol.ts';
import { createHealthRouter } from './routes/health.ts';
import { createInteractionRouter } from './routes/interactions.ts';
import { createAssetsRouter } from './routes/assets.ts';
import { loadSigningKeys } from './services/signing-keys.ts';
import { createRenderer } from './views/render.ts';
import { createRequestMemo, recordGrantIdentity, type IdentityFlowDeps } from './oidc/identity.ts';
import { installSessionHooks, recordSessions, withSessionChecks } from './oidc/sessions.ts';
import { createAccountSessionsRouter } from './routes/account/sessions.ts';
import { adminApiAudience, createApiAuthenticator } from './routes/api/auth.ts';
import { createApiRouter } from './routes/api/index.ts';
import { permissionCatalog } from './routes/api/framework.ts';
import { decisionEndpoints, decisionListener } from './routes/api/access-evaluation.ts';
import { ensureSystemRoles } from './services/system-roles.ts';
import { refreshReuseGraceOf } from './services/applications.ts';
import { sessionHotKey } from './services/sessions.ts';
import { createIdentitySelectionService } from './services/identity-selection.ts';
import { createAccountAuth } from './routes/account/auth.ts';
import { createAccountRouter } from './routes/account/index.ts';
import { createAccountSecurityRouter } from './routes/account/security.ts';
import { consoleFiles } from './routes/console.ts';
import { createAccountPasskeyRouter } from './routes/account/passkeys.ts';
import { scheduledJobs } from './wiring.ts';
import { httpTelemetry, observeGrants } from './telemetry/instrument.ts';

/** The AuthZEN decision endpoints (OpenID AuthZEN Authorization API 1.0 §6, §7). */
const DECISION_PATHS = /^\/access\/v1\/evaluations?$/i;

/** Every route of the account routers is /account or below it. */
const ACCOUNT_PATHS = /^\/account(\/|$)/i;

/**
 * A router's routes and allowed methods, run only for the paths `prefix` matches (routers
 * match paths case-insensitively, so does `prefix`): every other request (tokens, JWKS, the
 * other routers' pages) skips matching its path against each of the router's routes.
 */
function under(prefix: RegExp, router: Router) {
  const routes = router.routes();
  const methods = router.allowedMethods();
  // The router sets `params` and `router` on the context itself, which its types require upfront.
  return (ctx: Koa.ParameterizedContext, next: () => Promise<unknown>) => (prefix.test(ctx.path) ? routes(ctx as Parameters<typeof routes>[0], () => methods(ctx as Parameters<typeof methods>[0], next)) : next());
}

export interface RunningServer {
  readonly url: string;
  readonly issuer: string;
  readonly port: number;
  /**
   * Clean shutdown: /readyz turns 503 (for config.shutdownDelaySeconds while still serving),
   * the listener closes, the scheduled jobs stop at a safe point and in-flight requests finish,
   * each bounded by config.shutdownTimeoutSeconds, after which remaining connections are cut.
   */
  close(): Promise<void>;
}

export interface StartServerOptions {
  port: number;
  host: string;
  /** Start the scheduled jobs' timers (default true). Tests run jobs with runIfDue instead. */
  scheduledJobs?: boolean;
  /** Already listening on port/host, made by listenHttp; otherwise startServer binds it. */
  server?: http.Server;
}

/** A listen() that failed for a reason the operator fixes (port taken, not permitted). */
export class ListenError extends Error {}

/**
 * Binds the HTTP port. `gatehouse start` does it before opening the database, so a port in use
 * is one line before any migration runs.
 */
/** The app of a listening server: undefined until built; requests that come sooner wait for it. */
interface AppSlot {
  handle?: http.RequestListener;
  ready: Promise<void>;
  attach(handle: http.RequestListener): void;
  fail(): void;
}

const appSlots = new WeakMap<http.Server, AppSlot>();

function createAppSlot(): AppSlot {
  let resolve!: () => void;
  let reject!: () => void;
  const ready = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  ready.catch(() => {});
  const slot: AppSlot = {
    ready,
    attach(handle) {
      slot.handle = handle;
      resolve();
    },
    fail: () => reject(),
  };
  return slot;
}

/**
 * Binds the port before anything else runs (a port in use is then a one-line error before
 * migrations). The request handler is in place from the start: a request that arrives before
 * the app is built waits for it (or gets 503 if building it fails) instead of finding no handler
 * and never being answered.
 */
export async function listenHttp(port: number, host: string): Promise<http.Server> {
  const slot = createAppSlot();
  const server = http.createServer((req, res) => {
    if (slot.handle) return void slot.handle(req, res);
    slot.ready.then(
      () => slot.handle!(req, res),
      () => {
        res.statusCode = 503;
        res.setHeader('connection', 'close');
        res.end();
      },
    );
  });
  appSlots.set(server, slot);
  server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      if (error.code === 'EADDRINUSE') reject(new ListenError(`${where} is already in use by another process: stop it or choose another PORT/HOST.`));
      else if (error.code === 'EACCES') reject(new ListenError(`not permitted to listen on ${where}: choose a PORT above 1023 or grant the permission.`));
      else if (error.code === 'EADDRNOTAVAIL') reject(new ListenError(`cannot listen on ${where}: HOST is not an address of this machine.`));
      else reject(error);
    });
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  return server;
}

export async function startServer(context: GatehouseContext, options: StartServerOptions): Promise<RunningServer> {
  const server = options.server ?? (await listenHttp(options.port, options.host));
  try {
    return await buildApp(context, options, server);
  } catch (error) {
    appSlots.get(server)?.fail();
    throw error;
  }
}

async function buildApp(context: GatehouseContext, options: StartServerOptions, server: http.Server): Promise<RunningServer> {
  const { config, logger } = context;
  const { port } = server.address() as AddressInfo;
  // Without a configured issuer, follow the port actually bound (tests listen on port 0).
  const host = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  const issuer = config.issuer ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const renderer = createRenderer({ cache: config.production, defaultLocale: () => context.tenantSettings.defaultLocaleOf(context.tenantId) });
  const jwks = await loadSigningKeys(context.queries, { tenantId: context.tenantId, encryptionKey: context.keys.encryptionKey });
  const identityFlow: IdentityFlowDeps = {
    requestMemo: createRequestMemo(),
    authorization: context.authorization,
    serviceAccountIdentity: async (clientId) => (await context.serviceAccounts.findForOidc(clientId))?.identityId ?? undefined,
    grantIdentities: context.grantIdentities,
    eligibleIdentities: (userId, clientId) => context.appAccess.eligibleIdentities(userId, clientId),
    identityEligible: (userId, identityId, clientId) => context.appAccess.identityEligible(userId, identityId, clientId),
    userActive: async (userId) => (await context.users.findForOidc(userId))?.status === 'active',
    revokeGrant: async (grantId, ineligible) => {
      await revokeGrant({ store: context.store, payloads: context.payloads }, grantId);
      // A grant ended because its user left the application's access list (or its kind or status no longer fits).
      if (ineligible)
        await context.audit.record({
          tenantId: context.tenantId,
          action: 'grant.revoked',
          actorType: 'system',
          actorId: null,
          targetType: 'user',
          targetId: ineligible.accountId,
          details: { grantId, clientId: ineligible.clientId, reason: 'no_longer_eligible' },
        });
    },
    adminApiAudience: adminApiAudience(issuer),
  };
  const apiServices = { ...context, issuer };
  const publicJwks = jwks.map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub }) => pub);
  const authenticateApi = createApiAuthenticator({ issuer, publicJwks, authorization: context.authorization, users: context.users, serviceAccounts: context.serviceAccounts, tenantId: context.tenantId, sessions: context.sessions });
  const api = createApiRouter(apiServices, authenticateApi);
  // System roles follow the route table: a new admin route's permission reaches Admin at start.
  await ensureSystemRoles(
    context.queries,
    context.tenantId,
    permissionCatalog(api.routes).map((p) => p.name),
  );
  await context.authorization.invalidateAll();
  await context.applications.ensureAccountClient(issuer);
  await context.applications.ensureConsoleClient(issuer);

  // Artefacts stored under their raw value by an older version move under their keyed hash.
  await rehashLegacyPayloadIds(context.payloads, context.keys.hashKey);
  const configuration = buildConfiguration({
    config,
    issuer,
    adapter: withSessionChecks(
      withHashedIds(
        createAdapterFactory({
          store: context.store,
          payloads: context.payloads,
          applications: context.applications,
          serviceAccounts: context.serviceAccounts,
          tenantId: context.tenantId,
          grantIndexTtl: config.refreshTokenTtl,
          refreshReuseGraceSeconds: async (clientId) => {
            const app = clientId ? await context.applications.findForOidc(clientId) : undefined;
            return app ? refreshReuseGraceOf(app) : 0;
          },
          sessionHotPrefix: sessionHotKey(''),
          grantIdentities: context.grantIdentities,
        }),
        { hashKey: context.keys.hashKey, store: context.store },
      ),
      context.sessions,
    ),
    findAccount: createFindAccount({ users: context.users, authorization: context.authorization, grantIdentities: context.grantIdentities, requestMemo: identityFlow.requestMemo, identityFlow }),
    jwks,
    cookieKeys: context.keys.cookieKeys,
    applications: context.applications,
    apiResources: context.apiResources,
    renderer,
    identityFlow,
    mfaRequired: (accountId, clientId) => context.passwordPolicies.mfaRequired(context.tenantId, accountId, clientId),
    sessions: context.sessions,
  });
  if (!config.issuer) context.tenantSettings.configure(issuer);
  const provider = createProvider({ issuer, configuration, hashKey: context.keys.hashKey, serviceAccounts: context.serviceAccounts, trustProxy: config.trustProxy, logger, audit: context.audit, tenantId: context.tenantId });
  installSessionHooks(provider, { sessions: context.sessions, tenantId: context.tenantId, logger });

  // Request lines are debug output: below that level the middleware is not even mounted, so a
  // token request does not pay for building a log entry that is thrown away.
  const requestLog = logger.isLevelEnabled('debug')
    ? async (ctx: Koa.Context, next: () => Promise<unknown>) => {
        const started = process.hrtime.bigint();
        await next();
        logger.debug({ method: ctx.method, url: redactUrl(ctx.url), status: ctx.status, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'request');
      }
    : undefined;
  observeGrants(provider);
  // The AuthZEN decision endpoints: their two routes, from the same route table, served by a
  // middleware of their own that reads and checks the body once (src/routes/api/access-evaluation.ts).
  const decisionRoutes = api.routes.filter((route) => route.absolute && DECISION_PATHS.test(route.path));
  const decisions = decisionEndpoints(decisionRoutes, authenticateApi);
  const telemetry = httpTelemetry();
  // The common decision request is answered before Koa, unless the request log or telemetry
  // (Koa middleware both) must see every request.
  const earlyDecision = requestLog || telemetry ? undefined : decisionListener(decisionRoutes, authenticateApi, { logger });
  let stopping = false;
  const health = createHealthRouter({ database: () => context.db.ping(), store: () => context.store.ping() }, () => stopping);
  const interactions = createInteractionRouter({
    provider,
    users: context.users,
    audit: context.audit,
    renderer,
    tenantId: context.tenantId,
    eligibleIdentities: identityFlow.eligibleIdentities,
    identitySelection: createIdentitySelectionService({ queries: context.queries, tenantId: context.tenantId }),
    signIn: context.signIn,
    identityProviders: context.identityProviders,
    federation: context.federation,
    issuer,
  });
  const accountAuth = createAccountAuth({ provider, users: context.users, issuer, hashKey: context.keys.hashKey });
  const account = createAccountRouter({ auth: accountAuth, renderer, issuer, tenantId: context.tenantId, identityProviders: context.identityProviders, identities: context.identities, users: context.users });
  const accountSecurity = createAccountSecurityRouter({ auth: accountAuth, renderer, issuer, tenantId: context.tenantId, credentials: context.credentials, mfa: context.mfa, passwordReset: context.passwordReset });
  const accountPasskeys = createAccountPasskeyRouter({ auth: accountAuth, renderer, tenantId: context.tenantId, credentials: context.credentials, passkeys: context.passkeys });
  const accountSessions = createAccountSessionsRouter({ auth: accountAuth, renderer, sessions: context.sessions, tenantId: context.tenantId });
  // In the order, and for the reasons, stated in src/oidc/middleware-order.ts.
  mountMiddleware((middleware) => provider.use(middleware as Koa.Middleware), {
    requestLog,
    telemetry,
    securityHeaders: securityHeaders(),
    errorHandler: errorHandler({ logger, renderer }),
    rejectControlCharacters: rejectControlCharacters(),
    decisions,
    postAsGet: nativePostMethods(issuer) ? undefined : postAsGet(),
    revocationWithoutContentType: revocationWithoutContentType(),
    introspectJwtAccessTokens: introspectJwtAccessTokens({ issuer, publicJwks, sessions: context.sessions, identityEligible: identityFlow.identityEligible, userActive: identityFlow.userActive }),
    health: under(/^\/(healthz|readyz)$/i, health),
    assets: under(/^\/assets\//i, createAssetsRouter()),
    recordSessions: recordSessions({ sessions: context.sessions, grantIdentities: context.grantIdentities, requestMemo: identityFlow.requestMemo, tenantId: context.tenantId }),
    recordGrantIdentity: recordGrantIdentity(identityFlow),
    api: under(/^\/(api\/|access\/|scim\/v2\/|\.well-known\/authzen-configuration$)/i, api.router),
    console: consoleFiles({ renderer, defaultLocale: () => context.tenantSettings.defaultLocaleOf(context.tenantId) }),
    account: under(ACCOUNT_PATHS, account),
    accountSecurity: under(ACCOUNT_PATHS, accountSecurity),
    accountPasskeys: under(ACCOUNT_PATHS, accountPasskeys),
    accountSessions: under(ACCOUNT_PATHS, accountSessions),
    interactions: under(/^\/(interaction|federation)\//i, interactions),
  });
  // The jobs table (src/wiring.ts): its mail links need the issuer, known only here.
  for (const job of scheduledJobs(context, { issuer })) context.scheduler.register(job);

  const handle = provider.callback();
  const slot = appSlots.get(server);
  if (!slot) throw new Error('startServer needs a server made by listenHttp');
  slot.attach((req: http.IncomingMessage, res: http.ServerResponse) => {
    // While stopping, a keep-alive client is told to open its next request elsewhere.
    if (stopping) res.setHeader('connection', 'close');
    if (earlyDecision?.(req, res)) return;
    return handle(req, res);
  });
  if (options.scheduledJobs ?? true) context.scheduler.start();
  logger.info({ issuer, port }, 'Gatehouse listening');

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    issuer,
    port,
    async close() {
      if (stopping) return;
      stopping = true;
      const delayMs = config.shutdownDelaySeconds * 1000;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      const timeoutMs = config.shutdownTimeoutSeconds * 1000;
      const cut = setTimeout(() => {
        logger.warn({ timeoutSeconds: config.shutdownTimeoutSeconds }, 'requests still running at the shutdown timeout: closing their connections');
        server.closeAllConnections();
      }, timeoutMs);
      cut.unref();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection whose request began before the stop stays open once answered:
      // close such connections as they fall idle instead of waiting for their timeout.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      await Promise.all([closed, Promise.race([context.scheduler.stop(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())])]);
      clearInterval(sweep);
      clearTimeout(cut);
    },
  };
}
