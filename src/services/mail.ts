// Outgoing mail. With SMTP_URL, nodemailer sends through that server. Without it, each message
// is written as an RFC 5322 file (mode 0600) to GATEHOUSE_DATA_DIR/outbox and announced by a log
// line naming the file, so nothing is lost on a trial install; the log line never carries the
// body, which may hold a password-reset link. In production without SMTP_URL the server starts but
// warns (see openContext): signing in never needs mail, so mail is not made a hard dependency.
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Transporter } from 'nodemailer';
import type { Logger } from '../logger.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** What kind of mail this is, for the log line (e.g. `password_reset`). */
  kind: string;
}

export interface Mailer {
  readonly mode: 'smtp' | 'outbox';
  /** Sends now; rejects when the message cannot be delivered to the SMTP server or the outbox. */
  send(message: MailMessage): Promise<void>;
  /**
   * Sends in the background so a request never waits for (or reveals, by its timing) the mail
   * server; failures are logged. idle() resolves once every queued message has been handled.
   */
  enqueue(message: MailMessage): void;
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function createMailer(deps: { smtpUrl: string | undefined; from: string; dataDir: string; logger: Logger }): Mailer {
  const { logger } = deps;
  const pending = new Set<Promise<void>>();
  const outboxDir = path.join(deps.dataDir, 'outbox');
  const mode = deps.smtpUrl ? 'smtp' : 'outbox';
  // nodemailer (a few MB of heap) is loaded with the first message, not at start.
  let transport: Promise<Transporter> | undefined;
  const transporter = () => (transport ??= import('nodemailer').then(({ default: nodemailer }) => (deps.smtpUrl ? nodemailer.createTransport(deps.smtpUrl) : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }))));

  async function send(message: MailMessage): Promise<void> {
    const info = await (await transporter()).sendMail({ from: deps.from, to: message.to, subject: message.subject, text: message.text });
    if (mode === 'smtp') {
      logger.info({ mail: message.kind, to: message.to, messageId: info.messageId }, 'mail sent');
      return;
    }
    await mkdir(outboxDir, { recursive: true, mode: 0o700 });
    const file = path.join(outboxDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.eml`);
    await writeFile(file, (info as unknown as { message: Buffer }).message, { mode: 0o600 });
    logger.info({ mail: message.kind, to: message.to, file }, 'mail written to the outbox (SMTP_URL is not set)');
  }

  return {
    mode,
    send,
    enqueue(message) {
      const job = send(message)
        .catch((error: unknown) => logger.error({ mail: message.kind, to: message.to, err: { message: (error as Error).message } }, 'mail could not be sent'))
        .finally(() => pending.delete(job));
      pending.add(job);
    },
    async idle() {
      while (pending.size) await Promise.all([...pending]);
    },
    async close() {
      await this.idle();
      if (transport) (await transport).close();
    },
  };
}
