// SQL for an application's navigation items and the tenant's overrides of them, with row <->
// object mapping. No business rules here. Every function takes an optional transaction: with
// PGlite there is one connection, so inside a transaction every statement must go through it.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { fieldsOf } from './rows.ts';

export interface RequiredPermission {
  /** API resource identifier (ADMIN_API_RESOURCE for Gatehouse's own admin API). */
  resource: string;
  permission: string;
}

export interface NavigationItem {
  key: string;
  label: string;
  path: string | null;
  parentKey: string | null;
  sortOrder: number;
  /** null: visible to every signed-in caller. */
  requiredPermission: RequiredPermission | null;
}

export interface NavigationOverride {
  key: string;
  /** null: the item's own label. */
  label: string | null;
  /** null: the item's own order. */
  sortOrder: number | null;
  /** undefined: the item's own parent; null: the top level. */
  parentKey?: string | null;
  disabled: boolean;
}

interface ItemRow {
  key: string;
  label: string;
  path: string | null;
  parent_key: string | null;
  sort_order: number;
  required_resource: string | null;
  required_permission: string | null;
}

interface OverrideRow {
  item_key: string;
  label: string | null;
  sort_order: number | null;
  moved: boolean;
  parent_key: string | null;
  disabled: boolean;
}

function toItem(row: ItemRow): NavigationItem {
  return {
    ...fieldsOf(row, ['key', 'label', 'path', 'parentKey', 'sortOrder']),
    requiredPermission: row.required_resource !== null && row.required_permission !== null ? { resource: row.required_resource, permission: row.required_permission } : null,
  };
}

function toOverride(row: OverrideRow): NavigationOverride {
  return {
    key: row.item_key,
    label: row.label,
    sortOrder: row.sort_order,
    ...(row.moved ? { parentKey: row.parent_key } : {}),
    disabled: row.disabled,
  };
}

export function createNavigationQueries(knex: Knex) {
  return {
    async items(tenantId: string, applicationId: string, db: Knex = knex): Promise<NavigationItem[]> {
      const rows: ItemRow[] = await db('navigation_items').where({ tenant_id: tenantId, application_id: applicationId }).select('key', 'label', 'path', 'parent_key', 'sort_order', 'required_resource', 'required_permission').orderBy('key');
      return rows.map(toItem);
    },

    async overrides(tenantId: string, applicationId: string, db: Knex = knex): Promise<NavigationOverride[]> {
      const rows: OverrideRow[] = await db('navigation_overrides').where({ tenant_id: tenantId, application_id: applicationId }).select('item_key', 'label', 'sort_order', 'moved', 'parent_key', 'disabled').orderBy('item_key');
      return rows.map(toOverride);
    },

    /** Makes the application's items exactly `items`: upserted by key (ids stay), the rest deleted. */
    async replaceItems(tenantId: string, applicationId: string, items: NavigationItem[], db: Knex = knex): Promise<void> {
      const keys = items.map((i) => i.key);
      const stale = db('navigation_items').where({ tenant_id: tenantId, application_id: applicationId });
      await (keys.length ? stale.whereNotIn('key', keys) : stale).delete();
      if (!items.length) return;
      await db('navigation_items')
        .insert(
          items.map((item) => ({
            id: randomUUID(),
            tenant_id: tenantId,
            application_id: applicationId,
            key: item.key,
            label: item.label,
            path: item.path,
            parent_key: item.parentKey,
            sort_order: item.sortOrder,
            required_resource: item.requiredPermission?.resource ?? null,
            required_permission: item.requiredPermission?.permission ?? null,
          })),
        )
        .onConflict(['tenant_id', 'application_id', 'key'])
        .merge(['label', 'path', 'parent_key', 'sort_order', 'required_resource', 'required_permission', 'updated_at']);
    },

    async upsertOverride(tenantId: string, applicationId: string, override: NavigationOverride, db: Knex = knex): Promise<void> {
      const moved = override.parentKey !== undefined;
      await db('navigation_overrides')
        .insert({
          tenant_id: tenantId,
          application_id: applicationId,
          item_key: override.key,
          label: override.label,
          sort_order: override.sortOrder,
          moved,
          parent_key: moved ? override.parentKey : null,
          disabled: override.disabled,
          updated_at: db.fn.now(),
        })
        .onConflict(['tenant_id', 'application_id', 'item_key'])
        .merge();
    },

    /** Returns whether there was an override to delete. */
    async deleteOverride(tenantId: string, applicationId: string, key: string, db: Knex = knex): Promise<boolean> {
      return (await db('navigation_overrides').where({ tenant_id: tenantId, application_id: applicationId, item_key: key }).delete()) > 0;
    },
  };
}

export type NavigationQueries = ReturnType<typeof createNavigationQueries>;
