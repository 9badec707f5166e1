// The tenant at a glance, for the console's overview: counts of users, identities, open sessions
// and applications.
import type { Queries } from '../queries/index.ts';
import type { TenantCounts } from '../queries/overview.ts';

export type { TenantCounts };

export function createOverviewService(queries: Queries) {
  return {
    counts: (tenantId: string): Promise<TenantCounts> => queries.overview.counts(tenantId),
  };
}

export type OverviewService = ReturnType<typeof createOverviewService>;
