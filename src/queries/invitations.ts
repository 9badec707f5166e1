// SQL for queued invitation mails (user_invitations) and the user fields an invitation needs.
// No business rules here.
import type { Knex } from 'knex';
import type { TenantOwned } from './rows.ts';

export interface PendingInvitation extends TenantOwned {
  userId: string;
}

export interface InviteeRow {
  username: string;
  email: string | null;
  name: string | null;
  password_hash: string | null;
  status: string;
}

export function createInvitationQueries(knex: Knex) {
  return {
    /** Queues one invitation per user, in chunks that stay under the driver's parameter limit. */
    async insertMany(tenantId: string, userIds: string[], db: Knex = knex): Promise<void> {
      for (let i = 0; i < userIds.length; i += 10_000) {
        await db('user_invitations').insert(userIds.slice(i, i + 10_000).map((userId) => ({ tenant_id: tenantId, user_id: userId })));
      }
    },
    /**
     * The oldest unsent invitation tried fewer than `maxAttempts` times and not among `exceptIds`,
     * row-locked and skipped by other transactions holding it (FOR UPDATE SKIP LOCKED): run it in a transaction.
     */
    async takeNextPending(maxAttempts: number, exceptIds: string[], db: Knex = knex): Promise<PendingInvitation | undefined> {
      const row: { id: string; tenant_id: string; user_id: string } | undefined = await db('user_invitations')
        .whereNull('sent_at')
        .where('attempts', '<', maxAttempts)
        .modify((q) => {
          if (exceptIds.length) q.whereNotIn('id', exceptIds);
        })
        .orderBy('id')
        .forUpdate()
        .skipLocked()
        .first('id', 'tenant_id', 'user_id');
      return row ? { id: row.id, tenantId: row.tenant_id, userId: row.user_id } : undefined;
    },
    async invitee(userId: string, db: Knex = knex): Promise<InviteeRow | undefined> {
      return db('users').where({ id: userId }).first('username', 'email', 'name', 'password_hash', 'status');
    },
    /** Done with it without sending: `reason` says why. */
    async markSkipped(id: string, reason: string, db: Knex = knex): Promise<void> {
      await db('user_invitations').where({ id }).update({ sent_at: db.fn.now(), last_error: reason });
    },
    async markSent(id: string, db: Knex = knex): Promise<void> {
      await db('user_invitations')
        .where({ id })
        .update({ sent_at: db.fn.now(), attempts: db.raw('attempts + 1') });
    },
    /** Counts a failed try and keeps its error (at most 500 characters) for the next one. */
    async recordFailure(id: string, reason: string, db: Knex = knex): Promise<void> {
      await db('user_invitations')
        .where({ id })
        .update({ attempts: db.raw('attempts + 1'), last_error: reason.slice(0, 500) });
    },
  };
}

export type InvitationQueries = ReturnType<typeof createInvitationQueries>;
