// The admin console's files (built by `npm run build:console` into console/dist) under /console,
// and the landing page at /. The console is a client of the public admin API like any other; it
// runs under a CSP of its own that lets its bundled script and stylesheet load from this origin
// and nothing else: no inline script or style, no other origin, no framing.
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Middleware } from 'koa';
import type { Renderer } from '../views/render.ts';
import { chooseLocale, localeOf, type Locale } from '../views/i18n.ts';
import { packagePath } from '../config/paths.ts';

const DEFAULT_DIST = packagePath('console/dist/');

// CSP Level 3: script-src 'self' keeps out inline and foreign scripts; connect-src 'self' keeps
// the tokens on this origin; frame-ancestors 'none' forbids framing (clickjacking, ASVS 14.4.7).
// style-src also takes the page's nonce: React Aria adds one small <style> of its own (touch-action
// for pressable elements) and reads the nonce from <meta property="csp-nonce">.
export function consoleCsp(nonce?: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self'${nonce ? ` 'nonce-${nonce}'` : ''}`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

export function consoleFiles(deps: { renderer: Renderer; distDir?: string; defaultLocale?: () => Locale | Promise<Locale> }): Middleware {
  const dist = deps.distDir ?? DEFAULT_DIST;
  const assets = path.join(dist, 'assets');
  return async function consoleMiddleware(ctx, next) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/') {
      ctx.type = 'html';
      ctx.body = await deps.renderer.render('home', { nonce: (ctx.state as { nonce: string }).nonce, locale: localeOf(ctx), title: 'Gatehouse' });
      return;
    }
    if (ctx.path === '/console') {
      ctx.redirect('/console/');
      return;
    }
    if (!ctx.path.startsWith('/console/')) return next();
    ctx.set('Content-Security-Policy', consoleCsp());
    if (ctx.path.startsWith('/console/assets/')) {
      // Hashed file names from the bundler: the name is the version, so caching is safe.
      const name = ctx.path.slice('/console/assets/'.length);
      if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) return next();
      const file = path.join(assets, name);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) return next();
      ctx.type = TYPES[path.extname(name)] ?? 'application/octet-stream';
      ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
      ctx.body = await readFile(file);
      return;
    }
    // Every other path is a page of the single-page app: its one HTML document.
    const html = await readFile(path.join(dist, 'index.html'), 'utf8').catch(() => undefined);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    if (html === undefined) {
      ctx.status = 503;
      ctx.body = '<!doctype html><title>Console not built</title><h1>The console is not built</h1><p>Run <code>npm run build</code> and restart Gatehouse.</p>';
      return;
    }
    const nonce = randomBytes(16).toString('base64');
    ctx.set('Content-Security-Policy', consoleCsp(nonce));
    // The console's language, which it reads from <html lang>: ?ui_locales= as on the sign-in
    // pages, then Accept-Language, then the tenant's default.
    const lang = chooseLocale({ uiLocales: ctx.query.ui_locales, acceptLanguage: ctx.get('accept-language'), tenantDefault: (await deps.defaultLocale?.()) ?? 'en' });
    ctx.set('Content-Language', lang);
    ctx.body = html.replace(/<html lang="[a-z-]*">/, `<html lang="${lang}">`).replace('</head>', `<meta property="csp-nonce" nonce="${nonce}" /></head>`);
  };
}
