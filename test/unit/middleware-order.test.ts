// The app's middleware order (src/oidc/middleware-order.ts): the list, the constraints it states,
// and that src/server.ts mounts only through it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MIDDLEWARE_NAMES, MIDDLEWARE_ORDER, mountMiddleware, type AnyMiddleware, type MiddlewareName } from '../../src/oidc/middleware-order.ts';

const names = MIDDLEWARE_NAMES;
const before = (outer: MiddlewareName, inner: MiddlewareName) => assert.ok(names.indexOf(outer) < names.indexOf(inner), `${outer} must be mounted outside (before) ${inner}`);

describe('middleware order', () => {
  it('is the stated list, outermost first', () => {
    assert.deepEqual(names, [
      'requestLog',
      'telemetry',
      'securityHeaders',
      'errorHandler',
      'decisions',
      'rejectControlCharacters',
      'postAsGet',
      'revocationWithoutContentType',
      'introspectJwtAccessTokens',
      'health',
      'assets',
      'recordSessions',
      'recordGrantIdentity',
      'api',
      'console',
      'account',
      'accountSecurity',
      'accountPasskeys',
      'accountSessions',
      'interactions',
    ]);
    assert.equal(new Set(names).size, names.length, 'each middleware once');
    assert.ok(
      Object.values(MIDDLEWARE_ORDER).every((why) => why.length > 10),
      'each says why it is where it is',
    );
  });

  it('keeps the constraints the list states', () => {
    // They see the final status.
    before('requestLog', 'securityHeaders');
    before('telemetry', 'securityHeaders');
    // The error pages get the security headers; everything that may throw is inside the handler.
    before('securityHeaders', 'errorHandler');
    before('errorHandler', 'rejectControlCharacters');
    // The decision endpoints make the control-character check themselves (and are tested for it).
    before('errorHandler', 'decisions');
    assert.equal(names.indexOf('rejectControlCharacters'), names.indexOf('decisions') + 1);
    // Nothing reads the request before the control-character check.
    for (const name of names.slice(names.indexOf('rejectControlCharacters') + 1)) before('rejectControlCharacters', name);
    // The grant's identity is recorded (inner, after next()) before the session record reads it.
    before('recordSessions', 'recordGrantIdentity');
    assert.equal(names.indexOf('recordGrantIdentity'), names.indexOf('recordSessions') + 1);
    // Both run on the authorization responses oidc-provider answers after every router.
    for (const router of ['api', 'console', 'account', 'interactions'] as const) before('recordGrantIdentity', router);
  });

  it('mounts in the list order and skips the slots left out', () => {
    const used: string[] = [];
    const built = Object.fromEntries(names.map((name) => [name, Object.assign(() => undefined, { label: name })])) as unknown as Record<MiddlewareName, AnyMiddleware | undefined>;
    built.requestLog = undefined;
    built.postAsGet = undefined;
    const mounted = mountMiddleware((middleware) => used.push((middleware as unknown as { label: string }).label), built);
    const expected = names.filter((name) => name !== 'requestLog' && name !== 'postAsGet');
    assert.deepEqual(used, expected);
    assert.deepEqual(mounted, expected);
  });

  it('is the only way src/server.ts mounts middleware on the provider', () => {
    const server = readFileSync(new URL('../../src/server.ts', import.meta.url), 'utf8');
    assert.doesNotMatch(server, /provider\.use\((?!middleware as)/, 'mount through mountMiddleware (src/oidc/middleware-order.ts)');
    assert.equal(server.match(/mountMiddleware\(/g)?.length, 1);
  });
});
