// Security-trimmed navigation: each application defines its menu items, each item optionally
// guarded by one permission of one API resource; the tenant adjusts them through overrides (rename,
// reorder, move, disable) without touching the application.
//
// Rules kept here:
// - a guard names a permission that exists (a registered resource's catalog, or Gatehouse's own
//   under "gatehouse"): a typo would otherwise hide the item from everyone, silently;
// - paths are site-relative ("/…") or http(s) URLs: a menu renders them as links, and a
//   `javascript:` URL would run in the application's origin;
// - the effective tree (definitions + overrides) has no cycles; an item is shown to a caller
//   when it is not disabled, the caller holds its permission (or it has none), and its parent is
//   shown: hiding a section hides everything in it;
// - every change is audited with before/after in the same transaction, then the application's
//   cached effective tree is dropped on every node.
import { z } from 'zod';
import { patchSchema } from './patch-schema.ts';
import type { Queries, TransactionQueries } from '../queries/index.ts';
import type { NavigationItem, NavigationOverride, RequiredPermission } from '../queries/navigation.ts';
import type { Actor } from './actor.ts';
import type { ApiResourceService } from './api-resources.ts';
import type { ApplicationService } from './applications.ts';
import type { AuditService } from './audit.ts';
import { ADMIN_API_RESOURCE } from './authorization.ts';
import { createInvalidatingCache } from './cache.ts';
import { AppError, parseInput } from './errors.ts';
import { GATEHOUSE_RESOURCE } from './roles.ts';
import type { KeyValueStore } from '../store/types.ts';

export type { NavigationItem, NavigationOverride, RequiredPermission };

export interface NavigationChange {
  tenantId: string;
  actor: Actor;
}

/** One item as the tenant's users get it: its definition with the tenant's override applied. */
export interface EffectiveItem extends NavigationItem {
  disabled: boolean;
  overridden: boolean;
  /** The application's own label, parent and order, before the override. */
  defined: { label: string; parentKey: string | null; sortOrder: number };
}

export interface AdminNavigationNode extends EffectiveItem {
  children: AdminNavigationNode[];
}

export interface NavigationNode {
  key: string;
  label: string;
  path: string | null;
  children: NavigationNode[];
}

export const navigationKeySchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a key is 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit');

const labelSchema = z.string().trim().min(1, 'label is required').max(200);
const sortOrderSchema = z.number().int().min(-1_000_000).max(1_000_000);

