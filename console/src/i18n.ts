// The console's words in English, German and French. The server chooses the language of the page
// (ui_locales in the address, then Accept-Language, then the tenant's default) and writes it into
// <html lang>; every visible string goes through t(). As on the server's pages, the English text is
// the key: locales/<language>/<area>.json maps it to the translation, one file per area of the
// console so that areas can be translated on their own. A test checks that every string t() is
// asked for is in every catalog, with the same {placeholders}.
export const LANGUAGES = ['en', 'de', 'fr'] as const;
export type Language = (typeof LANGUAGES)[number];

const files = import.meta.glob<Record<string, string>>('./locales/*/*.json', { eager: true, import: 'default' });

const catalogs: Record<Language, Record<string, string>> = { en: {}, de: {}, fr: {} };
for (const [file, entries] of Object.entries(files)) {
  const language = /\/locales\/([a-z]+)\//.exec(file)?.[1] as Language | undefined;
  if (language && language in catalogs) Object.assign(catalogs[language], entries);
}

const CHOSEN = 'gatehouse-console:language';

function supportedLanguage(tags: string | null | undefined): Language | undefined {
  for (const tag of (tags ?? '').split(' ')) {
    const lang = tag.toLowerCase().slice(0, 2);
    if ((LANGUAGES as readonly string[]).includes(lang)) return lang as Language;
  }
  return undefined;
}

function pageLanguage(): Language {
  if (typeof document === 'undefined') return 'en';
  // A ?ui_locales= choice holds for the tab: the sign-in round trip comes back on
  // /console/callback, whose <html lang> the server chose without it.
  const asked = supportedLanguage(new URLSearchParams(window.location.search).get('ui_locales'));
  if (asked) sessionStorage.setItem(CHOSEN, asked);
  const chosen = asked ?? supportedLanguage(sessionStorage.getItem(CHOSEN)) ?? supportedLanguage(document.documentElement.lang) ?? 'en';
  document.documentElement.lang = chosen;
  return chosen;
}

/** The language the console shows, fixed for the page's lifetime. */
export const language: Language = pageLanguage();

/** The text in the page's language, with {name} placeholders filled from params. */
export function t(text: string, params?: Record<string, string | number>): string {
  const translated = catalogs[language][text] ?? text;
  if (!params) return translated;
  return translated.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

/** Dates and numbers in the page's language. */
export function formatDateTime(value: string | Date): string {
  return new Date(value).toLocaleString(language);
}

export function formatNumber(value: number): string {
  return value.toLocaleString(language);
}
