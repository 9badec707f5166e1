// A failed SQL statement never puts its values in the log: the statements that carry a password
// hash or a token are made to fail (a trigger refuses them, with a DETAIL naming the row's key as
// PostgreSQL's own unique violations do), the real request is made, and the captured log is
// searched for every secret the test knows.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { apiCallerForSuite } from '../helpers/admin-api.ts';
import { gatehouseForSuite, storageMode, uniqueName } from '../helpers/gatehouse.ts';
import { createWebClient, signIn, type WebClient } from '../helpers/oidc.ts';
import { rawRefresh } from '../helpers/sessions.ts';

const CALLBACK = 'http://localhost:8131/callback';
const PASSWORD = 'log-secrets-Password-1';

describe(`no statement values in the log (${storageMode})`, function () {
  this.timeout(120_000);
  const chunks: string[] = [];
  const log = () => chunks.join('');
  const gh = gatehouseForSuite(
    {},
    {
      logStream: new Writable({
        write(chunk: Buffer | string, _encoding, callback) {
          chunks.push(chunk.toString());
          callback();
        },
      }),
    },
  );
  const admin = apiCallerForSuite(gh, { permissions: 'all' });
  let web: WebClient;

  async function refuseWrites(table: string, run: () => Promise<void>): Promise<void> {
    const knex = gh.context.knex;
    await knex.raw(`
      create or replace function gh_test_refuse() returns trigger language plpgsql as $$
      begin
        raise exception 'refused by the test' using detail = format('Key (id)=(%s) already exists.', to_jsonb(new)->>'id');
      end $$`);
    await knex.raw(`create trigger gh_test_refuse before insert or update on ${table} for each row execute function gh_test_refuse()`);
    try {
      await run();
    } finally {
      await knex.raw(`drop trigger gh_test_refuse on ${table}`);
      await knex.raw('drop function gh_test_refuse()');
    }
  }

  before(async () => {
    web = await createWebClient(gh, uniqueName('log-app'), CALLBACK);
  });

  it('a failed refresh-token statement logs neither the refresh token nor any other token', async () => {
    const user = await gh.context.users.create({ username: uniqueName('log'), password: PASSWORD }, SYSTEM_ACTOR);
    const { tokens, code } = await signIn({ gatehouse: gh, config: web.config, redirectUri: CALLBACK, username: user.username, password: PASSWORD, scope: 'openid' });
    const secrets = [tokens.refresh_token!, tokens.access_token, tokens.id_token!, code];
    const before = log().length;
    await refuseWrites('oidc_payloads', async () => {
      const refreshed = await rawRefresh(gh.issuer, web, tokens.refresh_token!);
      assert.equal(refreshed.status, 500, JSON.stringify(refreshed.body));
    });
    const written = log().slice(before);
    assert.match(written, /oidc server error/, 'the failure was logged');
    for (const secret of secrets) assert.ok(!log().includes(secret), `a token reached the log:\n${written}`);
    assert.match(written, /refused by the test/, 'with what went wrong');
    assert.match(written, /"sqlstate":"P0001"/, 'and its SQLSTATE');
  });

  it('a failed statement carrying a password hash logs no hash', async () => {
    const before = log().length;
    await refuseWrites('users', async () => {
      const created = await admin.request('POST', '/users', { username: uniqueName('log-new'), password: PASSWORD });
      assert.equal(created.status, 500, JSON.stringify(created.body));
    });
    const written = log().slice(before);
    assert.match(written, /unhandled error/, 'the failure was logged');
    assert.match(written, /refused by the test/);
    assert.doesNotMatch(log(), /\$argon2id\$v=\d+\$/, `a password hash reached the log:\n${written}`);
    assert.ok(!log().includes(PASSWORD));
  });
});
