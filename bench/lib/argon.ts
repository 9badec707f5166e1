// The argon2id ceiling: how many password verifications per second this machine can do at
// Gatehouse's parameters, measured the way the server does them. Gatehouse is one Node process;
// node-argon2 runs each verification on libuv's threadpool (UV_THREADPOOL_SIZE, 4 by default)
// and the event loop only waits. So the ceiling is measured here the same way: one Node process
// (this one, with the same pool size as the server), `inFlight` verifications always outstanding
// — more than the pool has threads, so no thread ever idles — against a real hash made with
// Gatehouse's own hasher (src/services/passwords.ts: m=19456 KiB, t=2, p=1, NFKC).
import { createPasswordHasher, DEFAULT_PASSWORD_HASH_OPTIONS } from '../../src/services/passwords.ts';
import { LatencyRecorder } from './stats.ts';

export interface ArgonRound {
  ok: number;
  seconds: number;
  latency: LatencyRecorder;
}

export const ARGON_PARAMETERS = DEFAULT_PASSWORD_HASH_OPTIONS;

export function threadpoolSize(): number {
  const configured = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(configured) && configured > 0 ? configured : 4;
}

export async function prepareArgon(password: string): Promise<{ hasher: ReturnType<typeof createPasswordHasher>; hash: string }> {
  const hasher = createPasswordHasher();
  const hash = await hasher.hash(password);
  if (!(await hasher.verify(hash, password))) throw new Error('argon2: the fresh hash does not verify');
  return { hasher, hash };
}

export async function runArgonRound(argon: { hasher: ReturnType<typeof createPasswordHasher>; hash: string }, password: string, inFlight: number, seconds: number): Promise<ArgonRound> {
  const result: ArgonRound = { ok: 0, seconds: 0, latency: new LatencyRecorder() };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        if (!(await argon.hasher.verify(argon.hash, password))) throw new Error('argon2: verification failed');
        result.latency.record(performance.now() - t);
        result.ok += 1;
      }
    }),
  );
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
