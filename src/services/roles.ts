// Roles (named sets of permissions) and their direct assignment to identities.
//
// Rules kept here:
// - a permission names one entry of one catalog: Gatehouse's own (one per admin route, stored
//   under ADMIN_API_RESOURCE, written "gatehouse" at the API) or a registered API resource's;
// - nobody grants a permission or a role beyond their own rights (administration.ts), which
//   covers giving a role new permissions, assigning a role to an identity (whose owner the
//   requester must be able to manage) and listing the roles a role's holders may assign;
//   narrowing a role (renaming, removing permissions, deleting it) grants nothing;
// - system roles (system-roles.ts) keep their name and permissions: they are re-synced at every
//   start from the route table, so an edit would silently disappear; only the description changes;
// - every change is audited with before/after inside the same transaction, and drops the
//   authorization cache (a role change can reach many identities) once committed.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { patchSchema } from './patch-schema.ts';
import type { Executor, Queries } from '../queries/index.ts';
import { type IdentitySummary, type Role, type RolePermission, type RoleRef, type RoleSource } from '../queries/roles.ts';
import type { Actor } from './actor.ts';
import type { ApiResourceService } from './api-resources.ts';
import type { AuditService } from './audit.ts';
import { ADMIN_API_RESOURCE, type AuthorizationService } from './authorization.ts';
import { AppError, parseInput } from './errors.ts';
import { decodeCursor, encodeCursor, pageOf } from './cursor.ts';
import { type GranterRights } from './escalation.ts';
import { assertMayGrantPermissions, assertMayGrantRoles, assertMayManageIdentityOwner, isAdminRole, keepingAnAdmin, loadRoles } from './administration.ts';

export type { IdentitySummary, Role, RolePermission, RoleRef, RoleSource };

/** How Gatehouse's own catalog is named at the API, instead of its internal resource URN. */
export const GATEHOUSE_RESOURCE = 'gatehouse';

/** Who asks for a change, in which tenant, and with which rights. */
export interface ChangeRequest {
  tenantId: string;
  actor: Actor;
  /**
   * The requester's own rights, against which every grant is checked; 'system' only for trusted
   * callers that act for the operator (CLI, seed import), which are not limited.
   */
  granter: GranterRights | 'system';
}

export const roleNameSchema = z.string().trim().min(1, 'name is required').max(100, 'name must be at most 100 characters');
const descriptionSchema = z.string().trim().max(500, 'description must be at most 500 characters').nullable();

export const permissionRefSchema = z.object({
  resource: z.string().trim().min(1).max(500),
  permission: z.string().trim().min(1).max(200),
});

export const rolePermissionsSchema = z.array(permissionRefSchema).max(1000);

export const newRoleSchema = z
  .object({
    name: roleNameSchema,
    description: descriptionSchema.optional(),
    permissions: rolePermissionsSchema.default([]),
  })
  .strict();

export const rolePatchSchema = patchSchema({ name: roleNameSchema.optional(), description: descriptionSchema.optional() }, 'give a name or a description to change');

export type NewRoleInput = z.input<typeof newRoleSchema>;
export type RolePatchInput = z.input<typeof rolePatchSchema>;

export interface EffectiveRole extends RoleRef {
  sources: RoleSource[];
}

export interface IdentityRoles {
  identity: IdentitySummary;
  direct: RoleRef[];
  effective: EffectiveRole[];
}

/** One permission an identity holds, with every role that gives it and how the identity has that role. */
export interface EffectivePermission {
  resource: string;
  permission: string;
  via: { roleId: string; roleName: string; sources: RoleSource[] }[];
}

/** Internal resource identifier → the name shown at the API. */
export function publicResourceName(resource: string): string {
  return resource === ADMIN_API_RESOURCE ? GATEHOUSE_RESOURCE : resource;
}

/** Throws unless the requester may grant every permission in `permissions` (administration.ts). */
export function assertGrantable(by: ChangeRequest, permissions: RolePermission[], what: string): void {
  assertMayGrantPermissions(by, permissions, what);
}

export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

function key(p: RolePermission): string {
  return `${p.resource}\u0000${p.permission}`;
}

function roleSnapshot(role: Role) {
  return { name: role.name, description: role.description, system: role.system, permissions: role.permissions };
}

