// Identities of users (docs/user-guide.md, "The identity model"): one configuration of a user with
// a kind and an alias. Rules kept here:
// - "create identity" is an upsert: given a username and an alias it creates the identity alone
//   if the user exists, else the user and the identity; repeating it creates nothing;
// - a user always keeps at least one identity, and always has a default one;
// - kinds must be defined for the tenant, and "service" belongs to service accounts only, whose
//   identity is managed with the service account and not through these operations;
// - every change is audited inside its transaction; changes that alter what tokens carry (kind,
//   alias, deletion) drop the authorization cache once committed.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { patchSchema } from './patch-schema.ts';
import { type Identity, type IdentityKind } from '../queries/identities.ts';
import type { Executor, Queries, Transaction } from '../queries/index.ts';
import type { AuditService } from './audit.ts';
import type { AuthorizationService } from './authorization.ts';
import type { UserEvents } from './user-events.ts';
import { AppError, parseInput } from './errors.ts';
import { isUniqueViolation, type ChangeRequest } from './roles.ts';
import { assertGainsGrantable, assertMayManageUser, guardedGrant, keepingAnAdmin } from './administration.ts';
import { assertUserIdentityKind, emailSchema, identityAliasSchema, personNameSchema, usernameSchema, type UserService } from './users.ts';

export type { Identity, IdentityKind };

export const identityKindNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{1,39}$/, 'kind: 2-40 characters, lowercase letters, digits, "_" or "-", starting with a letter');
/** A reference to an existing kind: checked against the tenant's kinds, so only its size is limited here. */
const kindRefSchema = z.string().min(1, 'kind is required').max(40, 'kind must be at most 40 characters');

export const newIdentityKindSchema = z
  .object({
    kind: identityKindNameSchema,
    label: z.string().trim().min(1, 'label is required').max(100, 'label must be at most 100 characters'),
  })
  .strict();

export const identityUpsertSchema = z
  .object({
    username: usernameSchema,
    kind: kindRefSchema,
    alias: identityAliasSchema,
    /** Used only when the user is created. */
    email: emailSchema.optional(),
    /** Used only when the user is created. */
    name: personNameSchema.optional(),
  })
  .strict();

export const identityPatchSchema = patchSchema({ alias: identityAliasSchema.optional(), kind: kindRefSchema.optional() }, 'give an alias or a kind to change');

export type IdentityUpsertInput = z.input<typeof identityUpsertSchema>;
export type IdentityPatchInput = z.input<typeof identityPatchSchema>;
export type NewIdentityKindInput = z.input<typeof newIdentityKindSchema>;

