// Users: creation, password changes, deletion and password authentication. The administrator's
// operations on top (search, profile changes, status, cloning) are in directory-users.ts.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createIdentityQueries } from '../queries/identities.ts';
import type { Executor, Queries, Transaction, TransactionQueries } from '../queries/index.ts';
import type { Database } from '../db/types.ts';
import type { User, UserQueries } from '../queries/users.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { createInvalidatingCache, type InvalidatingCache } from './cache.ts';
import { AppError, invalidInput } from './errors.ts';
import { MAX_PASSWORD_BYTES, type PasswordHasher } from './passwords.ts';
import { policyError } from './password-policy.ts';
import type { UserEvents } from './user-events.ts';
import type { CredentialService } from './credentials.ts';
import { keepingAnAdmin } from './administration.ts';

export type { User };

// Printable, no spaces or control characters; "@" allowed so an email can serve as username.
export const usernameSchema = z
  .string()
  .trim()
  .min(1, 'username is required')
  .max(100, 'username must be at most 100 characters')
  .regex(/^[\p{L}\p{N}._@+-]+$/u, 'username may contain letters, digits and . _ @ + - only');

export const passwordSchema = z
  .string()
  .min(8, 'password must be at least 8 characters')
  .refine((p) => Buffer.byteLength(p, 'utf8') <= MAX_PASSWORD_BYTES, `password must be at most ${MAX_PASSWORD_BYTES} bytes`);

export const emailSchema = z.email('email must be a valid email address').max(254);
export const personNameSchema = z.string().trim().min(1, 'name must not be empty').max(200, 'name must be at most 200 characters');
// Lenient on purpose: numbers are written many ways; this only keeps out what is plainly not one.
export const phoneSchema = z
  .string()
  .trim()
  .max(50, 'phone must be at most 50 characters')
  .regex(/^\+?[0-9 ()./-]{3,40}(\s*(x|ext\.?)\s*[0-9]{1,6})?$/i, 'phone may contain digits, spaces and + ( ) . / - (and an extension such as "x12")');
export const departmentSchema = z.string().trim().min(1, 'department must not be empty').max(200, 'department must be at most 200 characters');
export const identityAliasSchema = z.string().trim().min(1, 'alias is required').max(200, 'alias must be at most 200 characters');

export const newUserSchema = z.object({
  username: usernameSchema,
  password: passwordSchema.optional(),
  email: emailSchema.optional(),
  name: personNameSchema.optional(),
  phone: phoneSchema.optional(),
  department: departmentSchema.optional(),
});

/**
 * `passwordHash`: a hash imported from another system (seed, admin API), stored as it is and
 * upgraded to argon2id at the next sign-in; exclusive with `password`.
 */
export type NewUserInput = z.input<typeof newUserSchema> & { identityKind?: string; identityAlias?: string; passwordHash?: string };

/** Identity kind reserved for the identities of service accounts. */
export const SERVICE_IDENTITY_KIND = 'service';

