// The account-security mails: notifications (password changed, second factor changed, account
// locked; OWASP ASVS 5 V6.3.7 "users are notified of changes to their authentication details"),
// the password-expiry reminder and the password-reset link. Plain text, no tracking, nothing that
// would help an attacker who reads them beyond what they are for.
import type { Queries } from '../queries/index.ts';
import type { Logger } from '../logger.ts';
import type { Mailer, MailMessage } from './mail.ts';
import type { UserEvent, UserEventListener } from './user-events.ts';

interface Recipient {
  username: string;
  email: string | null;
  name: string | null;
}

const greeting = (user: Recipient) => `Hello ${user.name ?? user.username},`;
const NOT_YOU = 'If this was not you, contact your administrator at once.';

export function passwordChangedMail(user: Recipient & { email: string }): MailMessage {
  return { kind: 'password_changed', to: user.email, subject: 'Your password was changed', text: `${greeting(user)}\n\nThe password of your account "${user.username}" was changed.\n\n${NOT_YOU}\n` };
}

const MFA_TEXTS: Record<Extract<UserEvent, { type: 'user.mfa_changed' }>['change'], string> = {
  enabled: 'An authenticator app was set up as the second factor of your account',
  reset: 'The authenticator app of your account was removed: signing in needs only your password now, until you set one up again',
  recovery_codes_regenerated: 'New recovery codes were created for your account; the old ones no longer work',
  recovery_code_used: 'One of your recovery codes was used to sign in to your account',
};

export function mfaChangedMail(user: Recipient & { email: string }, change: keyof typeof MFA_TEXTS): MailMessage {
  return { kind: 'mfa_changed', to: user.email, subject: 'The second factor of your account changed', text: `${greeting(user)}\n\n${MFA_TEXTS[change]} ("${user.username}").\n\n${NOT_YOU}\n` };
}

export function passkeyChangedMail(user: Recipient & { email: string }, change: 'added' | 'removed'): MailMessage {
  const what = change === 'added' ? 'A passkey was added to your account' : 'A passkey was removed from your account';
  return { kind: 'passkey_changed', to: user.email, subject: change === 'added' ? 'A passkey was added to your account' : 'A passkey was removed from your account', text: `${greeting(user)}\n\n${what} ("${user.username}").\n\n${NOT_YOU}\n` };
}

export function lockedMail(user: Recipient & { email: string }, until: Date | null): MailMessage {
  const when = until ? `until ${until.toISOString().replace('T', ' ').slice(0, 16)} UTC` : 'until an administrator unlocks it';
  return {
    kind: 'account_locked',
    to: user.email,
    subject: 'Your account was locked',
    text: `${greeting(user)}\n\nYour account "${user.username}" was locked ${when} after too many failed sign-in attempts.\n\nIf these attempts were not yours, someone may be trying to guess your password: consider changing it once you can sign in again, and contact your administrator.\n`,
  };
}

export function expiryReminderMail(user: Recipient & { email: string }, expiresAt: Date, changeUrl: string): MailMessage {
  const days = Math.max(Math.ceil((expiresAt.getTime() - Date.now()) / 86_400_000), 0);
  return {
    kind: 'password_expiry_reminder',
    to: user.email,
    subject: `Your password expires in ${days} day${days === 1 ? '' : 's'}`,
    text: `${greeting(user)}\n\nThe password of your account "${user.username}" expires on ${expiresAt.toISOString().slice(0, 10)}. Change it before then at:\n\n${changeUrl}\n\nAfter it expires you will be asked for a new one when you next sign in.\n`,
  };
}

export function resetMail(user: Recipient & { email: string }, link: string, ttlMinutes: number): MailMessage {
  return {
    kind: 'password_reset',
    to: user.email,
    subject: 'Reset your password',
    text: `${greeting(user)}\n\nSomeone asked to reset the password of your account "${user.username}". To choose a new password, open this link within ${ttlMinutes} minutes:\n\n${link}\n\nThe link works once. If you did not ask for this, ignore this mail: your password stays as it is.\n`,
  };
}

export function invitationMail(user: Recipient & { email: string }, link: string, ttlDays: number): MailMessage {
  return {
    kind: 'invitation',
    to: user.email,
    subject: 'Your new account: choose a password',
    text: `${greeting(user)}\n\nAn account "${user.username}" was created for you. To choose its password, open this link within ${ttlDays} day${ttlDays === 1 ? '' : 's'}:\n\n${link}\n\nThe link works once. If you did not expect this, ignore this mail.\n`,
  };
}

/**
 * The email address or username of an account changed: both the old and the new address are
 * told (OWASP ASVS 5 V6.3.7), so a takeover through a changed address cannot go unnoticed.
 */
export function loginChangedMails(event: Extract<UserEvent, { type: 'user.login_changed' }>, name: string | null): MailMessage[] {
  const who = { username: event.username.after, name, email: event.email.after };
  const changes = [
    ...(event.username.before !== event.username.after ? [`its username changed from "${event.username.before}" to "${event.username.after}"`] : []),
    ...(event.email.before !== event.email.after ? [`its email address changed from ${event.email.before ?? '(none)'} to ${event.email.after ?? '(none)'}; password-reset links sent before the change no longer work`] : []),
  ];
  const text = `${greeting(who)}\n\nAn administrator changed your account "${event.username.after}": ${changes.join('; ')}.\n\n${NOT_YOU}\n`;
  const to = [...new Set([event.email.before, event.email.after].filter((e): e is string => Boolean(e)))];
  return to.map((address) => ({ kind: 'login_changed', to: address, subject: 'The sign-in details of your account changed', text }));
}

/** The reaction that sends the notification mails for user events, in the background (a request never waits for SMTP). */
export function accountMailsOnUserEvent(deps: { queries: Pick<Queries, 'users'>; mailer: Mailer; logger: Logger }): UserEventListener {
  async function recipient(tenantId: string, userId: string): Promise<(Recipient & { email: string }) | undefined> {
    const row: Recipient | undefined = await deps.queries.users.recipient(tenantId, userId);
    return row?.email ? { ...row, email: row.email } : undefined;
  }
  return async (event) => {
    if (event.type === 'user.login_changed') {
      const row = await deps.queries.users.recipient(event.tenantId, event.userId);
      for (const mail of loginChangedMails(event, row?.name ?? null)) deps.mailer.enqueue(mail);
      return;
    }
    if (event.type !== 'user.password_changed' && event.type !== 'user.mfa_changed' && event.type !== 'user.locked' && event.type !== 'user.passkey_changed') return;
    const user = await recipient(event.tenantId, event.userId);
    if (!user) {
      deps.logger.debug({ event: event.type, userId: event.userId }, 'no email address: notification not sent');
      return;
    }
    if (event.type === 'user.password_changed') deps.mailer.enqueue(passwordChangedMail(user));
    else if (event.type === 'user.mfa_changed') deps.mailer.enqueue(mfaChangedMail(user, event.change));
    else if (event.type === 'user.passkey_changed') deps.mailer.enqueue(passkeyChangedMail(user, event.change));
    else deps.mailer.enqueue(lockedMail(user, event.until));
  };
}
