// Service accounts are machine identities that authenticate with access keys. Each has exactly one
// identity (kind 'service') through which it gets roles and data scopes, and access keys that are
// the client secrets of a client-credentials client whose client_id is the account id. Several keys
// may be usable at once so that a key can be rotated without downtime.
//
// Checking a key is on the token endpoint's hot path: keys carry 256 bits of randomness, so they
// are stored as a keyed HMAC (no slow password hash), and the account with its usable keys is
// read through a per-node cache that every node drops at once (store pub/sub) when a key is
// created or revoked, or the account changes: a revoked key is refused everywhere immediately.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { Executor, Queries } from '../queries/index.ts';
import type { AccessKey, ServiceAccount, ServiceAccountCredentials } from '../queries/service-accounts.ts';
import type { KeyValueStore } from '../store/types.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import type { AuthorizationService } from './authorization.ts';
import { createInvalidatingCache } from './cache.ts';
import { AppError, parseInput } from './errors.ts';
import { keyedHash, randomToken } from './secrets.ts';
import { assertMayManageServiceAccount, keepingAnAdmin, type Administrator } from './administration.ts';

export type { AccessKey, ServiceAccount, ServiceAccountCredentials };

/** Every access key starts with this, so a leaked one is recognisable (e.g. by secret scanners). */
export const ACCESS_KEY_PREFIX = 'gh_sk_';
/** How much of a key listings show: the fixed prefix and 6 random characters. */
const SHOWN_PREFIX_LENGTH = 12;
/**
 * oidc-provider insists that a secret-authenticated client has a client_secret; a service
 * account's is this marker, and compareClientSecret checks the account's keys instead. It can
 * never equal an application's stored value, which is always an `hmac-sha256:` hash.
 */
export const SERVICE_ACCOUNT_CLIENT_SECRET = 'gatehouse:service-account-access-keys';
/** Usable (neither revoked nor expired) keys per account: enough to rotate, few enough to audit. */
export const MAX_USABLE_KEYS = 10;
/** last_used_at is written at most this often per key and node: it is a hint, not a log. */
const TOUCH_INTERVAL_MS = 60_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// As a client_id only the canonical lowercase spelling counts: the cache is keyed by it, and an
// upper-case alias would be a second cache entry that invalidation (by the stored id) misses.
const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const nameSchema = z.string().trim().min(1, 'name is required').max(100, 'name must be at most 100 characters');
const descriptionSchema = z.string().trim().max(500, 'description must be at most 500 characters');

export const newServiceAccountSchema = z.object({ name: nameSchema, description: descriptionSchema.nullable().optional() }).strict();
export const serviceAccountPatchSchema = z.object({ name: nameSchema.optional(), description: descriptionSchema.nullable().optional(), status: z.enum(['active', 'inactive']).optional() }).strict();
export const newAccessKeySchema = z
  .object({
    description: descriptionSchema.nullable().optional(),
    expiresAt: z.iso.datetime({ offset: true, message: 'expiresAt must be an ISO 8601 date-time with a time zone, e.g. 2030-01-01T00:00:00Z' }).optional(),
  })
  .strict();

export type NewServiceAccountInput = z.input<typeof newServiceAccountSchema>;
export type ServiceAccountPatchInput = z.input<typeof serviceAccountPatchSchema>;
export type NewAccessKeyInput = z.input<typeof newAccessKeySchema>;

