import type { Knex } from 'knex';

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly knex: Knex;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
