// Server-side rendering of the interaction pages (sign-in, consent, logout, errors) with Eta.
// Every page is rendered on its own and then wrapped in views/layout.eta, so page templates stay
// plain fragments and no page can forget the layout (and with it the CSP nonce on <style>).
import { Eta } from 'eta';
import { createTranslators, DEFAULT_LOCALE, fill, loadCatalogs, type Locale, type Message } from './i18n.ts';
import { packagePath } from '../config/paths.ts';

/**
 * Data every page needs: the per-request CSP nonce (see securityHeaders), the <title> (English,
 * translated here) and the page's language (see localeOf).
 */
export type ViewData = Record<string, unknown> & { nonce: string; title: string; locale: Locale | undefined };

// The same escaping as Eta's <%= %> (autoEscape).
const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

export interface Renderer {
  /** Renders views/<name>.eta inside views/layout.eta and resolves to the full HTML document. */
  render(name: string, data: ViewData): Promise<string>;
}

export interface RendererOptions {
  /** Directory holding layout.eta and the page templates; defaults to the repository's views/. */
  viewsDir?: string;
  /** Keep compiled templates in memory: on in production, off in development for live edits. */
  cache: boolean;
  /** The tenant's language, for requests that ask for none Gatehouse has (default: English); read per page. */
  defaultLocale?: Locale | (() => Locale | Promise<Locale>);
}

// src/views/render.ts → <repo>/views/, and from the build, dist/src/views/render.js → <repo>/views/
// (the templates are read where they are, not copied). Resolved from the module URL rather than
// process.cwd() so the CLI works from any working directory.
const DEFAULT_VIEWS_DIR = packagePath('views/');

// Names come from code, never from requests, but a strict pattern keeps anything path-like
// ('../', absolute paths, '@'-prefixed names that Eta treats as registered templates) out of
// template resolution even if that ever changes. 'layout' is reserved: it wraps pages.
const VIEW_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const LAYOUT = 'layout';

export function createRenderer(options: RendererOptions): Renderer {
  const eta = new Eta({
    views: options.viewsDir ?? DEFAULT_VIEWS_DIR,
    cache: options.cache,
    // Explicit although it is Eta's default: everything interpolated with <%= %> is HTML-escaped
    // (& < > " '), which is what makes user-supplied values safe in text and quoted attributes.
    autoEscape: true,
    // Templates address their data as it.x; `with` would let a missing key silently resolve to
    // a global.
    useWith: false,
  });

  const translators = createTranslators(loadCatalogs());

  return {
    async render(name, data) {
      if (!VIEW_NAME.test(name) || name === LAYOUT) {
        throw new Error(`Invalid view name: ${JSON.stringify(name)}`);
      }
      const fallback = typeof options.defaultLocale === 'function' ? await options.defaultLocale() : options.defaultLocale;
      const translator = translators[data.locale ?? fallback ?? DEFAULT_LOCALE];
      const t = (message: Message | undefined | null, params?: Record<string, string | number>): string => translator.t(message, params);
      // For messages around a value shown in bold (the application's name): the translation is
      // escaped, then each {placeholder} becomes <strong>value</strong> with the value escaped.
      const tHtml = (message: string, params: Record<string, string | number>, tag: 'strong' | 'code' = 'strong'): string => fill(escapeHtml(translator.t(message)), params, (value) => `<${tag}>${escapeHtml(value)}</${tag}>`);
      const pageData = { ...data, lang: translator.locale, t, tHtml };
      const body = await eta.renderAsync(name, pageData);
      // body last: the page's HTML must win over any `body` key a caller put into data.
      return eta.renderAsync(LAYOUT, { ...pageData, body });
    },
  };
}
