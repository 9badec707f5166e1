// SQL for SCIM user listing: a parsed filter (services/scim-filter.ts) compiled to a WHERE clause
// over the users table, with sorting and 1-based offset paging (RFC 7644 §3.4.2). Only columns
// from the fixed map below reach the SQL; every value is a binding. No business rules here.
import type { Knex } from 'knex';
import type { AttrPath, Filter, FilterValue } from '../services/scim-filter.ts';
import { toUser, type User } from './users.ts';

export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

type Column = { sql: string; kind: 'string' | 'exact' | 'date' | 'active' };

/**
 * SCIM attributes (lower-cased paths) held as text and compared caseExact=false (RFC 7643 §4.1),
 * and the column of each.
 */
const TEXT_ATTRIBUTES: Record<string, string> = {
  username: 'users.username',
  displayname: 'users.name',
  'name.formatted': 'users.name',
  emails: 'users.email',
  phonenumbers: 'users.phone',
  'enterprise:department': 'users.department',
};

/** SCIM attribute (lower-cased path) → column. */
const COLUMNS = new Map<string, Column>([
  ...Object.entries(TEXT_ATTRIBUTES).map(([attr, sql]): [string, Column] => [attr, { sql, kind: 'string' }]),
  // RFC 7643 §3.1: id and externalId are caseExact.
  ['id', { sql: 'users.id::text', kind: 'exact' }],
  ['externalid', { sql: '(select x.external_id from scim_external_ids x where x.user_id = users.id)', kind: 'exact' }],
  ['active', { sql: 'users.status', kind: 'active' }],
  ['meta.created', { sql: 'users.created_at', kind: 'date' }],
  ['meta.lastmodified', { sql: 'users.updated_at', kind: 'date' }],
]);

/** Multi-valued attributes a user has one value of, kept in one column: `emails.value` is `emails`. */
const SINGLE_VALUED_LISTS = new Set(['emails', 'phonenumbers']);

function columnOf(path: AttrPath): Column | undefined {
  const sub = path.sub === 'value' && SINGLE_VALUED_LISTS.has(path.attr) ? undefined : path.sub;
  return COLUMNS.get(`${path.schema === ENTERPRISE_USER.toLowerCase() ? 'enterprise:' : path.schema ? '?' : ''}${path.attr}${sub ? `.${sub}` : ''}`);
}

/** Attributes Gatehouse does not keep (e.g. x509Certificates): a filter on them matches nothing. */
const NOTHING = { sql: 'false', bindings: [] as unknown[] };

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A filter that parses but cannot be applied to users (the service answers it as invalidFilter). */
export class UnsupportedFilterError extends Error {}

function invalid(message: string): UnsupportedFilterError {
  return new UnsupportedFilterError(message);
}

function compileCompare(column: Column, op: string, value: FilterValue): { sql: string; bindings: unknown[] } {
  if (op === 'pr') return { sql: column.kind === 'string' ? `(${column.sql} is not null and ${column.sql} <> '')` : `${column.sql} is not null`, bindings: [] };
  if (column.kind === 'active') {
    if (typeof value !== 'boolean' || (op !== 'eq' && op !== 'ne')) throw invalid('active is compared with eq or ne and true or false');
    const active = op === 'eq' ? value : !value;
    return { sql: active ? `${column.sql} <> 'inactive'` : `${column.sql} = 'inactive'`, bindings: [] };
  }
  if (value === null) {
    if (op === 'eq') return { sql: `${column.sql} is null`, bindings: [] };
    if (op === 'ne') return { sql: `${column.sql} is not null`, bindings: [] };
    throw invalid(`"${op}" cannot compare with null`);
  }
  if (column.kind === 'date') {
    const date = typeof value === 'string' ? new Date(value) : undefined;
    if (!date || Number.isNaN(date.getTime())) throw invalid('a date attribute is compared with an RFC 3339 date-time string');
    const sqlOp = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' }[op as 'eq'];
    if (!sqlOp) throw invalid(`"${op}" does not apply to a date attribute`);
    return { sql: `${column.sql} ${sqlOp} ?`, bindings: [date] };
  }
  if (typeof value !== 'string') throw invalid('a string attribute is compared with a string');
  // caseExact=false: both sides lower-cased (RFC 7643 §2.1).
  const col = column.kind === 'exact' ? column.sql : `lower(${column.sql})`;
  const v = column.kind === 'exact' ? value : value.toLowerCase();
  switch (op) {
    case 'eq':
      return { sql: `${col} = ?`, bindings: [v] };
    case 'ne':
      return { sql: `(${column.sql} is null or ${col} <> ?)`, bindings: [v] };
    case 'co':
      return { sql: `${col} like ? escape '\\'`, bindings: [`%${likeEscape(v)}%`] };
    case 'sw':
      return { sql: `${col} like ? escape '\\'`, bindings: [`${likeEscape(v)}%`] };
    case 'ew':
      return { sql: `${col} like ? escape '\\'`, bindings: [`%${likeEscape(v)}`] };
    case 'gt':
      return { sql: `${col} > ?`, bindings: [v] };
    case 'ge':
      return { sql: `${col} >= ?`, bindings: [v] };
    case 'lt':
      return { sql: `${col} < ?`, bindings: [v] };
    case 'le':
      return { sql: `${col} <= ?`, bindings: [v] };
    default:
      throw invalid(`unknown operator "${op}"`);
  }
}

