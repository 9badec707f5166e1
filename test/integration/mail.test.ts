// The mail service: through a real SMTP server (smtp-server, in-process), and without SMTP_URL into
// the local outbox, with a log line that names the file but never carries the body (a reset link).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.ts';
import { createMailer } from '../../src/services/mail.ts';
import { resetMail } from '../../src/services/account-mail.ts';
import { startSmtpServer } from '../helpers/smtp.ts';

const user = { username: 'olga', name: 'Olga', email: 'olga@example.test' };
const link = 'http://localhost:3000/account/password/reset?token=SECRET-TOKEN-0123456789-abcdefghijklmnop';

function capturingLogger() {
  const lines: string[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  return { logger, lines };
}

describe('mail', () => {
  it('sends through SMTP_URL', async () => {
    const smtp = await startSmtpServer();
    const { logger, lines } = capturingLogger();
    const mailer = createMailer({ smtpUrl: smtp.url, from: 'Gatehouse <gh@example.test>', dataDir: os.tmpdir(), logger });
    try {
      mailer.enqueue(resetMail(user, link, 30));
      await mailer.idle();
      const [mail] = await smtp.waitFor(user.email);
      assert.equal(mail!.subject, 'Reset your password');
      assert.ok(mail!.text.includes(link));
      assert.ok(lines.some((l) => /mail sent/.test(l)) && lines.every((l) => !l.includes('SECRET-TOKEN')), 'logged without the link');
    } finally {
      await mailer.close();
      await smtp.close();
    }
  });

  it('without SMTP_URL writes each mail to the outbox (mode 0600) and logs the file, never the link', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-outbox-'));
    const { logger, lines } = capturingLogger();
    const mailer = createMailer({ smtpUrl: undefined, from: 'Gatehouse <gh@example.test>', dataDir, logger });
    try {
      assert.equal(mailer.mode, 'outbox');
      await mailer.send(resetMail(user, link, 30));
      const files = await readdir(path.join(dataDir, 'outbox'));
      assert.equal(files.length, 1);
      const file = path.join(dataDir, 'outbox', files[0]!);
      const content = await readFile(file, 'utf8');
      assert.match(content, /^Subject: Reset your password$/m);
      assert.match(content, /^To: olga@example\.test$/m);
      assert.ok(content.replace(/=\r?\n/g, '').includes('SECRET-TOKEN'), 'the mail itself is complete');
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const line = lines.find((l) => l.includes('outbox'));
      assert.ok(line && line.includes(files[0]!), 'the log line names the file');
      assert.ok(
        lines.every((l) => !l.includes('SECRET-TOKEN')),
        'and never the link',
      );
    } finally {
      await mailer.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
