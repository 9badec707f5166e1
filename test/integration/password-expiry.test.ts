// Password expiry reminders: one mail per user and password cycle, however many runs
// of the job and however many processes run it at once. On PostgreSQL + Redis a second Node
// process runs the job at the same moment as this one; the embedded database belongs to one
// process, so there two concurrent runs in this process stand in and the two-process case is skipped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { REMINDER_JOB, type ReminderReport } from '../../src/services/password-expiry.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DAY = 86_400_000;

describe(`password expiry reminders (${storageMode})`, function () {
  this.timeout(90_000);
  let gh: TestGatehouse;
  let smtp: TestSmtpServer;
  const changeUrl = 'http://gatehouse.test/account/password';

  /** A user whose password was set `daysAgo` days ago. */
  async function userWithPasswordAge(daysAgo: number, email = true) {
    const username = uniqueName('exp');
    const user = await gh.context.users.create({ username, password: `expiring-password-${Date.now()}-pw`, ...(email ? { email: `${username}@example.test` } : {}) }, SYSTEM_ACTOR);
    await gh.context
      .knex('users')
      .where({ id: user.id })
      .update({ password_changed_at: new Date(Date.now() - daysAgo * DAY) });
    return { ...user, email: `${username}@example.test` };
  }

  before(async () => {
    smtp = await startSmtpServer();
    gh = await startTestGatehouse({ SMTP_URL: smtp.url, GATEHOUSE_ARGON2_MEMORY_KIB: '1024', GATEHOUSE_ARGON2_TIME_COST: '1' });
    await gh.context.passwordPolicies.replace(gh.context.tenantId, { expiryDays: 30, reminderDays: 7 }, SYSTEM_ACTOR);
  });
  after(async () => {
    // The policy is the tenant's: leave the shared database as the other test files expect it.
    await gh?.context.knex('password_policies').where({ tenant_id: gh.context.tenantId }).delete();
    await gh?.close();
    await smtp?.close();
  });

  it('reminds each user once, within the lead days before expiry, across repeated and concurrent runs', async () => {
    const due = await Promise.all(Array.from({ length: 5 }, () => userWithPasswordAge(25)));
    const early = await userWithPasswordAge(10);
    const expired = await userWithPasswordAge(31);
    const [first, second] = await Promise.all([gh.context.passwordExpiry.runReminders({ changeUrl }), gh.context.passwordExpiry.runReminders({ changeUrl })]);
    assert.ok(first!.sent + second!.sent >= due.length, JSON.stringify([first, second]));
    await gh.context.passwordExpiry.runReminders({ changeUrl });
    assert.equal(await gh.context.scheduler.runIfDue(REMINDER_JOB), true, 'the server registered the job');
    for (const user of due) {
      const mails = smtp.to(user.email);
      assert.equal(mails.length, 1, `one reminder for ${user.username}`);
      assert.match(mails[0]!.subject, /Your password expires in 5 days/);
      assert.match(mails[0]!.text, /account\/password/);
    }
    assert.equal(smtp.to(early.email).length, 0, 'not yet within the lead days');
    assert.equal(smtp.to(expired.email).length, 0, 'an expired password is changed at sign-in, not reminded');

    // A new password starts a new cycle, which gets its own reminder.
    await gh.context
      .knex('users')
      .where({ id: due[0]!.id })
      .update({ password_changed_at: new Date(Date.now() - 24 * DAY) });
    await gh.context.passwordExpiry.runReminders({ changeUrl });
    assert.equal(smtp.to(due[0]!.email).length, 2);
  });

  it('sends one reminder when two processes run the job at the same moment (PostgreSQL + Redis only: the embedded database has one owning process)', async function () {
    if (storageMode === 'embedded') this.skip();
    const due = await Promise.all(Array.from({ length: 20 }, () => userWithPasswordAge(26)));
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/run-reminders.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATABASE_URL: gh.config.databaseUrl,
        REDIS_URL: gh.config.redisUrl,
        GATEHOUSE_REDIS_PREFIX: gh.config.redisPrefix,
        GATEHOUSE_SECRET: gh.config.secret,
        GATEHOUSE_DATA_DIR: gh.config.dataDir,
        SMTP_URL: smtp.url,
        CHANGE_URL: changeUrl,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (!out.includes('ready')) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`the second process did not start:\n${err}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.stdin.write('go\n');
    const mine = await gh.context.passwordExpiry.runReminders({ changeUrl });
    assert.equal(await exited, 0, err);
    const theirs = JSON.parse(out.trim().split('\n').pop()!) as ReminderReport;
    assert.equal(theirs.failed + mine.failed, 0);
    assert.ok(theirs.sent + mine.sent >= due.length, JSON.stringify({ mine, theirs }));
    for (const user of due) assert.equal(smtp.to(user.email).length, 1, `exactly one reminder for ${user.username}`);
  });
});
