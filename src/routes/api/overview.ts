// Admin API: the tenant at a glance (the console's overview).
import { z } from 'zod';
import { createOverviewService, type OverviewService } from '../../services/overview.ts';
import { defineRoute, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';

export function overviewRoutes(services: Pick<ApiServices, 'queries'>): ApiRoute[] {
  // Built on first use: the route table is also built without services, for the permission catalog.
  let overview: OverviewService | undefined;
  return [
    defineRoute({
      method: 'get',
      path: '/overview/counts',
      permission: 'overview:read',
      summary: 'How many users, user identities, open sessions and applications the tenant has',
      tag: 'overview',
      response: z.object({ users: z.number().int(), identities: z.number().int(), activeSessions: z.number().int(), applications: z.number().int() }),
      async handler({ caller }) {
        overview ??= createOverviewService(services.queries);
        return overview.counts(caller.tenantId);
      },
    }),
  ];
}
