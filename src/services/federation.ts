// Sign-in through an upstream identity provider, as an OpenID Connect relying party built on
// openid-client (authorization code + PKCE + nonce + state; the ID token's signature, issuer,
// audience, expiry and nonce checked by the library, OIDC Core §3.1.3.7). What the upstream
// says about the user then either signs in the linked Gatehouse user, provisions a new one
// just in time, or asks the existing user with the same verified email to prove their password
// before the accounts are linked: never a silent takeover by email (OWASP ASVS 5 V6.8).
// The rest of the sign-in (second factor, lockout, identity selection, session) is the
// password sign-in's (services/sign-in.ts), entered with amr "fed" (RFC 8176 §2).
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { Queries } from '../queries/index.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import type { AuthorizationService } from './authorization.ts';
import type { IdentityProvider, IdentityProviderService } from './identity-providers.ts';
import type { SignInOutcome, SignInService } from './sign-in.ts';
import { usernameSchema, type UserService } from './users.ts';
import { opaqueKey } from './secrets.ts';
import { recordSignIn } from '../telemetry/metrics.ts';

/** State, nonce and verifier of one redirect to the upstream: single use, short-lived. */
const STATE_TTL_SECONDS = 10 * 60;
const PENDING_TTL_SECONDS = 10 * 60;

interface PendingRedirect {
  uid: string;
  providerId: string;
  verifier: string;
  nonce: string;
}

interface PendingLink {
  providerId: string;
  subject: string;
  email: string;
  userId: string;
  clientId?: string;
  groups?: string[];
}

export interface UpstreamProfile {
  subject: string;
  username?: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
  /** The mapped groups claim's values; undefined when no groups claim is mapped or the upstream sent none. */
  groups?: string[];
}

export type FederationOutcome =
  | { kind: 'signed_in'; outcome: SignInOutcome; userId: string; provisioned: boolean }
  /** An existing user has the upstream's verified email: their password links the accounts. */
  | { kind: 'link_required'; userId: string; providerName: string }
  | { kind: 'refused'; reason: string; message: string; userId?: string };

/** Messages shown to people (translated on the page). */
export const FEDERATION_MESSAGES = {
  failed: 'The sign-in with the external provider did not succeed. Go back to the application and start again.',
  refusedUpstream: 'The external provider refused the sign-in. Go back to the application and start again.',
  invalidResponse: 'The answer from the external provider could not be verified, so it was not accepted. Go back to the application and start again.',
  unverifiedEmail: 'An account with this email address exists, but the external provider has not confirmed that the address is yours. Sign in with your password instead.',
  unavailable: 'This sign-in option is not available for this application.',
} as const;

