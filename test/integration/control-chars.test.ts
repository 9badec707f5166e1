// A NUL byte (or another control character) anywhere a request carries text is refused at the
// edge with a 400 naming the field: on oidc-provider's endpoints, the login form and the admin
// API's fields and filters. The same requests without it still work.
import assert from 'node:assert/strict';
import { apiCallerForSuite } from '../helpers/admin-api.ts';
import { gatehouseForSuite, storageMode, uniqueName } from '../helpers/gatehouse.ts';
import { formWith } from '../helpers/http.ts';
import { createWebClient, startAuthorization, type WebClient } from '../helpers/oidc.ts';

const CALLBACK = 'http://localhost:8133/callback';

describe(`control characters refused at the edge (${storageMode})`, function () {
  this.timeout(120_000);
  const gh = gatehouseForSuite();
  const admin = apiCallerForSuite(gh, { permissions: 'all' });
  let web: WebClient;
  const basic = () => `Basic ${Buffer.from(`${web.clientId}:${web.clientSecret}`).toString('base64')}`;

  before(async () => {
    web = await createWebClient(gh, uniqueName('nul-app'), CALLBACK);
  });

  async function expectOauthRefusal(response: Response, field: string) {
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'invalid_request');
    assert.match(body.error_description, new RegExp(`"${field}"`));
  }

  const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });

  it('on /token, /token/introspection and /token/revocation: a 400 invalid_request naming the field', async () => {
    await expectOauthRefusal(await fetch(`${gh.issuer}/token`, form({ grant_type: 'authorization_code', code: 'abc\u0000def', redirect_uri: CALLBACK })), 'code');
    await expectOauthRefusal(await fetch(`${gh.issuer}/token`, form({ grant_type: 'refresh_token', refresh_token: '\u0000' })), 'refresh_token');
    await expectOauthRefusal(await fetch(`${gh.issuer}/token/introspection`, form({ token: 'x\u0000' })), 'token');
    await expectOauthRefusal(await fetch(`${gh.issuer}/token/revocation`, form({ token: 'x', token_type_hint: 'refresh\u0001token' })), 'token_type_hint');
    // Without it, the same endpoint answers as usual.
    const inactive = await fetch(`${gh.issuer}/token/introspection`, form({ token: 'not-a-token' }));
    assert.equal(inactive.status, 200);
    assert.equal(((await inactive.json()) as { active: boolean }).active, false);
  });

  it('on /auth and /session/end: a 400 page naming the field', async () => {
    const auth = await fetch(`${gh.issuer}/auth?client_id=${web.clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(CALLBACK)}&state=a%00b`, { redirect: 'manual' });
    assert.equal(auth.status, 400);
    assert.match(await auth.text(), /state/);
    const end = await fetch(`${gh.issuer}/session/end?client_id=${web.clientId}%00`, { redirect: 'manual' });
    assert.equal(end.status, 400);
    assert.match(await end.text(), /client_id/);
  });

  it('on the login form: a 400 naming the field, and the form still works without it', async () => {
    const started = await startAuthorization({ gatehouse: gh, config: web.config, redirectUri: CALLBACK, scope: 'openid' });
    const login = formWith(started.response, 'password');
    const refused = await started.browser.postForm(login.action, { ...login.fields, username: 'kim\u0000', password: 'whatever-pw' });
    assert.equal(refused.status, 400);
    assert.match(refused.body, /username/);
    const wrong = await started.browser.postForm(login.action, { ...login.fields, username: 'kim', password: 'whatever-pw' });
    assert.equal(wrong.status, 401, 'an ordinary wrong password is still judged as one');
  });

  it('on admin API fields and filters: a 400 problem naming the field, and nothing written', async () => {
    const username = uniqueName('nul');
    const created = await admin.request('POST', '/users', { username, name: 'Kim\u0000 Null', password: 'a-Good-password-123' });
    assert.equal(created.status, 400, JSON.stringify(created.body));
    assert.equal(created.body.code, 'request.control_character');
    assert.equal(created.body.details.field, 'name');
    assert.equal(await gh.context.knex('users').where({ username }).first(), undefined, 'no partial write');
    const nested = await admin.request('POST', '/users', { username, identities: [{ kind: 'employee', attributes: { 'de\u0000pt': 'x' } }] });
    assert.equal(nested.status, 400);
    assert.equal(nested.body.details.field, 'identities[0].attributes.de\u0000pt');
    const surrogate = await admin.request('POST', '/users', { username, name: 'Kim \ud800', password: 'a-Good-password-123' });
    assert.equal(surrogate.status, 400, 'a lone UTF-16 surrogate is refused at the edge, not by the database');
    assert.equal(surrogate.body.details.field, 'name');
    assert.equal(await gh.context.knex('users').where({ username }).first(), undefined, 'no partial write');
    const filtered = await admin.request('GET', `/users?search=${encodeURIComponent('a\u0000')}`);
    assert.equal(filtered.status, 400);
    assert.equal(filtered.body.details.field, 'search');
    assert.equal((await admin.request('GET', '/users?search=a')).status, 200, 'the same filter without it works');
  });
});
