// The interaction templates (escaping, accessibility hooks, CSP nonce) and the securityHeaders
// middleware, exercised through a real Koa server so the headers are the ones a browser sees.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import Koa from 'koa';
import { createRenderer, type Renderer, type ViewData } from '../../src/views/render.ts';
import { allowFormActionTargets, securityHeaders, type SecurityHeadersState } from '../../src/middleware/security-headers.ts';

const NONCE = 'dGVzdC1ub25jZS0xMjM0NQ==';
const XSS = '<script>alert(1)</script>';
const XSS_ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;';

function view(title: string, data: Record<string, unknown>): ViewData {
  return { nonce: NONCE, title, locale: undefined, ...data };
}

/** Sample data for every template, so "every page renders" cannot silently skip one. */
const SAMPLES: Record<string, ViewData> = {
  login: view('Sign in', {
    uid: 'uid-1',
    action: '/interaction/uid-1/login',
    abortAction: '/interaction/uid-1/abort',
    clientName: 'Acme Portal',
  }),
  consent: view('Allow access', {
    uid: 'uid-1',
    action: '/interaction/uid-1/confirm',
    abortAction: '/interaction/uid-1/abort',
    clientName: 'Acme Portal',
    scopes: ['openid', 'email', 'custom:scope'],
    resources: [{ name: 'https://api.example.com', scopes: ['orders:read', 'orders:write'] }],
  }),
  'select-identity': view('Choose an identity', {
    action: '/interaction/uid-1/identity',
    clientName: 'Acme Portal',
    identities: [
      { id: 'id-1', label: 'Jane (personal)', kind: 'personal' },
      { id: 'id-2', label: 'Jane @ Acme', kind: 'organization' },
    ],
    selectedId: 'id-2',
  }),
  logout: view('Sign out', { action: '/session/end/confirm', secret: 'xsrf-secret', clientName: 'Acme Portal' }),
  'logout-success': view('Signed out', { clientName: 'Acme Portal' }),
  error: view('Something went wrong', {
    heading: 'Something went wrong',
    message: 'Please try again later.',
    requestId: 'req-42',
  }),
  'no-access': view('No access', { clientName: 'Acme Portal', username: 'jane' }),
  // Account security.
  mfa: view('Enter your code', { action: '/interaction/uid-1/totp', recoveryAction: '/interaction/uid-1/recovery-code', abortAction: '/interaction/uid-1/abort', clientName: 'Acme Portal', error: 'That code is not valid.' }),
  'mfa-enroll': view('Set up your authenticator app', { action: '/interaction/uid-1/enroll', qrDataUrl: 'data:image/svg+xml;base64,PHN2Zy8+', secret: 'JBSWY3DPEHPK3PXPJBSWY3DP', required: true }),
  'recovery-codes': view('Save your recovery codes', { codes: ['abcde-fghjk', 'mnpqr-stuvw'], action: '/interaction/uid-1/continue' }),
  'password-change': view('Choose a new password', {
    heading: 'Choose a new password',
    action: '/account/password',
    askCurrent: true,
    csrfToken: 'csrf-1',
    error: 'Choose another password:',
    violations: [
      { rule: 'min_length', message: 'The password must be at least 15 characters long.' },
      { rule: 'blocklist', message: `On a list: ${XSS}` },
    ],
  }),
  'forgot-password': view('Forgotten password', { action: '/account/password/forgot' }),
  'password-reset-done': view('Password changed', {}),
  'account-mfa': view('Two-step verification', {
    status: { totp: 'enabled', recoveryCodesLeft: 9 },
    startAction: '/account/mfa/totp',
    regenerateAction: '/account/mfa/recovery-codes',
    removeAction: '/account/mfa/remove',
    sections: [{ path: '/account', label: 'Overview' }],
    currentPath: '/account/mfa',
    csrfToken: 'csrf-1',
  }),
  'account-sessions': view('Your sessions', {
    sections: [
      { path: '/account', label: 'Overview' },
      { path: '/account/sessions', label: 'Sessions' },
    ],
    currentPath: '/account/sessions',
    csrfToken: 'csrf-1',
    signOutAction: '/account/signout',
    sessions: [
      { id: 'uid-1', current: true, device: 'Phone', browser: 'Mobile Safari 17', os: 'iOS 17.1', ip: '203.0.113.9', identity: 'Jane', applications: ['Acme Portal'], createdAt: '2026-12-01T10:00:00.000Z', lastActiveAt: '2026-12-01T11:00:00.000Z' },
      { id: 'uid-2', current: false, device: 'Computer', browser: '<b>Chrome</b> 120', os: 'Windows 10', ip: '198.51.100.7', identity: null, applications: [], createdAt: '2026-12-01T09:00:00.000Z', lastActiveAt: '2026-12-01T09:30:00.000Z' },
    ],
  }),
};

