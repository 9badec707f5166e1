// Upstream identity providers: OpenID Connect providers (and GitHub's OAuth 2.0) whose users may
// sign in to Gatehouse, with the claim mapping and defaults used to provision a new user, and the
// providers each application offers on its sign-in page. Client secrets are sealed at rest
// (AES-256-GCM, services/secrets.ts) and never returned by the API.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { FederatedLink, IdentityProvider } from '../queries/identity-providers.ts';
import type { Queries, TransactionQueries } from '../queries/index.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { AppError, parseInput } from './errors.ts';
import { assertMayGrantRoles, keepingAnAdmin } from './administration.ts';
import { type ChangeRequest } from './roles.ts';
import { decrypt, encrypt } from './secrets.ts';
import { assertUserIdentityKind } from './users.ts';

export type { FederatedLink, IdentityProvider };

const claimName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_:.\-/]+$/, 'a claim name');
export const claimMappingSchema = z
  .object({
    username: claimName.default('preferred_username'),
    email: claimName.default('email'),
    name: claimName.default('name'),
    groups: claimName.optional(),
  })
  .strict();

/** Scope tokens, RFC 6749 §3.3. */
const scopeSchema = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'scopes are space-free printable ASCII (RFC 6749 §3.3)');

export const PRESETS = ['google', 'entra', 'github', 'custom'] as const;

const baseFields = {
  slug: z
    .string()
    .trim()
    .min(1)
    .max(40)
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'slug: lower-case letters, digits and -'),
  name: z.string().trim().min(1).max(100),
  clientId: z.string().trim().min(1).max(500),
  clientSecret: z.string().min(1).max(2000).optional(),
  scopes: z.array(scopeSchema).min(1).max(50).optional(),
  claimMapping: claimMappingSchema.partial().optional(),
  identityKind: z.string().trim().min(1).max(40).default('internal'),
  defaultRoleIds: z.array(z.guid()).max(50).default([]),
  /**
   * The groups the provider may manage: with a groups claim mapped, each sign-in makes the user's
   * default identity a member of exactly those of these groups whose names the claim lists.
   */
  managedGroupIds: z.array(z.guid()).max(100).default([]),
  enabled: z.boolean().default(true),
};

export const newProviderSchema = z
  .object({
    preset: z.enum(PRESETS).default('custom'),
    /** Entra ID: the directory (tenant) id or verified domain; the issuer is tenant-specific. */
    entraTenant: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9.-]{1,100}$/, 'entraTenant: a tenant id (GUID) or domain')
      .optional(),
    /** Required for "custom": the issuer identifier (OIDC Discovery §4); for "github", a GitHub Enterprise Server URL. */
    issuer: z.url().max(500).optional(),
    ...baseFields,
  })
  .strict();

