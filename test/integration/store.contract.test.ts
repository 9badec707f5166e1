// One behavioural contract for every KeyValueStore implementation. The memory store is always
// checked; the Redis store too when REDIS_URL is set. Passing the same suite is what lets the
// embedded default stand in for Redis without surprises on deployment.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMemoryStore, createRedisStore, createStore } from '../../src/store/index.ts';
import type { KeyValueStore } from '../../src/store/index.ts';
import { startCluster, type TestCluster } from '../helpers/redis-servers.ts';
import { createInvalidatingCache } from '../../src/services/cache.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `condition` holds; pub/sub delivery is asynchronous in both stores. */
async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** What a subscriber to `channel` of `store` has heard so far, and how it unsubscribes. */
async function listen(store: KeyValueStore, channel: string): Promise<{ heard: string[]; off: () => Promise<void> }> {
  const heard: string[] = [];
  const off = await store.subscribe(channel, (message) => heard.push(message));
  return { heard, off };
}

function describeStoreContract(name: string, factory: () => Promise<KeyValueStore>, label = name): void {
  describe(`KeyValueStore contract: ${label}`, function () {
    let store: KeyValueStore;

    before(async function () {
      store = await factory();
    });

    after(async function () {
      await store?.close();
    });

    it('reports its kind', function () {
      assert.equal(store.kind, name);
    });

    it('gets and sets values, a plain set replacing value and TTL', async function () {
      assert.equal(await store.get('gs:absent'), undefined);
      await store.set('gs:a', 'one');
      assert.equal(await store.get('gs:a'), 'one');
      await store.set('gs:a', 'two', 100);
      assert.equal(await store.get('gs:a'), 'two');
      await store.set('gs:a', 'three');
      assert.equal(await store.get('gs:a'), 'three');
      assert.equal(await store.ttl('gs:a'), -1);
    });

    it('expires keys after their TTL (set, setIfAbsent, incr, sadd, expire)', async function () {
      await store.set('exp:set', 'v', 1);
      assert.equal(await store.setIfAbsent('exp:nx', 'v', 1), true);
      assert.equal(await store.incr('exp:counter', 1), 1);
      await store.sadd('exp:members', ['a', 'b'], 1);
      await store.set('exp:later', 'v');
      await store.expire('exp:later', 1);
      await store.set('exp:kept', 'v', 100);

      assert.equal(await store.get('exp:set'), 'v');
      await sleep(1_200);

      assert.equal(await store.get('exp:set'), undefined);
      assert.equal(await store.ttl('exp:set'), undefined);
      assert.equal(await store.get('exp:nx'), undefined);
      assert.equal(await store.setIfAbsent('exp:nx', 'again'), true, 'an expired key counts as absent');
      assert.equal(await store.incr('exp:counter', 1), 1, 'an expired counter restarts');
      assert.deepEqual(await store.smembers('exp:members'), []);
      assert.equal(await store.get('exp:later'), undefined);
      assert.equal(await store.consume('exp:later'), undefined);
      assert.equal(await store.get('exp:kept'), 'v');
    });

    it('setIfAbsent sets only the first time', async function () {
      assert.equal(await store.setIfAbsent('nx:a', 'first', 100), true);
      assert.equal(await store.setIfAbsent('nx:a', 'second', 100), false);
      assert.equal(await store.setIfAbsent('nx:a', 'third'), false);
      assert.equal(await store.get('nx:a'), 'first');
      const ttl = await store.ttl('nx:a');
      assert.ok(ttl !== undefined && ttl > 0 && ttl <= 100, `ttl ${ttl}`);

      assert.equal(await store.setIfAbsent('nx:b', 'v'), true);
      assert.equal(await store.ttl('nx:b'), -1);
    });

    it('setIfAbsent lets exactly one of many concurrent callers win', async function () {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.setIfAbsent('nx:race', `v${i}`, 100)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.equal(await store.get('nx:race'), `v${winner}`);
    });

    it('setIfAbsentWithTtlOf sets once, living as long as the other key (or the fallback)', async function () {
      await store.set('nxttl:payload', 'p', 50);
      assert.equal(await store.setIfAbsentWithTtlOf('nxttl:marker', 'first', 'nxttl:payload', 600), true);
      assert.equal(await store.setIfAbsentWithTtlOf('nxttl:marker', 'second', 'nxttl:payload', 600), false);
      assert.equal(await store.get('nxttl:marker'), 'first');
      const ttl = await store.ttl('nxttl:marker');
      assert.ok(ttl !== undefined && ttl > 40 && ttl <= 50, `the marker lives as long as the payload (ttl ${ttl})`);

      assert.equal(await store.setIfAbsentWithTtlOf('nxttl:orphan', 'v', 'nxttl:absent', 600), true);
      const fallback = await store.ttl('nxttl:orphan');
      assert.ok(fallback !== undefined && fallback > 590 && fallback <= 600, `an absent key means the fallback (ttl ${fallback})`);

      await store.set('nxttl:forever', 'p');
      assert.equal(await store.setIfAbsentWithTtlOf('nxttl:marker2', 'v', 'nxttl:forever', 30), true);
      const noExpiry = await store.ttl('nxttl:marker2');
      assert.ok(noExpiry !== undefined && noExpiry > 20 && noExpiry <= 30, `a key without expiry means the fallback, never a marker that lives forever (ttl ${noExpiry})`);
      await assert.rejects(store.setIfAbsentWithTtlOf('nxttl:bad', 'v', 'nxttl:payload', 0));
    });

    it('setIfAbsentWithTtlOf lets exactly one of 50 concurrent callers win', async function () {
      await store.set('nxttl:race-payload', 'p', 100);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.setIfAbsentWithTtlOf('nxttl:race', `v${i}`, 'nxttl:race-payload', 100)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await store.get('nxttl:race'), `v${results.indexOf(true)}`);
    });

    it('write applies sets, set additions with their TTL and deletions in one go, in order', async function () {
      await store.set('batch:old', 'x');
      await store.write([
        { op: 'set', key: 'batch:a', value: '1', ttlSeconds: 100 },
        { op: 'set', key: 'batch:b', value: '2' },
        { op: 'sadd', key: 'batch:set', members: ['m1', 'm2'], ttlSeconds: 200 },
        { op: 'sadd', key: 'batch:set', members: ['m3'] },
        { op: 'del', keys: ['batch:old', 'batch:missing'] },
        { op: 'set', key: 'batch:b', value: '3' },
      ]);
      assert.deepEqual(await store.mget(['batch:a', 'batch:b', 'batch:old']), ['1', '3', undefined]);
      const ttlA = await store.ttl('batch:a');
      assert.ok(ttlA !== undefined && ttlA > 90 && ttlA <= 100, `ttl ${ttlA}`);
      assert.equal(await store.ttl('batch:b'), -1);
      assert.deepEqual((await store.smembers('batch:set')).sort(), ['m1', 'm2', 'm3']);
      const ttlSet = await store.ttl('batch:set');
      assert.ok(ttlSet !== undefined && ttlSet > 190 && ttlSet <= 200, `a set keeps the TTL given with it (ttl ${ttlSet})`);
      await store.write([]);
      await assert.rejects(store.write([{ op: 'set', key: 'batch:bad', value: 'v', ttlSeconds: 0 }]));
      assert.equal(await store.get('batch:bad'), undefined);
    });

    it('write sets a marker only if absent, living as long as another key, in the batch and in order', async function () {
      await store.set('batchnx:taken', 'old');
      await store.write([
        { op: 'set', key: 'batchnx:payload', value: 'p', ttlSeconds: 50 },
        { op: 'setIfAbsentWithTtlOf', key: 'batchnx:marker', value: 'm', ttlOf: 'batchnx:payload', fallbackTtlSeconds: 600 },
        { op: 'setIfAbsentWithTtlOf', key: 'batchnx:taken', value: 'new', ttlOf: 'batchnx:payload', fallbackTtlSeconds: 600 },
        { op: 'setIfAbsentWithTtlOf', key: 'batchnx:orphan', value: 'o', ttlOf: 'batchnx:absent', fallbackTtlSeconds: 30 },
      ]);
      assert.deepEqual(await store.mget(['batchnx:marker', 'batchnx:taken', 'batchnx:orphan']), ['m', 'old', 'o']);
      const ttl = await store.ttl('batchnx:marker');
      assert.ok(ttl !== undefined && ttl > 40 && ttl <= 50, `the marker lives as long as the key set before it (ttl ${ttl})`);
      assert.equal(await store.ttl('batchnx:taken'), -1, 'an existing key is left as it was');
      const fallback = await store.ttl('batchnx:orphan');
      assert.ok(fallback !== undefined && fallback > 20 && fallback <= 30, `an absent key means the fallback (ttl ${fallback})`);
      await assert.rejects(
        store.write([
          { op: 'set', key: 'batchnx:bad', value: 'v' },
          { op: 'setIfAbsentWithTtlOf', key: 'batchnx:bad2', value: 'v', ttlOf: 'batchnx:payload', fallbackTtlSeconds: 0 },
        ]),
      );
      assert.equal(await store.get('batchnx:bad'), undefined, 'a refused fallback leaves nothing half done');
    });

    it('consume hands the value to exactly one of 50 concurrent callers', async function () {
      await store.set('consume:code', 'secret', 100);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.consume('consume:code')));
      assert.deepEqual(
        results.filter((value) => value !== undefined),
        ['secret'],
      );
      assert.equal(await store.get('consume:code'), undefined);
      assert.equal(await store.consume('consume:code'), undefined);
      assert.equal(await store.consume('consume:absent'), undefined);
    });

    it('del removes keys of any type and counts those that existed', async function () {
      await store.set('del:a', '1');
      await store.set('del:b', '2', 100);
      await store.sadd('del:set', ['x']);
      assert.equal(await store.del('del:a', 'del:b', 'del:set', 'del:missing'), 3);
      assert.equal(await store.get('del:a'), undefined);
      assert.deepEqual(await store.smembers('del:set'), []);
      assert.equal(await store.del('del:a'), 0);
      assert.equal(await store.del(), 0);
    });

    it('incr counts from 1 and refuses non-integer values', async function () {
      for (let expected = 1; expected <= 5; expected += 1) {
        assert.equal(await store.incr('incr:seq'), expected);
      }
      assert.equal(await store.get('incr:seq'), '5');
      assert.equal(await store.ttl('incr:seq'), -1);

      await store.set('incr:text', 'not a number');
      await assert.rejects(store.incr('incr:text'));
      assert.equal(await store.get('incr:text'), 'not a number');
    });

    it('decrIfPositive gives back one count, keeps the TTL, and never recreates an absent counter', async function () {
      assert.equal(await store.decrIfPositive('decr:absent'), 0);
      assert.equal(await store.get('decr:absent'), undefined, 'no counter without a window');
      await store.incr('decr:c', 100);
      await store.incr('decr:c', 100);
      assert.equal(await store.decrIfPositive('decr:c'), 1);
      assert.equal(await store.decrIfPositive('decr:c'), 0);
      assert.equal(await store.decrIfPositive('decr:c'), 0, 'not below 0');
      const ttl = await store.ttl('decr:c');
      assert.ok(ttl !== undefined && ttl > 0 && ttl <= 100, `ttl kept: ${ttl}`);
    });

    it('incr gives 100 concurrent callers the distinct values 1..100', async function () {
      const values = await Promise.all(Array.from({ length: 100 }, () => store.incr('incr:race', 100)));
      assert.deepEqual(
        [...values].sort((a, b) => a - b),
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      const ttl = await store.ttl('incr:race');
      assert.ok(ttl !== undefined && ttl > 0 && ttl <= 100, `ttl ${ttl}`);
    });

    it('incr sets the TTL on creation only, never extending it', async function () {
      assert.equal(await store.incr('incr:window', 50), 1);
      assert.equal(await store.incr('incr:window', 5_000), 2);
      assert.equal(await store.incr('incr:window'), 3);
      const ttl = await store.ttl('incr:window');
      assert.ok(ttl !== undefined && ttl > 0 && ttl <= 50, `ttl ${ttl} was extended`);
    });

    it('ttl is undefined when absent, -1 without expiry, else remaining seconds', async function () {
      assert.equal(await store.ttl('ttl:absent'), undefined);
      await store.set('ttl:forever', 'v');
      assert.equal(await store.ttl('ttl:forever'), -1);
      await store.set('ttl:timed', 'v', 100);
      const ttl = await store.ttl('ttl:timed');
      assert.ok(ttl !== undefined && ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
    });

    it('expire sets a TTL on an existing key and ignores absent keys', async function () {
      await store.set('expire:a', 'v');
      await store.expire('expire:a', 100);
      const ttl = await store.ttl('expire:a');
      assert.ok(ttl !== undefined && ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
      await store.expire('expire:a', 10);
      const shorter = await store.ttl('expire:a');
      assert.ok(shorter !== undefined && shorter > 0 && shorter <= 10, `ttl ${shorter}`);

      await store.expire('expire:absent', 100);
      assert.equal(await store.ttl('expire:absent'), undefined);
      assert.equal(await store.get('expire:absent'), undefined);
    });

    it('sadd, srem and smembers manage a set whose TTL sadd reapplies', async function () {
      assert.deepEqual(await store.smembers('set:absent'), []);

      await store.sadd('set:s', ['a', 'b', 'a'], 100);
      assert.deepEqual((await store.smembers('set:s')).sort(), ['a', 'b']);
      const first = await store.ttl('set:s');
      assert.ok(first !== undefined && first > 0 && first <= 100, `ttl ${first}`);

      await store.sadd('set:s', ['c'], 1_000);
      const reapplied = await store.ttl('set:s');
      assert.ok(reapplied !== undefined && reapplied > 100 && reapplied <= 1_000, `ttl ${reapplied}`);

      await store.sadd('set:s', ['d']);
      const kept = await store.ttl('set:s');
      assert.ok(kept !== undefined && kept > 100, `sadd without TTL dropped the TTL: ${kept}`);

      await store.srem('set:s', ['a', 'missing']);
      assert.deepEqual((await store.smembers('set:s')).sort(), ['b', 'c', 'd']);

      await store.srem('set:s', ['b', 'c', 'd']);
      assert.deepEqual(await store.smembers('set:s'), []);
      assert.equal(await store.ttl('set:s'), undefined, 'an emptied set no longer exists');

      await store.sadd('set:plain', ['x']);
      assert.equal(await store.ttl('set:plain'), -1);
      await store.srem('set:absent', ['x']);
    });

    it('mgetByIndex follows an index key to the keys named by its value, in one call', async function () {
      await store.set('byindex:uid:u1', 'id-1', 100);
      await store.set('byindex:payload:id-1', '{"a":1}', 100);
      await store.set('byindex:marker:id-2', '7');
      assert.deepEqual(await store.mgetByIndex('byindex:uid:u1', ['byindex:payload:', 'byindex:marker:']), { id: 'id-1', values: ['{"a":1}', undefined], also: [] });
      await store.set('byindex:uid:u2', 'id-2');
      assert.deepEqual(await store.mgetByIndex('byindex:uid:u2', ['byindex:payload:', 'byindex:marker:']), { id: 'id-2', values: [undefined, '7'], also: [] });
      assert.equal(await store.mgetByIndex('byindex:uid:none', ['byindex:payload:'], ['byindex:marker:id-2']), undefined);
      assert.deepEqual(await store.mgetByIndex('byindex:uid:u1', []), { id: 'id-1', values: [], also: [] });
      assert.deepEqual(await store.mgetByIndex('byindex:uid:u1', ['byindex:payload:'], ['byindex:marker:id-2', 'byindex:absent']), { id: 'id-1', values: ['{"a":1}'], also: ['7', undefined] });
    });

    it('mgetFollowing with an index also follows the followed id through an index key to the keys it names', async function () {
      const token = JSON.stringify({ sessionUid: 'uid-9' });
      await store.set('followix:token', token, 100);
      await store.set('followix:hot:uid-9', 'hot-9');
      await store.set('followix:index:uid-9', 'sess-9');
      await store.set('followix:session:sess-9', 'payload-9');
      const follow = { of: 0, field: 'sessionUid', prefix: 'followix:hot:', index: { prefix: 'followix:index:', prefixes: ['followix:session:', 'followix:consumed:'] } };
      assert.deepEqual(await store.mgetFollowing(['followix:token'], follow), {
        values: [token],
        followed: { id: 'uid-9', value: 'hot-9', indexed: { id: 'sess-9', values: ['payload-9', undefined] } },
      });
      // No index entry: the followed key alone.
      await store.del('followix:index:uid-9');
      assert.deepEqual(await store.mgetFollowing(['followix:token'], follow), { values: [token], followed: { id: 'uid-9', value: 'hot-9' } });
      // Nothing to follow: nothing indexed either.
      assert.deepEqual(await store.mgetFollowing(['followix:absent'], follow), { values: [undefined] });
    });

    it('mgetFollowing with also reads the keys named by a second string field of the same object', async function () {
      const token = JSON.stringify({ sessionUid: 'uid-7', grantId: 'grant-7' });
      await store.set('followalso:token', token, 100);
      await store.set('followalso:hot:uid-7', 'hot-7');
      await store.set('followalso:grant:grant-7', 'grant-payload');
      await store.set('followalso:gi:grant-7', 'identity-7');
      const also = { field: 'grantId', prefixes: ['followalso:grant:', 'followalso:consumed:', 'followalso:gi:'] };
      const index = { prefix: 'followalso:index:', prefixes: ['followalso:session:'] };
      assert.deepEqual(await store.mgetFollowing(['followalso:token', 'followalso:absent'], { of: 0, field: 'sessionUid', prefix: 'followalso:hot:', index, also }), {
        values: [token, undefined],
        followed: { id: 'uid-7', value: 'hot-7' },
        also: { id: 'grant-7', values: ['grant-payload', undefined, 'identity-7'] },
      });
      // The second field alone: followed without the first.
      const grantOnly = JSON.stringify({ grantId: 'grant-7' });
      await store.set('followalso:grant-only', grantOnly, 100);
      assert.deepEqual(await store.mgetFollowing(['followalso:grant-only'], { of: 0, field: 'sessionUid', prefix: 'followalso:hot:', also }), {
        values: [grantOnly],
        also: { id: 'grant-7', values: ['grant-payload', undefined, 'identity-7'] },
      });
      // Not a string, or nothing to read: no also.
      await store.set('followalso:number', JSON.stringify({ sessionUid: 'uid-7', grantId: 7 }), 100);
      assert.deepEqual(await store.mgetFollowing(['followalso:number'], { of: 0, field: 'sessionUid', prefix: 'followalso:hot:', also }), {
        values: [JSON.stringify({ sessionUid: 'uid-7', grantId: 7 })],
        followed: { id: 'uid-7', value: 'hot-7' },
      });
      assert.deepEqual(await store.mgetFollowing(['followalso:absent'], { of: 0, field: 'sessionUid', prefix: 'followalso:hot:', index, also }), { values: [undefined] });
    });

    it('mgetFollowing reads keys and, in the same call, the key named by a string field of one of them', async function () {
      await store.set('follow:token', JSON.stringify({ kind: 'RefreshToken', sessionUid: 'uid-1', n: 3 }), 100);
      await store.set('follow:marker', '12');
      await store.set('follow:hot:uid-1', 'hot-1');
      assert.deepEqual(await store.mgetFollowing(['follow:token', 'follow:marker'], { of: 0, field: 'sessionUid', prefix: 'follow:hot:' }), {
        values: [JSON.stringify({ kind: 'RefreshToken', sessionUid: 'uid-1', n: 3 }), '12'],
        followed: { id: 'uid-1', value: 'hot-1' },
      });
      await store.set('follow:other', JSON.stringify({ sessionUid: 'uid-2' }));
      assert.deepEqual(await store.mgetFollowing(['follow:absent', 'follow:other'], { of: 1, field: 'sessionUid', prefix: 'follow:hot:' }), {
        values: [undefined, JSON.stringify({ sessionUid: 'uid-2' })],
        followed: { id: 'uid-2', value: undefined },
      });
      // Nothing to follow: the key is absent, not JSON, or the field is missing or not a string.
      assert.deepEqual(await store.mgetFollowing(['follow:absent', 'follow:marker'], { of: 0, field: 'sessionUid', prefix: 'follow:hot:' }), { values: [undefined, '12'] });
      await store.set('follow:text', 'not json');
      await store.set('follow:number', JSON.stringify({ sessionUid: 7 }));
      for (const key of ['follow:text', 'follow:number', 'follow:marker']) {
        assert.deepEqual(await store.mgetFollowing([key], { of: 0, field: 'sessionUid', prefix: 'follow:hot:' }), { values: [key === 'follow:text' ? 'not json' : key === 'follow:number' ? JSON.stringify({ sessionUid: 7 }) : '12'] });
      }
    });

    it('mget returns values in key order with undefined for missing keys', async function () {
      await store.set('mget:a', '1');
      await store.set('mget:c', '3', 100);
      assert.deepEqual(await store.mget(['mget:a', 'mget:b', 'mget:c', 'mget:a']), ['1', undefined, '3', '1']);
      assert.deepEqual(await store.mget([]), []);
    });

    it('publish delivers to subscribers of the channel only', async function () {
      const first = await listen(store, 'pubsub:news');
      const second = await listen(store, 'pubsub:news');
      const other = await listen(store, 'pubsub:other');

      await store.publish('pubsub:news', 'hello');
      await waitFor(() => first.heard.length === 1 && second.heard.length === 1);
      assert.deepEqual(first.heard, ['hello']);
      assert.deepEqual(second.heard, ['hello']);

      // After unsubscribe resolves, no more deliveries to that handler. The second handler,
      // subscribed later on the same channel, is the sign that the message has gone through.
      await first.off();
      await store.publish('pubsub:news', 'again');
      await waitFor(() => second.heard.length === 2);
      assert.deepEqual(first.heard, ['hello']);
      assert.deepEqual(second.heard, ['hello', 'again']);
      assert.deepEqual(other.heard, []);

      // With the channel's last handler gone, nothing is delivered; wait a moment to be sure.
      await second.off();
      await second.off(); // idempotent
      await store.publish('pubsub:news', 'nobody');
      await store.publish('pubsub:other', 'ping');
      await waitFor(() => other.heard.length === 1);
      await sleep(50);
      assert.deepEqual(second.heard, ['hello', 'again']);

      // A channel can be subscribed to again after it was fully unsubscribed.
      const third = await listen(store, 'pubsub:news');
      await store.publish('pubsub:news', 'back');
      await waitFor(() => third.heard.length === 1);
      assert.deepEqual(third.heard, ['back']);

      await third.off();
      await other.off();
    });

    it('ping succeeds', async function () {
      await store.ping();
    });
  });
}

