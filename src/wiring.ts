// The two tables of the composition root: which jobs the scheduler runs, and which reactions
// follow a user event. Listeners run in the order listed, each awaited; jobs run once per slot
// across all nodes (src/services/scheduler.ts).
//
// Registered elsewhere, for now: the session service subscribes to user events (ending
// sessions on password change, deactivation, lock, deletion and identity removal) and registers
// its `session-cleanup` job inside createSessionService (src/services/sessions.ts). Its
// subscription is registered after the ones below, so the caches have let go of a user before
// the sessions end.
import type { GatehouseContext } from './context.ts';
import type { InvalidatingCache } from './services/cache.ts';
import type { ScheduledJob } from './services/scheduler.ts';
import type { UserEventListener } from './services/user-events.ts';
import type { User } from './queries/users.ts';
import { INVITATION_JOB } from './services/invitations.ts';
import { REMINDER_JOB } from './services/password-expiry.ts';
import { WEBHOOK_JOB, WEBHOOK_RETENTION_JOB } from './services/webhooks.ts';

export interface UserEventSubscription {
  name: string;
  react: UserEventListener;
}

/** Reactions to user events, in the order they run. */
export function userEventSubscriptions(parts: { accountMails: UserEventListener; accounts: Pick<InvalidatingCache<User>, 'invalidate'> }): UserEventSubscription[] {
  return [
    // Password changed, MFA or passkeys changed, locked, sign-in name changed: a mail to the user.
    { name: 'account-mails', react: parts.accountMails },
    // Deactivated, locked, deleted, password changed: this node's user cache lets go at once,
    // without waiting for PostgreSQL's NOTIFY, so a change made here is seen here at once.
    { name: 'user-cache', react: async (event) => parts.accounts.invalidate(event.userId) },
  ];
}

/** The scheduled jobs; links in mails point at `issuer`. */
export function scheduledJobs(context: Pick<GatehouseContext, 'audit' | 'tenantId' | 'webhooks' | 'passwordExpiry' | 'invitations'>, urls: { issuer: string }): ScheduledJob[] {
  return [
    // The audit log's retention purge, once a day; it audits itself.
    { name: 'audit-retention', intervalSeconds: 86_400, run: () => context.audit.purgeExpired({ tenantId: context.tenantId }) },
    // Webhooks from the audit outbox, every few seconds, and the purge of old deliveries.
    { name: WEBHOOK_JOB, intervalSeconds: 5, run: () => context.webhooks.run() },
    { name: WEBHOOK_RETENTION_JOB, intervalSeconds: 86_400, run: () => context.webhooks.purge() },
    // Password expiry reminders, once an hour.
    { name: REMINDER_JOB, intervalSeconds: 3600, run: () => context.passwordExpiry.runReminders({ changeUrl: `${urls.issuer}/account/password` }) },
    // Invitation mails queued by the bulk import, every minute.
    { name: INVITATION_JOB, intervalSeconds: 60, run: () => context.invitations.sendPending({ linkBase: `${urls.issuer}/account/password/reset` }) },
  ];
}
