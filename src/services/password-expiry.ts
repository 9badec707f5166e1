// Password expiry reminders: mails sent in advance so users reset their passwords before they
// expire. A scheduled job finds users whose password expires within the tenant's reminderDays and
// sends each one mail per password cycle. The scheduler already runs a slot on one node only;
// "exactly once per user and cycle" does not rely on that: the reminder is claimed by inserting the
// row (user, cycle) whose primary key admits one, and the mail is sent inside the transaction that
// holds the claim. A second node inserting the same row waits for the first to commit and then
// finds it taken; if sending fails, the claim rolls back and the next run tries again.
import type { Queries } from '../queries/index.ts';
import type { Logger } from '../logger.ts';
import { expiryReminderMail } from './account-mail.ts';
import type { Mailer } from './mail.ts';
import { parseStoredPolicy, passwordExpiresAt } from './password-policy.ts';

export const REMINDER_JOB = 'password-expiry-reminders';
const BATCH = 200;

export interface ReminderReport {
  sent: number;
  /** Claimed by another run meanwhile. */
  skipped: number;
  failed: number;
}

export function createPasswordExpiryService(deps: { queries: Queries; mailer: Mailer; logger: Logger; now?: () => Date }) {
  const queries = deps.queries.accountSecurity;
  const now = deps.now ?? (() => new Date());

  return {
    /** One run of the reminder job; `changeUrl` is the account page where a password is changed. */
    async runReminders(options: { changeUrl: string }): Promise<ReminderReport> {
      const report: ReminderReport = { sent: 0, skipped: 0, failed: 0 };
      for (const { tenantId, settings } of await queries.tenantsWithPolicies()) {
        const policy = parseStoredPolicy(settings);
        if (policy.expiryDays === null) continue;
        const failedUsers = new Set<string>();
        for (;;) {
          const candidates = (await queries.reminderCandidates(tenantId, policy.expiryDays, policy.reminderDays, now(), BATCH + failedUsers.size)).filter((c) => !failedUsers.has(c.userId));
          if (candidates.length === 0) break;
          for (const candidate of candidates) {
            try {
              const sent = await deps.queries.transaction(async ({ db: trx }) => {
                if (!(await queries.claimReminder(tenantId, candidate.userId, candidate.passwordChangedAt, trx))) return false;
                await deps.mailer.send(expiryReminderMail(candidate, passwordExpiresAt(policy, candidate.passwordChangedAt)!, options.changeUrl));
                return true;
              });
              if (sent) report.sent += 1;
              else report.skipped += 1;
            } catch (error) {
              failedUsers.add(candidate.userId);
              report.failed += 1;
              deps.logger.error({ userId: candidate.userId, err: { message: (error as Error).message } }, 'password expiry reminder not sent; the next run tries again');
            }
          }
          if (candidates.length < BATCH) break;
        }
      }
      return report;
    },
  };
}

export type PasswordExpiryService = ReturnType<typeof createPasswordExpiryService>;