/** Loopback issuers (tests, local development) may use plain HTTP: that traffic never leaves the host. */
function isLoopback(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** GitHub's OAuth endpoints and REST API; GitHub Enterprise Server serves the API under /api/v3. */
function githubEndpoints(issuer: string) {
  const base = issuer.replace(/\/+$/, '');
  return {
    authorization: `${base}/login/oauth/authorize`,
    token: `${base}/login/oauth/access_token`,
    api: base === 'https://github.com' ? 'https://api.github.com' : `${base}/api/v3`,
  };
}

function stringClaim(claims: Record<string, unknown>, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const value = claims[name];
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value.length > 0 && value.length <= 500 ? value : undefined;
}

export function createFederationService(deps: { queries: Queries; store: KeyValueStore; audit: AuditService; users: UserService; authorization: AuthorizationService; identityProviders: IdentityProviderService; signIn: SignInService }) {
  const userQueries = deps.queries.users;
  const configs = new Map<string, { at: number; config: Promise<client.Configuration> }>();
  const stateKey = (tenantId: string, state: string) => `federation:state:${tenantId}:${state}`;
  const pendingKey = (tenantId: string, uid: string) => `federation:link:${tenantId}:${opaqueKey(uid)}`;

  /** The provider's client configuration (discovery cached for ten minutes per provider version). */
  function configuration(provider: IdentityProvider): Promise<client.Configuration> {
    const cacheKey = `${provider.id}\u0000${provider.issuer}\u0000${provider.clientId}\u0000${provider.clientSecretEncrypted ?? ''}`;
    const cached = configs.get(cacheKey);
    if (cached && Date.now() - cached.at < 10 * 60_000) return cached.config;
    const secret = deps.identityProviders.clientSecret(provider);
    const issuer = new URL(provider.issuer);
    // The ID token's signature is checked against the upstream's JWKS even though it came
    // straight from the token endpoint (OIDC Core §3.1.3.7 step 6 would let TLS stand in): a
    // token that does not verify is refused whatever carried it.
    const execute = isLoopback(issuer) ? [client.allowInsecureRequests, client.enableNonRepudiationChecks] : [client.enableNonRepudiationChecks];
    let config: Promise<client.Configuration>;
    if (provider.protocol === 'github') {
      const endpoints = githubEndpoints(provider.issuer);
      const built = new client.Configuration({ issuer: provider.issuer, authorization_endpoint: endpoints.authorization, token_endpoint: endpoints.token }, provider.clientId, secret, secret ? client.ClientSecretPost(secret) : undefined);
      if (isLoopback(issuer)) client.allowInsecureRequests(built);
      config = Promise.resolve(built);
    } else {
      // OIDC Discovery 1.0 §4; the issuer in the document must equal the configured one (§4.3).
      config = client.discovery(issuer, provider.clientId, secret, undefined, { execute });
    }
    config.catch(() => configs.delete(cacheKey));
    configs.set(cacheKey, { at: Date.now(), config });
    return config;
  }

  /** GitHub issues no ID token: the user comes from its REST API with the access token. */
  async function githubProfile(provider: IdentityProvider, accessToken: string): Promise<Record<string, unknown>> {
    const { api } = githubEndpoints(provider.issuer);
    const headers = { authorization: `Bearer ${accessToken}`, accept: 'application/vnd.github+json', 'user-agent': 'Gatehouse' };
    const userResponse = await fetch(`${api}/user`, { headers });
    if (!userResponse.ok) throw new Error(`GitHub user API answered ${userResponse.status}`);
    const user = (await userResponse.json()) as Record<string, unknown>;
    const emailsResponse = await fetch(`${api}/user/emails`, { headers });
    const emails = emailsResponse.ok ? ((await emailsResponse.json()) as { email: string; primary: boolean; verified: boolean }[]) : [];
    const primary = Array.isArray(emails) ? emails.find((e) => e.primary && e.verified) : undefined;
    // The numeric id is GitHub's stable subject; the login can be renamed.
    return { ...user, sub: String(user.id), email: primary?.email ?? null, email_verified: primary !== undefined };
  }

  function profileOf(provider: IdentityProvider, claims: Record<string, unknown>): UpstreamProfile {
    const mapping = provider.claimMapping;
    const groupsClaim = mapping.groups ? claims[mapping.groups] : undefined;
    const email = stringClaim(claims, mapping.email);
    return {
      subject: String(claims.sub),
      username: stringClaim(claims, mapping.username),
      email: email && email.includes('@') ? email.toLowerCase() : undefined,
      emailVerified: claims.email_verified === true,
      name: stringClaim(claims, mapping.name),
      ...(Array.isArray(groupsClaim) ? { groups: groupsClaim.filter((g): g is string => typeof g === 'string').slice(0, 200) } : {}),
    };
  }

  /** A username for a new user: the mapped claim when free and valid, else one derived from the provider and subject. */
  async function freeUsername(tenantId: string, provider: IdentityProvider, profile: UpstreamProfile): Promise<string> {
    const wanted = usernameSchema.safeParse(profile.username ?? '');
    if (wanted.success && !(await userQueries.findByUsername(tenantId, wanted.data))) return wanted.data;
    const digest = createHash('sha256').update(`${provider.id}:${profile.subject}`).digest('hex').slice(0, 10);
    return `${provider.slug}-${digest}`;
  }

  /**
   * Applies the groups claim to the provider's managed groups. Without a mapped claim, or when
   * the upstream sent no such claim (an Entra ID group overage, a scope not granted), nothing
   * changes: an absent claim is no evidence that the user left a group.
   */
  async function syncGroups(tenantId: string, provider: IdentityProvider, userId: string, groups: string[] | undefined, actor: Actor): Promise<void> {
    if (!provider.claimMapping.groups || groups === undefined) return;
    const changed = await deps.identityProviders.syncGroups(tenantId, provider, userId, groups, actor);
    if (changed.added.length || changed.removed.length) await deps.authorization.invalidateAll();
  }

  /** Just-in-time provisioning: a user and its default identity from the mapped claims, audited. */
  async function provision(tenantId: string, provider: IdentityProvider, profile: UpstreamProfile, actor: Actor): Promise<string> {
    const username = await freeUsername(tenantId, provider, profile);
    const user = await deps.users.create(
      {
        username,
        ...(profile.email && profile.emailVerified ? { email: profile.email } : {}),
        ...(profile.name ? { name: profile.name.slice(0, 200) } : {}),
        identityKind: provider.identityKind,
      },
      { ...actor, actorType: 'system' },
    );
    await deps.queries.transaction(async (tx) => {
      await tx.identities.insertRoles(
        tenantId,
        provider.defaultRoleIds.map((roleId) => ({ identityId: user.defaultIdentityId!, roleId })),
      );
      await deps.identityProviders.link(tenantId, { providerId: provider.id, subject: profile.subject, userId: user.id, email: profile.email ?? null }, { ...actor, actorType: 'user', actorId: user.id }, tx);
      await deps.audit.record(
        {
          tenantId,
          action: 'user.provisioned',
          ...actor,
          actorType: 'system',
          targetType: 'user',
          targetId: user.id,
          details: { providerId: provider.id, provider: provider.slug, identityKind: provider.identityKind, defaultRoleIds: provider.defaultRoleIds },
        },
        tx.db,
      );
    });
    if (provider.defaultRoleIds.length) await deps.authorization.invalidateAll();
    return user.id;
  }

  const service = {
    /**
     * The upstream's endpoints as Gatehouse finds them: OIDC Discovery for an OpenID Connect
     * provider (the same cached lookup a sign-in uses), the fixed endpoints for GitHub. Lets an
     * administrator check a provider before anyone signs in through it.
     */
    async endpoints(provider: IdentityProvider): Promise<{ issuer: string; authorizationEndpoint: string | null; tokenEndpoint: string | null; userinfoEndpoint: string | null; jwksUri: string | null; scopesSupported: string[] | null }> {
      const metadata = (await configuration(provider)).serverMetadata();
      return {
        issuer: metadata.issuer,
        authorizationEndpoint: metadata.authorization_endpoint ?? null,
        tokenEndpoint: metadata.token_endpoint ?? null,
        userinfoEndpoint: provider.protocol === 'github' ? `${githubEndpoints(provider.issuer).api}/user` : (metadata.userinfo_endpoint ?? null),
        jwksUri: metadata.jwks_uri ?? null,
        scopesSupported: metadata.scopes_supported ?? null,
      };
    },

    /** The authorization request to the upstream (RFC 6749 §4.1.1 + RFC 7636 + OIDC Core §3.1.2.1). */
    async start(tenantId: string, input: { uid: string; provider: IdentityProvider; redirectUri: string }): Promise<string> {
      const config = await configuration(input.provider);
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const pending: PendingRedirect = { uid: input.uid, providerId: input.provider.id, verifier, nonce };
      await deps.store.set(stateKey(tenantId, state), JSON.stringify(pending), STATE_TTL_SECONDS);
      const params: Record<string, string> = {
        redirect_uri: input.redirectUri,
        scope: input.provider.scopes.join(' '),
        state,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      };
      if (input.provider.protocol === 'oidc') params.nonce = nonce;
      return client.buildAuthorizationUrl(config, params).href;
    },

    /** The interaction a callback's state belongs to, without using the state up. */
    async peekState(tenantId: string, state: string): Promise<string | undefined> {
      if (!state || state.length > 200) return undefined;
      const raw = await deps.store.get(stateKey(tenantId, state));
      return raw ? (JSON.parse(raw) as PendingRedirect).uid : undefined;
    },

    /**
     * Takes the state of a callback (once): which interaction and provider it belongs to. An
     * unknown, replayed or expired state gives undefined (RFC 6749 §10.12).
     */
    async takeState(tenantId: string, state: string): Promise<PendingRedirect | undefined> {
      if (!state || state.length > 200) return undefined;
      const raw = await deps.store.consume(stateKey(tenantId, state));
      return raw ? (JSON.parse(raw) as PendingRedirect) : undefined;
    },

    /** Validates the upstream's answer and decides who signs in. */
    async complete(tenantId: string, input: { pending: PendingRedirect; state: string; callbackUrl: URL; redirectUri: string; clientId?: string; ip: string; userAgent: string | null }): Promise<FederationOutcome> {
      const provider = await deps.identityProviders.find(tenantId, input.pending.providerId);
      if (!provider || !provider.enabled) return { kind: 'refused', reason: 'provider_unavailable', message: FEDERATION_MESSAGES.unavailable };
      const actor: Actor = { actorType: 'anonymous', ip: input.ip, userAgent: input.userAgent };
      let claims: Record<string, unknown>;
      try {
        const config = await configuration(provider);
        if (input.callbackUrl.searchParams.has('error')) {
          return { kind: 'refused', reason: `upstream_error:${input.callbackUrl.searchParams.get('error')!.slice(0, 60)}`, message: FEDERATION_MESSAGES.refusedUpstream };
        }
        const tokens = await client.authorizationCodeGrant(
          config,
          input.callbackUrl,
          {
            pkceCodeVerifier: input.pending.verifier,
            expectedState: input.state,
            ...(provider.protocol === 'oidc' ? { expectedNonce: input.pending.nonce, idTokenExpected: true } : {}),
          },
          { redirect_uri: input.redirectUri },
        );
        if (provider.protocol === 'github') {
          claims = await githubProfile(provider, tokens.access_token);
        } else {
          const idClaims = tokens.claims() as Record<string, unknown>;
          claims = { ...idClaims };
          if (config.serverMetadata().userinfo_endpoint) {
            // The UserInfo sub must equal the ID token's (OIDC Core §5.3.4).
            const info = await client.fetchUserInfo(config, tokens.access_token, String(idClaims.sub));
            claims = { ...info, ...idClaims };
          }
        }
      } catch (error) {
        const upstream = error instanceof client.AuthorizationResponseError;
        return {
          kind: 'refused',
          reason: upstream ? `upstream_error:${error.error.slice(0, 60)}` : `invalid_response:${(error as { code?: string }).code ?? 'unknown'}`,
          message: upstream ? FEDERATION_MESSAGES.refusedUpstream : FEDERATION_MESSAGES.invalidResponse,
        };
      }
      if (typeof claims.sub !== 'string' || !claims.sub) return { kind: 'refused', reason: 'invalid_response:no_subject', message: FEDERATION_MESSAGES.invalidResponse };
      const profile = profileOf(provider, claims);

      const link = await deps.identityProviders.findLink(provider.id, profile.subject);
      if (link) {
        await deps.identityProviders.touchLink(link.id);
        await syncGroups(tenantId, provider, link.userId, profile.groups, actor);
        const outcome = await deps.signIn.federated(tenantId, { uid: input.pending.uid, userId: link.userId, ...(input.clientId ? { clientId: input.clientId } : {}) });
        return { kind: 'signed_in', outcome, userId: link.userId, provisioned: false };
      }
      const existing = profile.email ? await userQueries.findByEmail(tenantId, profile.email) : undefined;
      if (existing) {
        if (!profile.emailVerified) return { kind: 'refused', reason: 'email_unverified', message: FEDERATION_MESSAGES.unverifiedEmail, userId: existing.id };
        const pending: PendingLink = { providerId: provider.id, subject: profile.subject, email: profile.email!, userId: existing.id, ...(input.clientId ? { clientId: input.clientId } : {}), ...(profile.groups ? { groups: profile.groups } : {}) };
        await deps.store.set(pendingKey(tenantId, input.pending.uid), JSON.stringify(pending), PENDING_TTL_SECONDS);
        return { kind: 'link_required', userId: existing.id, providerName: provider.name };
      }
      const userId = await provision(tenantId, provider, profile, actor);
      await syncGroups(tenantId, provider, userId, profile.groups, actor);
      const outcome = await deps.signIn.federated(tenantId, { uid: input.pending.uid, userId, ...(input.clientId ? { clientId: input.clientId } : {}) });
      return { kind: 'signed_in', outcome, userId, provisioned: true };
    },

    /** The link waiting for the existing user's password in this interaction. */
    async pendingLink(tenantId: string, uid: string): Promise<(PendingLink & { username: string; providerName: string }) | undefined> {
      const raw = await deps.store.get(pendingKey(tenantId, uid));
      if (!raw) return undefined;
      const pending = JSON.parse(raw) as PendingLink;
      const [user, provider] = await Promise.all([userQueries.findById(tenantId, pending.userId), deps.identityProviders.find(tenantId, pending.providerId)]);
      if (!user || !provider) return undefined;
      return { ...pending, username: user.username, providerName: provider.name };
    },

    /**
     * The existing user proves their password (through the password step, with its throttle
     * and lockout); only then is the upstream account linked, once.
     */
    async confirmLink(tenantId: string, input: { uid: string; password: string; ip: string; userAgent: string | null }): Promise<SignInOutcome | undefined> {
      const pending = await this.pendingLink(tenantId, input.uid);
      if (!pending) return undefined;
      const outcome = await deps.signIn.password(tenantId, {
        uid: input.uid,
        login: pending.username,
        password: input.password,
        ip: input.ip,
        userAgent: input.userAgent,
        extraAmr: ['fed'],
        ...(pending.clientId ? { clientId: pending.clientId } : {}),
      });
      if (outcome.kind !== 'done' && outcome.kind !== 'step' && outcome.kind !== 'retry') return outcome;
      // Single use: of two concurrent confirmations only one links.
      if (!(await deps.store.consume(pendingKey(tenantId, input.uid)))) return undefined;
      if (!(await deps.identityProviders.findLink(pending.providerId, pending.subject))) {
        const actor: Actor = { actorType: 'user', actorId: pending.userId, ip: input.ip, userAgent: input.userAgent };
        await deps.identityProviders.link(tenantId, { providerId: pending.providerId, subject: pending.subject, userId: pending.userId, email: pending.email }, actor);
        const provider = await deps.identityProviders.find(tenantId, pending.providerId);
        if (provider) await syncGroups(tenantId, provider, pending.userId, pending.groups, actor);
      }
      return outcome;
    },
  };
  // Upstream refusals (an error from the upstream, a token that fails validation, an unverified
  // email) counted among the sign-in outcomes; a refusal by the account itself is counted by signIn.
  const { complete } = service;
  return {
    ...service,
    async complete(...args: Parameters<typeof complete>): Promise<FederationOutcome> {
      const result = await complete(...args);
      if (result.kind === 'refused') recordSignIn('federation_refused');
      return result;
    },
  };
}

export type FederationService = ReturnType<typeof createFederationService>;
