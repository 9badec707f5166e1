// The pages' languages: the catalogs agree (every key in every language, the same placeholders),
// every message a template asks for is in the catalogs, the language is chosen from ui_locales,
// then Accept-Language, then the tenant's default, and no page rendered in German or French shows
// an English catalog string (apart from words that are the same in both languages).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chooseLocale, createTranslators, fromAcceptLanguage, fromUiLocales, loadCatalogs, LOCALES, type Locale } from '../../src/views/i18n.ts';
import { createRenderer } from '../../src/views/render.ts';

const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));
const catalogs = loadCatalogs();
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogs', () => {
  it('have the same keys in every language, none empty, with the same placeholders', () => {
    const englishKeys = Object.keys(catalogs.en).sort();
    assert.ok(englishKeys.length > 100, 'the catalogs are not empty');
    for (const locale of LOCALES) {
      assert.deepEqual(Object.keys(catalogs[locale]).sort(), englishKeys, `${locale}.json has exactly the English keys`);
      for (const key of englishKeys) {
        const text = catalogs[locale][key]!;
        assert.ok(text.trim().length > 0, `${locale}: "${key}" is empty`);
        assert.deepEqual(placeholders(text), placeholders(key), `${locale}: "${key}" keeps its placeholders`);
      }
    }
    for (const key of englishKeys) assert.equal(catalogs.en[key], key, 'the English text is the key');
  });

  it('hold every message the templates ask for', () => {
    const asked = new Set<string>();
    for (const file of readdirSync(VIEWS_DIR).filter((name) => name.endsWith('.eta'))) {
      const source = readFileSync(`${VIEWS_DIR}/${file}`, 'utf8');
      for (const match of source.matchAll(/it\.t(?:Html)?\('((?:[^'\\]|\\.)*)'/g)) asked.add(match[1]!.replace(/\\'/g, "'"));
    }
    assert.ok(asked.size > 80, `found ${asked.size} messages in the templates`);
    for (const message of asked) assert.ok(Object.hasOwn(catalogs.en, message), `"${message}" is missing from the catalogs`);
  });
});

describe('choosing the language', () => {
  it('takes the first supported ui_locales tag, a region falling back to its language', () => {
    assert.equal(fromUiLocales('es fr-CA de'), 'fr');
    assert.equal(fromUiLocales('de-CH'), 'de');
    assert.equal(fromUiLocales('es it'), undefined);
    assert.equal(fromUiLocales(undefined), undefined);
    assert.equal(fromUiLocales(['de']), undefined, 'only a string is a ui_locales value');
  });

  it('ranks Accept-Language by q, keeps header order on ties, and skips q=0 and *', () => {
    assert.equal(fromAcceptLanguage('en;q=0.5, fr;q=0.9, de;q=0.7'), 'fr');
    assert.equal(fromAcceptLanguage('de-AT, en'), 'de');
    assert.equal(fromAcceptLanguage('fr;q=0, de;q=0.1'), 'de');
    assert.equal(fromAcceptLanguage('*, es'), undefined);
    assert.equal(fromAcceptLanguage('es, it;q=0.8'), undefined);
    assert.equal(fromAcceptLanguage(''), undefined);
  });

  it('prefers ui_locales, then Accept-Language, then the tenant default', () => {
    assert.equal(chooseLocale({ uiLocales: 'fr', acceptLanguage: 'de', tenantDefault: 'en' }), 'fr');
    assert.equal(chooseLocale({ uiLocales: 'es', acceptLanguage: 'de', tenantDefault: 'en' }), 'de');
    assert.equal(chooseLocale({ uiLocales: 'es', acceptLanguage: 'it', tenantDefault: 'fr' }), 'fr');
  });
});

