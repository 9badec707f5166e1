// Password hashing cannot be turned against the server: imported hashes asking for absurd work are
// refused at every way in (POST /users, the CSV import, the seed) with the reason, a stored one is
// never computed, and a full hashing line answers 503 with Retry-After instead of queueing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';
import { applySeed } from '../../src/services/seed.ts';
import { createApiCaller, type ApiCaller } from '../helpers/admin-api.ts';
import { appError } from '../helpers/assertions.ts';
import { startTestGatehouse, storageMode, uniqueName, type TestGatehouse } from '../helpers/gatehouse.ts';

const b64 = (n: number) => randomBytes(n).toString('base64');
const bcryptTail = 'abcdefghijklmnopqrstuv' + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ01234'; // 22 salt + 31 hash characters
const ABSURD = {
  pbkdf2: `pbkdf2_sha256$999999999$somesalt$${b64(32)}`,
  bcrypt: `$2b$31$${bcryptTail}`,
  argon2Memory: `$argon2id$v=19$m=4194304,t=2,p=1$${b64(16).replace(/=+$/, '')}$${b64(32).replace(/=+$/, '')}`,
  argon2Time: `$argon2id$v=19$m=19456,t=5000,p=1$${b64(16).replace(/=+$/, '')}$${b64(32).replace(/=+$/, '')}`,
};

describe(`password hash cost limits (${storageMode})`, function () {
  this.timeout(180_000);
  let gh: TestGatehouse;
  let admin: ApiCaller;

  before(async () => {
    // One hash at a time and nobody waiting: the second concurrent computation is refused.
    gh = await startTestGatehouse({ GATEHOUSE_PASSWORD_HASH_CONCURRENCY: '1', GATEHOUSE_PASSWORD_HASH_QUEUE: '0' });
    admin = await createApiCaller(gh, { permissions: 'all' });
  });
  after(async () => {
    await gh?.close();
  });

  it('POST /users refuses each absurd hash with the reason, and writes nothing', async () => {
    for (const [kind, hash] of Object.entries(ABSURD)) {
      const username = uniqueName('costly');
      const response = await admin.request('POST', '/users', { username, passwordHash: hash });
      assert.equal(response.status, 400, `${kind}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, 'user.hash_cost', kind);
      assert.match(response.body.title, /iterations|cost|memory|time cost/, kind);
      assert.equal(await gh.context.knex('users').where({ username }).first(), undefined);
    }
    const ordinary = await admin.request('POST', '/users', { username: uniqueName('fine'), passwordHash: `pbkdf2_sha256$600000$somesalt$${b64(32)}` });
    assert.equal(ordinary.status, 201, JSON.stringify(ordinary.body));
  });

  it('the CSV import and the seed refuse them too', async () => {
    const username = uniqueName('csvcostly');
    const csv = ['username,email,name,department,identity_kind,identity_alias,roles,groups,data_scope,password_hash', `${username},,,,,,,,,${ABSURD.pbkdf2}`].join('\n');
    const imported = await admin.request('POST', '/users/import', csv, { 'content-type': 'text/csv' });
    assert.equal(imported.status, 422, JSON.stringify(imported.body));
    const problems = imported.body.problems as { column: string; reason: string }[];
    assert.ok(
      problems.some((p) => p.column === 'password_hash' && /too costly.*999999999 iterations/.test(p.reason)),
      JSON.stringify(problems),
    );
    await assert.rejects(applySeed(gh.context, { users: [{ username: uniqueName('seedcostly'), passwordHash: ABSURD.bcrypt }] }, SYSTEM_ACTOR), appError('user.hash_cost', 400));
  });

  it('a costly hash already stored is never computed: its sign-in answers like an unknown user', async () => {
    const user = await gh.context.users.create({ username: uniqueName('stored'), password: 'stored-Password-1' }, SYSTEM_ACTOR);
    await gh.context.knex('users').where({ id: user.id }).update({ password_hash: ABSURD.pbkdf2 });
    const dummy = gh.context.passwords.stats.dummyVerifications;
    const outcome = await gh.context.signIn.password(gh.context.tenantId, { uid: uniqueName('uid'), login: user.username, password: 'anything-at-all', ip: '198.51.100.200', userAgent: null });
    assert.equal(outcome.kind, 'failed');
    assert.equal(gh.context.passwords.stats.dummyVerifications, dummy + 1, 'the dummy hash was checked instead');
  });

  it('a full hashing line answers 503 with Retry-After rather than queueing', async () => {
    const responses = await Promise.all(Array.from({ length: 6 }, () => admin.request('POST', '/users', { username: uniqueName('burst'), password: `burst-Password-${randomBytes(4).toString('hex')}` })));
    const busy = responses.filter((r) => r.status === 503);
    assert.ok(busy.length >= 1, `statuses: ${responses.map((r) => r.status).join(',')}`);
    assert.ok(
      responses.some((r) => r.status === 201),
      'the one in the slot went through',
    );
    for (const response of busy) {
      assert.equal(response.body.code, 'service.busy');
      assert.ok(Number(response.headers.get('retry-after')) > 0, 'with Retry-After');
    }
  });
});
