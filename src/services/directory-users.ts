// The administrator's view of users: list, view, add, update, delete, clone, make active or
// inactive. Creation, deletion and sign-in themselves are in users.ts; this adds search, profile
// changes, status with its history, and cloning. Rules:
// - a user answers only within its tenant; anything else is "not found";
// - status changes are recorded in user_status_history as well as the audit log;
// - nobody deletes or deactivates themselves (an administrator could lock the tenant out);
// - a clone grants the source's roles, group memberships and data scopes again, so it is
//   checked like granting each of them by hand (administration.ts); it never copies credentials;
// - every change to an existing user asks the administration guard whether the caller may
//   manage that user, and the tenant keeps an active Admin (administration.ts);
// - a changed email or username is told to the old and the new address, and a changed email
//   voids the reset links already sent (they went to the old address).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { patchSchema } from './patch-schema.ts';
import type { UserIdentitySummary } from '../queries/identities.ts';
import type { Executor, Queries, TransactionQueries } from '../queries/index.ts';
import type { StatusChange, User, UserStatus } from '../queries/users.ts';
import type { AuditService } from './audit.ts';
import type { UserEvent, UserEvents } from './user-events.ts';
import type { LockoutService } from './lockout.ts';
import type { AuthorizationService } from './authorization.ts';
import { AppError, parseInput } from './errors.ts';
import { decodeCursor, encodeCursor, pageOf } from './cursor.ts';
import { assertGainsGrantable, assertMayManageUser, keepingAnAdmin } from './administration.ts';
import { isUniqueViolation, type ChangeRequest } from './roles.ts';
import { departmentSchema, emailSchema, identityAliasSchema, passwordSchema, personNameSchema, phoneSchema, publicUser, usernameSchema, type PublicUser, type UserService } from './users.ts';

export type { StatusChange, UserStatus };

export const USER_STATUSES = ['active', 'inactive', 'locked'] as const;

export const userCreateSchema = z
  .object({
    username: usernameSchema,
    email: emailSchema.optional(),
    name: personNameSchema.optional(),
    phone: phoneSchema.optional(),
    department: departmentSchema.optional(),
    password: passwordSchema.optional(),
    /** A bcrypt, PBKDF2 or argon2 hash imported from another system; upgraded to argon2id at the next sign-in. */
    passwordHash: z.string().min(20).max(500).optional(),
    /** The first (default) identity; by default kind "internal" with the username as alias. */
    identity: z
      .object({ kind: z.string().min(1).max(40), alias: identityAliasSchema.optional() })
      .strict()
      .optional(),
  })
  .strict();

export const userPatchSchema = patchSchema(
  {
    username: usernameSchema.optional(),
    email: emailSchema.nullable().optional(),
    name: personNameSchema.nullable().optional(),
    phone: phoneSchema.nullable().optional(),
    department: departmentSchema.nullable().optional(),
  },
  'give at least one field to change',
);

export const userCloneSchema = z
  .object({
    username: usernameSchema,
    email: emailSchema,
    name: personNameSchema.optional(),
  })
  .strict();

export const userListQuerySchema = z.object({
  q: z.string().trim().min(1).max(200).optional(),
  status: z.enum(USER_STATUSES).optional(),
  identityKind: z.string().min(1).max(40).optional(),
  group: z.guid().optional(),
  role: z.guid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(600).optional(),
});

/**
 * A caller's own write made in the same transaction as a user change (after it, with the user's
 * id), so both commit or neither does.
 */
export type UserChangeStep = (tx: TransactionQueries, userId: string) => Promise<void>;

export type UserCreateInput = z.input<typeof userCreateSchema>;
export type UserPatchInput = z.input<typeof userPatchSchema>;
export type UserCloneInput = z.input<typeof userCloneSchema>;
export type UserListQuery = z.input<typeof userListQuerySchema>;

/** An identity as shown under its user: whether it is the default, its direct roles and its groups. */
export type UserIdentityView = Omit<UserIdentitySummary, 'userId'> & { isDefault: boolean };

export type UserDetails = PublicUser & { identities: UserIdentityView[] };

