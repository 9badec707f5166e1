// Data scopes: row-level restrictions per identity, key → values, carried into tokens as
// `data_scope` so resource servers can filter rows. Rules kept here:
// - keys must be defined for the tenant (data_scope_keys), so a typo cannot grant nothing silently;
// - values are non-empty lists; "*" means every value and then stands alone;
// - an absent key means no rows of that kind, so removing values or keys only narrows;
// - nobody grants values outside their own scope (escalation.ts). Values the identity already
//   holds for a key are not a new grant, so an administrator can rewrite one key without being
//   refused for another key they could not have granted themselves;
// - every change is audited inside its transaction and drops the authorization cache.
import { z } from 'zod';
import { type DataScope, type DataScopeKey } from '../queries/data-scopes.ts';
import type { Executor, Queries, Transaction } from '../queries/index.ts';
import type { AuditService } from './audit.ts';
import type { AuthorizationService } from './authorization.ts';
import { AppError, parseInput } from './errors.ts';
import { assertMayGrantDataScope, assertMayManageIdentityOwner } from './administration.ts';
import { type ChangeRequest } from './roles.ts';

export type { DataScope, DataScopeKey };

export const ALL_VALUES = '*';

export const dataScopeKeyNameSchema = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'key: 1-40 characters, lowercase letters, digits or "_", starting with a letter');

export const dataScopeValuesSchema = z
  .array(z.string().min(1, 'a value must not be empty').max(200, 'a value must be at most 200 characters'))
  .min(1, 'give at least one value ("*" for all); remove the key to give none')
  .max(1000, 'at most 1000 values per key')
  .transform((values) => [...new Set(values)])
  .refine((values) => !values.includes(ALL_VALUES) || values.length === 1, `"${ALL_VALUES}" means all values and must be the only value`);

export const dataScopeSchema = z.record(dataScopeKeyNameSchema, dataScopeValuesSchema).refine((scope) => Object.keys(scope).length <= 100, 'at most 100 keys');

export const newDataScopeKeySchema = z
  .object({
    key: dataScopeKeyNameSchema,
    description: z.string().trim().max(500, 'description must be at most 500 characters').nullable().optional(),
  })
  .strict();

export const dataScopeKeyPatchSchema = z
  .object({
    description: z.string().trim().max(500, 'description must be at most 500 characters').nullable(),
  })
  .strict();

export type NewDataScopeKeyInput = z.input<typeof newDataScopeKeySchema>;

