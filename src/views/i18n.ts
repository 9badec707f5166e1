// Message catalogs of the server-rendered pages (locales/<language>.json) and the choice of the
// language: the OIDC request's ui_locales, then the browser's Accept-Language, then the tenant's
// default (OpenID Connect Core 1.0 §3.1.2.1; RFC 9110 §12.5.4).
//
// A message's key is its English text, with {name} placeholders (as gettext's msgid): templates
// say it.t('Sign in'), and a message that code hands to a page in English ('Invalid username or
// password.', a password rule broken with its numbers filled in) is found in the catalog by its
// text, placeholders matching any value, and shown in the page's language.
import { readFileSync } from 'node:fs';
import { packagePath } from '../config/paths.ts';

export const LOCALES = ['en', 'de', 'fr'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en';

export type Catalog = Readonly<Record<string, string>>;

/** A message with values for its placeholders: { msg: 'Try again in {minutes} minute(s).', params: { minutes: 3 } }. */
export interface MessageWithParams {
  msg: string;
  params: Record<string, string | number>;
}
export type Message = string | MessageWithParams;

const LOCALES_DIR = packagePath('locales/');

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** The catalogs as shipped; read once. */
export function loadCatalogs(dir = LOCALES_DIR): Record<Locale, Catalog> {
  const read = (locale: Locale): Catalog => {
    const parsed = JSON.parse(readFileSync(`${dir}/${locale}.json`, 'utf8')) as Record<string, unknown>;
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'string') throw new Error(`locales/${locale}.json: "${key}" is not a string`);
    }
    return Object.freeze(parsed as Record<string, string>);
  };
  return { en: read('en'), de: read('de'), fr: read('fr') };
}

/** Supported language for a BCP 47 tag: an exact match, or its primary language subtag (de-CH → de). */
function supported(tag: string): Locale | undefined {
  const lower = tag.trim().toLowerCase();
  if (isLocale(lower)) return lower;
  const primary = lower.split('-')[0];
  return isLocale(primary) ? primary : undefined;
}

/** ui_locales: space-separated tags, most preferred first (OIDC Core §3.1.2.1). */
export function fromUiLocales(value: unknown): Locale | undefined {
  if (typeof value !== 'string') return undefined;
  for (const tag of value.split(' ').slice(0, 20)) {
    const locale = tag ? supported(tag) : undefined;
    if (locale) return locale;
  }
  return undefined;
}

/** Accept-Language: tags with optional q weights; q=0 means "not this one" (RFC 9110 §12.5.4). */
export function fromAcceptLanguage(header: string | undefined): Locale | undefined {
  if (!header) return undefined;
  const ranked = header
    .slice(0, 1000)
    .split(',')
    .slice(0, 30)
    .map((part, index) => {
      const [tag = '', ...parameters] = part.split(';');
      const q = parameters.map((p) => /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(p)?.[1]).find((value) => value !== undefined);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.tag && entry.tag !== '*' && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const entry of ranked) {
    const locale = supported(entry.tag);
    if (locale) return locale;
  }
  return undefined;
}

/** The page language: ui_locales, then Accept-Language, then the tenant's default. */
export function chooseLocale(input: { uiLocales?: unknown; acceptLanguage?: string; tenantDefault: Locale }): Locale {
  return fromUiLocales(input.uiLocales) ?? fromAcceptLanguage(input.acceptLanguage) ?? input.tenantDefault;
}

const PLACEHOLDER = /\{(\w+)\}/g;
const HAS_PLACEHOLDER = /\{\w+\}/;

export function fill(text: string, params: Record<string, string | number>, escape: (value: string) => string = (value) => value): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(params, name) ? escape(String(params[name])) : whole));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface Translator {
  readonly locale: Locale;
  /** The message in this language (plain text: the template escapes it). Unknown messages stay as they are. */
  t(message: Message | undefined | null, params?: Record<string, string | number>): string;
}

/** Translators per language over the given catalogs, keyed by the English text. */
export function createTranslators(catalogs: Record<Locale, Catalog>): Record<Locale, Translator> {
  // English messages with placeholders, as patterns: code may hand over the filled-in text.
  const patterns = Object.keys(catalogs.en)
    .filter((key) => HAS_PLACEHOLDER.test(key))
    .map((key) => {
      const names: string[] = [];
      const source = escapeRegExp(key).replace(/\\\{(\w+)\\\}/g, (_whole, name: string) => {
        names.push(name);
        return '(.+?)';
      });
      return { key, names, regex: new RegExp(`^${source}$`, 's') };
    });

  const make = (locale: Locale): Translator => {
    const catalog = catalogs[locale];
    const lookup = (text: string): string => {
      if (Object.hasOwn(catalog, text)) return catalog[text]!;
      for (const { key, names, regex } of patterns) {
        const match = regex.exec(text);
        if (match && Object.hasOwn(catalog, key)) return fill(catalog[key]!, Object.fromEntries(names.map((name, i) => [name, match[i + 1]!])));
      }
      return text;
    };
    return {
      locale,
      t(message, params) {
        if (message === undefined || message === null) return '';
        if (typeof message === 'string') {
          const text = Object.hasOwn(catalog, message) ? catalog[message]! : lookup(message);
          return params ? fill(text, params) : text;
        }
        return fill(Object.hasOwn(catalog, message.msg) ? catalog[message.msg]! : message.msg, message.params);
      },
    };
  };
  return { en: make('en'), de: make('de'), fr: make('fr') };
}

/** What localeOf reads from a request: koa's context, with oidc-provider's params when it has them. */
export interface LocaleSource {
  state: unknown;
  get(field: string): string;
  oidc?: { params?: Record<string, unknown> | undefined } | undefined;
}

/**
 * The language a request asks for: the OIDC request's ui_locales (kept in ctx.state.uiLocales by
 * the interaction pages, or oidc-provider's own params), then Accept-Language; undefined when
 * neither names a supported language, and the renderer uses the tenant's default.
 */
export function localeOf(ctx: LocaleSource): Locale | undefined {
  const fromState = (ctx.state as { uiLocales?: unknown } | undefined)?.uiLocales;
  return fromUiLocales(fromState) ?? fromUiLocales(ctx.oidc?.params?.ui_locales) ?? fromAcceptLanguage(ctx.get('accept-language'));
}