/** What the audit log and the admin API may show of a user: never the password hash. */
export function publicUser(user: User) {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    name: user.name,
    phone: user.phone,
    department: user.department,
    status: user.status,
    lockedUntil: user.lockedUntil ?? null,
    defaultIdentityId: user.defaultIdentityId,
    hasPassword: user.passwordHash !== null,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

export type PublicUser = ReturnType<typeof publicUser>;

const invalid = (error: z.ZodError) => invalidInput('user.invalid', error);

/** A user's identity must be of a kind the tenant defines, and not the one kept for service accounts. */
export async function assertUserIdentityKind(db: Executor, tenantId: string, kind: string): Promise<void> {
  if (kind === SERVICE_IDENTITY_KIND) {
    throw new AppError('identity.reserved_kind', 400, `identity kind "${SERVICE_IDENTITY_KIND}" is reserved for service accounts`);
  }
  if (!(await createIdentityQueries(db).findKind(tenantId, kind, db))) {
    throw new AppError('identity.unknown_kind', 400, `identity kind "${kind}" is not defined (see GET /api/v1/identity-kinds)`);
  }
}

export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

/** Sent by migrations/20261201040100_user_change_notify.ts whenever a user row changes. */
export const USER_CHANGED_CHANNEL = 'gatehouse_user_changed';

/**
 * The users that every token, refresh, userinfo and admin-API request looks up (findAccount, the
 * API's caller check), kept per node. Entries are dropped on every node when the row changes,
 * whoever changes it, by the PostgreSQL trigger's NOTIFY; on this node also at once by the
 * services that change a user, so a deactivation here is refused here with no delay. While the
 * node is not receiving notifications (connection lost) nothing is kept: every lookup reads
 * the row, as it would without the cache.
 */
export async function createUserAccountCache(deps: { db: Pick<Database, 'listen'>; users: UserQueries; store: KeyValueStore; tenantId: string }): Promise<InvalidatingCache<User>> {
  const queries = deps.users;
  const cache = await createInvalidatingCache<User>({
    store: deps.store,
    name: 'users',
    load: (id) => queries.findById(deps.tenantId, id),
    // A user id that does not exist yet may well exist in a moment: never remember a miss.
    cacheMisses: false,
    feed: {
      async subscribe(onKey) {
        const listener = await deps.db.listen(
          USER_CHANGED_CHANNEL,
          (payload) => {
            for (const id of payload.split(',')) if (id) onKey(id);
          },
          () => onKey('*'),
        );
        return { active: () => listener.listening(), close: () => listener.close() };
      },
    },
  });
  return cache;
}

export function createUserService(deps: { queries: Queries; audit: AuditService; passwords: PasswordHasher; tenantId: string; events: UserEvents; credentials: CredentialService; accounts?: InvalidatingCache<User> }) {
  const queries = deps.queries.users;
  const { tenantId } = deps;

  /** Drops the user from this node's account cache (other nodes hear the database's NOTIFY). */
  const forgetCached = async (id: string): Promise<void> => {
    await deps.accounts?.invalidate(id);
  };

  /**
   * Creates the user and its default identity (every user has one from its creation), and opens
   * its status history, in one transaction. `check` judges the new identity (refusing by
   * throwing); `step` runs last in the same transaction with its queries bag, so whatever it
   * writes commits or rolls back with the user.
   */
  async function createIn(tenant: string, input: NewUserInput, actor: Actor, check?: (trx: Transaction, identityId: string) => Promise<void>, step?: (tx: TransactionQueries, userId: string) => Promise<void>): Promise<User> {
    const parsed = newUserSchema.safeParse(input);
    if (!parsed.success) throw invalid(parsed.error);
    const value = parsed.data;
    const alias = identityAliasSchema.safeParse(input.identityAlias ?? value.username);
    if (!alias.success) throw invalid(alias.error);
    const kind = input.identityKind ?? 'internal';
    if (await queries.findByUsername(tenant, value.username)) {
      throw new AppError('user.username_taken', 409, `username "${value.username}" is already taken`);
    }
    if (value.password && input.passwordHash) throw new AppError('user.invalid', 400, 'give either password or passwordHash, not both');
    if (input.passwordHash) deps.credentials.assertImportableHash(input.passwordHash);
    // A chosen password meets the tenant's password policy (each broken rule named).
    if (value.password) {
      const violations = await deps.credentials.violations(tenant, { username: value.username, email: value.email ?? null, name: value.name ?? null }, value.password);
      if (violations.length) throw policyError(violations);
    }
    const passwordHash = value.password ? await deps.passwords.hash(value.password) : (input.passwordHash ?? null);
    try {
      return await deps.queries.transaction(async (tx) => {
        await assertUserIdentityKind(tx.db, tenant, kind);
        const created = await tx.users.insert({
          id: randomUUID(),
          tenantId: tenant,
          username: value.username,
          email: value.email ?? null,
          name: value.name ?? null,
          phone: value.phone ?? null,
          department: value.department ?? null,
          passwordHash,
          status: 'active',
        });
        const identity = await tx.identities.insert({ id: randomUUID(), tenantId: tenant, userId: created.id, kind, alias: alias.data });
        await tx.users.setDefaultIdentity(tenant, created.id, identity.id);
        if (passwordHash) await deps.credentials.recordInitialHash(tenant, created.id, passwordHash, tx.db);
        // The administration guard judges what the new identity holds (default-policy roles of its kind).
        await check?.(tx.db, identity.id);
        await tx.users.insertStatusChange({ tenantId: tenant, userId: created.id, fromStatus: null, toStatus: 'active', reason: 'created', actorId: actor.actorId ?? null });
        const user: User = { ...created, defaultIdentityId: identity.id };
        await deps.audit.record({ tenantId: tenant, action: 'user.created', ...actor, targetType: 'user', targetId: user.id, details: { after: { ...publicUser(user), identity: { id: identity.id, kind, alias: identity.alias } } } }, tx.db);
        await step?.(tx, user.id);
        return user;
      });
    } catch (error) {
      // The unique indexes decide races between two concurrent creations.
      if (isUniqueViolation(error)) throw new AppError('user.conflict', 409, 'a user with this username or email already exists');
      throw error;
    }
  }

  /**
   * Deletes the user; identities, memberships, roles, data scopes, status history and grant
   * identities go with it by foreign-key cascade. Its durable sessions, grants and refresh
   * tokens are deleted in the same transaction so none of them outlives the account; the
   * `user.deleted` event then lets the session service end the session records and remove the
   * hot copies in the store (services/sessions.ts).
   */
  async function removeIn(tenant: string, id: string, actor: Actor, check?: (trx: Transaction) => Promise<void>): Promise<User> {
    const removed = await deps.queries.transaction(async (tx) => {
      const before = await tx.users.findByIdForUpdate(tenant, id, tx.db);
      if (!before) throw new AppError('user.not_found', 404, 'user not found');
      await check?.(tx.db);
      const identities = await tx.identities.listByUser(tenant, id);
      await tx.oidcPayloads.destroyByAccount(tenant, id);
      // The tenant keeps an active Admin, whoever deletes (API, CLI).
      await keepingAnAdmin(tx.db, tenant, () => tx.users.deleteById(tenant, id));
      await deps.audit.record(
        { tenantId: tenant, action: 'user.deleted', ...actor, targetType: 'user', targetId: id, details: { before: { ...publicUser(before), identities: identities.map((i) => ({ id: i.id, kind: i.kind, alias: i.alias })) } } },
        tx.db,
      );
      return before;
    });
    await deps.events.emit({ type: 'user.deleted', tenantId: tenant, userId: id });
    return removed;
  }

  return {
    queries,
    findById: (id: string) => queries.findById(tenantId, id),
    /** As findById, through this node's account cache: for the OIDC and admin-API hot paths. */
    findForOidc: (id: string): Promise<User | undefined> => (deps.accounts ? deps.accounts.get(id) : queries.findById(tenantId, id)),
    forgetCached,
    findByUsername: (username: string) => queries.findByUsername(tenantId, username),
    async getById(id: string): Promise<User> {
      const user = await queries.findById(tenantId, id);
      if (!user) throw new AppError('user.not_found', 404, 'user not found');
      return user;
    },
    create: (input: NewUserInput, actor: Actor): Promise<User> => createIn(tenantId, input, actor),
    /** As create, in the given tenant (the admin API passes the caller's). */
    createIn,
    /** An administrator (CLI) sets a password: the tenant's policy applies, history included. */
    async setPassword(username: string, password: string, actor: Actor): Promise<User> {
      const parsed = passwordSchema.safeParse(password);
      if (!parsed.success) throw invalid(parsed.error);
      const user = await queries.findByUsername(tenantId, username);
      if (!user) throw new AppError('user.not_found', 404, `no user "${username}"`);
      // Writes the hash, history and audit event (user.password_changed) and emits the event.
      await deps.credentials.setPassword(tenantId, user, password, { actor, reason: 'admin' });
      return user;
    },
    async remove(id: string, actor: Actor): Promise<void> {
      await removeIn(tenantId, id, actor);
    },
    /** As remove, in the given tenant; the caller drops the authorization cache afterwards. */
    removeIn,
    list: () => queries.list(tenantId),
    count: () => queries.count(tenantId),
  };
}

export type UserService = ReturnType<typeof createUserService>;