describe('translating', () => {
  const translators = createTranslators(catalogs);

  it('translates messages that code hands over in English, with their values filled in', () => {
    assert.equal(translators.de.t('Invalid username or password.'), catalogs.de['Invalid username or password.']);
    assert.equal(translators.fr.t('The password must be at least 15 characters long.'), 'Le mot de passe doit contenir au moins 15 caractères.');
    assert.equal(translators.de.t('Too many failed sign-in attempts from your network. Try again in 3 minute(s).'), 'Zu viele fehlgeschlagene Anmeldeversuche aus Ihrem Netzwerk. Versuchen Sie es in 3 Minute(n) erneut.');
    assert.equal(translators.de.t({ msg: 'to continue to {client}', params: { client: 'Acme' } }), 'um zu Acme zu gelangen');
    assert.equal(translators.fr.t('A message nobody translated'), 'A message nobody translated', 'unknown text is shown as it is');
  });

  it('translate every message the sign-in and account code hands to a page (errors, refusals, password rules)', () => {
    const root = fileURLToPath(new URL('../../src/', import.meta.url));
    const files = [
      'routes/interactions.ts',
      ...readdirSync(`${root}routes/account`).map((name) => `routes/account/${name}`),
      ...readdirSync(`${root}middleware`).map((name) => `middleware/${name}`),
      ...['sign-in', 'credentials', 'password-policy', 'password-reset', 'passwords', 'mfa', 'passkeys', 'federation', 'identity-selection', 'invitations', 'lockout'].map((name) => `services/${name}.ts`),
    ];
    // Told to the application as error_description (OAuth), not shown on a page.
    const toApplication = new Set(['No identity of the signed-in user may use this application.', 'The user cancelled the sign-in.']);
    const untranslated: string[] = [];
    let seen = 0;
    for (const file of files) {
      const source = readFileSync(`${root}${file}`, 'utf8');
      // Sentences in quotes or backticks; a ${value} inside stands for any text, as a {placeholder} does.
      for (const match of source.matchAll(/(['`])([A-Z][^'`\n]{10,}?[.?!])\1/g)) {
        const text = match[2]!.replace(/\$\{[^}]*\}/g, 'x1');
        if (toApplication.has(text)) continue;
        seen++;
        if (translators.de.t(text) === text || translators.fr.t(text) === text) untranslated.push(`${file}: ${match[2]}`);
      }
    }
    assert.ok(seen > 30, `found ${seen} messages`);
    assert.deepEqual(untranslated, []);
  });
});

type PageData = Record<string, unknown> & { nonce: string; title: string };
const view = (title: string, data: Record<string, unknown>): PageData => ({ nonce: 'bm9uY2U=', title, ...data });
const SECTIONS = [
  { path: '/account', label: 'Overview' },
  { path: '/account/password', label: 'Password' },
  { path: '/account/mfa', label: 'Two-step verification' },
  { path: '/account/sessions', label: 'Sessions' },
];
const ACCOUNT = { sections: SECTIONS, currentPath: '/account', csrfToken: 'csrf-1', signOutAction: '/account/signout' };

/** Every page, in every variant that shows other text, with the messages code hands to it. */
const PAGES: [string, PageData][] = [
  ['login', view('Sign in', { action: '/a', abortAction: '/b', clientName: 'Acme', error: 'Invalid username or password.', forgotUrl: '/f' })],
  ['login', view('Sign in', { action: '/a', clientName: 'Acme', error: 'Too many failed sign-in attempts from your network. Try again in 2 minute(s).' })],
  ['login', view('Sign in', { action: '/a', clientName: 'Acme', providers: [{ slug: 'google', name: 'Google', action: '/g' }] })],
  ['account', view('Your account', { user: { username: 'jo' }, identities: [], links: [{ id: '1', providerName: 'Google', email: 'jo@example.com', removeAction: '/x' }], notice: 'The link was removed.', ...ACCOUNT })],
  ['account', view('Your account', { user: { username: 'jo' }, identities: [], links: [], ...ACCOUNT })],
  ['error', view('Something went wrong', { heading: 'Something went wrong', message: 'Set a password before you remove the last linked sign-in provider.' })],
  ['error', view('Something went wrong', { heading: 'Not found', message: 'This link does not exist.' })],
  ['federation-link', view('Link your account', { action: '/a', abortAction: '/b', providerName: 'Google', username: 'jo', error: 'The password is not correct.' })],
  ['error', view('Sign-in refused', { heading: 'Sign-in refused', message: 'The answer from the external provider could not be verified, so it was not accepted. Go back to the application and start again.' })],
  ['error', view('Sign-in refused', { heading: 'Sign-in refused', message: 'The external provider refused the sign-in. Go back to the application and start again.' })],
  ['error', view('Sign-in refused', { heading: 'Sign-in refused', message: 'The sign-in with the external provider did not succeed. Go back to the application and start again.' })],
  ['error', view('Sign-in refused', { heading: 'Sign-in refused', message: 'An account with this email address exists, but the external provider has not confirmed that the address is yours. Sign in with your password instead.' })],
  ['error', view('Sign-in refused', { heading: 'Sign-in refused', message: 'This sign-in option is not available for this application.' })],
  [
    'consent',
    view('Allow access', { action: '/a', abortAction: '/b', clientName: 'Acme', scopes: ['openid', 'profile', 'email', 'phone', 'address', 'offline_access', 'custom'], resources: [{ name: 'https://api.example.com', scopes: ['orders:read'] }] }),
  ],
  ['consent', view('Allow access', { action: '/a', abortAction: '/b', clientName: 'Acme', scopes: [], resources: [] })],
  [
    'select-identity',
    view('Choose an identity', {
      action: '/a',
      abortAction: '/b',
      clientName: 'Acme',
      identities: [
        { id: '1', label: 'Jo', kind: 'Internal user' },
        { id: '2', label: 'Jo Ltd', kind: 'Client' },
        { id: '3', label: 'Jo Supply', kind: 'Supplier' },
      ],
      error: 'Choose one of the identities listed.',
    }),
  ],
  ['no-access', view('No access', { clientName: 'Acme', username: 'jo' })],
  ['no-access', view('No access', { clientName: 'Acme' })],
  ['mfa', view('Enter your code', { action: '/a', recoveryAction: '/r', abortAction: '/b', clientName: 'Acme', error: 'That code is not valid. Enter the current code from your authenticator app.' })],
  ['mfa', view('Enter your code', { action: '/a', recoveryAction: '/r', error: 'That recovery code is not valid or was already used.' })],
  ['mfa-enroll', view('Set up your authenticator app', { action: '/a', qrDataUrl: 'data:,', secret: 'JBSWY3DP', required: true, error: 'That code is not valid. Enter the current code from your authenticator app.' })],
  ['mfa-enroll', view('Set up your authenticator app', { action: '/a', qrDataUrl: 'data:,', secret: 'JBSWY3DP', ...ACCOUNT })],
  ['recovery-codes', view('Save your recovery codes', { codes: ['abcde-fghjk'], action: '/c' })],
  ['recovery-codes', view('Save your recovery codes', { codes: ['abcde-fghjk'], continueUrl: '/account/mfa', ...ACCOUNT })],
  [
    'password-change',
    view('Choose a new password', {
      heading: 'Choose a new password',
      lead: 'Your password has expired. Choose a new one to continue.',
      action: '/a',
      token: 't',
      askCode: true,
      error: 'Choose another password:',
      violations: [
        { rule: 'min_length', message: 'The password must be at least 15 characters long.' },
        { rule: 'max_length', message: 'The password must be at most 64 characters long.' },
        { rule: 'require_digit', message: 'The password must contain a digit.' },
        { rule: 'character_classes', message: 'The password must mix at least 3 of: lowercase letters, uppercase letters, digits, symbols.' },
        { rule: 'blocklist', message: 'This password is on a list of commonly used or breached passwords. Choose one that is harder to guess.' },
        { rule: 'blocked_word', message: 'The password must not contain "acme".' },
        { rule: 'context_word', message: 'The password must not contain your username, email address or name.' },
        { rule: 'history', message: 'You used this password recently. Choose one that differs from your last 5 passwords.' },
      ],
    }),
  ],
  [
    'password-change',
    view('Change password', {
      heading: 'Change password',
      lead: 'Your administrator asks you to choose a new password before you continue.',
      action: '/a',
      askCurrent: true,
      error: 'The two new passwords do not match.',
      notice: 'Your password was changed.',
      ...ACCOUNT,
    }),
  ],
  ['forgot-password', view('Forgotten password', { action: '/a', error: 'Enter your username or email address.' })],
  ['forgot-password', view('Forgotten password', { action: '/a', sent: true })],
  ['password-reset-done', view('Password changed', {})],
  ['logout', view('Sign out', { action: '/a', secret: 's', clientName: 'Acme' })],
  ['logout-success', view('Signed out', { clientName: 'Acme' })],
  ['logout-success', view('Signed out', {})],
  ['error', view('Something went wrong', { heading: 'Not found', message: 'This sign-in request has expired or was already used. Go back to the application and start again.', requestId: 'req-1' })],
  ['error', view('Temporarily unavailable', { heading: 'Temporarily unavailable', message: 'Gatehouse is temporarily unable to reach its storage. Please try again in a moment.' })],
  ['home', view('Gatehouse', { consoleHref: '/console/' })],
  [
    'account',
    view('Your account', {
      user: { username: 'jo', name: 'Jo', email: 'jo@example.com', phone: '+4912345', department: 'Ops' },
      identities: [
        { alias: 'Jo', kind: 'internal' },
        { alias: 'Jo Ltd', kind: 'client' },
        { alias: 'Jo Supply', kind: 'supplier' },
      ],
      ...ACCOUNT,
    }),
  ],
  [
    'account-mfa',
    view('Two-step verification', { status: { totp: 'enabled', recoveryCodesLeft: 4 }, startAction: '/s', regenerateAction: '/r', removeAction: '/x', error: 'The password is not correct.', notice: 'The authenticator app was removed.', ...ACCOUNT }),
  ],
  ['account-mfa', view('Two-step verification', { status: { totp: 'none', recoveryCodesLeft: 0 }, startAction: '/s', regenerateAction: '/r', removeAction: '/x', ...ACCOUNT })],
  [
    'account-sessions',
    view('Your sessions', {
      ...ACCOUNT,
      notice: 'The session has ended. Its applications will ask for a password again.',
      sessions: [
        { id: 'u1', current: true, device: 'Phone', browser: 'Unknown browser', os: 'unknown system', ip: 'unknown', identity: 'Jo', applications: ['Acme'], createdAt: '2026-12-01T10:00:00.000Z', lastActiveAt: '2026-12-01T11:00:00.000Z' },
        { id: 'u2', current: false, device: 'Unknown device', browser: 'Firefox 120', os: 'Linux', ip: '198.51.100.7', identity: null, applications: [], createdAt: '2026-12-01T09:00:00.000Z', lastActiveAt: '2026-12-01T09:30:00.000Z' },
      ],
    }),
  ],
  ['account-sessions', view('Your sessions', { ...ACCOUNT, notice: 'Every other session has ended.', sessions: [] })],
  ['account-signed-out', view('Signed out', {})],
  ['login', view('Sign in', { action: '/a', clientName: 'Acme', passkeyOptions: '{}', passkeyAction: '/p', error: 'The passkey could not be verified. Try again.' })],
  ['mfa', view('Use your passkey', { action: '/a', recoveryAction: '/r', clientName: 'Acme', hasTotp: false, passkeyOptions: '{}', passkeyAction: '/p', error: 'The passkey could not be verified. Try again.' })],
  ['mfa', view('Enter your code', { action: '/a', recoveryAction: '/r', clientName: 'Acme', hasTotp: true, passkeyOptions: '{}', passkeyAction: '/p' })],
  [
    'account-passkeys',
    view('Passkeys', {
      ...ACCOUNT,
      addAction: '/n',
      nameMax: 60,
      notice: 'The passkey was added.',
      error: 'The passkey request expired. Start again.',
      passkeys: [
        { id: 'p1', name: 'Laptop', createdAt: new Date('2026-12-01T10:00:00Z'), lastUsedAt: null, backupEligible: true },
        { id: 'p2', name: 'Key', createdAt: new Date('2026-12-01T10:00:00Z'), lastUsedAt: new Date('2026-12-02T10:00:00Z'), backupEligible: false },
      ],
    }),
  ],
  ['account-passkeys', view('Passkeys', { ...ACCOUNT, addAction: '/n', nameMax: 60, notice: 'The passkey was removed.', error: 'This passkey is already registered.', passkeys: [] })],
  ['passkey-register', view('Add a passkey', { ...ACCOUNT, action: '/a', options: '{}', name: 'Laptop' })],
];

/** What a reader sees: text between tags and the alt, aria-label and title texts; no CSS. */
function visibleText(html: string): string {
  const attributes = [...html.matchAll(/\s(?:alt|aria-label|title|placeholder)="([^"]*)"/g)].map((m) => m[1]);
  const text = html
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
  return `${text} ${attributes.join(' ')}`.replace(/\s+/g, ' ');
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The English texts a page in `locale` must not show: each catalog string, or the words around its placeholders. */
function englishFragments(locale: Locale): { key: string; pattern: RegExp }[] {
  return Object.keys(catalogs.en)
    .filter((key) => catalogs[locale][key] !== key) // the same word in both languages (Name, Client, Applications) is allowed
    .flatMap((key) =>
      key
        .split(/\{\w+\}/)
        .map((fragment) => fragment.trim())
        // A fragment the translation keeps as it is ("minute(s)") is the same in both languages.
        .filter((fragment) => /[A-Za-z]{2}/.test(fragment) && !catalogs[locale][key]!.includes(fragment))
        .map((fragment) => ({ key, pattern: new RegExp(`(?<![\\w-])${escapeRegExp(fragment)}(?![\\w-])`) })),
    );
}

describe('pages in German and French', () => {
  const renderer = createRenderer({ cache: true });

  it('cover every template', () => {
    const templates = readdirSync(VIEWS_DIR)
      .filter((name) => name.endsWith('.eta'))
      .map((name) => name.slice(0, -4))
      .filter((name) => !['layout', 'account-nav', 'password-rules'].includes(name));
    assert.deepEqual([...new Set(PAGES.map(([name]) => name))].sort(), templates.sort());
  });

  for (const locale of ['de', 'fr'] as const) {
    it(`shows no English catalog string in ${locale}, and says lang="${locale}"`, async () => {
      const fragments = englishFragments(locale);
      for (const [name, data] of PAGES) {
        const html = await renderer.render(name, { ...data, locale });
        assert.match(html, new RegExp(`<html lang="${locale}">`), name);
        const text = visibleText(html);
        for (const { key, pattern } of fragments) {
          assert.doesNotMatch(text, pattern, `${name} in ${locale} shows English "${key}":\n${text}`);
        }
      }
    });
  }

  it('shows English pages in English, and the tenant default when the request names no language', async () => {
    const english = await renderer.render('login', { ...PAGES[0]![1], locale: 'en' });
    assert.match(english, /<html lang="en">/);
    assert.match(visibleText(english), /Invalid username or password\./);
    const frenchTenant = createRenderer({ cache: true, defaultLocale: 'fr' });
    const html = await frenchTenant.render('login', { ...PAGES[0]![1], locale: undefined });
    assert.match(html, /<html lang="fr">/);
    assert.ok(visibleText(html).includes(catalogs.fr['Sign in']!));
  });

  it('keeps values escaped inside translated sentences', async () => {
    const html = await renderer.render('login', { ...PAGES[0]![1], clientName: '<img src=x onerror=alert(1)>', locale: 'de' });
    assert.ok(html.includes('um zu <strong>&lt;img src=x onerror=alert(1)&gt;</strong> zu gelangen'));
    assert.ok(!html.includes('<img src=x'));
  });
});
