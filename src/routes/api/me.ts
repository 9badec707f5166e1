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
  identities: z.array(z.object({ id: z.string(), kind: z.string(), alias: z.string() })).describe('the caller\'s identities that may sign in to it'),
});

export function meRoutes(services: ApiServices): ApiRoute[] {
  const { appAccess, sessions } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/me/applications',
      permission: null,
      summary: "The applications the calling user may sign in to (seed 003 'Applications a user can see'), each with the caller's identities that qualify. Users only: a service account is refused with 403.",
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
      summary: 'End one of the calling user\'s own sessions (ending the current one ends this token\'s access too). Users only.',
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
