import type { Knex } from 'knex';
import { columnsOf, fieldsOf, json, type TenantOwned } from './rows.ts';

export interface ApiResource extends TenantOwned {
  identifier: string;
  name: string;
  scopes: string[];
  accessTokenFormat: 'jwt' | 'opaque';
  accessTokenTtl: number | null;
}

interface ApiResourceRow {
  id: string;
  tenant_id: string;
  identifier: string;
  name: string;
  scopes: string[] | string;
  access_token_format: 'jwt' | 'opaque';
  access_token_ttl: number | null;
}

function toApiResource(row: ApiResourceRow): ApiResource {
  return { ...fieldsOf(row, ['id', 'tenantId', 'identifier', 'name', 'accessTokenFormat', 'accessTokenTtl']), scopes: json(row.scopes) };
}

export function createApiResourceQueries(knex: Knex) {
  return {
    async findByIdentifier(identifier: string): Promise<ApiResource | undefined> {
      const row = await knex<ApiResourceRow>('api_resources').where({ identifier }).first();
      return row ? toApiResource(row) : undefined;
    },
    async upsert(resource: ApiResource): Promise<ApiResource> {
      const [row] = await knex<ApiResourceRow>('api_resources')
        .insert({ ...columnsOf(resource, ['id', 'tenantId', 'identifier', 'name', 'accessTokenFormat', 'accessTokenTtl']), scopes: JSON.stringify(resource.scopes) })
        .onConflict('identifier')
        .merge(['name', 'scopes', 'access_token_format', 'access_token_ttl'])
        .returning('*');
      return toApiResource(row as ApiResourceRow);
    },
    async list(tenantId: string): Promise<ApiResource[]> {
      const rows = await knex<ApiResourceRow>('api_resources').where({ tenant_id: tenantId }).orderBy('identifier');
      return rows.map((row) => toApiResource(row as ApiResourceRow));
    },
    async deleteByIdentifier(tenantId: string, identifier: string): Promise<boolean> {
      return (await knex('api_resources').where({ tenant_id: tenantId, identifier }).delete()) > 0;
    },
  };
}

export type ApiResourceQueries = ReturnType<typeof createApiResourceQueries>;
