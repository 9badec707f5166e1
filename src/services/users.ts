// Users: creation, password changes, deletion and password authentication.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { createUserQueries, type User } from '../queries/users.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { AppError } from './errors.ts';
import { MAX_PASSWORD_BYTES, type PasswordHasher } from './passwords.ts';

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

export const newUserSchema = z.object({
  username: usernameSchema,
  password: passwordSchema.optional(),
  email: z.email('email must be a valid email address').max(254).optional(),
  name: z.string().trim().min(1).max(200).optional(),
});

export type NewUserInput = z.input<typeof newUserSchema> & { identityKind?: string; identityAlias?: string };

function invalid(error: z.ZodError): AppError {
  return new AppError('user.invalid', 400, error.issues.map((i) => i.message).join('; '), { issues: error.issues });
}

export function createUserService(deps: { knex: Knex; audit: AuditService; passwords: PasswordHasher; tenantId: string }) {
  const queries = createUserQueries(deps.knex);
  const { tenantId } = deps;

  return {
    queries,
    findById: (id: string) => queries.findById(tenantId, id),
    findByUsername: (username: string) => queries.findByUsername(tenantId, username),
    async getById(id: string): Promise<User> {
      const user = await queries.findById(tenantId, id);
      if (!user) throw new AppError('user.not_found', 404, 'user not found');
      return user;
    },
    async create(input: NewUserInput, actor: Actor): Promise<User> {
      const parsed = newUserSchema.safeParse(input);
      if (!parsed.success) throw invalid(parsed.error);
      const value = parsed.data;
      if (await queries.findByUsername(tenantId, value.username)) {
        throw new AppError('user.username_taken', 409, `username "${value.username}" is already taken`);
      }
      const passwordHash = value.password ? await deps.passwords.hash(value.password) : null;
      let user: User;
      try {
        // Every user gets a default identity (seed 003: "A default identity will be created when a user is created").
        user = await deps.knex.transaction(async (trx) => {
          const created = await queries.insert({ id: randomUUID(), tenantId, username: value.username, email: value.email ?? null, name: value.name ?? null, passwordHash, status: 'active' }, trx);
          const identityId = randomUUID();
          await trx('identities').insert({ id: identityId, tenant_id: tenantId, user_id: created.id, kind: input.identityKind ?? 'internal', alias: input.identityAlias ?? created.username });
          await trx('users').where({ id: created.id }).update({ default_identity_id: identityId });
          return created;
        });
      } catch (error) {
        // The unique indexes decide races between two concurrent creations.
        if ((error as { code?: string }).code === '23505') throw new AppError('user.conflict', 409, 'a user with this username or email already exists');
        throw error;
      }
      await deps.audit.record({ tenantId, action: 'user.created', ...actor, targetType: 'user', targetId: user.id, details: { after: { username: user.username, email: user.email, name: user.name } } });
      return user;
    },
    async setPassword(username: string, password: string, actor: Actor): Promise<User> {
      const parsed = passwordSchema.safeParse(password);
      if (!parsed.success) throw invalid(parsed.error);
      const user = await queries.findByUsername(tenantId, username);
      if (!user) throw new AppError('user.not_found', 404, `no user "${username}"`);
      await queries.updatePasswordHash(tenantId, user.id, await deps.passwords.hash(password));
      await deps.audit.record({ tenantId, action: 'user.password_set', ...actor, targetType: 'user', targetId: user.id });
      return user;
    },
    async remove(id: string, actor: Actor): Promise<void> {
      const before = await queries.findById(tenantId, id);
      if (!before) throw new AppError('user.not_found', 404, 'user not found');
      await queries.deleteById(tenantId, id);
      await deps.audit.record({ tenantId, action: 'user.deleted', ...actor, targetType: 'user', targetId: id, details: { before: { username: before.username, email: before.email } } });
    },
    /**
     * Password sign-in. Unknown users, inactive users and wrong passwords all cost one argon2id
     * verification and return undefined, so neither the answer nor its timing tells them apart.
     */
    async authenticate(login: string, password: string): Promise<{ user?: User; reason?: 'unknown' | 'password' | 'inactive' }> {
      const user = login.length <= 254 ? await queries.findByLogin(tenantId, login) : undefined;
      const ok = await deps.passwords.verify(user?.passwordHash, password);
      if (!user) return { reason: 'unknown' };
      if (!ok) return { reason: 'password' };
      if (user.status !== 'active') return { reason: 'inactive' };
      if (user.passwordHash && deps.passwords.needsRehash(user.passwordHash)) {
        await queries.updatePasswordHash(tenantId, user.id, await deps.passwords.hash(password));
      }
      return { user };
    },
    list: () => queries.list(tenantId),
    count: () => queries.count(tenantId),
  };
}

export type UserService = ReturnType<typeof createUserService>;
