// Named statements run on a connection of knex's pool without knex's query builder: for the few
// statements every token grant runs, where building and compiling the query on each call costs
// more CPU than PostgreSQL spends on them. The SQL text is fixed per name; on PostgreSQL the
// statement is prepared once per connection (parsed and planned once), on PGlite it is sent with
// its parameters as it is. The connection comes from knex's pool and goes back to it, so these
// statements wait their turn with every other query (PGlite has one connection), and knex's
// query events are emitted as for any query (telemetry, the tests' statement counts).
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export interface StatementResult<Row> {
  rows: Row[];
  /** Rows inserted, updated or deleted (or returned, for a select). */
  rowCount: number;
}

export interface Statement<Row> {
  run(values: unknown[]): Promise<StatementResult<Row>>;
}

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

interface PgliteConnection {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[]; affectedRows?: number }>;
}

interface PoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
  emit(event: string, ...args: unknown[]): boolean;
  /** Set by knex-pglite's client: the one PGlite instance it opens. */
  pglite?: unknown;
}

/**
 * A statement bound to `knex`'s pool. `knex` must be the root instance, not a transaction (a
 * transaction's statements must run on its own connection: use knex there).
 */
export function prepareStatement<Row>(knex: Knex, name: string, text: string): Statement<Row> {
  const client = knex.client as unknown as PoolClient;
  const embedded = client.pglite !== undefined;
  return {
    async run(values) {
      // What knex's runner puts in its events; the uid pairs a query with its response.
      const query = { __knexQueryUid: randomUUID(), method: 'raw', sql: text, bindings: values, options: {} };
      const connection = await client.acquireConnection();
      client.emit('query', query);
      try {
        let result: StatementResult<Row>;
        if (embedded) {
          const response = await (connection as PgliteConnection).query(text, values);
          result = { rows: response.rows as Row[], rowCount: response.affectedRows ?? response.rows.length };
        } else {
          const response = await (connection as PgConnection).query({ name, text, values });
          result = { rows: response.rows as Row[], rowCount: response.rowCount ?? 0 };
        }
        client.emit('query-response', result, query);
        return result;
      } catch (error) {
        client.emit('query-error', error, query);
        throw error;
      } finally {
        await client.releaseConnection(connection);
      }
    },
  };
}