/** Every `<tag …>` start tag with its attributes, parsed just enough for these assertions. */
function tags(html: string, name: string): Array<Record<string, string>> {
  const found: Array<Record<string, string>> = [];
  for (const match of html.matchAll(new RegExp(`<${name}\\b([^>]*)>`, 'gi'))) {
    const attributes: Record<string, string> = {};
    for (const attr of (match[1] ?? '').matchAll(/([a-zA-Z_:-]+)(?:="([^"]*)")?/g)) {
      attributes[attr[1].toLowerCase()] = attr[2] ?? '';
    }
    found.push(attributes);
  }
  return found;
}

function only(list: Array<Record<string, string>>, description: string): Record<string, string> {
  assert.equal(list.length, 1, `expected exactly one ${description}`);
  return list[0];
}

/** The one input of this name among `inputs`. */
function inputNamed(inputs: Array<Record<string, string>>, name: string): Record<string, string> {
  return only(
    inputs.filter((i) => i.name === name),
    `${name} input`,
  );
}

/** Every visible form control has a <label for> pointing at its id, and every label's target exists. */
function assertLabelsTied(html: string): void {
  const labelTargets = tags(html, 'label').map((label) => label.for);
  const controls = [...tags(html, 'input').filter((input) => input.type !== 'hidden'), ...tags(html, 'select'), ...tags(html, 'textarea')];
  const ids = new Set(controls.map((control) => control.id));
  for (const target of labelTargets) {
    assert.ok(target, 'label without for=');
    assert.ok(ids.has(target), `label for="${target}" has no matching control`);
  }
  for (const control of controls) {
    assert.ok(control.id, `form control ${control.name ?? ''} has no id`);
    assert.ok(labelTargets.includes(control.id), `control #${control.id} has no <label for>`);
  }
}

