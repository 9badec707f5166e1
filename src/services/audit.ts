// The audit writer. A failed audit write is logged but never breaks the caller's request:
// the event that happened has happened.
import type { Knex } from 'knex';
import type { Logger } from '../logger.ts';
import { createAuditQueries, type AuditEventInput } from '../queries/audit.ts';

export type { AuditEventInput };

export function createAuditService(knex: Knex, logger: Logger) {
  const queries = createAuditQueries(knex);
  return {
    async record(event: AuditEventInput, trx?: Knex): Promise<void> {
      try {
        await queries.insert(event, trx);
      } catch (err) {
        if (trx) throw err; // inside a transaction the caller decides: nothing half-written
        logger.error({ err, action: event.action }, 'audit write failed');
      }
    },
    list: queries.list,
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
