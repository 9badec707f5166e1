// Invitation mails for users created without a password, so whole teams can be onboarded at once.
// The bulk import queues one row per user in its own transaction; this job sends them: for each
// pending row, in a transaction that holds the row (FOR UPDATE SKIP LOCKED, so two nodes never take
// the same one), it issues a single-use set-password link (the reset token, valid
// INVITATION_TTL_DAYS), mails it and marks the row sent. A failed send rolls back its token, keeps
// the row pending with the error, and is tried again on the next run; after MAX_ATTEMPTS it is left
// for an administrator (the row and the log say why).
import type { Logger } from '../logger.ts';
import type { Executor, Queries } from '../queries/index.ts';
import { invitationMail } from './account-mail.ts';
import type { Mailer } from './mail.ts';
import type { PasswordResetService } from './password-reset.ts';

export const INVITATION_JOB = 'user-invitations';
export const INVITATION_TTL_DAYS = 7;
const MAX_ATTEMPTS = 5;
const BATCH = 200;

export function createInvitationService(deps: { queries: Queries; mailer: Mailer; passwordReset: Pick<PasswordResetService, 'issueToken'>; logger: Logger }) {
  const queries = deps.queries.invitations;
  return {
    /** Queues an invitation for each user (inside the caller's transaction). */
    async queue(trx: Executor, tenantId: string, userIds: string[]): Promise<void> {
      await queries.insertMany(tenantId, userIds, trx);
    },

    /** Sends pending invitations, a batch at a time, until none is left; returns how many went out. */
    async sendPending(options: { linkBase: string; limit?: number }): Promise<{ sent: number; failed: number }> {
      let sent = 0;
      let failed = 0;
      // A row that failed is tried again on the next run, not over and over in this one.
      const failedNow: string[] = [];
      const limit = options.limit ?? Number.POSITIVE_INFINITY;
      while (sent + failed < limit) {
        let handled = 0;
        for (let i = 0; i < BATCH && sent + failed < limit; i += 1) {
          const outcome = await deps.queries
            .transaction(async ({ db: trx }) => {
              const row = await queries.takeNextPending(MAX_ATTEMPTS, failedNow, trx);
              if (!row) return 'none' as const;
              const user = await queries.invitee(row.userId, trx);
              // Nothing to send any more (no email, a password already set, deactivated): done with it.
              if (!user?.email || user.password_hash !== null || user.status === 'inactive') {
                await queries.markSkipped(row.id, 'not sent: no email, a password already set, or inactive', trx);
                return 'skipped' as const;
              }
              try {
                const token = await deps.passwordReset.issueToken(row.tenantId, row.userId, INVITATION_TTL_DAYS * 86_400, trx);
                await deps.mailer.send(invitationMail({ username: user.username, email: user.email, name: user.name }, `${options.linkBase}?token=${token}`, INVITATION_TTL_DAYS));
                await queries.markSent(row.id, trx);
                return 'sent' as const;
              } catch (error) {
                // The token goes with the rollback below; the row keeps its error for the next try.
                throw Object.assign(new Error('invitation not sent'), { invitationId: row.id, cause: error });
              }
            })
            .catch(async (error: Error & { invitationId?: string; cause?: unknown }) => {
              if (!error.invitationId) throw error;
              const reason = (error.cause as Error | undefined)?.message ?? 'unknown error';
              await queries.recordFailure(error.invitationId, reason);
              failedNow.push(error.invitationId);
              deps.logger.warn({ invitationId: error.invitationId, reason }, 'invitation mail not sent; it will be tried again');
              return 'failed' as const;
            });
          if (outcome === 'none') return { sent, failed };
          handled += 1;
          if (outcome === 'sent') sent += 1;
          if (outcome === 'failed') failed += 1;
        }
        if (handled === 0) break;
      }
      return { sent, failed };
    },
  };
}

export type InvitationService = ReturnType<typeof createInvitationService>;