describe('views', () => {
  let renderer: Renderer;

  before(() => {
    renderer = createRenderer({ cache: true });
  });

  describe('every template', () => {
    for (const [name, data] of Object.entries(SAMPLES)) {
      it(`${name}: a complete, self-contained HTML document`, async () => {
        const html = await renderer.render(name, data);
        assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
        assert.match(html, new RegExp(`<title>${data.title} · Gatehouse</title>`));
        assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
        assert.equal(tags(html, 'main').length, 1, 'one main landmark');
        assert.equal(tags(html, 'h1').length, 1, 'one h1');
        // The nonce sits on the one inline <style>; nothing else could pass the CSP.
        const style = only(tags(html, 'style'), '<style>');
        assert.equal(style.nonce, NONCE);
        assert.doesNotMatch(html, /<script\b/i, 'no JavaScript');
        assert.doesNotMatch(html, /<link\b[^>]*rel="stylesheet"/i, 'no external stylesheets');
        assert.doesNotMatch(html, /\b(?:src|href)="(?:https?:)?\/\//i, 'no external resources');
        assert.doesNotMatch(html, /<%|%>/, 'no unprocessed template tags');
        assert.doesNotMatch(html, /undefined|\[object Object\]/, 'no leaked JS values');
        assertLabelsTied(html);
      });
    }
  });

  describe('login', () => {
    it('escapes the username, in the attribute and everywhere else', async () => {
      const html = await renderer.render('login', { ...SAMPLES.login, username: XSS, clientName: XSS });
      assert.ok(!html.includes(XSS), 'raw markup must not appear');
      assert.ok(html.includes(`value="${XSS_ESCAPED}"`), 'username prefilled, escaped');
      assert.ok(html.includes(`<strong>${XSS_ESCAPED}</strong>`), 'client name escaped');
      // Quotes are escaped too, so a value cannot break out of its attribute.
      const quoted = await renderer.render('login', { ...SAMPLES.login, username: '" autofocus onfocus="x' });
      assert.ok(quoted.includes('value="&quot; autofocus onfocus=&quot;x"'));
    });

    it('has labelled inputs with the right autocomplete hints and a POST form', async () => {
      const html = await renderer.render('login', SAMPLES.login);
      assert.ok(html.includes('<label for="username">Username or email</label>'));
      assert.ok(html.includes('<label for="password">Password</label>'));
      const inputs = tags(html, 'input');
      const username = inputNamed(inputs, 'username');
      assert.equal(username.id, 'username');
      assert.equal(username.autocomplete, 'username');
      assert.equal(username.autocapitalize, 'none');
      assert.ok('required' in username);
      assert.ok('autofocus' in username, 'empty username gets focus');
      const password = inputNamed(inputs, 'password');
      assert.equal(password.id, 'password');
      assert.equal(password.type, 'password');
      assert.equal(password.autocomplete, 'current-password');
      assert.ok('required' in password);
      assert.ok(!('value' in password), 'a password is never echoed back');

      const forms = tags(html, 'form');
      assert.deepEqual(
        forms.map((form) => [form.method, form.action]),
        [
          ['post', '/interaction/uid-1/login'],
          ['post', '/interaction/uid-1/abort'],
        ],
      );
      assert.match(html, /<button type="submit" class="btn-primary">Sign in<\/button>/);
      assert.match(html, /<button type="submit" class="btn-link">Cancel<\/button>/);
    });

    it('shows the error with role=alert, linked from the inputs, and moves focus to the password', async () => {
      const html = await renderer.render('login', {
        ...SAMPLES.login,
        username: 'jane',
        error: 'Invalid username or password <b>.',
      });
      assert.ok(html.includes('<p class="alert" role="alert" id="login-error">Invalid username or password &lt;b&gt;.</p>'));
      const inputs = tags(html, 'input');
      for (const input of inputs.filter((i) => i.type !== 'hidden')) {
        assert.equal(input['aria-describedby'], 'login-error');
      }
      const password = inputNamed(inputs, 'password');
      assert.ok('autofocus' in password);
      assert.ok(!('autofocus' in inputNamed(inputs, 'username')));
    });

    it('has no alert without an error, and carries the CSRF token in both forms when given', async () => {
      const plain = await renderer.render('login', SAMPLES.login);
      assert.doesNotMatch(plain, /role="alert"/);
      assert.doesNotMatch(plain, /name="_csrf"/);
      const withToken = await renderer.render('login', { ...SAMPLES.login, csrfToken: 'tok"en' });
      assert.equal(withToken.match(/<input type="hidden" name="_csrf" value="tok&quot;en">/g)?.length, 2);
    });
  });

  describe('consent', () => {
    it('lists scopes and resources and offers Allow / Deny as separate POST forms', async () => {
      const html = await renderer.render('consent', { ...SAMPLES.consent, scopes: ['openid', 'email', XSS] });
      assert.ok(html.includes('<li>Confirm who you are</li>'));
      assert.ok(html.includes('<li>See your email address</li>'));
      assert.ok(html.includes(`<code>${XSS_ESCAPED}</code>`), 'unknown scope shown by name, escaped');
      assert.ok(html.includes('<code>https://api.example.com</code>'));
      assert.ok(html.includes('<li><code>orders:write</code></li>'));
      assert.deepEqual(
        tags(html, 'form').map((form) => [form.method, form.action]),
        [
          ['post', '/interaction/uid-1/confirm'],
          ['post', '/interaction/uid-1/abort'],
        ],
      );
      assert.match(html, />Allow<\/button>/);
      assert.match(html, />Deny<\/button>/);
    });

    it('does not invent descriptions for scopes named like Object.prototype members', async () => {
      const html = await renderer.render('consent', { ...SAMPLES.consent, scopes: ['constructor'], resources: [] });
      assert.ok(html.includes('<code>constructor</code>'));
    });

    it('says so when nothing new is requested', async () => {
      const html = await renderer.render('consent', { ...SAMPLES.consent, scopes: [], resources: [] });
      assert.match(html, /No additional permissions are requested/);
    });
  });

  describe('select-identity', () => {
    it('labels the select and preselects the selected identity', async () => {
      const html = await renderer.render('select-identity', SAMPLES['select-identity']);
      assert.ok(html.includes('<label for="identity_id">'));
      const select = only(tags(html, 'select'), '<select>');
      assert.equal(select.name, 'identity_id');
      assert.equal(select.id, 'identity_id');
      const options = tags(html, 'option');
      assert.deepEqual(
        options.map((option) => [option.value, 'selected' in option]),
        [
          ['id-1', false],
          ['id-2', true],
        ],
      );
      assert.match(html, />Continue<\/button>/);
    });

    it('matches numeric ids, escapes labels, and shows errors as alerts', async () => {
      const html = await renderer.render('select-identity', {
        ...SAMPLES['select-identity'],
        identities: [
          { id: 1, label: XSS, kind: 'personal' },
          { id: 2, label: 'Work', kind: 'organization' },
        ],
        selectedId: '1',
        error: 'Pick one',
      });
      assert.ok(html.includes(`<option value="1" selected>${XSS_ESCAPED} (personal)</option>`));
      assert.ok(html.includes('<p class="alert" role="alert" id="identity-error">Pick one</p>'));
    });

    it('preselects nothing without selectedId', async () => {
      const { selectedId: _ignored, ...data } = SAMPLES['select-identity'];
      const html = await renderer.render('select-identity', { ...data, nonce: NONCE, title: 'Choose' });
      assert.ok(tags(html, 'option').every((option) => !('selected' in option)));
    });
  });

  describe('logout', () => {
    it('posts the xsrf secret with a "Sign out" (logout=yes) and a "Stay signed in" button', async () => {
      const html = await renderer.render('logout', SAMPLES.logout);
      assert.match(html, /Do you want to sign out of Gatehouse\?/);
      const form = only(tags(html, 'form'), '<form>');
      assert.equal(form.method, 'post');
      assert.equal(form.action, '/session/end/confirm');
      const hidden = only(tags(html, 'input'), 'input');
      assert.deepEqual([hidden.type, hidden.name, hidden.value], ['hidden', 'xsrf', 'xsrf-secret']);
      const buttons = tags(html, 'button');
      assert.equal(buttons.length, 2);
      assert.equal(buttons[0].name, 'logout');
      assert.equal(buttons[0].value, 'yes');
      assert.ok(!('name' in buttons[1]), '"Stay signed in" must not send logout');
      assert.match(html, />Sign out<\/button>/);
      assert.match(html, />Stay signed in<\/button>/);
    });

    it('renders without a client name', async () => {
      const html = await renderer.render('logout', view('Sign out', { action: '/session/end/confirm', secret: 's' }));
      assert.doesNotMatch(html, /asked to sign you out/);
    });

    it('logout-success confirms, with or without a client name', async () => {
      const html = await renderer.render('logout-success', SAMPLES['logout-success']);
      assert.match(html, /You are signed out\./);
      assert.match(html, /<strong>Acme Portal<\/strong>/);
      const anonymous = await renderer.render('logout-success', view('Signed out', {}));
      assert.match(anonymous, /You are signed out\./);
    });
  });

  describe('error and no-access', () => {
    it('error shows heading, message and reference, escaped', async () => {
      const html = await renderer.render('error', { ...SAMPLES.error, message: XSS });
      assert.ok(html.includes('<h1>Something went wrong</h1>'));
      assert.ok(html.includes(`<p>${XSS_ESCAPED}</p>`));
      assert.ok(html.includes('<code>req-42</code>'));
      const noId = await renderer.render('error', view('Error', { heading: 'Oops', message: 'Try again.' }));
      assert.doesNotMatch(noId, /reference/);
    });

    it('account-sessions marks this device, escapes what the browser reported, and gives each session a CSRF-protected form', async () => {
      const html = await renderer.render('account-sessions', SAMPLES['account-sessions']!);
      assert.match(html, /Phone: Mobile Safari 17 on iOS 17\.1 <strong class="current">\(this device\)<\/strong>/);
      assert.match(html, /&lt;b&gt;Chrome&lt;\/b&gt; 120/);
      assert.doesNotMatch(html, /<b>Chrome/);
      const forms = tags(html, 'form');
      assert.deepEqual(
        forms.map((f) => f.action),
        ['/account/sessions/uid-1/end', '/account/sessions/uid-2/end', '/account/sessions/others/end'],
      );
      assert.equal((html.match(/name="_csrf" value="csrf-1"/g) ?? []).length, forms.length);
      assert.match(html, /Sign out of this device/);
      assert.match(html, /End every other session/);
    });

    it('no-access names the application and the account', async () => {
      const html = await renderer.render('no-access', { ...SAMPLES['no-access'], username: XSS });
      assert.match(html, /You have no access to this application/);
      assert.ok(html.includes(`<strong>${XSS_ESCAPED}</strong>`));
      assert.ok(html.includes('<strong>Acme Portal</strong>'));
    });
  });

  describe('account security pages', () => {
    it('password-change lists each broken rule, escaped, as an alert linked from the new password', async () => {
      const html = await renderer.render('password-change', SAMPLES['password-change']!);
      assert.match(html, /<li data-rule="min_length">The password must be at least 15 characters long\.<\/li>/);
      assert.ok(html.includes(`On a list: ${XSS_ESCAPED}`) && !html.includes(XSS));
      assert.match(html, /id="new_password"[^>]*autocomplete="new-password"[^>]*aria-describedby="form-error"/);
      assert.match(html, /id="current_password"[^>]*autocomplete="current-password"/);
    });

    it('mfa asks for a one-time code with the right hints, and offers a recovery code in its own form', async () => {
      const html = await renderer.render('mfa', SAMPLES.mfa!);
      assert.match(html, /id="code"[^>]*inputmode="numeric"[^>]*autocomplete="one-time-code"/);
      assert.equal(tags(html, 'form').length, 3, 'code, recovery code, cancel');
      const enroll = await renderer.render('mfa-enroll', SAMPLES['mfa-enroll']!);
      assert.match(enroll, /<img src="data:image\/svg\+xml;base64,PHN2Zy8\+" alt="QR code/);
      assert.match(enroll, /JBSWY3DPEHPK3PXPJBSWY3DP/);
    });
  });

  describe('createRenderer', () => {
    it('refuses names that are not plain view names, and the layout itself', async () => {
      for (const name of ['../package', '/etc/passwd', '@login', 'layout', 'Login', 'login.eta', '']) {
        await assert.rejects(renderer.render(name, view('x', {})), /Invalid view name/, name);
      }
    });

    it('lets the layout receive the rendered page even if data has a body key', async () => {
      const html = await renderer.render('error', { ...SAMPLES.error, body: XSS });
      assert.ok(!html.includes(XSS));
      assert.ok(html.includes('<h1>Something went wrong</h1>'));
    });

    it('caches compiled templates only when cache is true', async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-views-'));
      try {
        await writeFile(path.join(dir, 'layout.eta'), '[<%~ it.body %>]');
        await writeFile(path.join(dir, 'page.eta'), 'v1 <%= it.title %>');
        const cached = createRenderer({ viewsDir: dir, cache: true });
        const live = createRenderer({ viewsDir: dir, cache: false });
        assert.equal(await cached.render('page', view('t', {})), '[v1 t]');
        assert.equal(await live.render('page', view('t', {})), '[v1 t]');
        await writeFile(path.join(dir, 'page.eta'), 'v2 <%= it.title %>');
        assert.equal(await cached.render('page', view('t', {})), '[v1 t]');
        assert.equal(await live.render('page', view('t', {})), '[v2 t]');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('securityHeaders', () => {
  let server: Server;
  let base: string;

  before(async () => {
    const app = new Koa<SecurityHeadersState>();
    app.silent = true; // the /boom route's error is expected; keep test output clean
    app.use(securityHeaders());
    app.use(async (ctx) => {
      switch (ctx.path) {
        case '/page':
          ctx.type = 'html';
          ctx.body = `<p>${ctx.state.nonce}</p>`;
          return;
        case '/cacheable.html':
          ctx.type = 'html';
          ctx.set('Cache-Control', 'public, max-age=60');
          ctx.body = '<p>public</p>';
          return;
        case '/jwks':
          // A handler's deliberate caching of a non-HTML resource must survive.
          ctx.set('Cache-Control', 'public, max-age=300');
          ctx.body = { keys: [] };
          return;
        case '/interaction/abc':
          allowFormActionTargets(ctx, ['com.example.app:/callback', 'javascript:alert(1)', 'not a url']);
          ctx.body = { ok: true };
          return;
        case '/auth/form-post': {
          // What oidc-provider's form_post page does: append a hash to the existing script-src.
          const csp = ctx.response.get('Content-Security-Policy');
          ctx.set('Content-Security-Policy', csp.replace("script-src 'none'", "script-src 'none' 'sha256-abc='"));
          ctx.type = 'html';
          ctx.body = '<form></form>';
          return;
        }
        case '/interaction/page':
          // A page that widens form-action first and renders (reads the nonce) afterwards.
          allowFormActionTargets(ctx, ['com.example.app:/callback']);
          ctx.type = 'html';
          ctx.body = `<p>${ctx.state.nonce}</p>`;
          return;
        case '/account/extra':
          allowFormActionTargets(ctx, ['https://rp.example.com:8443/cb?x=1']);
          ctx.type = 'html';
          ctx.body = '<p>ok</p>';
          return;
        case '/boom':
          throw new Error('boom');
        default:
          ctx.status = 404;
      }
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  function directives(csp: string | null): Map<string, string> {
    assert.ok(csp, 'Content-Security-Policy present');
    return new Map(
      csp.split(';').map((part) => {
        const [name, ...values] = part.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
  }

  it('sends a nonce-based CSP and the other security headers on an HTML page, with no-store', async () => {
    const res = await fetch(`${base}/page`);
    assert.equal(res.status, 200);
    const nonce = (await res.text()).replace(/<\/?p>/g, '');
    assert.equal(Buffer.from(nonce, 'base64').length, 16);
    const csp = directives(res.headers.get('content-security-policy'));
    assert.equal(csp.get('default-src'), "'none'");
    assert.equal(csp.get('script-src'), "'none'");
    assert.equal(csp.get('style-src'), `'nonce-${nonce}'`);
    assert.equal(csp.get('img-src'), "'self' data:");
    assert.equal(csp.get('form-action'), "'self'");
    assert.equal(csp.get('frame-ancestors'), "'none'");
    assert.equal(csp.get('base-uri'), "'none'");
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('pragma'), 'no-cache');
  });

  it('uses a fresh nonce for every response', async () => {
    const [a, b] = await Promise.all([fetch(`${base}/page`), fetch(`${base}/page`)]);
    assert.notEqual(await a.text(), await b.text());
    assert.notEqual(a.headers.get('content-security-policy'), b.headers.get('content-security-policy'));
  });

  it('allows no inline style on a response that renders no page, and keeps widened targets when a page asks for its nonce', async () => {
    const jwks = await fetch(`${base}/jwks`);
    assert.equal(directives(jwks.headers.get('content-security-policy')).get('style-src'), "'none'");
    const res = await fetch(`${base}/interaction/page`);
    const nonce = (await res.text()).replace(/<\/?p>/g, '');
    const csp = directives(res.headers.get('content-security-policy'));
    assert.equal(csp.get('style-src'), `'nonce-${nonce}'`);
    assert.equal(csp.get('form-action'), "'self' https: http: com.example.app:");
  });

  it('keeps a Cache-Control that a handler set on purpose', async () => {
    const jwks = await fetch(`${base}/jwks`);
    assert.equal(jwks.headers.get('cache-control'), 'public, max-age=300');
    assert.equal(jwks.headers.get('pragma'), null);
    assert.ok(jwks.headers.get('content-security-policy'), 'CSP on JSON too');
    assert.equal(jwks.headers.get('x-content-type-options'), 'nosniff');
    const page = await fetch(`${base}/cacheable.html`);
    assert.equal(page.headers.get('cache-control'), 'public, max-age=60');
  });

  it('makes everything under /interaction no-store and lets redirects after its forms reach RPs', async () => {
    const res = await fetch(`${base}/interaction/abc`);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    // The relaxed default plus the native app's scheme; the javascript: target and junk are dropped.
    assert.equal(directives(res.headers.get('content-security-policy')).get('form-action'), "'self' https: http: com.example.app:");
  });

  it('adds exact origins on strict pages, and drops the meaningless script-src none next to hashes', async () => {
    const extra = await fetch(`${base}/account/extra`);
    assert.equal(directives(extra.headers.get('content-security-policy')).get('form-action'), "'self' https://rp.example.com:8443");
    const formPost = await fetch(`${base}/auth/form-post`);
    const csp = directives(formPost.headers.get('content-security-policy'));
    assert.equal(csp.get('script-src'), "'sha256-abc='");
    assert.equal(csp.get('form-action'), "'self' https: http:");
  });

  it('keeps the security headers on errors, through Koa’s default error handler', async () => {
    const res = await fetch(`${base}/boom`);
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(directives(res.headers.get('content-security-policy')).get('frame-ancestors'), "'none'");
    assert.doesNotMatch(await res.text(), /at .*\.ts/, 'no stack trace');
  });

  it('sends the headers on 404s too, and matches path prefixes per segment', async () => {
    const res = await fetch(`${base}/authority`);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(directives(res.headers.get('content-security-policy')).get('form-action'), "'self'");
  });

  it('allowFormActionTargets refuses to run without securityHeaders', async () => {
    const bare = new Koa();
    bare.use((ctx) => {
      try {
        allowFormActionTargets(ctx, ['https://rp.example']);
        ctx.body = 'no error';
      } catch (err) {
        ctx.body = err instanceof Error ? err.message : 'non-error';
      }
    });
    const bareServer = bare.listen(0, '127.0.0.1');
    try {
      await new Promise<void>((resolve) => bareServer.once('listening', resolve));
      const { port } = bareServer.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/`);
      assert.match(await res.text(), /is securityHeaders\(\) mounted/);
    } finally {
      await new Promise<void>((resolve) => bareServer.close(() => resolve()));
    }
  });
});