describeStoreContract('memory', async () => createMemoryStore());

describe('createStore', function () {
  it('uses the memory store when no Redis URL is configured', async function () {
    const store = await createStore({ prefix: 'test:' });
    try {
      assert.equal(store.kind, 'memory');
    } finally {
      await store.close();
    }
  });
});

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  // A random prefix per run, so runs never see each other's keys and cleanup deletes only ours.
  const runPrefix = `test:${randomBytes(6).toString('hex')}:`;

  describe('Redis store', function () {
    after(async function () {
      // SCAN + DEL of this run's keys only: the database may be shared, so never FLUSHDB.
      const raw = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await raw.scan(cursor, 'MATCH', `${runPrefix}*`, 'COUNT', 500);
          if (keys.length > 0) await raw.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        await raw.quit();
      }
    });

    describeStoreContract('redis', () => createRedisStore({ url: redisUrl, prefix: runPrefix }));

    it('keeps stores with different prefixes apart (keys and channels)', async function () {
      const one = await createRedisStore({ url: redisUrl, prefix: `${runPrefix}one:` });
      const two = await createRedisStore({ url: redisUrl, prefix: `${runPrefix}two:` });
      try {
        await one.set('shared', 'from one');
        assert.equal(await two.get('shared'), undefined);
        await two.set('shared', 'from two');
        assert.equal(await one.get('shared'), 'from one');
        assert.equal(await two.consume('shared'), 'from two');
        assert.equal(await one.get('shared'), 'from one');

        const onTwo = await listen(two, 'channel');
        const onOne = await listen(one, 'channel');
        await one.publish('channel', 'hi');
        await waitFor(() => onOne.heard.length === 1);
        await sleep(50);
        assert.deepEqual(onTwo.heard, []);
        await onOne.off();
        await onTwo.off();
      } finally {
        await one.close();
        await two.close();
      }
    });

    it('an invalidating cache keeps nothing from before its subscriber connection dropped: invalidations published meanwhile are lost', async function () {
      const prefix = `${runPrefix}gap:`;
      const one = await createRedisStore({ url: redisUrl, prefix });
      const two = await createRedisStore({ url: redisUrl, prefix });
      const raw = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
      const subscribers = async () => Number(((await raw.pubsub('NUMSUB', `${prefix}cache:gap`)) as [string, number])[1]);
      const until = async (condition: () => Promise<boolean>) => {
        for (let i = 0; i < 500 && !(await condition()); i += 1) await sleep(20);
        assert.ok(await condition(), 'timed out');
      };
      let value = 'before';
      const onOne = await createInvalidatingCache({ store: one, name: 'gap', load: async () => value });
      const onTwo = await createInvalidatingCache({ store: two, name: 'gap', load: async () => value });
      try {
        assert.equal(await onTwo.get('k'), 'before');
        assert.equal(await subscribers(), 2);
        // The server drops every pub/sub connection; the invalidation published before they are
        // back reaches nobody.
        await raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
        await until(async () => (await subscribers()) === 0);
        value = 'after';
        await onOne.invalidate('k');
        await until(async () => (await subscribers()) === 2);
        assert.equal(await onTwo.get('k'), 'after', 'a value kept from before the drop is not served after it');
        value = 'later';
        await onOne.invalidate('k');
        await until(async () => (await onTwo.get('k')) === 'later');
      } finally {
        await onOne.close();
        await onTwo.close();
        raw.disconnect();
        await one.close();
        await two.close();
      }
    });

    it('createStore uses Redis when a URL is configured', async function () {
      const store = await createStore({ redisUrl, prefix: runPrefix });
      try {
        assert.equal(store.kind, 'redis');
        await store.ping();
      } finally {
        await store.close();
      }
    });

    it('rejects within about 5 s, naming host:port but not the password, when unreachable', async function () {
      this.timeout(10_000);
      const started = Date.now();
      await assert.rejects(createRedisStore({ url: 'redis://:hunter2-secret@127.0.0.1:1/0', prefix: runPrefix }), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /127\.0\.0\.1:1\b/);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 4_500 && elapsed < 7_000, `took ${elapsed} ms`);
    });
  });

  // The same contract on a real three-primary Redis Cluster started here: write(), mget(), del()
  // of several keys and the Lua scripts only work there because every key carries the
  // deployment's hash tag (CROSSSLOT otherwise).
  describe('Redis Cluster store', function () {
    this.timeout(60_000);
    let cluster: TestCluster | undefined;
    const nodesOf = (from: number, to: number) => cluster!.nodes.slice(from, to).map((node) => ({ host: '127.0.0.1', port: node.port }));

    before(async function () {
      cluster = await startCluster();
    });
    after(async function () {
      await cluster?.stop();
    });

    describeStoreContract('redis', () => createRedisStore({ connection: { mode: 'cluster', nodes: nodesOf(0, 3) }, prefix: runPrefix }), 'redis cluster');

    it('keeps all keys of a deployment in one slot, under the prefix as hash tag', async function () {
      const store = await createRedisStore({ connection: { mode: 'cluster', nodes: nodesOf(0, 3) }, prefix: runPrefix });
      const raw = new Redis({ host: '127.0.0.1', port: cluster!.nodes[0]!.port, maxRetriesPerRequest: 2 });
      try {
        // Keys Redis would hash to different slots without the tag.
        const keys = ['slot:a', 'slot:b', 'slot:c', 'slot:d'];
        await store.write(keys.map((key) => ({ op: 'set' as const, key, value: key })));
        assert.deepEqual(await store.mget(keys), keys);
        const slots = new Set(await Promise.all(keys.map((key) => raw.cluster('KEYSLOT', `{${runPrefix}}${key}`))));
        assert.equal(slots.size, 1);
        assert.equal(await store.del(...keys), 4);
      } finally {
        raw.disconnect();
        await store.close();
      }
    });

    it('delivers pub/sub between stores that joined the cluster through different nodes', async function () {
      const one = await createRedisStore({ connection: { mode: 'cluster', nodes: nodesOf(0, 1) }, prefix: runPrefix });
      const two = await createRedisStore({ connection: { mode: 'cluster', nodes: nodesOf(2, 3) }, prefix: runPrefix });
      try {
        const onTwo = await listen(two, 'invalidate');
        await one.publish('invalidate', 'user:1');
        await waitFor(() => onTwo.heard.length === 1);
        assert.deepEqual(onTwo.heard, ['user:1']);
        await onTwo.off();
      } finally {
        await one.close();
        await two.close();
      }
    });
  });
}