/** An identity as the admin API shows it. */
export interface IdentityView {
  id: string;
  userId: string;
  kind: string;
  alias: string;
  isDefault: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface UpsertResult {
  identity: IdentityView;
  /** False when the identity already existed (nothing was written). */
  created: boolean;
  userCreated: boolean;
}

function view(identity: Identity, defaultIdentityId: string | null): IdentityView {
  return { id: identity.id, userId: identity.userId as string, kind: identity.kind, alias: identity.alias, isDefault: identity.id === defaultIdentityId, createdAt: identity.createdAt, updatedAt: identity.updatedAt };
}

function snapshot(identity: Identity) {
  return { kind: identity.kind, alias: identity.alias, userId: identity.userId };
}

export function createIdentityService(deps: { queries: Queries; audit: AuditService; authorization: AuthorizationService; users: UserService; events: UserEvents }) {
  const queries = deps.queries.identities;
  const userQueries = deps.queries.users;

  /** A user's identity in the tenant; a service account's identity is refused with a pointer. */
  async function getUserIdentity(tenantId: string, id: string, db: Executor = deps.queries.db): Promise<Identity & { userId: string }> {
    const identity = await queries.findById(tenantId, id, db);
    if (!identity) throw new AppError('identity.not_found', 404, 'identity not found');
    if (!identity.userId) throw new AppError('identity.service_account', 409, "this is a service account's identity: manage it through its service account");
    return identity as Identity & { userId: string };
  }

  async function lockUser(tenantId: string, userId: string, trx: Transaction) {
    const user = await userQueries.findByIdForUpdate(tenantId, userId, trx);
    if (!user) throw new AppError('user.not_found', 404, 'user not found');
    return user;
  }

  async function listForUser(tenantId: string, userId: string, db: Executor = deps.queries.db): Promise<IdentityView[]> {
    const user = await userQueries.findById(tenantId, userId, db);
    if (!user) throw new AppError('user.not_found', 404, 'user not found');
    return (await queries.listByUser(tenantId, userId, db)).map((i) => view(i, user.defaultIdentityId));
  }

  /** Adds the identity to an existing user unless it is there already (compared as the unique index does). */
  async function addToExistingUser(userId: string, value: z.output<typeof identityUpsertSchema>, by: ChangeRequest): Promise<UpsertResult> {
    return deps.queries.transaction(async ({ db: trx }) => {
      // Locking the user serializes concurrent upserts for it, so the second one finds the first's identity.
      const user = await lockUser(by.tenantId, userId, trx);
      await assertMayManageUser(trx, by, userId);
      const existing = await queries.findByUserKindAlias(by.tenantId, userId, value.kind, value.alias, trx);
      if (existing) return { identity: view(existing, user.defaultIdentityId), created: false, userCreated: false };
      await assertUserIdentityKind(trx, by.tenantId, value.kind);
      const identity = await queries.insert({ id: randomUUID(), tenantId: by.tenantId, userId, kind: value.kind, alias: value.alias }, trx);
      // The new identity's kind may bring default-policy roles: a grant like any other.
      await assertGainsGrantable(trx, by, new Map(), [identity.id], `an identity of kind "${value.kind}"`);
      await deps.audit.record({ tenantId: by.tenantId, action: 'identity.created', ...by.actor, targetType: 'identity', targetId: identity.id, details: { after: snapshot(identity), user: { id: user.id, username: user.username } } }, trx);
      return { identity: view(identity, user.defaultIdentityId), created: true, userCreated: false };
    });
  }

  return {
    queries,
    getUserIdentity: (tenantId: string, id: string) => getUserIdentity(tenantId, id),
    /** The user's identities, oldest first; 404 when the user is not in the tenant. */
    listForUser: (tenantId: string, userId: string) => listForUser(tenantId, userId),

    /**
     * Creates a user identity: the identity alone when the user exists, else the
     * user (no password: it signs in once one is set) with this identity as its default.
     * Idempotent: the same call again returns the same identity and writes nothing.
     */
    async upsert(input: IdentityUpsertInput, by: ChangeRequest): Promise<UpsertResult> {
      const value = parseInput(identityUpsertSchema, input, 'identity.invalid');
      // Two concurrent calls for a new user race on the unique username: the loser retries
      // once and then takes the existing-user path.
      for (let attempt = 0; ; attempt += 1) {
        const user = await userQueries.findByUsername(by.tenantId, value.username);
        if (user) return addToExistingUser(user.id, value, by);
        try {
          const created = await deps.users.createIn(by.tenantId, { username: value.username, email: value.email, name: value.name, identityKind: value.kind, identityAlias: value.alias }, by.actor, (trx, identityId) =>
            assertGainsGrantable(trx, by, new Map(), [identityId], `an identity of kind "${value.kind}"`),
          );
          const identity = await queries.findById(by.tenantId, created.defaultIdentityId as string);
          return { identity: view(identity!, created.defaultIdentityId), created: true, userCreated: true };
        } catch (error) {
          const lostRace = error instanceof AppError && (error.code === 'user.username_taken' || error.code === 'user.conflict');
          if (!lostRace || attempt > 0) throw error;
        }
      }
    },

    async update(id: string, input: IdentityPatchInput, by: ChangeRequest): Promise<IdentityView> {
      const patch = parseInput(identityPatchSchema, input, 'identity.invalid');
      let result: IdentityView;
      try {
        result = await deps.queries.transaction(async ({ db: trx }) => {
          const before = await getUserIdentity(by.tenantId, id, trx);
          const user = await lockUser(by.tenantId, before.userId, trx);
          await assertMayManageUser(trx, by, before.userId);
          if (patch.kind !== undefined && patch.kind !== before.kind) await assertUserIdentityKind(trx, by.tenantId, patch.kind);
          // Re-kinding changes which default-policy roles reach the identity: judged on the result.
          const after = (await guardedGrant(trx, by, [id], `the identity kind "${patch.kind ?? before.kind}"`, () => keepingAnAdmin(trx, by.tenantId, () => queries.update(by.tenantId, id, patch, trx))))!;
          await deps.audit.record({ tenantId: by.tenantId, action: 'identity.updated', ...by.actor, targetType: 'identity', targetId: id, details: { before: snapshot(before), after: snapshot(after) } }, trx);
          return view(after, user.defaultIdentityId);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('identity.conflict', 409, 'the user already has an identity of this kind with this alias');
        throw error;
      }
      // Kind and alias travel in tokens, and the kind selects default-policy roles.
      await deps.authorization.invalidateAll();
      return result;
    },

    /** Never the user's last identity; when the default goes, the oldest remaining one takes its place. */
    async remove(id: string, by: ChangeRequest): Promise<void> {
      const removed = await deps.queries.transaction(async ({ db: trx }) => {
        const identity = await getUserIdentity(by.tenantId, id, trx);
        // The lock makes two concurrent deletions of a user's last two identities take turns.
        const user = await lockUser(by.tenantId, identity.userId, trx);
        await assertMayManageUser(trx, by, user.id);
        const remaining = (await queries.listByUser(by.tenantId, user.id, trx)).filter((i) => i.id !== id);
        if (!remaining.length) throw new AppError('identity.last_identity', 409, 'a user keeps at least one identity: add another before removing this one');
        await keepingAnAdmin(trx, by.tenantId, () => queries.deleteById(by.tenantId, id, trx));
        let defaultIdentityId = user.defaultIdentityId;
        if (!defaultIdentityId || defaultIdentityId === id || !remaining.some((i) => i.id === defaultIdentityId)) {
          defaultIdentityId = remaining[0]!.id;
          await userQueries.setDefaultIdentity(by.tenantId, user.id, defaultIdentityId, trx);
        }
        await deps.audit.record(
          { tenantId: by.tenantId, action: 'identity.deleted', ...by.actor, targetType: 'identity', targetId: id, details: { before: { ...snapshot(identity), isDefault: user.defaultIdentityId === id }, after: { defaultIdentityId } } },
          trx,
        );
        return { userId: user.id };
      });
      await deps.authorization.invalidateAll();
      await deps.events.emit({ type: 'identity.removed', tenantId: by.tenantId, userId: removed.userId, identityId: id });
    },

    /** The identity preselected at sign-in: the last selection becomes the default. */
    async setDefault(userId: string, identityId: string, by: ChangeRequest): Promise<IdentityView[]> {
      await deps.queries.transaction(async ({ db: trx }) => {
        const user = await lockUser(by.tenantId, userId, trx);
        await assertMayManageUser(trx, by, userId);
        const identity = await queries.findById(by.tenantId, identityId, trx);
        if (!identity || identity.userId !== userId) throw new AppError('identity.not_found', 404, 'this user has no identity with that id');
        if (user.defaultIdentityId === identityId) return;
        await userQueries.setDefaultIdentity(by.tenantId, userId, identityId, trx);
        await deps.audit.record(
          { tenantId: by.tenantId, action: 'user.default_identity_set', ...by.actor, targetType: 'user', targetId: userId, details: { before: { defaultIdentityId: user.defaultIdentityId }, after: { defaultIdentityId: identityId } } },
          trx,
        );
      });
      return listForUser(by.tenantId, userId);
    },

    listKinds: (tenantId: string): Promise<IdentityKind[]> => queries.listKinds(tenantId),

    /** A tenant-defined kind next to the built-in ones (internal, client, supplier, service). */
    async createKind(input: NewIdentityKindInput, by: ChangeRequest): Promise<IdentityKind> {
      const value = parseInput(newIdentityKindSchema, input, 'identity_kind.invalid');
      return deps.queries.transaction(async ({ db: trx }) => {
        if (!(await queries.insertKind(by.tenantId, value, trx))) throw new AppError('identity_kind.exists', 409, `identity kind "${value.kind}" already exists`);
        await deps.audit.record({ tenantId: by.tenantId, action: 'identity_kind.created', ...by.actor, targetType: 'identity_kind', targetId: value.kind, details: { after: value } }, trx);
        return { kind: value.kind, label: value.label, builtin: false };
      });
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
