// Invitation mails for imported users without a password: queued by the import, sent once by the
// scheduled job through a real SMTP server (in-process), and the link sets the password once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createInvitationService, INVITATION_JOB } from '../../src/services/invitations.ts';
import { createMailer } from '../../src/services/mail.ts';
import { createLogger } from '../../src/logger.ts';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { formWith, HttpClient } from '../helpers/http.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';
import { passwordSignIn } from '../helpers/sign-in.ts';

describe(`invitations for imported users (${storageMode})`, function () {
  this.timeout(60_000);
  let smtp: TestSmtpServer;
  let gh: TestGatehouse;
  let admin: ApiCaller;
  const linkIn = (text: string) => new URL(/(http:\/\/\S+\/account\/password\/reset\?token=[A-Za-z0-9_-]+)/.exec(text)![1]!);

  before(async () => {
    smtp = await startSmtpServer();
    gh = await startTestGatehouse({ SMTP_URL: smtp.url, GATEHOUSE_ARGON2_MEMORY_KIB: '1024', GATEHOUSE_ARGON2_TIME_COST: '1' });
    admin = await createApiCaller(gh, { permissions: ['users:import'] });
  });
  after(async () => {
    await gh?.close();
    await smtp?.close();
  });

  const importCsv = (csv: string, query = '') => admin.request('POST', `/users/import${query}`, csv, { 'content-type': 'text/csv' });
  const sendNow = () => gh.context.invitations.sendPending({ linkBase: `${gh.issuer}/account/password/reset` });

  it('mails each new user without a password a single-use set-password link, once', async () => {
    const invited = uniqueName('invited');
    const withPassword = uniqueName('haspw');
    const noEmail = uniqueName('noemail');
    const hash = '$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$Cn6/MhcbTqrpMeDQuBxMDbVo+/5K6Ta3TRW7k1IkXnY';
    const response = await importCsv(`username,email,password_hash\n${invited},${invited}@example.test,\n${withPassword},${withPassword}@example.test,"${hash}"\n${noEmail},,\n`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.invitations, 1, 'only the user with an email and no password');
    assert.equal(smtp.to(`${invited}@example.test`).length, 0, 'the import does not wait for mail');

    // The scheduled job sends it; two runs at once (two nodes) send it once.
    assert.equal(await gh.context.scheduler.runIfDue(INVITATION_JOB), true);
    await sendNow();
    const [mail] = await smtp.waitFor(`${invited}@example.test`);
    assert.match(mail!.subject, /choose a password/);
    assert.equal(smtp.to(`${withPassword}@example.test`).length, 0);
    assert.equal(smtp.to(`${invited}@example.test`).length, 1, 'sent exactly once');

    const browser = new HttpClient(gh.url);
    const link = linkIn(mail!.text);
    const form = formWith(await browser.get(link), 'new_password');
    const chosen = `first-password-${randomUUID()}`;
    const done = await browser.postForm(form.action, { ...form.fields, new_password: chosen, confirm_password: chosen });
    assert.equal(done.status, 200, done.body.slice(0, 300));
    const again = await browser.postForm(form.action, { ...form.fields, new_password: `${chosen}-2`, confirm_password: `${chosen}-2` });
    assert.equal(again.status, 400, 'the link works once');
    assert.ok((await passwordSignIn(gh.context, invited, chosen)).userId, 'the chosen password signs in');
  });

  it('keeps an invitation pending when mail fails, and sends it on a later run', async () => {
    const user = uniqueName('retry');
    assert.equal((await importCsv(`username,email\n${user},${user}@example.test\n`)).status, 200);
    // A node whose SMTP server is down: nothing listens on the discard port.
    const deadMailer = createMailer({ smtpUrl: 'smtp://127.0.0.1:9', from: 'Gatehouse <no-reply@localhost>', dataDir: gh.config.dataDir, logger: createLogger('silent') });
    const down = createInvitationService({ queries: gh.context.queries, mailer: deadMailer, passwordReset: gh.context.passwordReset, logger: createLogger('silent') });
    try {
      assert.deepEqual(await down.sendPending({ linkBase: `${gh.issuer}/account/password/reset` }), { sent: 0, failed: 1 });
    } finally {
      await deadMailer.close();
    }
    const row = await gh.context.knex('user_invitations').join('users', 'users.id', 'user_invitations.user_id').where('users.username', user).first('sent_at', 'attempts', 'last_error');
    assert.deepEqual([row.sent_at, row.attempts], [null, 1]);
    assert.match(row.last_error, /ECONNREFUSED|connect/i);
    assert.equal(
      await gh.context
        .knex('password_reset_tokens')
        .join('users', 'users.id', 'password_reset_tokens.user_id')
        .where('users.username', user)
        .count('* as n')
        .first()
        .then((r) => Number(r?.n)),
      0,
      'the failed attempt left no usable link',
    );
    assert.deepEqual(await sendNow(), { sent: 1, failed: 0 });
    await smtp.waitFor(`${user}@example.test`);
  });

  it('queues nothing with invite=false', async () => {
    const user = uniqueName('quiet');
    const response = await importCsv(`username,email\n${user},${user}@example.test\n`, '?invite=false');
    assert.equal(response.body.invitations, 0);
    assert.deepEqual(await sendNow(), { sent: 0, failed: 0 });
  });
});