/** oidc-provider client metadata of an active service account: client credentials only. */
export function serviceAccountClientMetadata(account: Pick<ServiceAccountCredentials, 'id' | 'name'>): Record<string, unknown> {
  return {
    client_id: account.id,
    client_name: account.name,
    client_secret: SERVICE_ACCOUNT_CLIENT_SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

const auditable = (account: ServiceAccount) => ({ name: account.name, description: account.description, status: account.status });
const auditableKey = (key: AccessKey) => ({ serviceAccountId: key.serviceAccountId, prefix: key.prefix, description: key.description, expiresAt: key.expiresAt?.toISOString() ?? null });

export async function createServiceAccountService(deps: { queries: Queries; store: KeyValueStore; audit: AuditService; authorization: AuthorizationService; hashKey: Buffer; tenantId: string; logger: Logger; now?: () => number }) {
  const clock = deps.now ?? Date.now;
  const { tenantId } = deps;
  const queries = deps.queries.serviceAccounts;
  const credentials = await createInvalidatingCache<ServiceAccountCredentials>({
    store: deps.store,
    name: 'service-account-keys',
    load: (id) => queries.findCredentials(id),
  });
  /** When this node last wrote last_used_at per key. */
  const lastTouched = new Map<string, number>();

  function touch(key: ServiceAccountCredentials['keys'][number], now: number): void {
    const last = Math.max(lastTouched.get(key.id) ?? 0, key.lastUsedAt ?? 0);
    if (now - last < TOUCH_INTERVAL_MS) return;
    lastTouched.set(key.id, now);
    // Off the request path: a token is not worth delaying for a usage hint.
    queries.touchKey(key.id, new Date(now)).catch((err: unknown) => deps.logger.error({ err, accessKeyId: key.id }, 'recording the use of an access key failed'));
  }

  async function getOwn(id: string, trx?: Executor): Promise<ServiceAccount> {
    const account = UUID.test(id) ? await queries.findById(tenantId, id, trx) : undefined;
    if (!account) throw new AppError('service_account.not_found', 404, 'service account not found');
    return account;
  }

  return {
    cache: credentials,

    /** The active service account with this client_id, for the OIDC Client adapter (cached). */
    async findForOidc(clientId: string): Promise<ServiceAccountCredentials | undefined> {
      // Ordinary client_ids are not uuids; they never reach SQL (the id column is a uuid).
      if (!CLIENT_ID.test(clientId)) return undefined;
      const account = await credentials.get(clientId);
      return account && account.tenantId === tenantId && account.status === 'active' ? account : undefined;
    },

    /** Whether `secret` is one of the account's usable access keys (client authentication). */
    async verifySecret(clientId: string, secret: string): Promise<boolean> {
      if (typeof secret !== 'string' || !secret.startsWith(ACCESS_KEY_PREFIX) || !CLIENT_ID.test(clientId)) return false;
      const account = await credentials.get(clientId);
      if (!account || account.tenantId !== tenantId || account.status !== 'active') return false;
      const presented = Buffer.from(keyedHash(deps.hashKey, secret));
      const now = clock();
      // The cached list was read at some point in the last minute: check expiry again now.
      const match = account.keys.find((key) => {
        if (key.expiresAt !== null && key.expiresAt <= now) return false;
        const stored = Buffer.from(key.hash);
        return stored.length === presented.length && timingSafeEqual(stored, presented);
      });
      if (!match) return false;
      touch(match, now);
      return true;
    },

    list: () => queries.list(tenantId),
    get: (id: string) => getOwn(id),

    async create(input: NewServiceAccountInput, actor: Actor): Promise<ServiceAccount> {
      const value = parseInput(newServiceAccountSchema, input, 'service_account.invalid');
      const id = randomUUID();
      let account: ServiceAccount;
      try {
        // The account and its one identity exist together or not at all.
        account = await deps.queries.transaction(async (tx) => {
          await tx.serviceAccounts.insertWithIdentity(tx.db, { id, tenantId, name: value.name, description: value.description ?? null, identityId: randomUUID() });
          return getOwn(id, tx.db);
        });
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw new AppError('service_account.name_taken', 409, `a service account named "${value.name}" already exists`);
        throw error;
      }
      await credentials.invalidate(id);
      await deps.audit.record({ tenantId, action: 'service_account.created', ...actor, targetType: 'service_account', targetId: id, details: { after: { ...auditable(account), identityId: account.identityId } } });
      return account;
    },

    /** `by`: the administrator's rights (the admin API); absent for the operator's own paths (CLI). */
    async update(id: string, input: ServiceAccountPatchInput, actor: Actor, by?: Administrator): Promise<ServiceAccount> {
      const value = parseInput(serviceAccountPatchSchema, input, 'service_account.invalid');
      const before = await getOwn(id);
      if (by) await assertMayManageServiceAccount(deps.queries.db, by, id);
      const patch: Partial<Pick<ServiceAccount, 'name' | 'description' | 'status'>> = {};
      if (value.name !== undefined && value.name !== before.name) patch.name = value.name;
      if (value.description !== undefined && (value.description ?? null) !== before.description) patch.description = value.description ?? null;
      if (value.status !== undefined && value.status !== before.status) patch.status = value.status;
      if (Object.keys(patch).length === 0) return before;
      let after: ServiceAccount;
      try {
        after = await deps.queries.transaction(async (tx) => {
          await keepingAnAdmin(tx.db, tenantId, () => tx.serviceAccounts.update(tx.db, tenantId, id, patch));
          // The identity's alias is the account's name (it appears in the token's identity claim).
          if (patch.name !== undefined) await tx.serviceAccounts.setIdentityAlias(tx.db, tenantId, id, patch.name);
          return getOwn(id, tx.db);
        });
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw new AppError('service_account.name_taken', 409, `a service account named "${value.name ?? ''}" already exists`);
        throw error;
      }
      await credentials.invalidate(id);
      if (patch.name !== undefined) await deps.authorization.invalidateAll();
      await deps.audit.record({ tenantId, action: 'service_account.updated', ...actor, targetType: 'service_account', targetId: id, details: { before: auditable(before), after: auditable(after) } });
      return after;
    },

    async remove(id: string, actor: Actor, by?: Administrator): Promise<void> {
      const before = await getOwn(id);
      await deps.queries.transaction(async (tx) => {
        if (by) await assertMayManageServiceAccount(tx.db, by, id);
        await keepingAnAdmin(tx.db, tenantId, () => tx.serviceAccounts.deleteById(tenantId, id));
      });
      await credentials.invalidate(id);
      // Its identity went with it: no cached authorization may outlive it.
      await deps.authorization.invalidateAll();
      await deps.audit.record({ tenantId, action: 'service_account.deleted', ...actor, targetType: 'service_account', targetId: id, details: { before: { ...auditable(before), identityId: before.identityId } } });
    },

    /** A new access key; its secret is returned now and never again. */
    /** A key acts as its service account: minting one is managing the account (administration.ts). */
    async createKey(serviceAccountId: string, input: NewAccessKeyInput, actor: Actor, by?: Administrator): Promise<{ key: AccessKey; secret: string }> {
      const value = parseInput(newAccessKeySchema, input, 'access_key.invalid');
      const account = await getOwn(serviceAccountId);
      if (by) await assertMayManageServiceAccount(deps.queries.db, by, account.id);
      const expiresAt = value.expiresAt ? new Date(value.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= clock()) throw new AppError('access_key.invalid', 400, 'expiresAt: must be in the future');
      if ((await queries.countUsableKeys(tenantId, account.id)) >= MAX_USABLE_KEYS) {
        throw new AppError('access_key.limit', 409, `a service account may have at most ${MAX_USABLE_KEYS} usable access keys: revoke one first`);
      }
      const secret = `${ACCESS_KEY_PREFIX}${randomToken(32)}`;
      const key = await queries.insertKey({
        id: randomUUID(),
        tenantId,
        serviceAccountId: account.id,
        prefix: secret.slice(0, SHOWN_PREFIX_LENGTH),
        keyHash: keyedHash(deps.hashKey, secret),
        description: value.description ?? null,
        expiresAt,
      });
      await credentials.invalidate(account.id);
      await deps.audit.record({ tenantId, action: 'access_key.created', ...actor, targetType: 'access_key', targetId: key.id, details: { after: auditableKey(key) } });
      return { key, secret };
    },

    async listKeys(serviceAccountId: string): Promise<AccessKey[]> {
      const account = await getOwn(serviceAccountId);
      return queries.listKeys(tenantId, account.id);
    },

    /** Revokes the key on every node at once. Revoking a revoked key changes nothing. */
    async revokeKey(serviceAccountId: string, keyId: string, actor: Actor, by?: Administrator): Promise<void> {
      const account = await getOwn(serviceAccountId);
      if (by) await assertMayManageServiceAccount(deps.queries.db, by, account.id);
      const existing = UUID.test(keyId) ? await queries.findKey(tenantId, account.id, keyId) : undefined;
      if (!existing) throw new AppError('access_key.not_found', 404, 'access key not found');
      const revoked = await queries.revokeKey(tenantId, account.id, keyId);
      // Drop the cache even when someone else revoked it first: never leave a node trusting it.
      await credentials.invalidate(account.id);
      lastTouched.delete(keyId);
      if (!revoked) return;
      await deps.audit.record({
        tenantId,
        action: 'access_key.revoked',
        ...actor,
        targetType: 'access_key',
        targetId: keyId,
        details: { before: { ...auditableKey(existing), revokedAt: null }, after: { revokedAt: revoked.revokedAt?.toISOString() ?? null } },
      });
    },
  };
}

export type ServiceAccountService = Awaited<ReturnType<typeof createServiceAccountService>>;
