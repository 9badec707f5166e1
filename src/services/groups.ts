// Groups (departments and teams): their member identities and the roles they pass on to every
// member: a role added to a group reaches every member identity of that group. Adding a member
// gives it the group's roles, so it is checked like assigning those roles directly: nobody grants
// through a group what they could not grant by hand.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { patchSchema } from './patch-schema.ts';
import { type Group, type GroupMember, type GroupType } from '../queries/groups.ts';
import type { Executor, Queries, TransactionQueries } from '../queries/index.ts';
import type { AuditService } from './audit.ts';
import type { AuthorizationService } from './authorization.ts';
import { AppError, parseInput } from './errors.ts';
import { isUniqueViolation, type ChangeRequest } from './roles.ts';
import { assertMayGrantRoles, assertMayManageIdentityOwner, guardedGrant, keepingAnAdmin, loadRoles } from './administration.ts';

export type { Group, GroupMember, GroupType };

export const GROUP_TYPES = ['department', 'team'] as const;

const groupNameSchema = z.string().trim().min(1, 'name is required').max(100, 'name must be at most 100 characters');
const descriptionSchema = z.string().trim().max(500, 'description must be at most 500 characters').nullable();

export const newGroupSchema = z
  .object({
    name: groupNameSchema,
    type: z.enum(GROUP_TYPES).default('team'),
    description: descriptionSchema.optional(),
  })
  .strict();

export const groupPatchSchema = patchSchema(
  {
    name: groupNameSchema.optional(),
    type: z.enum(GROUP_TYPES).optional(),
    description: descriptionSchema.optional(),
  },
  'give a name, type or description to change',
);

export const idListSchema = z.array(z.guid()).min(1).max(500);

export type NewGroupInput = z.input<typeof newGroupSchema>;
export type GroupPatchInput = z.input<typeof groupPatchSchema>;

/**
 * A caller's own write made in the same transaction as a group change (after it, with the group's
 * id), so both commit or neither does.
 */
export type GroupChangeStep = (tx: TransactionQueries, groupId: string) => Promise<void>;

function snapshot(group: Group) {
  return { name: group.name, type: group.type, description: group.description, roles: group.roles.map((r) => r.id) };
}

