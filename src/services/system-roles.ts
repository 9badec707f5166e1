// System roles, created programmatically (the few roles Gatehouse needs, not defined by hand) and
// re-synced at every start so a new admin route's permission reaches Admin (and, for read-only
// routes, Auditor) without a migration. They cannot be deleted.
import type { Queries } from '../queries/index.ts';
import { ADMIN_API_RESOURCE } from './authorization.ts';

export const SYSTEM_ROLES = ['Admin', 'User', 'Client', 'Supplier', 'Auditor'] as const;
export type SystemRole = (typeof SYSTEM_ROLES)[number];

const READ_ONLY = /:(list|read)$/;

export function systemRolePermissions(role: SystemRole, catalog: string[]): string[] {
  if (role === 'Admin') return catalog;
  if (role === 'Auditor') return catalog.filter((p) => READ_ONLY.test(p));
  return [];
}

/** Creates or re-syncs the system roles. */
export async function ensureSystemRoles(queries: Queries, tenantId: string, catalog: string[]): Promise<Record<SystemRole, string>> {
  return queries.transaction(async (tx) => {
    // One node at a time: two starting together would both insert the missing roles.
    await tx.advisoryLock(74202);
    const ids = {} as Record<SystemRole, string>;
    for (const name of SYSTEM_ROLES) ids[name] = await tx.roles.syncSystemRole(tenantId, name, ADMIN_API_RESOURCE, systemRolePermissions(name, catalog));
    return ids;
  });
}
