// Who may use which application (seed 003 "UserApplications"): an identity is eligible for an
// application when its kind is one the application accepts (any, when none are listed) and the
// application is open to everyone, or lists the user, one of the identity's groups, or its kind.
import type { Knex } from 'knex';

export interface EligibleIdentity {
  id: string;
  kind: string;
  alias: string;
}

interface AppRow {
  id: string;
  accepted_identity_kinds: string[] | string | null;
  access_mode: 'everyone' | 'restricted';
}

const parseKinds = (value: AppRow['accepted_identity_kinds']) => (value === null ? null : typeof value === 'string' ? (JSON.parse(value) as string[] | null) : value);

export function createAppAccessService(deps: { knex: Knex; tenantId: string }) {
  const { knex, tenantId } = deps;

  async function eligibleAmong(app: AppRow, userId: string): Promise<EligibleIdentity[]> {
    const kinds = parseKinds(app.accepted_identity_kinds);
    const query = knex('identities').where({ tenant_id: tenantId, user_id: userId }).select('id', 'kind', 'alias').orderBy(['kind', 'alias']);
    if (kinds) query.whereIn('kind', kinds);
    if (app.access_mode === 'restricted') {
      query.andWhere((q) =>
        q
          .whereExists(knex('application_access_rules').where({ application_id: app.id, subject_type: 'user', subject_id: userId }))
          .orWhereExists(knex('application_access_rules as r').where('r.application_id', app.id).andWhere('r.subject_type', 'identity_kind').whereRaw('r.subject_id = identities.kind'))
          .orWhereExists(
            knex('application_access_rules as r')
              .join('group_members as gm', (on) => on.on(knex.raw('gm.group_id::text = r.subject_id')))
              .where('r.application_id', app.id)
              .andWhere('r.subject_type', 'group')
              .whereRaw('gm.identity_id = identities.id'),
          ),
      );
    }
    return query;
  }

  return {
    /** The user's identities that may use the application, in a stable order. */
    async eligibleIdentities(userId: string, clientId: string): Promise<EligibleIdentity[]> {
      const app: AppRow | undefined = await knex('applications').where({ tenant_id: tenantId, id: clientId }).first('id', 'accepted_identity_kinds', 'access_mode');
      if (!app) return [];
      return eligibleAmong(app, userId);
    },
    /** Applications the user may use, with the identities that qualify. */
    async applicationsForUser(userId: string): Promise<{ clientId: string; identities: EligibleIdentity[] }[]> {
      const apps: AppRow[] = await knex('applications').where({ tenant_id: tenantId }).whereNot({ type: 'service' }).select('id', 'accepted_identity_kinds', 'access_mode').orderBy('name');
      const result: { clientId: string; identities: EligibleIdentity[] }[] = [];
      for (const app of apps) {
        const identities = await eligibleAmong(app, userId);
        if (identities.length) result.push({ clientId: app.id, identities });
      }
      return result;
    },
  };
}

export type AppAccessService = ReturnType<typeof createAppAccessService>;
