// Scheduled jobs run once per slot across every node sharing the store: the in-process store
// always, Redis (two connections, as two nodes have) when REDIS_URL is set.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/logger.ts';
import { createScheduler } from '../../src/services/scheduler.ts';
import { createMemoryStore, createRedisStore } from '../../src/store/index.ts';
import type { KeyValueStore } from '../../src/store/index.ts';

const logger = createLogger('silent');

function schedulerSuite(name: string, twoNodes: () => Promise<[KeyValueStore, KeyValueStore]>) {
  describe(`scheduler on ${name}`, function () {
    let stores: [KeyValueStore, KeyValueStore];
    before(async function () {
      stores = await twoNodes();
    });
    after(async () => {
      await Promise.all([...new Set(stores ?? [])].map((s) => s.close()));
    });

    it('runs a job once per slot when two nodes claim it at the same moment', async () => {
      const runs: string[] = [];
      const [a, b] = stores.map((store) => createScheduler({ store, logger, now: () => 1_800_000_000_000 }));
      a!.register({ name: 'cleanup', intervalSeconds: 60, run: async () => runs.push('a') });
      b!.register({ name: 'cleanup', intervalSeconds: 60, run: async () => runs.push('b') });
      const results = await Promise.all([a!.runIfDue('cleanup'), b!.runIfDue('cleanup'), a!.runIfDue('cleanup'), b!.runIfDue('cleanup')]);
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(runs.length, 1);
    });

    it('runs again in the next slot, and keeps going after a job throws', async () => {
      let clock = 1_900_000_000_000;
      const scheduler = createScheduler({ store: stores[0], logger, now: () => clock });
      let calls = 0;
      scheduler.register({
        name: 'flaky',
        intervalSeconds: 60,
        run: async () => {
          calls += 1;
          throw new Error('boom');
        },
      });
      assert.equal(await scheduler.runIfDue('flaky'), true);
      assert.equal(await scheduler.runIfDue('flaky'), false, 'same slot');
      clock += 60_000;
      assert.equal(await scheduler.runIfDue('flaky'), true, 'next slot');
      assert.equal(calls, 2);
    });

    it('refuses bad job definitions and unknown names', async () => {
      const scheduler = createScheduler({ store: stores[0], logger });
      assert.throws(() => scheduler.register({ name: 'Bad Name', intervalSeconds: 60, run: async () => undefined }), /invalid job name/);
      assert.throws(() => scheduler.register({ name: 'zero', intervalSeconds: 0, run: async () => undefined }), /at least 1/);
      await assert.rejects(scheduler.runIfDue('missing'), /no scheduled job named "missing"/);
    });
  });
}

schedulerSuite('the in-process store', async () => {
  const store = createMemoryStore();
  return [store, store];
});

if (process.env.REDIS_URL) {
  const url = process.env.REDIS_URL;
  schedulerSuite('Redis', async () => {
    const prefix = `test:sched:${randomBytes(4).toString('hex')}:`;
    return [await createRedisStore({ url, prefix }), await createRedisStore({ url, prefix })];
  });
}
