// The user's choice of identity at sign-in: the selection becomes the default until a new
// selection is made.
import type { Queries } from '../queries/index.ts';

export function createIdentitySelectionService(deps: { queries: Pick<Queries, 'users'>; tenantId: string }) {
  return {
    async defaultIdentityId(userId: string): Promise<string | undefined> {
      return (await deps.queries.users.defaultIdentityId(deps.tenantId, userId)) ?? undefined;
    },
    async setDefault(userId: string, identityId: string): Promise<void> {
      await deps.queries.users.rememberIdentityChoice(deps.tenantId, userId, identityId);
    },
  };
}

export type IdentitySelectionService = ReturnType<typeof createIdentitySelectionService>;
