// A per-node read-through cache whose entries are dropped on every node at once through the
// store's pub/sub when the underlying row changes (DESIGN.md "Scaling out").
import type { KeyValueStore } from '../store/types.ts';

export interface InvalidatingCache<T> {
  get(key: string): Promise<T | undefined>;
  /** Drops the key (or everything, for '*') here and on every other node. */
  invalidate(key: string): Promise<void>;
  clear(): void;
  close(): Promise<void>;
}

export async function createInvalidatingCache<T>(options: {
  store: KeyValueStore;
  name: string;
  load: (key: string) => Promise<T | undefined>;
  ttlMs?: number;
  maxEntries?: number;
}): Promise<InvalidatingCache<T>> {
  const ttlMs = options.ttlMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { value: T | undefined; expiresAt: number }>();
  // A load that started before an invalidation must not repopulate the cache with stale data.
  let generation = 0;
  const channel = `cache:${options.name}`;
  const unsubscribe = await options.store.subscribe(channel, (key) => {
    generation += 1;
    if (key === '*') entries.clear();
    else entries.delete(key);
  });

  return {
    async get(key) {
      const hit = entries.get(key);
      if (hit && hit.expiresAt > Date.now()) return hit.value;
      const started = generation;
      const value = await options.load(key);
      if (started === generation) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        entries.set(key, { value, expiresAt: Date.now() + ttlMs });
      }
      return value;
    },
    async invalidate(key) {
      generation += 1;
      if (key === '*') entries.clear();
      else entries.delete(key);
      await options.store.publish(channel, key);
    },
    clear() {
      entries.clear();
    },
    async close() {
      await unsubscribe();
    },
  };
}
