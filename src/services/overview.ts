// The tenant at a glance, for the console's overview: counts of users, identities, open sessions
// and applications.
import type { Knex } from 'knex';
import { createOverviewQueries, type TenantCounts } from '../queries/overview.ts';

export type { TenantCounts };

export function createOverviewService(knex: Knex) {
  const queries = createOverviewQueries(knex);
  return {
    counts: (tenantId: string): Promise<TenantCounts> => queries.counts(tenantId),
  };
}

export type OverviewService = ReturnType<typeof createOverviewService>;
