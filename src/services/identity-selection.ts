// The user's choice of identity at sign-in: "The selection becomes the default until a new
// selection is made" (seed 001).
import type { Knex } from 'knex';

export function createIdentitySelectionService(deps: { knex: Knex; tenantId: string }) {
  return {
    async defaultIdentityId(userId: string): Promise<string | undefined> {
      const row: { default_identity_id: string | null } | undefined = await deps.knex('users').where({ tenant_id: deps.tenantId, id: userId }).first('default_identity_id');
      return row?.default_identity_id ?? undefined;
    },
    async setDefault(userId: string, identityId: string): Promise<void> {
      await deps.knex('users').where({ tenant_id: deps.tenantId, id: userId }).update({ default_identity_id: identityId });
    },
  };
}

export type IdentitySelectionService = ReturnType<typeof createIdentitySelectionService>;
