// The column and table shapes the migrations share. A migration that has run must go on building
// the schema it built, on every database migrated later, so a builder here never changes what it
// emits: a different shape is a new builder. The migration test applies and reverts every
// migration one at a time and compares the schema at each step, so a builder that changed what an
// old migration makes, or a down() that no longer mirrors its up(), fails there.
//
// This folder is not a migration: the migration source reads only the files directly in
// migrations/.
import type { Knex } from 'knex';

type Table = Knex.CreateTableBuilder;

/** `tenant_id text not null`, referencing the tenant; the row is deleted with its tenant. */
export function tenantRef(t: Table): Knex.ReferencingColumnBuilder {
  return t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
}

/**
 * `column` (uuid unless said), not null, referencing `table`.id; the row is deleted with the one it
 * refers to.
 */
export function ownerRef(t: Table, column: string, table: string, type: 'uuid' | 'text' = 'uuid'): Knex.ReferencingColumnBuilder {
  return t[type](column).notNullable().references(`${table}.id`).onDelete('CASCADE');
}

/** `id uuid primary key`: rows whose id the application makes (randomUUID). */
export function uuidKey(t: Table): void {
  t.uuid('id').primary();
}

/** How a tenant table's rows are keyed, when by the usual `id` column. */
export type TenantTableKey = 'uuid' | 'bigserial' | 'none';

/**
 * A table of one tenant's rows: `id` (uuid, or bigserial for rows numbered in order; none when the
 * table declares its own key) and tenant_id come first, then what `build` adds.
 */
export async function createTenantTable(knex: Knex, table: string, key: TenantTableKey, build: (t: Table) => void): Promise<void> {
  await knex.schema.createTable(table, (t) => {
    if (key === 'uuid') uuidKey(t);
    if (key === 'bigserial') t.bigIncrements('id').primary();
    tenantRef(t);
    build(t);
  });
}

/** `created_at timestamptz not null default now()`. */
export function createdAt(t: Table, knex: Knex): void {
  t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
}

/** created_at and `updated_at timestamptz not null default now()`. */
export function timestamps(t: Table, knex: Knex): void {
  createdAt(t, knex);
  t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
}

/** One side of a link: the column and the table whose id it holds (uuid). */
export type LinkSide = readonly [column: string, table: string];

export interface LinkTableOptions {
  /** Whether the link carries tenant_id (first column) besides its two sides. */
  tenant: boolean;
  /** Name of an index on the second side, for lookups from that side (the key serves the first). */
  secondSideIndex?: string;
}

/**
 * A many-to-many link: both sides required and deleted with either end, the pair as the primary
 * key.
 */
export async function createLinkTable(knex: Knex, table: string, first: LinkSide, second: LinkSide, options: LinkTableOptions): Promise<void> {
  await knex.schema.createTable(table, (t) => {
    if (options.tenant) tenantRef(t);
    ownerRef(t, ...first);
    ownerRef(t, ...second);
    t.primary([first[0], second[0]]);
  });
  if (options.secondSideIndex) await knex.raw(`create index ${options.secondSideIndex} on ${table} (${second[0]})`);
}