function compile(filter: Filter, depth = 0): { sql: string; bindings: unknown[] } {
  if (depth > 50) throw invalid('the filter is nested too deeply');
  switch (filter.op) {
    case 'and':
    case 'or': {
      const left = compile(filter.left, depth + 1);
      const right = compile(filter.right, depth + 1);
      return { sql: `(${left.sql} ${filter.op} ${right.sql})`, bindings: [...left.bindings, ...right.bindings] };
    }
    case 'not': {
      const inner = compile(filter.filter, depth + 1);
      return { sql: `not coalesce(${inner.sql}, false)`, bindings: inner.bindings };
    }
    case 'valuePath': {
      // emails[...] and phoneNumbers[...]: one value each, of type "work"; its `value` is the column.
      const attr = filter.path.attr;
      if (attr !== 'emails' && attr !== 'phonenumbers') throw invalid(`"${attr}[...]" cannot be filtered`);
      const rewrite = (f: Filter): Filter => {
        if (f.op === 'and' || f.op === 'or') return { op: f.op, left: rewrite(f.left), right: rewrite(f.right) };
        if (f.op === 'not') return { op: 'not', filter: rewrite(f.filter) };
        if (f.op === 'valuePath') throw invalid('value filters cannot nest');
        const leaf = f as Extract<Filter, { path: AttrPath; op: 'pr' | 'eq' }>;
        if (leaf.path.attr === 'type' || leaf.path.attr === 'primary') {
          const known = leaf.path.attr === 'type' ? 'work' : true;
          const value = 'value' in leaf ? leaf.value : undefined;
          const holds = f.op === 'pr' || (f.op === 'eq' && (typeof value === 'string' ? value.toLowerCase() : value) === known) || (f.op === 'ne' && value !== known);
          return holds ? { op: 'pr', path: { attr, sub: 'value' } } : { op: 'eq', path: { attr: 'id' }, value: '' };
        }
        return { ...leaf, path: { attr, sub: 'value' } } as Filter;
      };
      return compile(rewrite(filter.filter), depth + 1);
    }
    default: {
      const column = columnOf(filter.path);
      if (!column) return NOTHING;
      return compileCompare(column, filter.op, filter.op === 'pr' ? null : filter.value);
    }
  }
}

/** Sortable SCIM attributes (RFC 7644 §3.4.2.3); others are refused. */
export function sortColumnOf(path: AttrPath): string | undefined {
  const column = columnOf(path);
  if (!column || column.kind === 'active') return undefined;
  return column.kind === 'string' ? `lower(${column.sql})` : column.sql;
}

export function createScimQueries(knex: Knex) {
  return {
    /** One page of a tenant's users matching the filter, and how many match in all. */
    async searchUsers(tenantId: string, options: { filter?: Filter; sortBy?: AttrPath; descending?: boolean; offset: number; limit: number }, db: Knex = knex): Promise<{ users: User[]; total: number }> {
      const where = options.filter ? compile(options.filter) : undefined;
      const base = () => {
        const q = db('users').where('users.tenant_id', tenantId);
        if (where) q.whereRaw(where.sql, where.bindings as Knex.RawBinding[]);
        return q;
      };
      const [{ n }] = (await base().count({ n: '*' })) as { n: string | number }[] as [{ n: string | number }];
      const total = Number(n);
      if (options.limit === 0 || options.offset >= total) return { users: [], total };
      const sort = options.sortBy ? sortColumnOf(options.sortBy) : undefined;
      if (options.sortBy && !sort) throw invalid('this attribute cannot be sorted on');
      const direction = options.descending ? 'desc' : 'asc';
      const rows = await base()
        .orderByRaw(`${sort ?? 'users.created_at'} ${direction}, users.id ${direction}`)
        .offset(options.offset)
        .limit(options.limit)
        .select('users.*');
      return { users: rows.map(toUser), total };
    },

    /** The externalId of each user or group that has one, by resource id. */
    async externalIds(tenantId: string, kind: 'user' | 'group', ids: string[], db: Knex = knex): Promise<Map<string, string>> {
      if (!ids.length) return new Map();
      const column = kind === 'user' ? 'user_id' : 'group_id';
      const rows: { id: string; external_id: string }[] = await db('scim_external_ids').where({ tenant_id: tenantId }).whereIn(column, ids).select({ id: column, external_id: 'external_id' });
      return new Map(rows.map((r) => [r.id, r.external_id]));
    },

    /** Sets (or, with null, removes) the externalId of a user or group. */
    async setExternalId(tenantId: string, kind: 'user' | 'group', id: string, externalId: string | null, db: Knex = knex): Promise<void> {
      const column = kind === 'user' ? 'user_id' : 'group_id';
      if (externalId === null) {
        await db('scim_external_ids')
          .where({ tenant_id: tenantId, [column]: id })
          .delete();
        return;
      }
      await db('scim_external_ids')
        .insert({ tenant_id: tenantId, [column]: id, external_id: externalId })
        .onConflict(column)
        .merge(['external_id']);
    },
  };
}

export type ScimQueries = ReturnType<typeof createScimQueries>;
