// The composition root's tables: every scheduled job once, with links under the issuer; user
// events reach the account mails before this node's user cache.
import assert from 'node:assert/strict';
import type { UserEvent } from '../../src/services/user-events.ts';
import { createUserEvents } from '../../src/services/user-events.ts';
import { scheduledJobs, userEventSubscriptions } from '../../src/wiring.ts';

describe('wiring tables', () => {
  it('lists each job once and passes the issuer to the mail links', async () => {
    const calls: unknown[] = [];
    const context = {
      tenantId: 't1',
      audit: { purgeExpired: async (o: unknown) => calls.push(['audit', o]) },
      webhooks: { run: async () => calls.push(['webhooks.run']), purge: async () => calls.push(['webhooks.purge']) },
      passwordExpiry: { runReminders: async (o: unknown) => calls.push(['reminders', o]) },
      invitations: { sendPending: async (o: unknown) => calls.push(['invitations', o]) },
    };
    const jobs = scheduledJobs(context as unknown as Parameters<typeof scheduledJobs>[0], { issuer: 'https://id.example' });
    assert.deepEqual(jobs.map((j) => j.name).sort(), ['audit-retention', 'password-expiry-reminders', 'user-invitations', 'webhook-delivery', 'webhook-retention'].sort());
    for (const job of jobs) await job.run();
    assert.deepEqual(calls, [['audit', { tenantId: 't1' }], ['webhooks.run'], ['webhooks.purge'], ['reminders', { changeUrl: 'https://id.example/account/password' }], ['invitations', { linkBase: 'https://id.example/account/password/reset' }]]);
  });

  it('runs the account mails, then drops the user from the cache', async () => {
    const order: string[] = [];
    const events = createUserEvents();
    const subscriptions = userEventSubscriptions({ accountMails: async (e) => void order.push(`mail ${e.type}`), accounts: { invalidate: async (id) => void order.push(`cache ${id}`) } });
    for (const s of subscriptions) events.on(s.react);
    const event: UserEvent = { type: 'user.deactivated', tenantId: 't1', userId: 'u1' };
    await events.emit(event);
    assert.deepEqual(order, ['mail user.deactivated', 'cache u1']);
  });
});
