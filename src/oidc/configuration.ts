// oidc-provider configuration: which features are on, how tokens are shaped and stored, and
// where the interaction UI lives. Each choice cites where it comes from.
import type { Configuration, KoaContextWithOIDC, ResourceServer, ClientAuthMethod } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Config } from '../config/index.ts';
import type { ApiResourceService } from '../services/api-resources.ts';
import { BUILT_IN_ADMIN_API_CLIENT_IDS, isAdminApiClient, type ApplicationService } from '../services/applications.ts';
import { SERVICE_ACCOUNT_CLIENT_SECRET } from '../services/service-accounts.ts';
import type { PrivateJwk } from '../services/signing-keys.ts';
import type { Renderer } from '../views/render.ts';
import type { SessionService } from '../services/sessions.ts';
import { createExtraTokenClaims, grantIdentityOf, grantStillEligible, type IdentityFlowDeps } from './identity.ts';
import { buildInteractionPolicy } from './interaction-policy.ts';
import { logoutFormSecret } from './internals.ts';
import { ACR_FEDERATED, ACR_MFA, ACR_PASSWORD } from '../services/sign-in.ts';
import { nativePostMethods } from './protocol.ts';
import { localeOf } from '../views/i18n.ts';

export interface ConfigurationDeps {
  config: Config;
  issuer: string;
  adapter: Configuration['adapter'];
  findAccount: NonNullable<Configuration['findAccount']>;
  jwks: PrivateJwk[];
  cookieKeys: string[];
  applications: ApplicationService;
  apiResources: ApiResourceService;
  renderer: Renderer;
  identityFlow: IdentityFlowDeps;
  /** Account security: whether signing this user in to this client needs a second factor. */
  mfaRequired: (accountId: string, clientId: string) => Promise<boolean>;
  sessions: SessionService;
}

const nonceOf = (ctx: KoaContextWithOIDC) => String((ctx.state as { nonce?: string }).nonce ?? '');

/**
 * At the token endpoint: the scopes of an API resource that the token's identity holds as
 * permissions (the grant's identity; a service account's for its client credentials). An
 * application's own client-credentials tokens have no identity and keep the resource's scopes.
 * Elsewhere (the authorization request) all of the resource's scopes, which only validate it.
 */
async function tokenScopesHeld(flow: IdentityFlowDeps, ctx: KoaContextWithOIDC, resource: string, scopes: string[]): Promise<string[]> {
  if (ctx.oidc?.route !== 'token') return scopes;
  const grantId = ctx.oidc.entities.Grant?.jti;
  const clientId = ctx.oidc.client?.clientId;
  let identityId: string | undefined;
  if (grantId) {
    identityId = await grantIdentityOf(flow, ctx, grantId);
    if (!identityId) return [];
  } else if ((ctx.oidc.params as { grant_type?: string } | undefined)?.grant_type === 'client_credentials' && clientId) {
    identityId = await flow.serviceAccountIdentity(clientId);
    if (!identityId) return scopes;
  } else {
    return scopes;
  }
  const authz = await flow.authorization.forIdentity(identityId);
  const held = new Set(authz ? flow.authorization.permissionsFor(authz, resource) : []);
  return scopes.filter((scope) => held.has(scope));
}