export function createGroupService(deps: { queries: Queries; audit: AuditService; authorization: AuthorizationService }) {
  const queries = deps.queries.groups;
  const roleQueries = deps.queries.roles;

  async function getGroup(tenantId: string, id: string, db: Executor = deps.queries.db): Promise<Group> {
    const group = await queries.findById(tenantId, id, db);
    if (!group) throw new AppError('group.not_found', 404, 'group not found');
    return group;
  }

  async function assertNameFree(tenantId: string, name: string, exceptId: string | undefined, db: Executor): Promise<void> {
    const existing = await queries.findIdByName(tenantId, name, db);
    if (existing && existing !== exceptId) throw new AppError('group.name_taken', 409, `a group named "${name}" already exists`);
  }

  /** Runs a change in a transaction, maps a lost race on the unique name, then drops the cache. */
  async function change<T>(work: (trx: Executor, tx: TransactionQueries) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await deps.queries.transaction((tx) => work(tx.db, tx));
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('group.name_taken', 409, 'a group with this name already exists');
      throw error;
    }
    await deps.authorization.invalidateAll();
    return result;
  }

  /** Throws unless the requester may grant every role of the group (what a new member gains). */
  async function assertCanGrantGroupRoles(group: Group, by: ChangeRequest, db: Executor): Promise<void> {
    assertMayGrantRoles(
      by,
      await loadRoles(
        db,
        group.roles.map((r) => r.id),
      ),
      `membership of group "${group.name}"`,
    );
  }

  return {
    queries,
    list: (tenantId: string, filter: { type?: GroupType } = {}) => queries.list(tenantId, filter),
    get: (tenantId: string, id: string) => getGroup(tenantId, id),

    /** `step`, when given, runs in the creating transaction once the group exists. */
    async create(input: NewGroupInput, by: ChangeRequest, step?: GroupChangeStep): Promise<Group> {
      const value = parseInput(newGroupSchema, input, 'group.invalid');
      return change(async (trx, tx) => {
        await assertNameFree(by.tenantId, value.name, undefined, trx);
        const id = randomUUID();
        await queries.insert({ id, tenantId: by.tenantId, name: value.name, type: value.type, description: value.description ?? null }, trx);
        const group = await getGroup(by.tenantId, id, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'group.created', ...by.actor, targetType: 'group', targetId: id, details: { before: null, after: snapshot(group) } }, trx);
        await step?.(tx, id);
        return group;
      });
    },

    /** `step`, when given, runs in the updating transaction after the change. */
    async update(id: string, input: GroupPatchInput, by: ChangeRequest, step?: GroupChangeStep): Promise<Group> {
      const patch = parseInput(groupPatchSchema, input, 'group.invalid');
      return change(async (trx, tx) => {
        const before = await getGroup(by.tenantId, id, trx);
        if (patch.name !== undefined && patch.name !== before.name) await assertNameFree(by.tenantId, patch.name, id, trx);
        await queries.update(by.tenantId, id, patch, trx);
        const after = await getGroup(by.tenantId, id, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'group.updated', ...by.actor, targetType: 'group', targetId: id, details: { before: snapshot(before), after: snapshot(after) } }, trx);
        await step?.(tx, id);
        return after;
      });
    },

    async remove(id: string, by: ChangeRequest): Promise<void> {
      await change(async (trx) => {
        const before = await getGroup(by.tenantId, id, trx);
        await keepingAnAdmin(trx, by.tenantId, () => queries.deleteById(by.tenantId, id, trx));
        await deps.audit.record({ tenantId: by.tenantId, action: 'group.deleted', ...by.actor, targetType: 'group', targetId: id, details: { before: { ...snapshot(before), memberCount: before.memberCount }, after: null } }, trx);
      });
    },

    async members(tenantId: string, groupId: string, page: { limit?: number; offset?: number } = {}): Promise<GroupMember[]> {
      await getGroup(tenantId, groupId);
      return queries.members(tenantId, groupId, { limit: page.limit ?? 100, offset: page.offset ?? 0 });
    },

    /** Adds identities to the group (idempotent); returns the ids actually added. */
    async addMembers(groupId: string, identityIds: string[], by: ChangeRequest): Promise<string[]> {
      const ids = [...new Set(parseInput(idListSchema, identityIds, 'group.invalid'))];
      return change(async (trx) => {
        const group = await getGroup(by.tenantId, groupId, trx);
        const existing = await roleQueries.existingIdentityIds(by.tenantId, ids, trx);
        const missing = ids.filter((id) => !existing.includes(id));
        if (missing.length) throw new AppError('identity.not_found', 404, `identity not found: ${missing.join(', ')}`);
        await assertCanGrantGroupRoles(group, by, trx);
        for (const id of ids) await assertMayManageIdentityOwner(trx, by, id);
        const before = await queries.memberIdsAmong(groupId, ids, trx);
        const added = await guardedGrant(trx, by, ids, `membership of group "${group.name}"`, () => queries.addMembers(by.tenantId, groupId, ids, trx));
        if (added.length) {
          await deps.audit.record({ tenantId: by.tenantId, action: 'group.members_added', ...by.actor, targetType: 'group', targetId: groupId, details: { before: { members: before }, after: { members: ids }, added } }, trx);
        }
        return added;
      });
    },

    async removeMember(groupId: string, identityId: string, by: ChangeRequest): Promise<void> {
      await change(async (trx) => {
        await getGroup(by.tenantId, groupId, trx);
        await assertMayManageIdentityOwner(trx, by, identityId);
        if (!(await keepingAnAdmin(trx, by.tenantId, () => queries.removeMember(by.tenantId, groupId, identityId, trx)))) {
          throw new AppError('group.member_not_found', 404, 'this identity is not a member of the group');
        }
        await deps.audit.record({ tenantId: by.tenantId, action: 'group.member_removed', ...by.actor, targetType: 'group', targetId: groupId, details: { before: { members: [identityId] }, after: { members: [] }, removed: identityId } }, trx);
      });
    },

    /** Gives roles to the group and so to every member (idempotent); escalation-checked. */
    async assignRoles(groupId: string, roleIds: string[], by: ChangeRequest): Promise<Group> {
      const ids = [...new Set(parseInput(idListSchema, roleIds, 'group.invalid'))];
      return change(async (trx) => {
        const before = await getGroup(by.tenantId, groupId, trx);
        const roles = await roleQueries.findByIds(by.tenantId, ids, trx);
        const missing = ids.filter((id) => !roles.some((r) => r.id === id));
        if (missing.length) throw new AppError('role.not_found', 404, `role not found: ${missing.join(', ')}`);
        assertMayGrantRoles(by, roles, `these roles to group "${before.name}"`);
        const added = await queries.assignRoles(by.tenantId, groupId, ids, trx);
        const after = await getGroup(by.tenantId, groupId, trx);
        if (added.length) {
          await deps.audit.record({ tenantId: by.tenantId, action: 'group.roles_assigned', ...by.actor, targetType: 'group', targetId: groupId, details: { before: { roles: before.roles }, after: { roles: after.roles }, added } }, trx);
        }
        return after;
      });
    },

    async unassignRole(groupId: string, roleId: string, by: ChangeRequest): Promise<void> {
      await change(async (trx) => {
        const before = await getGroup(by.tenantId, groupId, trx);
        if (!(await keepingAnAdmin(trx, by.tenantId, () => queries.unassignRole(by.tenantId, groupId, roleId, trx)))) {
          throw new AppError('group_role.not_assigned', 404, 'the group does not hold this role');
        }
        const after = await getGroup(by.tenantId, groupId, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'group.role_unassigned', ...by.actor, targetType: 'group', targetId: groupId, details: { before: { roles: before.roles }, after: { roles: after.roles }, removed: roleId } }, trx);
      });
    },
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
