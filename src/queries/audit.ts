import type { Knex } from 'knex';

export interface AuditEventInput {
  tenantId: string;
  action: string;
  result?: 'success' | 'failure';
  actorType: 'user' | 'service' | 'system' | 'anonymous' | 'cli';
  actorId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEvent extends Required<Omit<AuditEventInput, 'details'>> {
  id: string;
  occurredAt: Date;
  details: Record<string, unknown>;
}

interface AuditRow {
  id: string | number;
  tenant_id: string;
  occurred_at: Date | string;
  action: string;
  result: 'success' | 'failure';
  actor_type: AuditEventInput['actorType'];
  actor_id: string | null;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown> | string;
}

export function createAuditQueries(knex: Knex) {
  return {
    async insert(event: AuditEventInput, trx: Knex = knex): Promise<void> {
      await trx('audit_events').insert({
        tenant_id: event.tenantId,
        action: event.action,
        result: event.result ?? 'success',
        actor_type: event.actorType,
        actor_id: event.actorId ?? null,
        target_type: event.targetType ?? null,
        target_id: event.targetId ?? null,
        ip: event.ip ?? null,
        user_agent: event.userAgent?.slice(0, 512) ?? null,
        details: JSON.stringify(event.details ?? {}),
      });
    },
    async list(tenantId: string, filter: { action?: string; targetId?: string; limit?: number } = {}): Promise<AuditEvent[]> {
      const query = knex<AuditRow>('audit_events').where({ tenant_id: tenantId }).orderBy('id', 'desc').limit(filter.limit ?? 100);
      if (filter.action) query.andWhere({ action: filter.action });
      if (filter.targetId) query.andWhere({ target_id: filter.targetId });
      const rows = await query;
      return rows.map((row) => ({
        id: String(row.id),
        tenantId: row.tenant_id,
        occurredAt: new Date(row.occurred_at),
        action: row.action,
        result: row.result,
        actorType: row.actor_type,
        actorId: row.actor_id,
        targetType: row.target_type,
        targetId: row.target_id,
        ip: row.ip,
        userAgent: row.user_agent,
        details: typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, unknown>) : row.details,
      }));
    },
  };
}

export type AuditQueries = ReturnType<typeof createAuditQueries>;