export function buildConfiguration(deps: ConfigurationDeps): Configuration {
  const { config, renderer } = deps;
  const scopesHeld = (ctx: KoaContextWithOIDC, resource: string, scopes: string[]) => tokenScopesHeld(deps.identityFlow, ctx, resource, scopes);
  const policy = buildInteractionPolicy({ identityFlow: deps.identityFlow, sessions: deps.sessions, mfaRequired: deps.mfaRequired });
  const identityClaims = createExtraTokenClaims(deps.identityFlow);
  const alg = config.idTokenAlg;
  const clientAuthMethods: ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];
  // POST on /auth and /session/end (OIDC Core §3.1.2.1, RP-Initiated Logout §2) arrives
  // cross-site, which a SameSite=Lax session cookie does not follow: with an https issuer the
  // session cookie is SameSite=None (Secure, as the request is). Over plain http browsers drop
  // such cookies, so there POST is answered by protocol.ts postAsGet instead.
  const postMethods = nativePostMethods(deps.issuer);

  return {
    adapter: deps.adapter,
    findAccount: deps.findAccount,
    jwks: { keys: deps.jwks },
    cookies: {
      keys: deps.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: postMethods ? 'none' : 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    // Authorization code only: no implicit or hybrid flows (OAuth 2.0 Security BCP, RFC 9700 §2.1.2).
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', 'profile', 'email', 'identity'],
    claims: {
      // How and when the user signed in (OIDC Core §2; RFC 8176 amr values "pwd", "otp") go into
      // every ID token: as claims of the openid scope, not only when a client asks for them.
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      profile: ['name', 'preferred_username', 'updated_at'],
      email: ['email', 'email_verified'],
      // The chosen identity's authorization claims (docs/user-guide.md, "Tokens").
      identity: ['identity', 'roles', 'groups', 'data_scope'],
    },
    clientAuthMethods,
    enableHttpPostMethods: postMethods,
    // RFC 8414 §2: how clients authenticate at the introspection and revocation endpoints (the
    // same methods as at the token endpoint; oidc-provider 9 no longer lists them).
    discovery: {
      introspection_endpoint_auth_methods_supported: clientAuthMethods,
      revocation_endpoint_auth_methods_supported: clientAuthMethods,
    },
    // OIDC Core §3.1.2.6: access_denied: password alone, or password and a second factor (amr ["pwd", "otp"]).
    acrValues: [ACR_PASSWORD, ACR_MFA, ACR_FEDERATED],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: alg,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
      introspectionSigningAlgValues: ['RS256', 'ES256'],
      authorizationSigningAlgValues: ['RS256', 'ES256'],
      requestObjectSigningAlgValues: ['RS256', 'ES256'],
      clientAuthSigningAlgValues: ['RS256', 'ES256'],
    },
    // PKCE (RFC 7636) is required for public clients; oidc-provider 9 accepts only S256.
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    // Exact redirect URI matching is oidc-provider's default; never relax it.
    allowOmittingSingleRegisteredRedirectUri: false,
    // Refresh tokens rotate on every use; a reused one revokes the grant (RFC 9700 §4.14.2).
    rotateRefreshToken: true,
    // First-party apps get refresh tokens without the offline_access + prompt=consent dance.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Every token is bound to the session it was issued in, offline_access or not: ending a
    // session (sign-out, an administrator, a password change, its timeouts) ends its refresh
    // tokens and opaque access tokens, and each device keeps its own refresh-token family.
    expiresWithSession: async () => true,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.accessTokenTtl,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: config.refreshTokenTtl,
      Grant: config.refreshTokenTtl,
      Session: config.sessionTtl,
    },
    features: {
      devInteractions: { enabled: false },
      // OIDC Back-Channel Logout 1.0: applications with a backchannel_logout_uri get a logout
      // token when a session they are signed in to ends (sign-out here; ended elsewhere: see
      // installSessionHooks).
      backchannelLogout: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // RFC 7662 §2.1: the endpoint is protected. A public client may introspect only its own
        // tokens; confidential clients (resource servers, services) may introspect any.
        // A user's token answers active only while its grant's identity may still use the client;
        // when it may not, the grant is revoked (ASVS 5 V8.3.2).
        allowedPolicy: async (ctx, client, token) => {
          if (client.clientAuthMethod === 'none' && token.clientId !== client.clientId) return false;
          const t = token as unknown as { grantId?: string; accountId?: string; clientId?: string };
          return grantStillEligible(deps.identityFlow, ctx, t);
        },
      },
      revocation: {
        enabled: true,
        // RFC 7009 §2.1: a client may revoke only tokens that were issued to it.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx) {
          ctx.type = 'html';
          ctx.body = await renderer.render('logout', {
            nonce: nonceOf(ctx),
            locale: localeOf(ctx),
            title: 'Sign out',
            action: ctx.oidc.urlFor('end_session_confirm'),
            secret: logoutFormSecret(ctx.oidc.session),
            clientName: ctx.oidc.client?.clientName,
          });
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = await renderer.render('logout-success', { nonce: nonceOf(ctx), locale: localeOf(ctx), title: 'Signed out', clientName: ctx.oidc.client?.clientName });
        },
      },
      // RFC 8707 resource indicators: registered API resources get their own audience and, by
      // default, JWT access tokens (RFC 9068, typ at+jwt).
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        // When tokens are issued, the resource's scopes are narrowed to what the identity's
        // permissions allow, so the token's `scope` never says more than its `permissions`
        // (RFC 9068 §2.2.3: resource servers read `scope`), first- and third-party alike.
        async getResourceServerInfo(_ctx, indicator, client): Promise<ResourceServer> {
          // Gatehouse's own admin API: permissions come from roles, the one scope is `admin`.
          if (indicator === deps.identityFlow.adminApiAudience) {
            // Closed by default (RFC 8707 §2: the server decides which client may get tokens for
            // which resource, and answers invalid_target otherwise): service accounts, built-in
            // admin clients and applications an Admin marked as admin-API clients only.
            const isServiceAccount = client.clientSecret === SERVICE_ACCOUNT_CLIENT_SECRET;
            const app = isServiceAccount ? undefined : await deps.applications.findForOidc(client.clientId);
            if (!isServiceAccount && !(app ? isAdminApiClient(app) : BUILT_IN_ADMIN_API_CLIENT_IDS.includes(client.clientId))) {
              throw new errors.InvalidTarget('this client may not obtain tokens for the Gatehouse admin API');
            }
            return { scope: 'admin', audience: indicator, accessTokenTTL: config.accessTokenTtl, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
          }
          const resource = await deps.apiResources.findByIdentifier(indicator);
          if (!resource) throw new errors.InvalidTarget(`resource "${indicator}" is not registered`);
          return {
            scope: (await scopesHeld(_ctx, resource.identifier, resource.scopes)).join(' '),
            audience: resource.identifier,
            accessTokenTTL: resource.accessTokenTtl ?? config.accessTokenTtl,
            accessTokenFormat: resource.accessTokenFormat,
            ...(resource.accessTokenFormat === 'jwt' ? { jwt: { sign: { alg } } } : {}),
          };
        },
      },
    },
    // Consent is asked of third-party apps only; first-party apps get their grant extended with
    // what they ask for (the pattern from oidc-provider's docs on skipping consent).
    async loadExistingGrant(ctx) {
      const { client, session } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = (ctx.oidc.result as { consent?: { grantId?: string } } | undefined)?.consent?.grantId ?? session.grantIdFor(client.clientId);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      const app = await deps.applications.findForOidc(client.clientId);
      if (!app?.firstParty) return existing;
      const grant = existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      const requested = [...(ctx.oidc.requestParamScopes ?? [])];
      if (requested.length) grant.addOIDCScope(requested.join(' '));
      const claims = ctx.oidc.requestParamClaims ? [...ctx.oidc.requestParamClaims] : [];
      if (claims.length) grant.addOIDCClaims(claims);
      for (const [indicator, server] of Object.entries(ctx.oidc.resourceServers ?? {})) {
        const scopes = requested.filter((s) => server.scopes.has(s));
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      await grant.save();
      return grant;
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy,
    },
    // The identity's authorization claims (docs/user-guide.md, "Tokens"), and `sid` (the session
    // uid, as in ID and logout tokens) so a resource server, and Gatehouse's own API, can tell which
    // session a token belongs to.
    async extraTokenClaims(ctx, token) {
      const claims = await identityClaims(ctx, token);
      const sessionUid = (token as unknown as { sessionUid?: string }).sessionUid;
      return sessionUid ? { ...(claims ?? {}), sid: sessionUid } : claims;
    },
    // oidc-provider refuses outgoing requests (back-channel logout) to private and loopback
    // addresses; an operator whose applications live on a private network turns that off.
    ...(config.backchannelAllowPrivate
      ? {
          fetch: (url: string | URL | Request, init?: RequestInit) => {
            const { dispatcher: _dispatcher, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
            return fetch(url, rest);
          },
        }
      : {}),
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = await renderer.render('error', {
        nonce: nonceOf(ctx),
        locale: localeOf(ctx),
        title: 'Something went wrong',
        heading: 'Something went wrong',
        message: out.error_description ?? out.error,
        code: out.error,
      });
    },
    // SPAs may call the token endpoint from the origins of their redirect URIs only.
    clientBasedCORS(_ctx, origin, client) {
      return client.redirectUris?.some((uri) => new URL(uri).origin === origin) ?? false;
    },
    // The identity claims go in the ID token as well as userinfo (docs/user-guide.md, "Tokens").
    conformIdTokenClaims: false,
    extraParams: [],
  };
}