export function createRoleService(deps: { queries: Queries; audit: AuditService; authorization: AuthorizationService; apiResources: Pick<ApiResourceService, 'findByIdentifier'> }) {
  const queries = deps.queries.roles;

  async function getRole(tenantId: string, id: string, db: Executor = deps.queries.db): Promise<Role> {
    const role = await queries.findById(tenantId, id, db);
    if (!role) throw new AppError('role.not_found', 404, 'role not found');
    return role;
  }

  async function getIdentity(tenantId: string, id: string, db: Executor = deps.queries.db): Promise<IdentitySummary> {
    const identity = await queries.findIdentity(tenantId, id, db);
    if (!identity) throw new AppError('identity.not_found', 404, 'identity not found');
    return identity;
  }

  /**
   * Maps "gatehouse" to ADMIN_API_RESOURCE, drops duplicates, and checks that each permission is
   * in its resource's catalog: a name that matches nothing would grant nothing, silently.
   */
  async function resolvePermissions(tenantId: string, input: RolePermission[], adminCatalog: readonly string[]): Promise<RolePermission[]> {
    const unique = new Map<string, RolePermission>();
    for (const p of input) {
      const resource = p.resource === GATEHOUSE_RESOURCE ? ADMIN_API_RESOURCE : p.resource;
      const normalized = { resource, permission: p.permission };
      unique.set(key(normalized), normalized);
    }
    const catalogs = new Map<string, readonly string[]>([[ADMIN_API_RESOURCE, adminCatalog]]);
    const unknownResources: string[] = [];
    for (const resource of new Set([...unique.values()].map((p) => p.resource))) {
      if (catalogs.has(resource)) continue;
      const found = await deps.apiResources.findByIdentifier(resource);
      if (found && found.tenantId === tenantId) catalogs.set(resource, found.scopes);
      else unknownResources.push(resource);
    }
    if (unknownResources.length) {
      throw new AppError('role.unknown_resource', 400, `no API resource ${unknownResources.map((r) => `"${r}"`).join(', ')} (use "${GATEHOUSE_RESOURCE}" for Gatehouse's own permissions)`);
    }
    const unknown = [...unique.values()].filter((p) => !catalogs.get(p.resource)!.includes(p.permission));
    if (unknown.length) {
      throw new AppError(
        'role.unknown_permission',
        400,
        `not in the resource's permission catalog: ${unknown
          .slice(0, 10)
          .map((p) => `${publicResourceName(p.resource)} ${p.permission}`)
          .join(', ')}${unknown.length > 10 ? ', …' : ''}`,
      );
    }
    return [...unique.values()].sort((a, b) => a.resource.localeCompare(b.resource) || a.permission.localeCompare(b.permission));
  }

  async function assertNameFree(tenantId: string, name: string, exceptId: string | undefined, db: Executor): Promise<void> {
    const existing = await queries.findIdByName(tenantId, name, db);
    if (existing && existing !== exceptId) throw new AppError('role.name_taken', 409, `a role named "${name}" already exists`);
  }

  /** Runs a change in a transaction, maps a lost race on the unique name, then drops the cache. */
  async function change<T>(work: (trx: Executor) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await deps.queries.transaction(({ db: trx }) => work(trx));
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('role.name_taken', 409, 'a role with this name already exists');
      throw error;
    }
    await deps.authorization.invalidateAll();
    return result;
  }

  async function identityRoles(tenantId: string, identityId: string, db: Executor = deps.queries.db): Promise<IdentityRoles> {
    const identity = await getIdentity(tenantId, identityId, db);
    const direct = await queries.directRoles(tenantId, identityId, db);
    const effective = new Map<string, EffectiveRole>();
    for (const { role, source } of await queries.effectiveRoleSources(identity, db)) {
      const entry = effective.get(role.id) ?? { ...role, sources: [] };
      entry.sources.push(source);
      effective.set(role.id, entry);
    }
    return { identity, direct, effective: [...effective.values()].sort((a, b) => a.name.localeCompare(b.name)) };
  }

  return {
    queries,
    /** Roles, system roles first; `q` narrows to names containing it (best matches first), `limit` caps the count. */
    list: (tenantId: string, options: { q?: string; limit?: number } = {}) => queries.list(tenantId, options),
    /**
     * One page of `list`: at most `limit` roles after the position `cursor` names, and the cursor of
     * the next page (null on the last). Roles are few enough per tenant for the position to be an offset.
     */
    async page(tenantId: string, options: { q?: string; limit: number; cursor?: string }): Promise<{ roles: Role[]; nextCursor: string | null }> {
      const offset = options.cursor ? decodeCursor(options.cursor, z.tuple([z.number().int().min(0)]), 'role.invalid_cursor')[0] : 0;
      const rows = await queries.list(tenantId, { q: options.q, limit: options.limit + 1, offset });
      const { page, nextCursor } = pageOf(rows, options.limit, () => encodeCursor([offset + options.limit]));
      return { roles: page, nextCursor };
    },
    get: (tenantId: string, id: string) => getRole(tenantId, id),

    async create(input: NewRoleInput, by: ChangeRequest, adminCatalog: readonly string[]): Promise<Role> {
      const value = parseInput(newRoleSchema, input, 'role.invalid');
      const permissions = await resolvePermissions(by.tenantId, value.permissions, adminCatalog);
      assertGrantable(by, permissions, `role "${value.name}"`);
      return change(async (trx) => {
        await assertNameFree(by.tenantId, value.name, undefined, trx);
        const id = randomUUID();
        await queries.insert({ id, tenantId: by.tenantId, name: value.name, description: value.description ?? null }, trx);
        await queries.replacePermissions(by.tenantId, id, permissions, trx);
        const role = await getRole(by.tenantId, id, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'role.created', ...by.actor, targetType: 'role', targetId: id, details: { before: null, after: roleSnapshot(role) } }, trx);
        return role;
      });
    },

    async update(id: string, input: RolePatchInput, by: ChangeRequest): Promise<Role> {
      const patch = parseInput(rolePatchSchema, input, 'role.invalid');
      return change(async (trx) => {
        const before = await getRole(by.tenantId, id, trx);
        const renamed = patch.name !== undefined && patch.name !== before.name;
        if (before.system && renamed) throw new AppError('role.system', 409, `"${before.name}" is a system role: only its description can change`);
        if (renamed) await assertNameFree(by.tenantId, patch.name!, id, trx);
        await queries.update(by.tenantId, id, { ...(renamed ? { name: patch.name } : {}), ...(patch.description !== undefined ? { description: patch.description } : {}) }, trx);
        const after = await getRole(by.tenantId, id, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'role.updated', ...by.actor, targetType: 'role', targetId: id, details: { before: roleSnapshot(before), after: roleSnapshot(after) } }, trx);
        return after;
      });
    },

    /** Replaces the role's permissions; the requester must hold every permission it adds. */
    async setPermissions(id: string, input: RolePermission[], by: ChangeRequest, adminCatalog: readonly string[]): Promise<Role> {
      const requested = parseInput(rolePermissionsSchema, input, 'role.invalid');
      const existing = await getRole(by.tenantId, id);
      if (existing.system) throw new AppError('role.system', 409, `"${existing.name}" is a system role: its permissions follow Gatehouse's route table`);
      const permissions = await resolvePermissions(by.tenantId, requested, adminCatalog);
      return change(async (trx) => {
        const before = await getRole(by.tenantId, id, trx);
        if (before.system) throw new AppError('role.system', 409, `"${before.name}" is a system role: its permissions follow Gatehouse's route table`);
        // Keeping a permission grants nothing; only additions widen what the role's holders can do.
        const held = new Set(before.permissions.map(key));
        assertGrantable(
          by,
          permissions.filter((p) => !held.has(key(p))),
          `these permissions to role "${before.name}"`,
        );
        await queries.replacePermissions(by.tenantId, id, permissions, trx);
        const after = await getRole(by.tenantId, id, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'role.permissions_set', ...by.actor, targetType: 'role', targetId: id, details: { before: roleSnapshot(before), after: roleSnapshot(after) } }, trx);
        return after;
      });
    },

    async remove(id: string, by: ChangeRequest): Promise<void> {
      await change(async (trx) => {
        const before = await getRole(by.tenantId, id, trx);
        if (before.system) throw new AppError('role.system', 409, `"${before.name}" is a system role and cannot be deleted`);
        const usage = await queries.usage(id, trx);
        await queries.deleteById(by.tenantId, id, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'role.deleted', ...by.actor, targetType: 'role', targetId: id, details: { before: { ...roleSnapshot(before), usage }, after: null } }, trx);
      });
    },

    /** The roles this role's holders may assign to others without holding their permissions. */
    assignableRoles: async (tenantId: string, id: string): Promise<RoleRef[]> => {
      await getRole(tenantId, id);
      return (await queries.findByIds(tenantId, await queries.assignableRoleIds(tenantId, id))).map((r) => ({ id: r.id, name: r.name, system: r.system })).sort((a, b) => a.name.localeCompare(b.name));
    },

    /**
     * Replaces the roles this role's holders may assign (delegated administration: a partner
     * administrator hands out User and Client without processing bookings itself). The list is
     * itself a grant: the requester must be able to grant the role and every role listed, and
     * Admin is never listed (only an Admin grants Admin).
     */
    async setAssignableRoles(id: string, roleIds: string[], by: ChangeRequest): Promise<RoleRef[]> {
      const ids = [...new Set(parseInput(z.array(z.guid()).max(100), roleIds, 'role.invalid'))];
      await change(async (trx) => {
        const role = await getRole(by.tenantId, id, trx);
        if (role.system) throw new AppError('role.system', 409, `"${role.name}" is a system role: delegate administration through a custom role`);
        const listed = await queries.findByIds(by.tenantId, ids, trx);
        const missing = ids.filter((rid) => !listed.some((r) => r.id === rid));
        if (missing.length) throw new AppError('role.not_found', 404, `role not found: ${missing.join(', ')}`);
        const admin = listed.find(isAdminRole);
        if (admin) throw new AppError('role.invalid', 400, `"${admin.name}" cannot be made assignable: only an Admin grants Admin`);
        assertMayGrantRoles(by, await loadRoles(trx, ids), `the right to assign these roles`);
        const before = await queries.assignableRoleIds(by.tenantId, id, trx);
        await queries.replaceAssignableRoles(by.tenantId, id, ids, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'role.assignable_roles_set', ...by.actor, targetType: 'role', targetId: id, details: { before: { assignableRoles: before.sort() }, after: { assignableRoles: [...ids].sort() } } }, trx);
      });
      return (await queries.findByIds(by.tenantId, await queries.assignableRoleIds(by.tenantId, id))).map((r) => ({ id: r.id, name: r.name, system: r.system })).sort((a, b) => a.name.localeCompare(b.name));
    },

    /** Direct roles, and every effective role with each path it comes by. */
    identityRoles: (tenantId: string, identityId: string) => identityRoles(tenantId, identityId),

    /**
     * Every permission the identity holds through its effective roles, each with the roles that
     * give it and where the identity has them from (direct, a group, the default account policy).
     */
    async effectiveAccess(tenantId: string, identityId: string): Promise<{ identity: IdentitySummary; permissions: EffectivePermission[] }> {
      const view = await identityRoles(tenantId, identityId);
      const withPermissions = await queries.findByIds(
        tenantId,
        view.effective.map((r) => r.id),
      );
      const byKey = new Map<string, EffectivePermission>();
      for (const role of view.effective) {
        const full = withPermissions.find((r) => r.id === role.id);
        for (const p of full?.permissions ?? []) {
          const entry = byKey.get(key(p)) ?? { resource: p.resource, permission: p.permission, via: [] };
          entry.via.push({ roleId: role.id, roleName: role.name, sources: role.sources });
          byKey.set(key(p), entry);
        }
      }
      const permissions = [...byKey.values()].sort((a, b) => a.resource.localeCompare(b.resource) || a.permission.localeCompare(b.permission));
      return { identity: view.identity, permissions };
    },

    /** Adds roles to an identity (idempotent); the requester must hold every permission of each. */
    async assignToIdentity(identityId: string, roleIds: string[], by: ChangeRequest): Promise<IdentityRoles> {
      const ids = [...new Set(parseInput(z.array(z.guid()).min(1).max(100), roleIds, 'identity_role.invalid'))];
      await change(async (trx) => {
        await getIdentity(by.tenantId, identityId, trx);
        const roles = await queries.findByIds(by.tenantId, ids, trx);
        const missing = ids.filter((id) => !roles.some((r) => r.id === id));
        if (missing.length) throw new AppError('role.not_found', 404, `role not found: ${missing.join(', ')}`);
        await assertMayManageIdentityOwner(trx, by, identityId);
        assertMayGrantRoles(by, roles, 'these roles');
        const before = await queries.directRoles(by.tenantId, identityId, trx);
        const added = await queries.assignToIdentity(by.tenantId, identityId, ids, trx);
        if (!added.length) return;
        const after = await queries.directRoles(by.tenantId, identityId, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'identity.roles_assigned', ...by.actor, targetType: 'identity', targetId: identityId, details: { before: { roles: before }, after: { roles: after }, added } }, trx);
      });
      return identityRoles(by.tenantId, identityId);
    },

    async unassignFromIdentity(identityId: string, roleId: string, by: ChangeRequest): Promise<void> {
      await change(async (trx) => {
        await getIdentity(by.tenantId, identityId, trx);
        const role = await getRole(by.tenantId, roleId, trx);
        await assertMayManageIdentityOwner(trx, by, identityId);
        const before = await queries.directRoles(by.tenantId, identityId, trx);
        const removed = await keepingAnAdmin(trx, by.tenantId, () => queries.unassignFromIdentity(by.tenantId, identityId, roleId, trx));
        if (!removed) {
          throw new AppError('identity_role.not_assigned', 404, `the identity does not hold role "${role.name}" directly`);
        }
        const after = await queries.directRoles(by.tenantId, identityId, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'identity.role_unassigned', ...by.actor, targetType: 'identity', targetId: identityId, details: { before: { roles: before }, after: { roles: after }, removed: roleId } }, trx);
      });
    },
  };
}

export type RoleService = ReturnType<typeof createRoleService>;