export function createDataScopeService(deps: { queries: Queries; audit: AuditService; authorization: AuthorizationService }) {
  const queries = deps.queries.dataScopes;
  const identities = deps.queries.identities;

  /** Any identity of the tenant: a user's or a service account's. */
  async function assertIdentity(tenantId: string, identityId: string, db: Executor): Promise<void> {
    if (!(await identities.findById(tenantId, identityId, db))) throw new AppError('identity.not_found', 404, 'identity not found');
  }

  async function assertKeysDefined(tenantId: string, keys: string[], db: Executor): Promise<void> {
    const known = new Set(await queries.existingKeys(tenantId, keys, db));
    const unknown = keys.filter((k) => !known.has(k));
    if (unknown.length) throw new AppError('data_scope.unknown_key', 400, `data scope key ${unknown.map((k) => `"${k}"`).join(', ')} is not defined (see GET /api/v1/data-scope-keys)`);
  }

  /** Only values the identity does not hold yet for the key are a grant, and must lie within the granter's own scope. */
  function assertGrantable(by: ChangeRequest, before: DataScope, key: string, values: string[]): void {
    if (by.granter === 'system') return;
    const held = before[key] ?? [];
    if (held.includes(ALL_VALUES)) return;
    const added = values.filter((v) => !held.includes(v));
    if (added.length) assertMayGrantDataScope(by, key, added);
  }

  /**
   * Runs a change to one identity's scope in a transaction with its audit event, then drops the
   * cache. A change that leaves the scope as it was (a repeated PUT) records and drops nothing.
   */
  async function change(identityId: string, by: ChangeRequest, action: string, work: (trx: Transaction, before: DataScope) => Promise<void>): Promise<DataScope> {
    const { after, changed } = await deps.queries.transaction(async ({ db: trx }) => {
      await assertIdentity(by.tenantId, identityId, trx);
      // Row-locks the identity so two concurrent changes to its scope apply one after the other.
      await queries.lockIdentity(identityId, trx);
      // Changing anyone's scope, narrowing included, is for those who may manage its owner.
      await assertMayManageIdentityOwner(trx, by, identityId);
      const before = await queries.forIdentity(identityId, trx);
      await work(trx, before);
      const result = await queries.forIdentity(identityId, trx);
      const differs = JSON.stringify(before) !== JSON.stringify(result);
      if (differs) await deps.audit.record({ tenantId: by.tenantId, action, ...by.actor, targetType: 'identity', targetId: identityId, details: { before, after: result } }, trx);
      return { after: result, changed: differs };
    });
    if (changed) await deps.authorization.invalidateAll();
    return after;
  }

  return {
    queries,
    async get(tenantId: string, identityId: string): Promise<DataScope> {
      await assertIdentity(tenantId, identityId, deps.queries.db);
      return queries.forIdentity(identityId);
    },

    /** Replaces every key of the identity's scope; keys not given are removed. */
    async replace(identityId: string, input: Record<string, string[]>, by: ChangeRequest): Promise<DataScope> {
      const scope = parseInput(dataScopeSchema, input, 'data_scope.invalid');
      return change(identityId, by, 'identity.data_scope_replaced', async (trx, before) => {
        await assertKeysDefined(by.tenantId, Object.keys(scope), trx);
        for (const [key, values] of Object.entries(scope)) assertGrantable(by, before, key, values);
        await queries.replace(by.tenantId, identityId, scope, trx);
      });
    },

    /** Sets one key's values, leaving the other keys as they are. */
    async set(identityId: string, key: string, input: string[], by: ChangeRequest): Promise<DataScope> {
      const name = parseInput(dataScopeKeyNameSchema, key, 'data_scope.invalid');
      const values = parseInput(dataScopeValuesSchema, input, 'data_scope.invalid');
      return change(identityId, by, 'identity.data_scope_set', async (trx, before) => {
        await assertKeysDefined(by.tenantId, [name], trx);
        assertGrantable(by, before, name, values);
        await queries.set(by.tenantId, identityId, name, values, trx);
      });
    },

    async remove(identityId: string, key: string, by: ChangeRequest): Promise<DataScope> {
      return change(identityId, by, 'identity.data_scope_removed', async (trx) => {
        if (!(await queries.remove(identityId, key, trx))) throw new AppError('data_scope.not_set', 404, `the identity has no values for data scope key "${key}"`);
      });
    },

    listKeys: (tenantId: string): Promise<DataScopeKey[]> => queries.listKeys(tenantId),

    async createKey(input: NewDataScopeKeyInput, by: ChangeRequest): Promise<DataScopeKey> {
      const value = parseInput(newDataScopeKeySchema, input, 'data_scope_key.invalid');
      const key: DataScopeKey = { key: value.key, description: value.description ?? null };
      return deps.queries.transaction(async ({ db: trx }) => {
        if (!(await queries.insertKey(by.tenantId, key, trx))) throw new AppError('data_scope_key.exists', 409, `data scope key "${key.key}" already exists`);
        await deps.audit.record({ tenantId: by.tenantId, action: 'data_scope_key.created', ...by.actor, targetType: 'data_scope_key', targetId: key.key, details: { after: key } }, trx);
        return key;
      });
    },

    /** Changes a key's description; the key itself is what tokens and scopes name, so it stays. */
    async updateKey(key: string, input: z.input<typeof dataScopeKeyPatchSchema>, by: ChangeRequest): Promise<DataScopeKey> {
      const patch = parseInput(dataScopeKeyPatchSchema, input, 'data_scope_key.invalid');
      return deps.queries.transaction(async ({ db: trx }) => {
        const before = await queries.findKey(by.tenantId, key, trx);
        if (!before) throw new AppError('data_scope_key.not_found', 404, `data scope key "${key}" is not defined`);
        await queries.updateKeyDescription(by.tenantId, key, patch.description, trx);
        const after: DataScopeKey = { key, description: patch.description };
        await deps.audit.record({ tenantId: by.tenantId, action: 'data_scope_key.updated', ...by.actor, targetType: 'data_scope_key', targetId: key, details: { before, after } }, trx);
        return after;
      });
    },

    /**
     * Deletes a key no identity holds values for. A key still in use is refused rather than
     * taken from its holders silently: their tokens would change without anyone deciding it.
     */
    async deleteKey(key: string, by: ChangeRequest): Promise<void> {
      await deps.queries.transaction(async ({ db: trx }) => {
        const before = await queries.findKey(by.tenantId, key, trx);
        if (!before) throw new AppError('data_scope_key.not_found', 404, `data scope key "${key}" is not defined`);
        const holders = await queries.countHolders(by.tenantId, key, trx);
        if (holders > 0) throw new AppError('data_scope_key.in_use', 409, `data scope key "${key}" is held by ${holders} ${holders === 1 ? 'identity' : 'identities'}: remove it from them first`);
        await queries.deleteKey(by.tenantId, key, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'data_scope_key.deleted', ...by.actor, targetType: 'data_scope_key', targetId: key, details: { before, after: null } }, trx);
      });
    },
  };
}

export type DataScopeService = ReturnType<typeof createDataScopeService>;
