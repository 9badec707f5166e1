// SQL for the console's overview: how many of each thing a tenant has.
import type { Knex } from 'knex';

export interface TenantCounts {
  users: number;
  identities: number;
  activeSessions: number;
  applications: number;
}

export function createOverviewQueries(knex: Knex) {
  return {
    /** One statement, four counts: users, user identities, open sessions, applications. */
    async counts(tenantId: string): Promise<TenantCounts> {
      const result = await knex.raw<{ rows: { users: string | number; identities: string | number; active_sessions: string | number; applications: string | number }[] }>(
        `select (select count(*) from users where tenant_id = :tenant) as users,
                (select count(*) from identities where tenant_id = :tenant and user_id is not null) as identities,
                (select count(*) from user_sessions where tenant_id = :tenant and ended_at is null) as active_sessions,
                (select count(*) from applications where tenant_id = :tenant) as applications`,
        { tenant: tenantId },
      );
      const row = result.rows[0]!;
      return { users: Number(row.users), identities: Number(row.identities), activeSessions: Number(row.active_sessions), applications: Number(row.applications) };
    },
  };
}
