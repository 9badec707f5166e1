// A text description of the database schema the migrations build, read from the catalog, in the
// same form on PostgreSQL and PGlite: tables with their columns, constraints, indexes and
// triggers, then functions and enum types. knex's own bookkeeping tables and objects that belong
// to extensions are left out.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MIGRATIONS_DIRECTORY } from '../../src/db/migrate.ts';
import type { Database } from '../../src/db/types.ts';

/** Where `npm run schema:record` writes the description, beside the migrations. */
export const RECORDED_SCHEMA = path.join(fileURLToPath(DEFAULT_MIGRATIONS_DIRECTORY), 'schema.txt');

const TABLES = `
  select c.oid, c.relname as name from pg_class c
  where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p') and c.relname not like 'knex_migrations%'
  order by c.relname`;

const COLUMNS = `
  select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as default
  from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  where a.attrelid = ? and a.attnum > 0 and not a.attisdropped
  order by a.attnum`;

// PostgreSQL 18 (PGlite) also lists NOT NULL as constraints; the column line says it already.
const CONSTRAINTS = `select conname as name, pg_get_constraintdef(oid) as definition from pg_constraint where conrelid = ? and contype <> 'n' order by conname`;

const INDEXES = `
  select i.relname as name, pg_get_indexdef(i.oid) as definition
  from pg_index x join pg_class i on i.oid = x.indexrelid
  where x.indrelid = ? order by i.relname`;

const TRIGGERS = `select tgname as name, pg_get_triggerdef(oid) as definition from pg_trigger where tgrelid = ? and not tgisinternal order by tgname`;

const FUNCTIONS = `
  select p.proname as name, pg_get_function_identity_arguments(p.oid) as arguments, pg_get_function_result(p.oid) as result, p.prosrc as body
  from pg_proc p
  where p.pronamespace = current_schema()::regnamespace
    and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
  order by p.proname, 2`;

const ENUMS = `
  select t.typname as name, string_agg(e.enumlabel, ', ' order by e.enumsortorder) as labels
  from pg_type t join pg_enum e on e.enumtypid = t.oid
  where t.typnamespace = current_schema()::regnamespace group by t.typname order by t.typname`;

async function rows<T>(db: Database, sql: string, bindings: unknown[] = []): Promise<T[]> {
  const result = (await db.knex.raw(sql, bindings as never[])) as { rows: T[] };
  return result.rows;
}

export async function describeSchema(db: Database): Promise<string> {
  const lines: string[] = [];
  for (const table of await rows<{ oid: number; name: string }>(db, TABLES)) {
    lines.push(`table ${table.name}`);
    for (const c of await rows<{ name: string; type: string; not_null: boolean; default: string | null }>(db, COLUMNS, [table.oid])) {
      lines.push(`  column ${c.name} ${c.type}${c.not_null ? ' not null' : ''}${c.default === null ? '' : ` default ${c.default}`}`);
    }
    for (const [kind, sql] of [
      ['constraint', CONSTRAINTS],
      ['index', INDEXES],
      ['trigger', TRIGGERS],
    ] as const) {
      for (const item of await rows<{ name: string; definition: string }>(db, sql, [table.oid])) lines.push(`  ${kind} ${item.name}: ${item.definition}`);
    }
  }
  for (const f of await rows<{ name: string; arguments: string; result: string; body: string }>(db, FUNCTIONS)) {
    lines.push(
      `function ${f.name}(${f.arguments}) returns ${f.result}`,
      ...f.body
        .trim()
        .split('\n')
        .map((line) => `  | ${line.trimEnd()}`),
    );
  }
  for (const e of await rows<{ name: string; labels: string }>(db, ENUMS)) lines.push(`enum ${e.name}: ${e.labels}`);
  return `${lines.join('\n')}\n`;
}
