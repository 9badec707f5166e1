// Admin API routes about the caller themselves (permission null: any authenticated caller).
import { z } from 'zod';
import { AppError } from '../../services/errors.ts';
import { defineRoute, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';

const userApplicationView = z.object({
  clientId: z.string(),
  name: z.string(),
  type: z.enum(['web', 'spa', 'native', 'service']),
  identities: z.array(z.object({ id: z.string(), kind: z.string(), alias: z.string() })).describe('the caller\'s identities that may sign in to it'),
});

export function meRoutes(services: ApiServices): ApiRoute[] {
  const { appAccess } = services;
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
  ];
}
