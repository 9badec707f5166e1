// Row <-> object mapping shared by the query modules: an object's camelCase fields are stored
// in snake_case columns of the same name (tenantId in tenant_id), and pg hands back jsonb
// parsed and timestamps as Dates, where other drivers may hand back strings.

/** The snake_case column a camelCase field is stored in: `tenantId` → `tenant_id`. */
export type ColumnOf<F extends string> = F extends `${infer H}${infer T}` ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${ColumnOf<T>}` : F;

/** The camelCase field a snake_case column holds: `tenant_id` → `tenantId`. */
export type FieldOf<C extends string> = C extends `${infer H}_${infer T}` ? `${H}${Capitalize<FieldOf<T>>}` : C;

const columnOf = (field: string): string => field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** The named fields of an object, each read as it is from its column of `row`. */
export function fieldsOf<R extends object, F extends FieldOf<keyof R & string>>(row: R, fields: readonly F[]): { [K in F]: R[ColumnOf<K> & keyof R] } {
  const columns = row as Record<string, unknown>;
  return Object.fromEntries(fields.map((field) => [field, columns[columnOf(field)]])) as { [K in F]: R[ColumnOf<K> & keyof R] };
}

/** The named fields of `value`, each as it is under its column name: the row to write. */
export function columnsOf<T extends object, F extends keyof T & string>(value: T, fields: readonly F[]): { [K in F as ColumnOf<K>]: T[K] } {
  return Object.fromEntries(fields.map((field) => [columnOf(field), value[field]])) as { [K in F as ColumnOf<K>]: T[K] };
}

/** A jsonb value: as pg parsed it, or parsed here when the driver handed back its text. */
export function json<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

/** A nullable timestamp column as a Date (null stays null). */
export const dateOrNull = (value: Date | string | null): Date | null => (value === null ? null : new Date(value));

/** What every row a tenant owns carries: its own id and its tenant's. */
export interface TenantOwned {
  id: string;
  tenantId: string;
}
