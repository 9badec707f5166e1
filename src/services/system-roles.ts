// System roles, seeded programmatically (seed 003: "The few roles required will be created
// programmatically") and re-synced at every start so a new admin route's permission reaches
// Admin (and, for read-only routes, Auditor) without a migration. They cannot be deleted.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { ADMIN_API_RESOURCE } from './authorization.ts';

export const SYSTEM_ROLES = ['Admin', 'User', 'Client', 'Supplier', 'Auditor'] as const;
export type SystemRole = (typeof SYSTEM_ROLES)[number];

const READ_ONLY = /:(list|read)$/;

export function systemRolePermissions(role: SystemRole, catalog: string[]): string[] {
  if (role === 'Admin') return catalog;
  if (role === 'Auditor') return catalog.filter((p) => READ_ONLY.test(p));
  return [];
}

export async function ensureSystemRoles(knex: Knex, tenantId: string, catalog: string[]): Promise<Record<SystemRole, string>> {
  return knex.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [74202]);
    const ids = {} as Record<SystemRole, string>;
    for (const name of SYSTEM_ROLES) {
      let row: { id: string } | undefined = await trx('roles').where({ tenant_id: tenantId }).whereRaw('lower(name) = ?', [name.toLowerCase()]).first('id');
      if (!row) {
        row = { id: randomUUID() };
        await trx('roles').insert({ id: row.id, tenant_id: tenantId, name, system: true, description: `System role ${name}` });
      } else {
        await trx('roles').where({ id: row.id }).update({ system: true });
      }
      ids[name] = row.id;
      const wanted = systemRolePermissions(name, catalog);
      await trx('role_permissions').where({ role_id: row.id, resource: ADMIN_API_RESOURCE }).whereNotIn('permission', wanted.length ? wanted : ['']).delete();
      if (wanted.length) {
        await trx('role_permissions').insert(wanted.map((permission) => ({ tenant_id: tenantId, role_id: row!.id, resource: ADMIN_API_RESOURCE, permission }))).onConflict(['role_id', 'resource', 'permission']).ignore();
      }
    }
    return ids;
  });
}
