// Admin API: applications (OIDC clients), who may use them, and their client secrets. Thin
// handlers over services/applications.ts; a secret appears in a response once, when it is made.
import { z } from 'zod';
import { applicationAccessSchema, applicationSettings, applicationPatchSchema, createApplicationSchema, isConfidential, type AccessRules, type Application } from '../../services/applications.ts';
import { actorOf } from './caller.ts';
import { changeRequestOf } from './roles.ts';
import { defineRoute, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';

const clientIdParams = z.object({ id: z.string().min(1).max(200) });

const accessView = z.object({
  accessMode: z.enum(['everyone', 'restricted']),
  users: z.array(z.string()).describe('user ids allowed when restricted'),
  groups: z.array(z.string()).describe('group ids whose member identities are allowed when restricted'),
  identityKinds: z.array(z.string()).describe('identity kinds allowed when restricted'),
});

const applicationView = z.object({
  clientId: z.string(),
  name: z.string(),
  type: z.enum(['web', 'spa', 'native', 'service']),
  confidential: z.boolean().describe('whether the application authenticates with a client secret'),
  redirectUris: z.array(z.string()),
  postLogoutRedirectUris: z.array(z.string()),
  firstParty: z.boolean(),
  backchannelLogoutUri: z.string().nullable().describe('where OIDC Back-Channel Logout tokens are sent when a session the application is signed in to ends; null: none'),
  refreshTokenReuseGraceSeconds: z.number().int().describe('seconds (0-60) after a refresh-token rotation in which the old token is refused without revoking the grant; 0 (default): any reuse revokes the grant'),
  acceptedIdentityKinds: z.array(z.string()).nullable().describe('identity kinds that may sign in; null: any kind'),
  accessMode: z.enum(['everyone', 'restricted']),
  adminApiClient: z.boolean().describe('may obtain tokens for the admin API audience {issuer}/api (set by an Admin; built-in admin clients are always allowed)'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const applicationDetailView = applicationView.extend({ access: accessView });
const applicationWithSecretView = applicationView.extend({ clientSecret: z.string().optional().describe('shown once: store it now') });

function presentApplication(app: Application): z.infer<typeof applicationView> {
  return {
    clientId: app.id,
    ...applicationSettings(app),
    confidential: isConfidential(app.type),
    createdAt: app.createdAt.toISOString(),
    updatedAt: app.updatedAt.toISOString(),
  };
}

const presentAccess = (app: Application, rules: AccessRules): z.infer<typeof accessView> => ({ accessMode: app.accessMode, ...rules });

export function applicationRoutes(services: Pick<ApiServices, 'applications'>): ApiRoute[] {
  const { applications } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/applications',
      permission: 'applications:list',
      summary: 'List applications (OIDC clients)',
      tag: 'applications',
      response: z.object({ applications: z.array(applicationView) }),
      async handler() {
        return { applications: (await applications.list()).map(presentApplication) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/applications/:id',
      permission: 'applications:read',
      summary: 'Read one application with the users, groups and identity kinds allowed to use it',
      tag: 'applications',
      params: clientIdParams,
      response: applicationDetailView,
      async handler({ params }) {
        const app = await applications.getById(params.id);
        return { ...presentApplication(app), access: presentAccess(app, await applications.accessRules(app.id)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/applications',
      permission: 'applications:create',
      summary: 'Register an application; a confidential one (web, service) gets a client secret, shown only in this response',
      tag: 'applications',
      body: createApplicationSchema,
      response: applicationWithSecretView,
      status: 201,
      async handler({ body, caller, ctx }) {
        const { application, clientSecret } = await applications.create(body, actorOf(caller, ctx), changeRequestOf(caller, ctx));
        return { ...presentApplication(application), ...(clientSecret ? { clientSecret } : {}) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/applications/:id',
      permission: 'applications:update',
      summary: "Change an application's name, redirect URIs, first-party flag, back-channel logout URI, accepted identity kinds or access mode",
      tag: 'applications',
      params: clientIdParams,
      body: applicationPatchSchema,
      response: applicationView,
      async handler({ params, body, caller, ctx }) {
        return presentApplication(await applications.update(params.id, body, actorOf(caller, ctx), changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/applications/:id',
      permission: 'applications:delete',
      summary: 'Delete an application',
      tag: 'applications',
      params: clientIdParams,
      async handler({ params, caller, ctx }) {
        await applications.remove(params.id, actorOf(caller, ctx), changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'put',
      path: '/applications/:id/access',
      permission: 'applications:set-access',
      summary: 'Replace who may use an application: everyone, or only the listed users, groups (their member identities) and identity kinds',
      tag: 'applications',
      params: clientIdParams,
      body: applicationAccessSchema,
      response: accessView,
      async handler({ params, body, caller, ctx }) {
        const { application, rules } = await applications.setAccess(params.id, body, actorOf(caller, ctx), changeRequestOf(caller, ctx));
        return presentAccess(application, rules);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/applications/:id/secret',
      permission: 'applications:rotate-secret',
      summary: 'Replace the client secret of a confidential application; the new one is shown only in this response and the old one stops working at once',
      tag: 'applications',
      params: clientIdParams,
      response: z.object({ clientId: z.string(), clientSecret: z.string() }),
      async handler({ params, caller, ctx }) {
        const { application, clientSecret } = await applications.rotateSecret(params.id, actorOf(caller, ctx), changeRequestOf(caller, ctx));
        return { clientId: application.id, clientSecret };
      },
    }),
  ];
}
