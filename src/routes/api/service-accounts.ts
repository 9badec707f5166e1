// Admin API: service accounts and their access keys (client-credentials secrets). Roles and data
// scopes of a service account are given to its identity through the identity routes; the
// identity id is part of every view here. An access key's secret is shown once, at creation.
import { z } from 'zod';
import { newAccessKeySchema, newServiceAccountSchema, serviceAccountPatchSchema } from '../../services/service-accounts.ts';
import { actorOf } from './caller.ts';
import { changeRequestOf } from './roles.ts';
import { defineRoute, presenter, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';

const idParams = z.object({ id: z.guid() });
const keyParams = z.object({ id: z.guid(), keyId: z.guid() });

const serviceAccountView = z.object({
  id: z.string().describe('also the client_id its access keys authenticate'),
  name: z.string(),
  description: z.string().nullable(),
  status: z.enum(['active', 'inactive']),
  identityId: z.string().nullable().describe('give roles and data scopes to this identity'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const accessKeyView = z.object({
  id: z.string(),
  prefix: z.string().describe('the first characters of the key, to recognise it'),
  description: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable().describe('updated at most once a minute'),
  revokedAt: z.string().nullable(),
});

const newAccessKeyView = z.object({
  id: z.string(),
  clientId: z.string().describe('the service account id'),
  secret: z.string().describe('the client secret for client_secret_basic; shown once'),
  prefix: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
});

const presentServiceAccount = presenter(serviceAccountView);
const presentKey = presenter(accessKeyView);

export function serviceAccountRoutes(services: Pick<ApiServices, 'serviceAccounts'>): ApiRoute[] {
  const { serviceAccounts } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/service-accounts',
      permission: 'service-accounts:list',
      summary: 'List service accounts',
      tag: 'service-accounts',
      response: z.object({ serviceAccounts: z.array(serviceAccountView) }),
      async handler() {
        return { serviceAccounts: (await serviceAccounts.list()).map(presentServiceAccount) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/service-accounts',
      permission: 'service-accounts:create',
      summary: "Create a service account together with its identity (kind 'service')",
      tag: 'service-accounts',
      body: newServiceAccountSchema,
      response: serviceAccountView,
      status: 201,
      async handler({ body, caller, ctx }) {
        return presentServiceAccount(await serviceAccounts.create(body, actorOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/service-accounts/:id',
      permission: 'service-accounts:read',
      summary: 'Read one service account with its identity id',
      tag: 'service-accounts',
      params: idParams,
      response: serviceAccountView,
      async handler({ params }) {
        return presentServiceAccount(await serviceAccounts.get(params.id));
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/service-accounts/:id',
      permission: 'service-accounts:update',
      summary: 'Rename, describe, deactivate or reactivate a service account (an inactive one cannot get tokens)',
      tag: 'service-accounts',
      params: idParams,
      body: serviceAccountPatchSchema,
      response: serviceAccountView,
      async handler({ params, body, caller, ctx }) {
        return presentServiceAccount(await serviceAccounts.update(params.id, body, actorOf(caller, ctx), changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/service-accounts/:id',
      permission: 'service-accounts:delete',
      summary: 'Delete a service account, its identity and its access keys',
      tag: 'service-accounts',
      params: idParams,
      async handler({ params, caller, ctx }) {
        await serviceAccounts.remove(params.id, actorOf(caller, ctx), changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/service-accounts/:id/keys',
      permission: 'access-keys:list',
      summary: "List a service account's access keys (never their secrets)",
      tag: 'access-keys',
      params: idParams,
      response: z.object({ keys: z.array(accessKeyView) }),
      async handler({ params }) {
        return { keys: (await serviceAccounts.listKeys(params.id)).map(presentKey) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/service-accounts/:id/keys',
      permission: 'access-keys:create',
      summary: 'Create an access key: the client secret of the service account (client_id = its id); shown only in this response',
      tag: 'access-keys',
      params: idParams,
      body: newAccessKeySchema,
      response: newAccessKeyView,
      status: 201,
      async handler({ params, body, caller, ctx }) {
        const { key, secret } = await serviceAccounts.createKey(params.id, body, actorOf(caller, ctx), changeRequestOf(caller, ctx));
        return { id: key.id, clientId: key.serviceAccountId, secret, prefix: key.prefix, createdAt: key.createdAt.toISOString(), expiresAt: key.expiresAt?.toISOString() ?? null };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/service-accounts/:id/keys/:keyId',
      permission: 'access-keys:revoke',
      summary: 'Revoke an access key: refused by every node at once (tokens already issued live out their short lifetime)',
      tag: 'access-keys',
      params: keyParams,
      async handler({ params, caller, ctx }) {
        await serviceAccounts.revokeKey(params.id, params.keyId, actorOf(caller, ctx), changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
  ];
}
