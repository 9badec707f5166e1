import type { Knex } from 'knex';

export type ApplicationType = 'web' | 'spa' | 'native' | 'service';

export interface Application {
  id: string;
  tenantId: string;
  name: string;
  type: ApplicationType;
  clientSecretHash: string | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  firstParty: boolean;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
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
  created_at: Date | string;
  updated_at: Date | string;
}

// pg returns jsonb parsed; be tolerant of drivers that hand back strings.
function json<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

function toApplication(row: ApplicationRow): Application {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    type: row.type,
    clientSecretHash: row.client_secret_hash,
    redirectUris: json(row.redirect_uris),
    postLogoutRedirectUris: json(row.post_logout_redirect_uris),
    firstParty: row.first_party,
    metadata: json(row.metadata),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export type NewApplication = Omit<Application, 'createdAt' | 'updatedAt'>;

export function createApplicationQueries(knex: Knex) {
  return {
    async findById(id: string): Promise<Application | undefined> {
      const row = await knex<ApplicationRow>('applications').where({ id }).first();
      return row ? toApplication(row) : undefined;
    },
    async findByName(tenantId: string, name: string): Promise<Application | undefined> {
      const row = await knex<ApplicationRow>('applications').where({ tenant_id: tenantId, name }).first();
      return row ? toApplication(row) : undefined;
    },
    async insert(app: NewApplication, trx: Knex = knex): Promise<Application> {
      const [row] = await trx<ApplicationRow>('applications')
        .insert({
          id: app.id,
          tenant_id: app.tenantId,
          name: app.name,
          type: app.type,
          client_secret_hash: app.clientSecretHash,
          redirect_uris: JSON.stringify(app.redirectUris),
          post_logout_redirect_uris: JSON.stringify(app.postLogoutRedirectUris),
          first_party: app.firstParty,
          metadata: JSON.stringify(app.metadata),
        })
        .returning('*');
      return toApplication(row as ApplicationRow);
    },
    async update(id: string, patch: Partial<Pick<Application, 'name' | 'redirectUris' | 'postLogoutRedirectUris' | 'firstParty' | 'metadata' | 'clientSecretHash'>>): Promise<Application | undefined> {
      const update: Record<string, unknown> = { updated_at: knex.fn.now() };
      if (patch.name !== undefined) update.name = patch.name;
      if (patch.redirectUris !== undefined) update.redirect_uris = JSON.stringify(patch.redirectUris);
      if (patch.postLogoutRedirectUris !== undefined) update.post_logout_redirect_uris = JSON.stringify(patch.postLogoutRedirectUris);
      if (patch.firstParty !== undefined) update.first_party = patch.firstParty;
      if (patch.metadata !== undefined) update.metadata = JSON.stringify(patch.metadata);
      if (patch.clientSecretHash !== undefined) update.client_secret_hash = patch.clientSecretHash;
      const [row] = await knex<ApplicationRow>('applications').where({ id }).update(update).returning('*');
      return row ? toApplication(row as ApplicationRow) : undefined;
    },
    async deleteById(tenantId: string, id: string): Promise<boolean> {
      return (await knex('applications').where({ tenant_id: tenantId, id }).delete()) > 0;
    },
    async list(tenantId: string): Promise<Application[]> {
      const rows = await knex<ApplicationRow>('applications').where({ tenant_id: tenantId }).orderBy('created_at');
      return rows.map((row) => toApplication(row as ApplicationRow));
    },
  };
}

export type ApplicationQueries = ReturnType<typeof createApplicationQueries>;
