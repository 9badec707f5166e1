import type { Knex } from 'knex';
import { fieldsOf, json, type TenantOwned } from './rows.ts';

export interface ClaimMapping {
  username: string;
  email: string;
  name: string;
  groups?: string;
}

export interface IdentityProvider extends TenantOwned {
  slug: string;
  name: string;
  protocol: 'oidc' | 'github';
  issuer: string;
  clientId: string;
  /** Sealed with services/secrets.ts encrypt(); never leaves the service in clear except to the token request. */
  clientSecretEncrypted: string | null;
  scopes: string[];
  claimMapping: ClaimMapping;
  identityKind: string;
  defaultRoleIds: string[];
  /** The Gatehouse groups whose membership follows the mapped groups claim (and no others). */
  managedGroupIds: string[];
  enabled: boolean;
}

interface ProviderRow {
  id: string;
  tenant_id: string;
  slug: string;
  name: string;
  protocol: 'oidc' | 'github';
  issuer: string;
  client_id: string;
  client_secret_encrypted: string | null;
  scopes: string[] | string;
  claim_mapping: ClaimMapping | string;
  identity_kind: string;
  enabled: boolean;
}

export interface FederatedLink {
  id: string;
  providerId: string;
  providerName: string;
  subject: string;
  userId: string;
  email: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

function toProvider(row: ProviderRow, roleIds: string[], groupIds: string[]): IdentityProvider {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    slug: row.slug,
    name: row.name,
    protocol: row.protocol,
    issuer: row.issuer,
    clientId: row.client_id,
    clientSecretEncrypted: row.client_secret_encrypted,
    scopes: json(row.scopes),
    claimMapping: json(row.claim_mapping),
    identityKind: row.identity_kind,
    defaultRoleIds: roleIds,
    managedGroupIds: groupIds,
    enabled: row.enabled,
  };
}

