// Admin API routes about the caller themselves (permission null: any authenticated caller).
import { z } from 'zod';
import { AppError } from '../../services/errors.ts';
import { actorOf } from './caller.ts';
import { defineRoute, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { presentSession, sessionView } from './sessions.ts';

const userApplicationView = z.object({
  clientId: z.string(),
  name: z.string(),
  type: z.enum(['web', 'spa', 'native', 'service']),
  identities: z.array(z.object({ id: z.string(), kind: z.string(), alias: z.string() })).describe("the caller's identities that may sign in to it"),
});

export function meRoutes(services: Pick<ApiServices, 'appAccess' | 'authorization' | 'sessions' | 'users'>): ApiRoute[] {
  const { appAccess, sessions } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/me/permissions',
      permission: null,
      summary: "Who is calling and what they may do on the admin API: the caller's identity, roles and admin permissions (what a console trims its menus and read-only views by)",
      tag: 'me',
      response: z.object({
        subjectType: z.enum(['user', 'service']),
        subjectId: z.string(),
        username: z.string().nullable().describe("the user's username; null for a service account"),
        name: z.string().nullable(),
        identity: z.object({ id: z.string(), kind: z.string(), alias: z.string() }),
        roles: z.array(z.string()),
        permissions: z.array(z.string()).describe('admin-API permissions, sorted'),
      }),
      async handler({ caller }) {
        const authz = await services.authorization.forIdentity(caller.identityId);
        if (!authz) throw new AppError('auth.invalid_token', 401, 'the identity of this access token no longer exists');
        const user = caller.subjectType === 'user' ? await services.users.findForOidc(caller.subjectId) : undefined;
        return {
          subjectType: caller.subjectType,
          subjectId: caller.subjectId,
          username: user?.username ?? null,
          name: user?.name ?? null,
          identity: authz.identity,
          roles: [...caller.roles].sort(),
          permissions: [...caller.adminPermissions].sort(),
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/me/applications',
      permission: null,
      summary: "The applications the calling user may sign in to, each with the caller's identities that qualify. Users only: a service account is refused with 403.",
      tag: 'me',
      response: z.object({ applications: z.array(userApplicationView) }),
      async handler({ caller }) {
        // A service account signs in to no application; an empty list would suggest it merely
        // lacks access, when the question does not apply to it.
        if (caller.subjectType !== 'user') throw new AppError('me.user_only', 403, 'only a user has applications to sign in to; this caller is a service account');
        return { applications: await appAccess.applicationsForUser(caller.subjectId) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/me/sessions',
      permission: null,
      summary: "The calling user's open sessions (browsers and devices), most recently active first; the one the caller's token was issued in has current=true. Users only.",
      tag: 'me',
      response: z.object({ items: z.array(sessionView.extend({ current: z.boolean() })) }),
      async handler({ caller }) {
        if (caller.subjectType !== 'user') throw new AppError('me.user_only', 403, 'only a user has sessions; this caller is a service account');
        const list = await sessions.listForUser(caller.tenantId, caller.subjectId);
        return { items: list.map((s) => ({ ...presentSession(s), current: s.id === caller.sessionId })) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/me/sessions/:id',
      permission: null,
      summary: "End one of the calling user's own sessions (ending the current one ends this token's access too). Users only.",
      tag: 'me',
      params: z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a session id') }),
      async handler({ params, caller, ctx }) {
        if (caller.subjectType !== 'user') throw new AppError('me.user_only', 403, 'only a user has sessions; this caller is a service account');
        await sessions.endOwn(caller.tenantId, caller.subjectId, params.id, actorOf(caller, ctx));
        return undefined;
      },
    }),
  ];
}
