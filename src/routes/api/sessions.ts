// Admin API: sessions (device tracking, remote revocation, idle and absolute expiry). Thin handlers
// over services/sessions.ts. Ending a session revokes its grants and refresh tokens, makes its
// opaque access tokens inactive and sends back-channel logout tokens; JWT access tokens already
// issued stay valid elsewhere until they expire.
import { z } from 'zod';
import { applicationSessionSettingsSchema, sessionListQuerySchema, sessionSettingsSchema, type SessionSettings, type SessionView } from '../../services/sessions.ts';
import { actorOf } from './caller.ts';
import { changeRequestOf } from './roles.ts';
import { defineRoute, presenter, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { idParams } from './roles.ts';

const sessionIdParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a session id') });
const clientIdParams = z.object({ id: z.string().min(1).max(200) });

export const sessionView = z.object({
  id: z.string().describe('the session id; also the `sid` claim of its tokens'),
  userId: z.string(),
  username: z.string().nullable(),
  identity: z.object({ id: z.string(), kind: z.string(), alias: z.string() }).nullable().describe('the identity of the last application signed in to in this session'),
  deviceType: z.string().describe('desktop, mobile, tablet, smarttv, wearable, console, xr, embedded or unknown'),
  browser: z.string().nullable(),
  os: z.string().nullable(),
  ip: z.string().nullable().describe('the address of the last browser request'),
  createdAt: z.string(),
  authenticatedAt: z.string().describe('the last password sign-in: the absolute lifetime counts from here'),
  lastActiveAt: z.string().describe('updated at most once a minute'),
  idleExpiresAt: z.string().describe('when the session ends unless it is used again'),
  absoluteExpiresAt: z.string().describe('when the session ends at the latest'),
  applications: z.array(z.object({ clientId: z.string(), name: z.string() })),
});

export const presentSession: (session: SessionView) => z.infer<typeof sessionView> = presenter(sessionView);

const settingsView = z.object({
  idleTimeoutSeconds: z.number().int(),
  absoluteLifetimeSeconds: z.number().int(),
  endSessionsOnPasswordChange: z.boolean().describe("a password change ends the user's other sessions"),
  source: z.enum(['default', 'tenant']).describe('default: nothing saved yet, the configuration applies'),
});
const applicationSettingsView = z.object({
  idleTimeoutSeconds: z.number().int().nullable().describe("null: the tenant's"),
  absoluteLifetimeSeconds: z.number().int().nullable().describe("null: the tenant's"),
});
const endedView = z.object({ ended: z.number().int().describe('how many sessions ended') });

const presentSettings = (s: SessionSettings): z.infer<typeof settingsView> => ({
  idleTimeoutSeconds: s.idleTimeoutSeconds,
  absoluteLifetimeSeconds: s.absoluteLifetimeSeconds,
  endSessionsOnPasswordChange: s.endSessionsOnPasswordChange,
  source: s.source,
});

export function sessionRoutes(services: Pick<ApiServices, 'directoryUsers' | 'sessions'>): ApiRoute[] {
  const { sessions, directoryUsers } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/sessions',
      permission: 'sessions:list',
      summary: 'List open sessions, most recently active first: filter by userId or username, identityId or identityKind, deviceType, clientId (an application signed in to) or ip; keyset-paged with `cursor`',
      tag: 'sessions',
      query: sessionListQuerySchema,
      response: z.object({ items: z.array(sessionView), nextCursor: z.string().nullable() }),
      async handler({ query, caller }) {
        const page = await sessions.list(caller.tenantId, query);
        return { items: page.items.map(presentSession), nextCursor: page.nextCursor };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/sessions/:id',
      permission: 'sessions:end',
      summary: 'End one session: its grants and refresh tokens are revoked, its opaque access tokens turn inactive, its applications get a back-channel logout token',
      tag: 'sessions',
      params: sessionIdParams,
      async handler({ params, caller, ctx }) {
        await sessions.endOne(params.id, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/sessions/end-all',
      permission: 'sessions:end-all',
      summary: "End every open session of the tenant (the caller's own included)",
      tag: 'sessions',
      body: z.object({}).strict(),
      response: endedView,
      async handler({ caller, ctx }) {
        return { ended: await sessions.endAll(changeRequestOf(caller, ctx)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/sessions',
      permission: 'user-sessions:list',
      summary: "List one user's open sessions, most recently active first",
      tag: 'sessions',
      params: idParams,
      response: z.object({ items: z.array(sessionView) }),
      async handler({ params, caller }) {
        await directoryUsers.get(caller.tenantId, params.id);
        return { items: (await sessions.listForUser(caller.tenantId, params.id)).map(presentSession) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id/sessions',
      permission: 'user-sessions:end',
      summary: 'End every open session of one user (a lost device, an off-boarded employee)',
      tag: 'sessions',
      params: idParams,
      response: endedView,
      async handler({ params, caller, ctx }) {
        await directoryUsers.get(caller.tenantId, params.id);
        return { ended: await sessions.endAllOfUserFor(params.id, changeRequestOf(caller, ctx)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/session-settings',
      permission: 'session-settings:read',
      summary: "Read the tenant's session settings: idle timeout, absolute lifetime, and whether a password change ends the user's other sessions",
      tag: 'sessions',
      response: settingsView,
      async handler({ caller }) {
        return presentSettings(await sessions.settingsOf(caller.tenantId));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/session-settings',
      permission: 'session-settings:replace',
      summary: "Replace the tenant's session settings; every node applies them to every open session at once",
      tag: 'sessions',
      body: sessionSettingsSchema,
      response: settingsView,
      async handler({ body, caller, ctx }) {
        return presentSettings(await sessions.updateSettings(caller.tenantId, body, actorOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/applications/:id/session-settings',
      permission: 'application-session-settings:read',
      summary: "Read an application's own, stricter session limits (null: the tenant's)",
      tag: 'sessions',
      params: clientIdParams,
      response: applicationSettingsView,
      async handler({ params, caller }) {
        return sessions.applicationSettings(caller.tenantId, params.id);
      },
    }),
    defineRoute({
      method: 'put',
      path: '/applications/:id/session-settings',
      permission: 'application-session-settings:replace',
      summary: "Replace an application's own session limits, each at most the tenant's: past them its refresh tokens are refused and it asks for the password again",
      tag: 'sessions',
      params: clientIdParams,
      body: applicationSessionSettingsSchema,
      response: applicationSettingsView,
      async handler({ params, body, caller, ctx }) {
        return sessions.updateApplicationSettings(caller.tenantId, params.id, body, actorOf(caller, ctx));
      },
    }),
  ];
}
