// Admin API: upstream identity providers (OpenID Connect, and GitHub's OAuth 2.0) and which of
// them each application offers on its sign-in page. Default roles are escalation-checked in
// services/identity-providers.ts; client secrets are write-only.
import { z } from 'zod';
import { newProviderSchema, providerPatchSchema, snapshot as providerSnapshot, type IdentityProvider } from '../../services/identity-providers.ts';
import { defineRoute, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { changeRequestOf, idParams } from './roles.ts';
import { AppError } from '../../services/errors.ts';

const providerView = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  protocol: z.enum(['oidc', 'github']).describe('"github": OAuth 2.0, the user read from the GitHub API with the access token'),
  issuer: z.string(),
  clientId: z.string(),
  hasClientSecret: z.boolean().describe('the secret itself is never returned'),
  scopes: z.array(z.string()),
  claimMapping: z.object({ username: z.string(), email: z.string(), name: z.string(), groups: z.string().optional() }),
  identityKind: z.string(),
  defaultRoleIds: z.array(z.string()),
  managedGroupIds: z.array(z.string()).describe('the groups whose membership follows the mapped groups claim on each sign-in; no other group is touched'),
  enabled: z.boolean(),
});

function present(p: IdentityProvider): z.infer<typeof providerView> {
  return { id: p.id, ...providerSnapshot(p) };
}

export function identityProviderRoutes(services: Pick<ApiServices, 'federation' | 'identityProviders'>): ApiRoute[] {
  const { identityProviders, federation } = services;
  const found = async (tenantId: string, id: string) => {
    const provider = await identityProviders.find(tenantId, id);
    if (!provider) throw new AppError('identity_provider.not_found', 404, 'identity provider not found');
    return provider;
  };
  return [
    defineRoute({
      method: 'get',
      path: '/identity-providers',
      permission: 'identity-providers:list',
      summary: 'List upstream identity providers',
      tag: 'identity-providers',
      response: z.object({ providers: z.array(providerView) }),
      async handler({ caller }) {
        return { providers: (await identityProviders.list(caller.tenantId)).map(present) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/identity-providers/:id',
      permission: 'identity-providers:read',
      summary: 'Read an upstream identity provider',
      tag: 'identity-providers',
      params: idParams,
      response: providerView,
      async handler({ params, caller }) {
        return present(await found(caller.tenantId, params.id));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/identity-providers/:id/discovery',
      permission: 'identity-providers:check-discovery',
      summary: "Check a provider: its endpoints from the issuer's OpenID Connect discovery document (the lookup a sign-in makes), or GitHub's fixed endpoints; 502 with the reason when discovery fails",
      tag: 'identity-providers',
      params: idParams,
      response: z.object({
        issuer: z.string(),
        authorizationEndpoint: z.string().nullable(),
        tokenEndpoint: z.string().nullable(),
        userinfoEndpoint: z.string().nullable(),
        jwksUri: z.string().nullable(),
        scopesSupported: z.array(z.string()).nullable(),
      }),
      async handler({ params, caller }) {
        const provider = await found(caller.tenantId, params.id);
        try {
          return await federation.endpoints(provider);
        } catch (error) {
          const reason = (error as { code?: string }).code ?? (error as Error).name;
          throw new AppError('identity_provider.discovery_failed', 502, `discovery at ${provider.issuer} failed (${String(reason).slice(0, 80)})`);
        }
      },
    }),
    defineRoute({
      method: 'post',
      path: '/identity-providers',
      permission: 'identity-providers:create',
      summary: "Add an upstream identity provider, from a preset (google, entra, github) or custom (issuer discovery); the caller must hold every permission of its default roles and of its managed groups' roles",
      tag: 'identity-providers',
      body: newProviderSchema,
      response: providerView,
      status: 201,
      async handler({ body, caller, ctx }) {
        return present(await identityProviders.create(body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/identity-providers/:id',
      permission: 'identity-providers:update',
      summary: 'Change an upstream identity provider; the caller must hold every permission of a default role it adds and of the roles of a managed group it adds',
      tag: 'identity-providers',
      params: idParams,
      body: providerPatchSchema,
      response: providerView,
      async handler({ params, body, caller, ctx }) {
        return present(await identityProviders.update(params.id, body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/identity-providers/:id',
      permission: 'identity-providers:delete',
      summary: 'Remove an upstream identity provider and every account link to it',
      tag: 'identity-providers',
      params: idParams,
      async handler({ params, caller, ctx }) {
        await identityProviders.remove(params.id, changeRequestOf(caller, ctx));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/applications/:id/identity-providers',
      permission: 'application-identity-providers:read',
      summary: "List the upstream identity providers on an application's sign-in page",
      tag: 'identity-providers',
      params: z.object({ id: z.string().min(1).max(200) }),
      response: z.object({ providers: z.array(providerView) }),
      async handler({ params, caller }) {
        return { providers: (await identityProviders.applicationProviders(caller.tenantId, params.id)).map(present) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/applications/:id/identity-providers',
      permission: 'application-identity-providers:set',
      summary: "Choose which upstream identity providers an application's sign-in page offers, in order",
      tag: 'identity-providers',
      params: z.object({ id: z.string().min(1).max(200) }),
      body: z.object({ providerIds: z.array(z.guid()).max(20) }).strict(),
      response: z.object({ providers: z.array(providerView) }),
      async handler({ params, body, caller, ctx }) {
        return { providers: (await identityProviders.setForApplication(params.id, body.providerIds, changeRequestOf(caller, ctx))).map(present) };
      },
    }),
  ];
}