export function createIdentityProviderQueries(knex: Knex) {
  async function withRoles(rows: ProviderRow[], db: Knex | Knex.Transaction = knex): Promise<IdentityProvider[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const roles: { provider_id: string; role_id: string }[] = await db('identity_provider_roles').whereIn('provider_id', ids).orderBy('role_id');
    const groups: { provider_id: string; group_id: string }[] = await db('identity_provider_groups').whereIn('provider_id', ids).orderBy('group_id');
    return rows.map((row) =>
      toProvider(
        row,
        roles.filter((r) => r.provider_id === row.id).map((r) => r.role_id),
        groups.filter((g) => g.provider_id === row.id).map((g) => g.group_id),
      ),
    );
  }

  return {
    async list(tenantId: string): Promise<IdentityProvider[]> {
      return withRoles(await knex<ProviderRow>('identity_providers').where({ tenant_id: tenantId }).orderBy('slug'));
    },
    async find(tenantId: string, id: string, db: Knex | Knex.Transaction = knex): Promise<IdentityProvider | undefined> {
      const row = await db<ProviderRow>('identity_providers').where({ tenant_id: tenantId, id }).first();
      return row ? (await withRoles([row], db))[0] : undefined;
    },
    async findBySlug(tenantId: string, slug: string): Promise<IdentityProvider | undefined> {
      const row = await knex<ProviderRow>('identity_providers').where({ tenant_id: tenantId, slug }).first();
      return row ? (await withRoles([row]))[0] : undefined;
    },
    async save(provider: IdentityProvider, trx: Knex = knex): Promise<void> {
      const row = {
        id: provider.id,
        tenant_id: provider.tenantId,
        slug: provider.slug,
        name: provider.name,
        protocol: provider.protocol,
        issuer: provider.issuer,
        client_id: provider.clientId,
        client_secret_encrypted: provider.clientSecretEncrypted,
        scopes: JSON.stringify(provider.scopes),
        claim_mapping: JSON.stringify(provider.claimMapping),
        identity_kind: provider.identityKind,
        enabled: provider.enabled,
        updated_at: new Date(),
      };
      await trx('identity_providers').insert(row).onConflict('id').merge();
      await trx('identity_provider_roles').where({ provider_id: provider.id }).delete();
      if (provider.defaultRoleIds.length) await trx('identity_provider_roles').insert(provider.defaultRoleIds.map((roleId) => ({ provider_id: provider.id, role_id: roleId })));
      await trx('identity_provider_groups').where({ provider_id: provider.id }).delete();
      if (provider.managedGroupIds.length) await trx('identity_provider_groups').insert(provider.managedGroupIds.map((groupId) => ({ provider_id: provider.id, group_id: groupId })));
    },
    /** Whether the tenant has a provider with this slug. */
    async slugTaken(tenantId: string, slug: string, db: Knex = knex): Promise<boolean> {
      return (await db('identity_providers').where({ tenant_id: tenantId, slug }).first('id')) !== undefined;
    },
    /** Which of these provider ids belong to the tenant. */
    async existingIds(tenantId: string, ids: string[], db: Knex = knex): Promise<string[]> {
      if (!ids.length) return [];
      const rows: { id: string }[] = await db('identity_providers').where({ tenant_id: tenantId }).whereIn('id', ids).select('id');
      return rows.map((r) => r.id);
    },
    /** The provider ids an application offers, in its order. */
    async idsForApplication(applicationId: string, db: Knex = knex): Promise<string[]> {
      const rows: { provider_id: string }[] = await db('application_identity_providers').where({ application_id: applicationId }).orderBy('position').select('provider_id');
      return rows.map((r) => r.provider_id);
    },
    /** The groups of the tenant among `ids`, with their names. */
    async groupsAmong(tenantId: string, ids: string[], db: Knex | Knex.Transaction = knex): Promise<{ id: string; name: string }[]> {
      if (!ids.length) return [];
      return db('groups').where({ tenant_id: tenantId }).whereIn('id', ids).orderBy('name').select('id', 'name');
    },
    /** The ids among `groupIds` of the groups `identityId` is a member of. */
    async membershipsAmong(identityId: string, groupIds: string[], db: Knex | Knex.Transaction = knex): Promise<string[]> {
      if (!groupIds.length) return [];
      const rows: { group_id: string }[] = await db('group_members').where({ identity_id: identityId }).whereIn('group_id', groupIds).select('group_id');
      return rows.map((r) => r.group_id);
    },
    /** The user's default identity (the one a provisioned user gets), or undefined. */
    async defaultIdentityOf(tenantId: string, userId: string, db: Knex | Knex.Transaction = knex): Promise<string | undefined> {
      const row: { default_identity_id: string | null } | undefined = await db('users').where({ tenant_id: tenantId, id: userId }).first('default_identity_id');
      return row?.default_identity_id ?? undefined;
    },
    async remove(tenantId: string, id: string, trx: Knex = knex): Promise<boolean> {
      return (await trx('identity_providers').where({ tenant_id: tenantId, id }).delete()) > 0;
    },
    /** The enabled providers an application shows, in its order. */
    async forApplication(tenantId: string, applicationId: string, enabledOnly: boolean): Promise<IdentityProvider[]> {
      const query = knex<ProviderRow>('identity_providers as p')
        .join('application_identity_providers as ap', 'ap.provider_id', 'p.id')
        .where({ 'p.tenant_id': tenantId, 'ap.application_id': applicationId })
        .orderBy([{ column: 'ap.position' }, { column: 'p.slug' }])
        .select('p.*');
      if (enabledOnly) query.andWhere('p.enabled', true);
      return withRoles((await query) as ProviderRow[]);
    },
    async setForApplication(applicationId: string, providerIds: string[], trx: Knex = knex): Promise<void> {
      await trx('application_identity_providers').where({ application_id: applicationId }).delete();
      if (providerIds.length) await trx('application_identity_providers').insert(providerIds.map((providerId, position) => ({ application_id: applicationId, provider_id: providerId, position })));
    },
    async findLink(providerId: string, subject: string): Promise<FederatedLink | undefined> {
      const row = await knex('federated_links as l').join('identity_providers as p', 'p.id', 'l.provider_id').where({ 'l.provider_id': providerId, 'l.subject': subject }).first('l.*', 'p.name as provider_name');
      return row ? toLink(row) : undefined;
    },
    async linksOf(tenantId: string, userId: string): Promise<FederatedLink[]> {
      const rows = await knex('federated_links as l').join('identity_providers as p', 'p.id', 'l.provider_id').where({ 'l.tenant_id': tenantId, 'l.user_id': userId }).orderBy('l.created_at').select('l.*', 'p.name as provider_name');
      return rows.map(toLink);
    },
    async insertLink(link: { id: string; tenantId: string; providerId: string; subject: string; userId: string; email: string | null }, trx: Knex | Knex.Transaction = knex): Promise<void> {
      await trx('federated_links').insert({ id: link.id, tenant_id: link.tenantId, provider_id: link.providerId, subject: link.subject, user_id: link.userId, email: link.email, last_used_at: new Date() });
    },
    async touchLink(id: string): Promise<void> {
      await knex('federated_links').where({ id }).update({ last_used_at: new Date() });
    },
    async removeLink(tenantId: string, userId: string, id: string): Promise<FederatedLink | undefined> {
      const [row] = await knex('federated_links').where({ tenant_id: tenantId, user_id: userId, id }).delete().returning('*');
      return row ? toLink({ ...row, provider_name: '' }) : undefined;
    },
  };
}

/** A row of `federated_links`, with the name of its provider. */
interface LinkRow {
  id: string;
  provider_id: string;
  provider_name: string;
  subject: string;
  user_id: string;
  email?: string | null;
  created_at: Date | string;
  last_used_at: Date | string | null;
}

function toLink(row: LinkRow): FederatedLink {
  return {
    ...fieldsOf(row, ['id', 'providerId', 'providerName', 'subject', 'userId']),
    email: row.email ?? null,
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
  };
}

export type IdentityProviderQueries = ReturnType<typeof createIdentityProviderQueries>;