export const providerPatchSchema = z
  .object({
    name: baseFields.name.optional(),
    issuer: z.url().max(500).optional(),
    clientId: baseFields.clientId.optional(),
    clientSecret: baseFields.clientSecret,
    scopes: baseFields.scopes,
    claimMapping: baseFields.claimMapping,
    identityKind: z.string().trim().min(1).max(40).optional(),
    defaultRoleIds: z.array(z.guid()).max(50).optional(),
    managedGroupIds: z.array(z.guid()).max(100).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

export type NewProviderInput = z.input<typeof newProviderSchema>;
export type ProviderPatch = z.input<typeof providerPatchSchema>;

/**
 * What a preset fills in. GitHub is an OAuth 2.0 provider, not OpenID Connect: it issues no ID
 * token and has no discovery document, so the user is read from its REST API with the access
 * token (GET /user, and GET /user/emails for a verified primary address).
 */
function presetValues(value: z.infer<typeof newProviderSchema>): Pick<IdentityProvider, 'protocol' | 'issuer' | 'scopes'> & { claimMapping: z.infer<typeof claimMappingSchema> } {
  switch (value.preset) {
    case 'google':
      return { protocol: 'oidc', issuer: 'https://accounts.google.com', scopes: ['openid', 'email', 'profile'], claimMapping: { username: 'email', email: 'email', name: 'name' } };
    case 'entra': {
      if (!value.entraTenant) throw new AppError('identity_provider.invalid', 400, 'entraTenant: the Entra ID directory (tenant) id is required for the "entra" preset');
      // A tenant-specific issuer: "common" or "organizations" would accept any directory's users.
      if (['common', 'organizations', 'consumers'].includes(value.entraTenant.toLowerCase())) throw new AppError('identity_provider.invalid', 400, 'entraTenant: use your directory id, not a multi-tenant alias');
      return { protocol: 'oidc', issuer: `https://login.microsoftonline.com/${value.entraTenant}/v2.0`, scopes: ['openid', 'email', 'profile'], claimMapping: { username: 'preferred_username', email: 'email', name: 'name', groups: 'groups' } };
    }
    case 'github':
      // `issuer`: a GitHub Enterprise Server's URL instead of github.com.
      return { protocol: 'github', issuer: value.issuer ?? 'https://github.com', scopes: ['read:user', 'user:email'], claimMapping: { username: 'login', email: 'email', name: 'name' } };
    default:
      if (!value.issuer) throw new AppError('identity_provider.invalid', 400, 'issuer: required for a custom provider');
      return { protocol: 'oidc', issuer: value.issuer, scopes: ['openid', 'email', 'profile'], claimMapping: claimMappingSchema.parse({}) };
  }
}

/** What the audit log and the admin API may show of a provider: never the secret. */
export const snapshot = (p: IdentityProvider) => ({
  slug: p.slug,
  name: p.name,
  protocol: p.protocol,
  issuer: p.issuer,
  clientId: p.clientId,
  hasClientSecret: p.clientSecretEncrypted !== null,
  scopes: p.scopes,
  claimMapping: p.claimMapping,
  identityKind: p.identityKind,
  defaultRoleIds: p.defaultRoleIds,
  managedGroupIds: p.managedGroupIds,
  enabled: p.enabled,
});

export function createIdentityProviderService(deps: { queries: Queries; audit: AuditService; encryptionKey: Buffer }) {
  const queries = deps.queries.identityProviders;

  /** Default roles are grants to every user the provider creates: the granter must hold them (ASVS 5 V8.2). */
  async function checkDefaults(tx: TransactionQueries, by: ChangeRequest, provider: IdentityProvider, before?: IdentityProvider) {
    await assertUserIdentityKind(tx.db, by.tenantId, provider.identityKind);
    const roles = await tx.roles.findByIds(by.tenantId, provider.defaultRoleIds);
    const missing = provider.defaultRoleIds.filter((id) => !roles.some((r) => r.id === id));
    if (missing.length) throw new AppError('role.not_found', 404, `role not found: ${missing.join(', ')}`);
    // The administration guard's role rule: only an Admin grants Admin, a delegated
    // administrator grants the roles it may assign or whose permissions it holds.
    const added = roles.filter((role) => !before?.defaultRoleIds.includes(role.id));
    assertMayGrantRoles(by, added, 'these roles to every user this provider creates');
    // A managed group's roles reach every user the upstream puts in it: the same rule applies
    // to the roles of each group added to the list.
    const groups = await tx.identityProviders.groupsAmong(by.tenantId, provider.managedGroupIds);
    const unknown = provider.managedGroupIds.filter((id) => !groups.some((g) => g.id === id));
    if (unknown.length) throw new AppError('group.not_found', 404, `group not found: ${unknown.join(', ')}`);
    for (const group of groups.filter((g) => !before?.managedGroupIds.includes(g.id))) {
      const groupRoles = await tx.roles.findByIds(by.tenantId, await tx.groups.roleIds(group.id));
      assertMayGrantRoles(by, groupRoles, `the roles of group "${group.name}" to every user this provider puts in it`);
    }
  }

  return {
    list: (tenantId: string) => queries.list(tenantId),
    find: (tenantId: string, id: string) => queries.find(tenantId, id),
    findBySlug: (tenantId: string, slug: string) => queries.findBySlug(tenantId, slug),
    forApplication: (tenantId: string, applicationId: string) => queries.forApplication(tenantId, applicationId, true),
    /** The client secret in clear, for the token request only. */
    clientSecret: (provider: IdentityProvider): string | undefined => (provider.clientSecretEncrypted ? decrypt(deps.encryptionKey, provider.clientSecretEncrypted) : undefined),

    async create(input: NewProviderInput, by: ChangeRequest): Promise<IdentityProvider> {
      const value = parseInput(newProviderSchema, input, 'identity_provider.invalid');
      const preset = presetValues(value);
      const provider: IdentityProvider = {
        id: randomUUID(),
        tenantId: by.tenantId,
        slug: value.slug,
        name: value.name,
        protocol: preset.protocol,
        issuer: preset.issuer,
        clientId: value.clientId,
        clientSecretEncrypted: value.clientSecret ? encrypt(deps.encryptionKey, value.clientSecret) : null,
        scopes: value.scopes ?? preset.scopes,
        claimMapping: { ...preset.claimMapping, ...value.claimMapping },
        identityKind: value.identityKind,
        defaultRoleIds: [...new Set(value.defaultRoleIds)],
        managedGroupIds: [...new Set(value.managedGroupIds)],
        enabled: value.enabled,
      };
      if (provider.protocol === 'oidc' && !provider.scopes.includes('openid')) throw new AppError('identity_provider.invalid', 400, 'scopes: an OpenID Connect provider needs the "openid" scope');
      await deps.queries.transaction(async (tx) => {
        await checkDefaults(tx, by, provider);
        if (await tx.identityProviders.slugTaken(by.tenantId, provider.slug)) throw new AppError('identity_provider.slug_taken', 409, `an identity provider "${provider.slug}" exists already`);
        await tx.identityProviders.save(provider);
        await deps.audit.record({ tenantId: by.tenantId, action: 'identity_provider.created', ...by.actor, targetType: 'identity_provider', targetId: provider.id, details: { after: snapshot(provider) } }, tx.db);
      });
      return provider;
    },

    async update(id: string, patch: ProviderPatch, by: ChangeRequest): Promise<IdentityProvider> {
      const value = parseInput(providerPatchSchema, patch, 'identity_provider.invalid');
      return deps.queries.transaction(async (tx) => {
        const before = await tx.identityProviders.find(by.tenantId, id);
        if (!before) throw new AppError('identity_provider.not_found', 404, 'identity provider not found');
        const after: IdentityProvider = {
          ...before,
          ...(value.name !== undefined ? { name: value.name } : {}),
          ...(value.issuer !== undefined && before.protocol === 'oidc' ? { issuer: value.issuer } : {}),
          ...(value.clientId !== undefined ? { clientId: value.clientId } : {}),
          ...(value.clientSecret !== undefined ? { clientSecretEncrypted: encrypt(deps.encryptionKey, value.clientSecret) } : {}),
          ...(value.scopes !== undefined ? { scopes: value.scopes } : {}),
          ...(value.claimMapping !== undefined ? { claimMapping: { ...before.claimMapping, ...value.claimMapping } } : {}),
          ...(value.identityKind !== undefined ? { identityKind: value.identityKind } : {}),
          ...(value.defaultRoleIds !== undefined ? { defaultRoleIds: [...new Set(value.defaultRoleIds)] } : {}),
          ...(value.managedGroupIds !== undefined ? { managedGroupIds: [...new Set(value.managedGroupIds)] } : {}),
          ...(value.enabled !== undefined ? { enabled: value.enabled } : {}),
        };
        await checkDefaults(tx, by, after, after.identityKind === before.identityKind ? before : undefined);
        await tx.identityProviders.save(after);
        await deps.audit.record({ tenantId: by.tenantId, action: 'identity_provider.updated', ...by.actor, targetType: 'identity_provider', targetId: id, details: { before: snapshot(before), after: snapshot(after) } }, tx.db);
        return after;
      });
    },

    async remove(id: string, by: ChangeRequest): Promise<void> {
      await deps.queries.transaction(async (tx) => {
        const before = await tx.identityProviders.find(by.tenantId, id);
        if (!before) throw new AppError('identity_provider.not_found', 404, 'identity provider not found');
        await tx.identityProviders.remove(by.tenantId, id);
        await deps.audit.record({ tenantId: by.tenantId, action: 'identity_provider.deleted', ...by.actor, targetType: 'identity_provider', targetId: id, details: { before: snapshot(before) } }, tx.db);
      });
    },

    /** The providers an application offers on its sign-in page, in the given order. */
    async setForApplication(applicationId: string, providerIds: string[], by: ChangeRequest): Promise<IdentityProvider[]> {
      const ids = [...new Set(providerIds)];
      await deps.queries.transaction(async (tx) => {
        if (!(await tx.applications.existingIds(by.tenantId, [applicationId])).length) throw new AppError('application.not_found', 404, 'application not found');
        const found = await tx.identityProviders.existingIds(by.tenantId, ids);
        const missing = ids.filter((id) => !found.includes(id));
        if (missing.length) throw new AppError('identity_provider.not_found', 404, `identity provider not found: ${missing.join(', ')}`);
        const before = await tx.identityProviders.idsForApplication(applicationId);
        await tx.identityProviders.setForApplication(applicationId, ids);
        await deps.audit.record({ tenantId: by.tenantId, action: 'application.identity_providers_set', ...by.actor, targetType: 'application', targetId: applicationId, details: { before, after: ids } }, tx.db);
      });
      return queries.forApplication(by.tenantId, applicationId, false);
    },
    applicationProviders: (tenantId: string, applicationId: string) => queries.forApplication(tenantId, applicationId, false),

    /**
     * Membership of the provider's managed groups follows the upstream's groups claim: the user's
     * default identity joins each managed group whose name (case-insensitively) the claim lists
     * and leaves each managed group it does not. Groups outside the provider's list are never
     * touched and no group is ever created. A removal that would leave the tenant without an
     * active Admin is skipped (the additions still apply). Returns what changed; each change is audited.
     */
    async syncGroups(tenantId: string, provider: IdentityProvider, userId: string, claimed: string[], actor: Actor): Promise<{ added: string[]; removed: string[] }> {
      const none = { added: [], removed: [] };
      if (!provider.managedGroupIds.length) return none;
      const identityId = await queries.defaultIdentityOf(tenantId, userId);
      if (!identityId) return none;
      const wantedNames = new Set(claimed.map((g) => g.toLowerCase()));
      const system: Actor = { ...actor, actorType: 'system' };
      const details = { providerId: provider.id, provider: provider.slug, identityId, reason: 'upstream_groups_claim' };
      const apply = (withRemovals: boolean) =>
        deps.queries.transaction(async (tx) => {
          const managed = await tx.identityProviders.groupsAmong(tenantId, provider.managedGroupIds);
          const current = new Set(
            await tx.identityProviders.membershipsAmong(
              identityId,
              managed.map((g) => g.id),
            ),
          );
          const toAdd = managed.filter((g) => wantedNames.has(g.name.toLowerCase()) && !current.has(g.id));
          const toRemove = withRemovals ? managed.filter((g) => !wantedNames.has(g.name.toLowerCase()) && current.has(g.id)) : [];
          for (const group of toAdd) {
            await tx.groups.addMembers(tenantId, group.id, [identityId]);
            await deps.audit.record({ tenantId, action: 'group.members_added', ...system, targetType: 'group', targetId: group.id, details: { ...details, added: [identityId] } }, tx.db);
          }
          if (toRemove.length) {
            await keepingAnAdmin(tx.db, tenantId, async () => {
              for (const group of toRemove) await tx.groups.removeMember(tenantId, group.id, identityId);
            });
            for (const group of toRemove) {
              await deps.audit.record({ tenantId, action: 'group.member_removed', ...system, targetType: 'group', targetId: group.id, details: { ...details, removed: identityId } }, tx.db);
            }
          }
          return { added: toAdd.map((g) => g.id), removed: toRemove.map((g) => g.id) };
        });
      try {
        return await apply(true);
      } catch (error) {
        if (error instanceof AppError && error.code === 'admin.last_admin') return apply(false);
        throw error;
      }
    },

    linksOf: (tenantId: string, userId: string) => queries.linksOf(tenantId, userId),
    findLink: (providerId: string, subject: string) => queries.findLink(providerId, subject),
    touchLink: (id: string) => queries.touchLink(id),

    /** Links an upstream account to a user; in `tx`'s transaction when given. */
    async link(tenantId: string, input: { providerId: string; subject: string; userId: string; email: string | null }, actor: Actor, tx?: TransactionQueries): Promise<void> {
      const id = randomUUID();
      await (tx ?? deps.queries).identityProviders.insertLink({ id, tenantId, ...input });
      await deps.audit.record({ tenantId, action: 'user.federated_link_added', ...actor, targetType: 'user', targetId: input.userId, details: { linkId: id, providerId: input.providerId } }, tx?.db);
    },

    async unlink(tenantId: string, userId: string, linkId: string, actor: Actor): Promise<boolean> {
      const removed = await queries.removeLink(tenantId, userId, linkId);
      if (!removed) return false;
      await deps.audit.record({ tenantId, action: 'user.federated_link_removed', ...actor, targetType: 'user', targetId: userId, details: { linkId, providerId: removed.providerId } });
      return true;
    },
  };
}

export type IdentityProviderService = ReturnType<typeof createIdentityProviderService>;
