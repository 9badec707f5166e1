// limitPasswordConcurrency (src/services/passwords.ts): never more argon2id computations at once
// than allowed, every caller served in turn with its own answer, failures passed on.
import assert from 'node:assert/strict';
import { limitPasswordConcurrency, type PasswordHasher } from '../../src/services/passwords.ts';

function fakeHasher() {
  let running = 0;
  let peak = 0;
  const work = async <T>(value: T): Promise<T> => {
    running += 1;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running -= 1;
    return value;
  };
  const hasher: PasswordHasher = {
    stats: { verifications: 0, dummyVerifications: 0 },
    hash: (password) => work(`hash:${password}`),
    verify: async (hash, password) => {
      if (password === 'boom') {
        await work(null);
        throw new Error('boom');
      }
      return work(hash === `hash:${password}`);
    },
    needsRehash: () => false,
  };
  return { hasher, peak: () => peak };
}

describe('password hashing concurrency', () => {
  it('runs at most the allowed number at once and answers every caller', async () => {
    const fake = fakeHasher();
    const limited = limitPasswordConcurrency(fake.hasher, 2);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? limited.hash(`p${i}`) : limited.verify(`hash:p${i}`, i % 2 ? `p${i}` : 'wrong'))));
    assert.equal(fake.peak(), 2);
    assert.deepEqual(
      answers,
      Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? `hash:p${i}` : i % 2 === 1)),
    );
    assert.equal(limited.needsRehash('x'), false, 'other methods pass through');
  });

  it('frees the slot of a computation that fails', async () => {
    const fake = fakeHasher();
    const limited = limitPasswordConcurrency(fake.hasher, 1);
    const results = await Promise.allSettled([limited.verify('h', 'boom'), limited.verify('h', 'boom'), limited.hash('after')]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'fulfilled'],
    );
    assert.equal(fake.peak(), 1);
  });

  it('bounds the line: past maxWaiting a call fails at once with service.busy (503) and the rest are served', async () => {
    const fake = fakeHasher();
    const limited = limitPasswordConcurrency(fake.hasher, 1, 2);
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => limited.hash(`p${i}`)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'],
    );
    const refused = (results[3] as PromiseRejectedResult).reason as { code: string; status: number };
    assert.deepEqual([refused.code, refused.status], ['service.busy', 503]);
    assert.equal(await limited.hash('later'), 'hash:later', 'a later call is served again');
  });
});
