// Several queries of one read, on whatever the caller's executor is.
import type { Knex } from 'knex';

/**
 * Runs knex queries (builders start when awaited) at once on the pool, where each gets a
 * connection of its own, and one after another on a transaction, whose single connection runs
 * one query at a time (pg deprecates queueing them on it).
 */
export async function runAll<T extends readonly unknown[]>(db: Knex, queries: readonly [...{ [K in keyof T]: PromiseLike<T[K]> }]): Promise<T> {
  if (!db.isTransaction) return Promise.all(queries) as Promise<T>;
  const results: unknown[] = [];
  for (const query of queries) results.push(await query);
  return results as unknown as T;
}