export interface UserPage {
  items: UserDetails[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

// The cursor is the sort key of the last row, opaque to clients: base64url of JSON.
const cursorSchema = z.tuple([z.string().max(400), z.guid()]);

function encodeUserCursor(usernameLower: string, id: string): string {
  return encodeCursor([usernameLower, id]);
}

function decodeUserCursor(cursor: string): { usernameLower: string; id: string } {
  const [usernameLower, id] = decodeCursor(cursor, cursorSchema, 'user.invalid_cursor');
  return { usernameLower, id };
}

function details(user: User, identities: UserIdentitySummary[]): UserDetails {
  return {
    ...publicUser(user),
    identities: identities.map((i) => ({ id: i.id, kind: i.kind, alias: i.alias, isDefault: i.id === user.defaultIdentityId, roles: i.roles, groups: i.groups })),
  };
}

/** When the actor is the user itself. */
function isSelf(by: ChangeRequest, userId: string): boolean {
  return by.actor.actorType === 'user' && by.actor.actorId === userId;
}

export function createDirectoryUserService(deps: { queries: Queries; audit: AuditService; authorization: AuthorizationService; users: UserService; events: UserEvents; lockout?: Pick<LockoutService, 'clearFailures'> }) {
  const queries = deps.queries.users;
  const identityQueries = deps.queries.identities;
  const scopeQueries = deps.queries.dataScopes;

  async function get(tenantId: string, id: string, db: Executor = deps.queries.db): Promise<UserDetails> {
    const user = await queries.findById(tenantId, id, db);
    if (!user) throw new AppError('user.not_found', 404, 'user not found');
    return details(user, await identityQueries.summariesForUsers(tenantId, [id], db));
  }

  async function assertUsernameFree(tenantId: string, username: string, exceptId: string | undefined, db: Executor): Promise<void> {
    const other = await queries.findByUsername(tenantId, username, db);
    if (other && other.id !== exceptId) throw new AppError('user.username_taken', 409, `username "${username}" is already taken`);
  }

  async function assertEmailFree(tenantId: string, email: string, exceptId: string | undefined, db: Executor): Promise<void> {
    const other = await queries.findByEmail(tenantId, email, db);
    if (other && other.id !== exceptId) throw new AppError('user.email_taken', 409, 'another user has this email address');
  }

  /**
   * A status change as writes in `tx` (the user row locked, the administration guard, the history
   * and audit rows) and what follows once they committed (the cache, the event, the lockout).
   * `apply` says whether the status changed.
   */
  function statusChange(to: 'active' | 'inactive', reason: string | undefined, by: ChangeRequest) {
    let changed = false;
    return {
      async apply(tx: TransactionQueries, id: string): Promise<boolean> {
        if (to !== 'active' && isSelf(by, id)) throw new AppError('user.self_deactivate', 409, 'you cannot deactivate your own account');
        const { db: trx, accountSecurity } = tx;
        const before = await queries.findByIdForUpdate(by.tenantId, id, trx);
        if (!before) throw new AppError('user.not_found', 404, 'user not found');
        await assertMayManageUser(trx, by, id);
        // Already there: nothing changed, so nothing to record.
        if (before.status === to) return (changed = false);
        await keepingAnAdmin(trx, by.tenantId, () => queries.setStatus(by.tenantId, id, to, trx));
        // Account security: activating lifts a lockout completely (its end and its repeat count).
        if (to === 'active' && before.status === 'locked') await accountSecurity.forgetLockout(by.tenantId, id);
        await queries.insertStatusChange({ tenantId: by.tenantId, userId: id, fromStatus: before.status, toStatus: to, reason: reason ?? null, actorId: by.actor.actorId ?? null }, trx);
        await deps.audit.record(
          { tenantId: by.tenantId, action: to === 'active' ? 'user.activated' : 'user.deactivated', ...by.actor, targetType: 'user', targetId: id, details: { before: { status: before.status }, after: { status: to }, reason: reason ?? null } },
          trx,
        );
        return (changed = true);
      },
      /** Once the transaction committed: this node sees the new status from now on (others hear the NOTIFY). */
      async committed(id: string): Promise<void> {
        await deps.users.forgetCached(id);
        if (changed && to === 'inactive') await deps.events.emit({ type: 'user.deactivated', tenantId: by.tenantId, userId: id });
        if (changed && to === 'active') await deps.lockout?.clearFailures(by.tenantId, id);
      },
    };
  }

  async function setStatus(id: string, to: 'active' | 'inactive', reason: string | undefined, by: ChangeRequest, step?: UserChangeStep): Promise<UserDetails> {
    const change = statusChange(to, reason, by);
    await deps.queries.transaction(async (tx) => {
      await change.apply(tx, id);
      // The caller's step runs also when the status was already so.
      await step?.(tx, id);
    });
    await change.committed(id);
    return get(by.tenantId, id);
  }

  return {
    get: (tenantId: string, id: string) => get(tenantId, id),

    /** One page of users matching the filters, in username order, each with its identities. */
    async list(tenantId: string, input: UserListQuery): Promise<UserPage> {
      const query = parseInput(userListQuerySchema, input, 'user.invalid_query');
      const rows = await queries.search(tenantId, {
        q: query.q,
        status: query.status,
        identityKind: query.identityKind,
        groupId: query.group,
        roleId: query.role,
        after: query.cursor ? decodeUserCursor(query.cursor) : undefined,
        limit: query.limit + 1,
      });
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => encodeUserCursor(last.usernameLower, last.user.id));
      const identities = await identityQueries.summariesForUsers(
        tenantId,
        page.map((r) => r.user.id),
      );
      return {
        items: page.map(({ user }) =>
          details(
            user,
            identities.filter((i) => i.userId === user.id),
          ),
        ),
        nextCursor,
      };
    },

    /** `step`, when given, runs in the creating transaction once the user exists. */
    async create(input: UserCreateInput, by: ChangeRequest, step?: UserChangeStep): Promise<UserDetails> {
      const value = parseInput(userCreateSchema, input, 'user.invalid');
      const { identity, ...fields } = value;
      // What the new identity holds from the start (default-policy roles of its kind) is a grant.
      const user = await deps.users.createIn(
        by.tenantId,
        { ...fields, identityKind: identity?.kind, identityAlias: identity?.alias },
        by.actor,
        (trx, identityId) => assertGainsGrantable(trx, by, new Map(), [identityId], 'the roles a new user of this identity kind receives'),
        step,
      );
      return get(by.tenantId, user.id);
    },

    /** `step`, when given, runs in the updating transaction after the change. */
    async update(id: string, input: UserPatchInput, by: ChangeRequest, step?: UserChangeStep): Promise<UserDetails> {
      const patch = parseInput(userPatchSchema, input, 'user.invalid');
      let loginChanged: Extract<UserEvent, { type: 'user.login_changed' }> | undefined;
      try {
        await deps.queries.transaction(async (tx) => {
          const { db: trx, accountSecurity } = tx;
          const before = await queries.findByIdForUpdate(by.tenantId, id, trx);
          if (!before) throw new AppError('user.not_found', 404, 'user not found');
          await assertMayManageUser(trx, by, id);
          if (patch.username !== undefined) await assertUsernameFree(by.tenantId, patch.username, id, trx);
          if (patch.email) await assertEmailFree(by.tenantId, patch.email, id, trx);
          const after = (await queries.update(by.tenantId, id, patch, trx))!;
          const emailChanged = (before.email ?? '').toLowerCase() !== (after.email ?? '').toLowerCase();
          // Reset links already mailed went to the old address: they stop working with the change.
          if (emailChanged) await accountSecurity.revokeResetTokens(by.tenantId, id, new Date());
          if (emailChanged || before.username !== after.username) {
            loginChanged = { type: 'user.login_changed', tenantId: by.tenantId, userId: id, username: { before: before.username, after: after.username }, email: { before: before.email, after: after.email } };
          }
          await deps.audit.record(
            { tenantId: by.tenantId, action: 'user.updated', ...by.actor, targetType: 'user', targetId: id, details: { before: publicUser(before), after: publicUser(after), ...(emailChanged ? { resetLinksRevoked: true } : {}) } },
            trx,
          );
          await step?.(tx, id);
        });
      } catch (error) {
        // A concurrent change took the username or email between the check and the write.
        if (isUniqueViolation(error)) throw new AppError('user.conflict', 409, 'a user with this username or email already exists');
        throw error;
      }
      await deps.users.forgetCached(id);
      if (loginChanged) await deps.events.emit(loginChanged);
      return get(by.tenantId, id);
    },

    async remove(id: string, by: ChangeRequest): Promise<void> {
      if (isSelf(by, id)) throw new AppError('user.self_delete', 409, 'you cannot delete your own account');
      await deps.users.removeIn(by.tenantId, id, by.actor, (trx) => assertMayManageUser(trx, by, id));
      await deps.authorization.invalidateAll();
    },

    /**
     * A new user with the source's identities (kind and alias; an alias that was the source's
     * username becomes the new username), their direct roles, data scopes and group memberships,
     * and the source's department. No password, email or phone: those belong to one person.
     */
    async clone(sourceId: string, input: UserCloneInput, by: ChangeRequest): Promise<UserDetails> {
      const value = parseInput(userCloneSchema, input, 'user.invalid');
      let cloneId: string;
      try {
        cloneId = await deps.queries.transaction(async ({ db: trx }) => {
          const source = await queries.findById(by.tenantId, sourceId, trx);
          if (!source) throw new AppError('user.not_found', 404, 'user not found');
          await assertUsernameFree(by.tenantId, value.username, undefined, trx);
          await assertEmailFree(by.tenantId, value.email, undefined, trx);

          const identities = await identityQueries.listByUser(by.tenantId, sourceId, trx);
          const identityIds = identities.map((i) => i.id);
          const roles = await identityQueries.directRoleIds(identityIds, trx);
          const memberships = await identityQueries.memberships(identityIds, trx);
          const scopes = await scopeQueries.forIdentities(identityIds, trx);

          const clone = await queries.insert({ id: randomUUID(), tenantId: by.tenantId, username: value.username, email: value.email, name: value.name ?? null, department: source.department, passwordHash: null, status: 'active' }, trx);
          const newIds = new Map<string, string>();
          for (const [index, identity] of identities.entries()) {
            const alias = identity.alias.toLowerCase() === source.username.toLowerCase() ? clone.username : identity.alias;
            const copy = await identityQueries.insert({ id: randomUUID(), tenantId: by.tenantId, userId: clone.id, kind: identity.kind, alias }, trx, index);
            newIds.set(identity.id, copy.id);
          }
          const defaultId = (source.defaultIdentityId && newIds.get(source.defaultIdentityId)) ?? newIds.get(identityIds[0] ?? '');
          if (defaultId) await queries.setDefaultIdentity(by.tenantId, clone.id, defaultId, trx);
          await identityQueries.insertRoles(
            by.tenantId,
            roles.map((r) => ({ identityId: newIds.get(r.identityId)!, roleId: r.roleId })),
            trx,
          );
          await identityQueries.insertMemberships(
            by.tenantId,
            memberships.map((m) => ({ identityId: newIds.get(m.identityId)!, groupId: m.groupId })),
            trx,
          );
          for (const [identityId, scope] of scopes) {
            for (const [key, values] of Object.entries(scope)) await scopeQueries.set(by.tenantId, newIds.get(identityId)!, key, values, trx);
          }
          // Everything the copies hold (direct, group and default-policy roles, data scopes) is a grant.
          await assertGainsGrantable(trx, by, new Map(), [...newIds.values()], `the roles of user "${source.username}"`);
          await queries.insertStatusChange({ tenantId: by.tenantId, userId: clone.id, fromStatus: null, toStatus: 'active', reason: `cloned from ${source.username}`, actorId: by.actor.actorId ?? null }, trx);
          const after = details({ ...clone, defaultIdentityId: defaultId ?? null }, await identityQueries.summariesForUsers(by.tenantId, [clone.id], trx));
          await deps.audit.record(
            {
              tenantId: by.tenantId,
              action: 'user.cloned',
              ...by.actor,
              targetType: 'user',
              targetId: clone.id,
              details: {
                source: { id: source.id, username: source.username },
                after: { ...after, dataScopes: Object.fromEntries([...scopes].map(([id, scope]) => [newIds.get(id)!, scope])), groups: memberships.map((m) => ({ identityId: newIds.get(m.identityId)!, groupId: m.groupId })) },
              },
            },
            trx,
          );
          return clone.id;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('user.conflict', 409, 'a user with this username or email already exists');
        throw error;
      }
      await deps.authorization.invalidateAll();
      return get(by.tenantId, cloneId);
    },

    /** `step`, when given, runs in the status change's transaction (also when the status was already so). */
    activate: (id: string, reason: string | undefined, by: ChangeRequest, step?: UserChangeStep) => setStatus(id, 'active', reason, by, step),
    deactivate: (id: string, reason: string | undefined, by: ChangeRequest, step?: UserChangeStep) => setStatus(id, 'inactive', reason, by, step),
    /**
     * A status change to make inside another write's transaction (create, update): `step` goes to
     * that write, `committed` is called once it returned, so the write and the status change
     * commit together or not at all.
     */
    statusStep(to: 'active' | 'inactive', reason: string | undefined, by: ChangeRequest): { step: UserChangeStep; committed(id: string): Promise<void> } {
      const change = statusChange(to, reason, by);
      return {
        step: async (tx, id) => {
          await change.apply(tx, id);
        },
        committed: (id) => change.committed(id),
      };
    },

    /** Newest first; 404 when the user is not in the tenant. */
    async statusHistory(tenantId: string, id: string, limit = 100): Promise<StatusChange[]> {
      if (!(await queries.findById(tenantId, id))) throw new AppError('user.not_found', 404, 'user not found');
      return queries.statusHistory(tenantId, id, limit);
    },
  };
}

export type DirectoryUserService = ReturnType<typeof createDirectoryUserService>;