function isSafePath(path: string): boolean {
  if (path.startsWith('/')) return !path.startsWith('//'); // "//host" would leave the site
  try {
    const url = new URL(path);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

export const navigationItemSchema = z
  .object({
    key: navigationKeySchema,
    label: labelSchema,
    path: z.string().max(2000).refine(isSafePath, 'path must start with "/" or be an http(s) URL').nullable().default(null),
    parentKey: navigationKeySchema.nullable().default(null),
    sortOrder: sortOrderSchema.default(0),
    requiredPermission: z
      .object({ resource: z.string().trim().min(1).max(500).describe(`"${GATEHOUSE_RESOURCE}" for Gatehouse's own admin API, else an API resource identifier`), permission: z.string().trim().min(1).max(200) })
      .strict()
      .nullable()
      .default(null),
  })
  .strict();

export const navigationItemsSchema = z.array(navigationItemSchema).max(500);

export const navigationOverrideSchema = patchSchema(
  {
    label: labelSchema.optional(),
    sortOrder: sortOrderSchema.optional(),
    parentKey: navigationKeySchema.nullable().optional().describe('move under this item; null: to the top level'),
    disabled: z.boolean().optional(),
  },
  'give at least one of label, sortOrder, parentKey, disabled',
);

export type NavigationItemInput = z.input<typeof navigationItemSchema>;
export type NavigationOverrideInput = z.input<typeof navigationOverrideSchema>;

/** Definitions + overrides. An override moving an item under a key that no longer exists is ignored. */
export function applyOverrides(items: NavigationItem[], overrides: NavigationOverride[]): EffectiveItem[] {
  const keys = new Set(items.map((i) => i.key));
  const byKey = new Map(overrides.map((o) => [o.key, o]));
  return items.map((item) => {
    const o = byKey.get(item.key);
    const moved = o?.parentKey !== undefined && (o.parentKey === null || keys.has(o.parentKey));
    return {
      ...item,
      label: o?.label ?? item.label,
      sortOrder: o?.sortOrder ?? item.sortOrder,
      parentKey: moved ? o!.parentKey! : item.parentKey,
      disabled: o?.disabled ?? false,
      overridden: o !== undefined,
      defined: { label: item.label, parentKey: item.parentKey, sortOrder: item.sortOrder },
    };
  });
}

/** A key on a parent cycle (or a parent that is missing), if any: such items would never show. */
function findBrokenParent(items: { key: string; parentKey: string | null }[]): { key: string; reason: 'cycle' | 'missing_parent' } | undefined {
  const parentOf = new Map(items.map((i) => [i.key, i.parentKey]));
  for (const item of items) {
    const seen = new Set<string>([item.key]);
    let parent = item.parentKey;
    while (parent !== null) {
      if (!parentOf.has(parent)) return { key: item.key, reason: 'missing_parent' };
      if (seen.has(parent)) return { key: item.key, reason: 'cycle' };
      seen.add(parent);
      parent = parentOf.get(parent)!;
    }
  }
  return undefined;
}

function byOrder(a: EffectiveItem, b: EffectiveItem): number {
  return a.sortOrder - b.sortOrder || a.label.localeCompare(b.label) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The tree of the items `show` accepts, from the top level down; a hidden item hides its subtree. */
function buildTree<N>(items: EffectiveItem[], show: (item: EffectiveItem) => boolean, node: (item: EffectiveItem, children: N[]) => N): N[] {
  const children = new Map<string | null, EffectiveItem[]>();
  for (const item of items) {
    const list = children.get(item.parentKey) ?? [];
    list.push(item);
    children.set(item.parentKey, list);
  }
  for (const list of children.values()) list.sort(byOrder);
  // Items on a cycle are unreachable from the top level and so never shown (writes refuse cycles).
  const walk = (parent: string | null): N[] => (children.get(parent) ?? []).filter(show).map((item) => node(item, walk(item.key)));
  return walk(null);
}

function holds(permissionsByResource: Record<string, string[]>, required: RequiredPermission | null): boolean {
  return required === null || (permissionsByResource[required.resource]?.includes(required.permission) ?? false);
}

export async function createNavigationService(deps: { queries: Queries; store: KeyValueStore; audit: AuditService; applications: Pick<ApplicationService, 'getById' | 'findForOidc'>; apiResources: Pick<ApiResourceService, 'findByIdentifier'> }) {
  const queries = deps.queries.navigation;
  const cacheKey = (tenantId: string, clientId: string) => `${tenantId}/${clientId}`;

  async function effective(tenantId: string, clientId: string): Promise<EffectiveItem[]> {
    const [items, overrides] = await Promise.all([queries.items(tenantId, clientId), queries.overrides(tenantId, clientId)]);
    return applyOverrides(items, overrides);
  }

  // The effective items per application; each caller's tree is filtered from it in memory, so
  // /me/navigation costs no query once warm. Dropped on every node when the menu changes.
  const cache = await createInvalidatingCache<EffectiveItem[]>({
    store: deps.store,
    name: 'navigation',
    load: (key) => {
      const slash = key.indexOf('/');
      return effective(key.slice(0, slash), key.slice(slash + 1));
    },
    ttlMs: 5 * 60_000,
  });

  /** Maps "gatehouse" to ADMIN_API_RESOURCE and checks each guard against its resource's catalog. */
  async function resolveGuards(tenantId: string, items: NavigationItem[], adminCatalog: readonly string[]): Promise<NavigationItem[]> {
    const catalogs = new Map<string, readonly string[] | undefined>([[ADMIN_API_RESOURCE, adminCatalog]]);
    const resolved: NavigationItem[] = [];
    for (const item of items) {
      if (!item.requiredPermission) {
        resolved.push(item);
        continue;
      }
      const resource = item.requiredPermission.resource === GATEHOUSE_RESOURCE ? ADMIN_API_RESOURCE : item.requiredPermission.resource;
      if (!catalogs.has(resource)) {
        const found = await deps.apiResources.findByIdentifier(resource);
        catalogs.set(resource, found && found.tenantId === tenantId ? found.scopes : undefined);
      }
      const catalog = catalogs.get(resource);
      if (!catalog) throw new AppError('navigation.unknown_resource', 400, `item "${item.key}": no API resource "${item.requiredPermission.resource}" (use "${GATEHOUSE_RESOURCE}" for Gatehouse's own permissions)`);
      if (!catalog.includes(item.requiredPermission.permission)) {
        throw new AppError('navigation.unknown_permission', 400, `item "${item.key}": "${item.requiredPermission.permission}" is not in the permission catalog of ${item.requiredPermission.resource}`);
      }
      resolved.push({ ...item, requiredPermission: { resource, permission: item.requiredPermission.permission } });
    }
    return resolved;
  }

  function assertWellFormed(items: { key: string; parentKey: string | null }[], code: string): void {
    const broken = findBrokenParent(items);
    if (broken?.reason === 'missing_parent') throw new AppError(code, 400, `item "${broken.key}": its parent is not an item of this application`);
    if (broken) throw new AppError(code, 400, `item "${broken.key}" would end up inside itself (a cycle of parents)`);
  }

  async function change<T>(tenantId: string, clientId: string, work: (tx: TransactionQueries) => Promise<T>): Promise<T> {
    const result = await deps.queries.transaction(work);
    await cache.invalidate(cacheKey(tenantId, clientId));
    return result;
  }

  function adminTree(items: EffectiveItem[]): AdminNavigationNode[] {
    return buildTree<AdminNavigationNode>(
      items,
      () => true,
      (item, children) => ({ ...item, children }),
    );
  }

  return {
    cache,

    /** The whole tree with overrides applied, disabled and guarded items included, for administrators. */
    async definition(tenantId: string, clientId: string): Promise<AdminNavigationNode[]> {
      await deps.applications.getById(clientId);
      return adminTree(await effective(tenantId, clientId));
    },

    /** Replaces the application's item definitions; the tenant's overrides stay, by key. */
    async replace(clientId: string, input: NavigationItemInput[], by: NavigationChange, adminCatalog: readonly string[]): Promise<AdminNavigationNode[]> {
      const parsed = parseInput(navigationItemsSchema, input, 'navigation.invalid');
      const duplicate = parsed.find((item, i) => parsed.findIndex((other) => other.key === item.key) !== i);
      if (duplicate) throw new AppError('navigation.duplicate_key', 400, `two items have the key "${duplicate.key}"`);
      assertWellFormed(parsed, 'navigation.invalid_parent');
      await deps.applications.getById(clientId);
      const items = await resolveGuards(by.tenantId, parsed, adminCatalog);
      return change(by.tenantId, clientId, async (tx) => {
        const before = await tx.navigation.items(by.tenantId, clientId);
        const overrides = await tx.navigation.overrides(by.tenantId, clientId);
        // The tenant's moves must still make a tree with the new definitions.
        assertWellFormed(applyOverrides(items, overrides), 'navigation.override_conflict');
        // The same definition again (a seed file applied twice) writes and audits nothing.
        const canonical = (list: NavigationItem[]) => JSON.stringify([...list].sort((a, b) => (a.key < b.key ? -1 : 1)).map((i) => [i.key, i.label, i.path, i.parentKey, i.sortOrder, i.requiredPermission]));
        if (canonical(before) === canonical(items)) return adminTree(applyOverrides(before, overrides));
        await tx.navigation.replaceItems(by.tenantId, clientId, items);
        const after = await tx.navigation.items(by.tenantId, clientId);
        await deps.audit.record({ tenantId: by.tenantId, action: 'navigation.replaced', ...by.actor, targetType: 'application', targetId: clientId, details: { before: { items: before }, after: { items: after } } }, tx.db);
        return adminTree(applyOverrides(after, overrides));
      });
    },

    /** Sets (replaces) the tenant's override of one item. */
    async setOverride(clientId: string, key: string, input: NavigationOverrideInput, by: NavigationChange): Promise<AdminNavigationNode[]> {
      const value = parseInput(navigationOverrideSchema, input, 'navigation.invalid');
      await deps.applications.getById(clientId);
      const override: NavigationOverride = { key, label: value.label ?? null, sortOrder: value.sortOrder ?? null, ...(value.parentKey !== undefined ? { parentKey: value.parentKey } : {}), disabled: value.disabled ?? false };
      return change(by.tenantId, clientId, async (tx) => {
        const items = await tx.navigation.items(by.tenantId, clientId);
        if (!items.some((i) => i.key === key)) throw new AppError('navigation.item_not_found', 404, `application "${clientId}" has no navigation item "${key}"`);
        if (override.parentKey !== undefined && override.parentKey !== null && !items.some((i) => i.key === override.parentKey)) {
          throw new AppError('navigation.invalid_parent', 400, `application "${clientId}" has no navigation item "${override.parentKey}" to move under`);
        }
        const overrides = await tx.navigation.overrides(by.tenantId, clientId);
        const before = overrides.find((o) => o.key === key) ?? null;
        const next = [...overrides.filter((o) => o.key !== key), override];
        assertWellFormed(applyOverrides(items, next), 'navigation.invalid_parent');
        await tx.navigation.upsertOverride(by.tenantId, clientId, override);
        await deps.audit.record({ tenantId: by.tenantId, action: 'navigation.override_set', ...by.actor, targetType: 'application', targetId: clientId, details: { key, before, after: override } }, tx.db);
        return adminTree(applyOverrides(items, next));
      });
    },

    /** Drops the tenant's override of one item: it is shown as the application defines it. */
    async resetOverride(clientId: string, key: string, by: NavigationChange): Promise<void> {
      await deps.applications.getById(clientId);
      await change(by.tenantId, clientId, async (tx) => {
        const before = (await tx.navigation.overrides(by.tenantId, clientId)).find((o) => o.key === key);
        if (!before) throw new AppError('navigation.override_not_found', 404, `navigation item "${key}" of application "${clientId}" has no override`);
        await tx.navigation.deleteOverride(by.tenantId, clientId, key);
        await deps.audit.record({ tenantId: by.tenantId, action: 'navigation.override_reset', ...by.actor, targetType: 'application', targetId: clientId, details: { key, before, after: null } }, tx.db);
      });
    },

    /** The tree a caller with these permissions may see: items filtered by their permission. */
    async forCaller(tenantId: string, clientId: string, permissionsByResource: Record<string, string[]>): Promise<NavigationNode[]> {
      const app = await deps.applications.findForOidc(clientId);
      if (!app || app.tenantId !== tenantId) throw new AppError('application.not_found', 404, `no application with client_id "${clientId}"`);
      const items = (await cache.get(cacheKey(tenantId, clientId))) ?? [];
      return buildTree<NavigationNode>(
        items,
        (item) => !item.disabled && holds(permissionsByResource, item.requiredPermission),
        (item, children) => ({ key: item.key, label: item.label, path: item.path, children }),
      );
    },
  };
}

export type NavigationService = Awaited<ReturnType<typeof createNavigationService>>;
