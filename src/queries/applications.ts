// SQL for applications (OIDC clients) and their access rules, and row <-> object mapping.
// No business rules here.
import type { Knex } from 'knex';
import { columnsOf, fieldsOf, json, type TenantOwned } from './rows.ts';

export type ApplicationType = 'web' | 'spa' | 'native' | 'service';
export type AccessMode = 'everyone' | 'restricted';
export type AccessSubjectType = 'user' | 'group' | 'identity_kind';

export interface Application extends TenantOwned {
  name: string;
  type: ApplicationType;
  clientSecretHash: string | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  firstParty: boolean;
  metadata: Record<string, unknown>;
  /** Identity kinds that may sign in to the application; null: any kind. */
  acceptedIdentityKinds: string[] | null;
  accessMode: AccessMode;
  createdAt: Date;
  updatedAt: Date;
}

/** Who may use a restricted application; consulted only while access_mode is 'restricted'. */
export interface AccessRules {
  users: string[];
  groups: string[];
  identityKinds: string[];
}

interface ApplicationRow {
  id: string;
  tenant_id: string;
  name: string;
  type: ApplicationType;
  client_secret_hash: string | null;
  redirect_uris: string[] | string;
  post_logout_redirect_uris: string[] | string;
  first_party: boolean;
  metadata: Record<string, unknown> | string;
  accepted_identity_kinds: string[] | string | null;
  access_mode: AccessMode;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface AccessRuleRow {
  application_id: string;
  subject_type: AccessSubjectType;
  subject_id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toApplication(row: ApplicationRow): Application {
  return {
    ...fieldsOf(row, ['id', 'tenantId', 'name', 'type', 'clientSecretHash']),
    redirectUris: json(row.redirect_uris),
    postLogoutRedirectUris: json(row.post_logout_redirect_uris),
    firstParty: row.first_party,
    metadata: json(row.metadata),
    acceptedIdentityKinds: row.accepted_identity_kinds === null ? null : json(row.accepted_identity_kinds),
    accessMode: row.access_mode ?? 'everyone',
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** The columns of an application that decide who may use it. */
export interface AccessPolicy {
  id: string;
  name: string;
  type: ApplicationType;
  acceptedIdentityKinds: string[] | null;
  accessMode: AccessMode;
}

export interface IdentityWithGroups {
  id: string;
  kind: string;
  alias: string;
  groups: string[];
}

const POLICY_COLUMNS = ['id', 'name', 'type', 'accepted_identity_kinds', 'access_mode'] as const;
type PolicyRow = Pick<ApplicationRow, (typeof POLICY_COLUMNS)[number]>;

function toPolicy(row: PolicyRow): AccessPolicy {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    acceptedIdentityKinds: row.accepted_identity_kinds === null ? null : json(row.accepted_identity_kinds),
    accessMode: row.access_mode,
  };
}

export type NewApplication = Omit<Application, 'createdAt' | 'updatedAt' | 'acceptedIdentityKinds' | 'accessMode'> & Partial<Pick<Application, 'acceptedIdentityKinds' | 'accessMode'>>;

export type ApplicationPatch = Partial<Pick<Application, 'name' | 'redirectUris' | 'postLogoutRedirectUris' | 'firstParty' | 'metadata' | 'clientSecretHash' | 'acceptedIdentityKinds' | 'accessMode'>>;

export function createApplicationQueries(knex: Knex) {
  return {
    async findById(id: string): Promise<Application | undefined> {
      const row = await knex<ApplicationRow>('applications').where({ id }).first();
      return row ? toApplication(row) : undefined;
    },
    /** Which of these client ids belong to the tenant. */
    async existingIds(tenantId: string, ids: string[], db: Knex = knex): Promise<string[]> {
      const rows: { id: string }[] = await db('applications').where({ tenant_id: tenantId }).whereIn('id', ids).select('id');
      return rows.map((r) => r.id);
    },
    async findByName(tenantId: string, name: string): Promise<Application | undefined> {
      const row = await knex<ApplicationRow>('applications').where({ tenant_id: tenantId, name }).first();
      return row ? toApplication(row) : undefined;
    },
    async insert(app: NewApplication, trx: Knex = knex): Promise<Application> {
      const [row] = await trx<ApplicationRow>('applications')
        .insert({
          ...columnsOf(app, ['id', 'tenantId', 'name', 'type', 'clientSecretHash']),
          redirect_uris: JSON.stringify(app.redirectUris),
          post_logout_redirect_uris: JSON.stringify(app.postLogoutRedirectUris),
          first_party: app.firstParty,
          metadata: JSON.stringify(app.metadata),
          accepted_identity_kinds: app.acceptedIdentityKinds ? JSON.stringify(app.acceptedIdentityKinds) : null,
          access_mode: app.accessMode ?? 'everyone',
        })
        .returning('*');
      return toApplication(row as ApplicationRow);
    },
    async update(id: string, patch: ApplicationPatch, trx: Knex = knex): Promise<Application | undefined> {
      const update: Record<string, unknown> = { updated_at: knex.fn.now() };
      if (patch.name !== undefined) update.name = patch.name;
      if (patch.redirectUris !== undefined) update.redirect_uris = JSON.stringify(patch.redirectUris);
      if (patch.postLogoutRedirectUris !== undefined) update.post_logout_redirect_uris = JSON.stringify(patch.postLogoutRedirectUris);
      if (patch.firstParty !== undefined) update.first_party = patch.firstParty;
      if (patch.metadata !== undefined) update.metadata = JSON.stringify(patch.metadata);
      if (patch.clientSecretHash !== undefined) update.client_secret_hash = patch.clientSecretHash;
      if (patch.acceptedIdentityKinds !== undefined) update.accepted_identity_kinds = patch.acceptedIdentityKinds === null ? null : JSON.stringify(patch.acceptedIdentityKinds);
      if (patch.accessMode !== undefined) update.access_mode = patch.accessMode;
      const [row] = await trx<ApplicationRow>('applications').where({ id }).update(update).returning('*');
      return row ? toApplication(row as ApplicationRow) : undefined;
    },
    async deleteById(tenantId: string, id: string): Promise<boolean> {
      return (await knex('applications').where({ tenant_id: tenantId, id }).delete()) > 0;
    },
    async list(tenantId: string): Promise<Application[]> {
      const rows = await knex<ApplicationRow>('applications').where({ tenant_id: tenantId }).orderBy('created_at');
      return rows.map((row) => toApplication(row as ApplicationRow));
    },
    async listAccessRules(tenantId: string, applicationId: string, trx: Knex = knex): Promise<AccessRules> {
      const rows: AccessRuleRow[] = await trx('application_access_rules').where({ tenant_id: tenantId, application_id: applicationId }).select('application_id', 'subject_type', 'subject_id').orderBy(['subject_type', 'subject_id']);
      const rules: AccessRules = { users: [], groups: [], identityKinds: [] };
      for (const row of rows) {
        if (row.subject_type === 'user') rules.users.push(row.subject_id);
        else if (row.subject_type === 'group') rules.groups.push(row.subject_id);
        else rules.identityKinds.push(row.subject_id);
      }
      return rules;
    },
    /** Replaces every access rule of the application with `rules` (call inside a transaction). */
    async replaceAccessRules(trx: Knex, tenantId: string, applicationId: string, rules: AccessRules): Promise<void> {
      await trx('application_access_rules').where({ tenant_id: tenantId, application_id: applicationId }).delete();
      const rows = [
        ...rules.users.map((id) => ({ subject_type: 'user', subject_id: id })),
        ...rules.groups.map((id) => ({ subject_type: 'group', subject_id: id })),
        ...rules.identityKinds.map((kind) => ({ subject_type: 'identity_kind', subject_id: kind })),
      ].map((rule) => ({ tenant_id: tenantId, application_id: applicationId, ...rule }));
      if (rows.length) await trx('application_access_rules').insert(rows);
    },
    // Access checks (app-access.ts): a handful of set-based reads, whatever the number of apps.

    /** The access policy of one application of the tenant. */
    async findAccessPolicy(tenantId: string, clientId: string): Promise<AccessPolicy | undefined> {
      const row: PolicyRow | undefined = await knex('applications')
        .where({ tenant_id: tenantId, id: clientId })
        .first(...POLICY_COLUMNS);
      return row ? toPolicy(row) : undefined;
    },
    /** Access policies of the tenant's applications that users sign in to (not service clients). */
    async listUserFacingAccessPolicies(tenantId: string): Promise<AccessPolicy[]> {
      const rows: PolicyRow[] = await knex('applications')
        .where({ tenant_id: tenantId })
        .whereNot({ type: 'service' })
        .select(...POLICY_COLUMNS)
        .orderBy([{ column: 'name' }, { column: 'id' }]);
      return rows.map(toPolicy);
    },
    /** The user's identities, each with the ids of the groups it is a member of. */
    async identitiesWithGroups(tenantId: string, userId: string): Promise<IdentityWithGroups[]> {
      const rows: { id: string; kind: string; alias: string; groups: string[] | string }[] = await knex('identities as i')
        .leftJoin('group_members as gm', 'gm.identity_id', 'i.id')
        .where({ 'i.tenant_id': tenantId, 'i.user_id': userId })
        .groupBy('i.id', 'i.kind', 'i.alias')
        .select('i.id', 'i.kind', 'i.alias', knex.raw("coalesce(json_agg(gm.group_id::text) filter (where gm.group_id is not null), '[]') as groups"))
        .orderBy([{ column: 'i.kind' }, { column: 'i.alias' }, { column: 'i.id' }]);
      return rows.map((row) => ({ id: row.id, kind: row.kind, alias: row.alias, groups: json(row.groups) }));
    },
    /**
     * The access rules that name this user, one of the groups or one of the kinds, for the given
     * applications (all of the tenant's when omitted).
     */
    async accessRulesMatching(tenantId: string, subject: { userId: string; groupIds: string[]; kinds: string[] }, applicationIds?: string[]): Promise<AccessRuleRow[]> {
      const query = knex('application_access_rules')
        .where({ tenant_id: tenantId })
        .andWhere((q) => {
          q.where({ subject_type: 'user', subject_id: subject.userId });
          if (subject.groupIds.length) q.orWhere((g) => g.where({ subject_type: 'group' }).whereIn('subject_id', subject.groupIds));
          if (subject.kinds.length) q.orWhere((k) => k.where({ subject_type: 'identity_kind' }).whereIn('subject_id', subject.kinds));
        })
        .select('application_id', 'subject_type', 'subject_id');
      if (applicationIds) query.whereIn('application_id', applicationIds);
      return query;
    },
    /** Whether a service account (of any tenant) has this id, which is also its client_id. */
    async isServiceAccountId(id: string): Promise<boolean> {
      // service_accounts.id is a uuid column: anything else cannot match, and must not reach SQL.
      if (!UUID.test(id)) return false;
      return Boolean(await knex('service_accounts').where({ id }).first('id'));
    },
    /** The subset of `ids` naming users of the tenant. */
    async existingUserIds(tenantId: string, ids: string[]): Promise<string[]> {
      if (!ids.length) return [];
      const rows: { id: string }[] = await knex('users').where({ tenant_id: tenantId }).whereIn('id', ids).select('id');
      return rows.map((r) => r.id);
    },
    /** The subset of `ids` naming groups of the tenant. */
    async existingGroupIds(tenantId: string, ids: string[]): Promise<string[]> {
      if (!ids.length) return [];
      const rows: { id: string }[] = await knex('groups').where({ tenant_id: tenantId }).whereIn('id', ids).select('id');
      return rows.map((r) => r.id);
    },
    /** The subset of `kinds` defined for the tenant. */
    async existingIdentityKinds(tenantId: string, kinds: string[]): Promise<string[]> {
      if (!kinds.length) return [];
      const rows: { kind: string }[] = await knex('identity_kinds').where({ tenant_id: tenantId }).whereIn('kind', kinds).select('kind');
      return rows.map((r) => r.kind);
    },
  };
}

export type ApplicationQueries = ReturnType<typeof createApplicationQueries>;
