// The two scripts the passkey pages load: @simplewebauthn/browser's bundle (from node_modules,
// no CDN) and views/assets/passkeys.js, which wires it to the forms. Same origin, loaded with the
// page's CSP nonce; read once at start-up, cacheable for an hour.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Router from '@koa/router';
import { packagePath } from '../config/paths.ts';

export const ASSET_PATHS = { webauthn: '/assets/simplewebauthn-browser.js', passkeys: '/assets/passkeys.js' } as const;

export function createAssetsRouter(): Router {
  const require = createRequire(import.meta.url);
  // The package exports only its modules; its root is two levels above the CommonJS entry.
  const bundle = path.join(path.dirname(require.resolve('@simplewebauthn/browser')), '..', 'dist/bundle/index.umd.min.js');
  const scripts: Record<string, Buffer> = {
    [ASSET_PATHS.webauthn]: readFileSync(bundle),
    [ASSET_PATHS.passkeys]: readFileSync(packagePath('views/assets/passkeys.js')),
  };
  const router = new Router();
  for (const [route, body] of Object.entries(scripts)) {
    router.get(route, (ctx) => {
      ctx.type = 'application/javascript; charset=utf-8';
      ctx.set('cache-control', 'public, max-age=3600');
      ctx.body = body;
    });
  }
  return router;
}
