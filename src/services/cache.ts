// A per-node read-through cache whose entries are dropped on every node at once through the
// store's pub/sub when the underlying row changes, so any node may serve any request.
import type { KeyValueStore } from '../store/types.ts';
import { cacheCounters } from '../telemetry/metrics.ts';

export interface InvalidatingCache<T> {
  get(key: string): Promise<T | undefined>;
  /** Drops the key (or everything, for '*') here and on every other node. */
  invalidate(key: string): Promise<void>;
  clear(): void;
  close(): Promise<void>;
}

/**
 * Where invalidations come from when it is not the store's pub/sub: e.g. PostgreSQL NOTIFY sent
 * by a trigger, which reaches every node whoever changed the row. While `active()` is false
 * (the feed is down) the cache keeps nothing and reads through.
 */
export interface InvalidationFeed {
  subscribe(onKey: (key: string) => void): Promise<{ active(): boolean; close(): Promise<void> }>;
}

export async function createInvalidatingCache<T>(options: {
  store: KeyValueStore;
  name: string;
  load: (key: string) => Promise<T | undefined>;
  ttlMs?: number;
  maxEntries?: number;
  /** Instead of the store's pub/sub: invalidate() then only drops the key here. */
  feed?: InvalidationFeed;
  /** Keep undefined answers too (the default); false: only found values are kept. */
  cacheMisses?: boolean;
}): Promise<InvalidatingCache<T>> {
  const ttlMs = options.ttlMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const cacheMisses = options.cacheMisses ?? true;
  const entries = new Map<string, { value: T | undefined; expiresAt: number }>();
  // A load that started before an invalidation must not repopulate the cache with stale data.
  let generation = 0;
  const drop = (key: string) => {
    generation += 1;
    if (key === '*') entries.clear();
    else entries.delete(key);
  };
  const channel = `cache:${options.name}`;
  let active = () => true;
  let unsubscribe: () => Promise<void>;
  if (options.feed) {
    const subscription = await options.feed.subscribe(drop);
    active = () => subscription.active();
    unsubscribe = () => subscription.close();
  } else {
    // While the store's pub/sub may be missing invalidations, keep nothing and read through; what
    // was kept before is dropped both when the link goes and when it comes back.
    let linked = true;
    active = () => linked;
    unsubscribe = await options.store.subscribe(channel, drop, (now) => {
      linked = now;
      drop('*');
    });
  }

  const lookups = cacheCounters(options.name);
  return {
    async get(key) {
      if (!active()) return options.load(key);
      const hit = entries.get(key);
      if (hit && hit.expiresAt > Date.now()) {
        lookups.hit();
        return hit.value;
      }
      lookups.miss();
      const started = generation;
      const value = await options.load(key);
      if (started === generation && active() && (cacheMisses || value !== undefined)) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        entries.set(key, { value, expiresAt: Date.now() + ttlMs });
      }
      return value;
    },
    async invalidate(key) {
      drop(key);
      if (!options.feed) await options.store.publish(channel, key);
    },
    clear() {
      entries.clear();
    },
    async close() {
      await unsubscribe();
    },
  };
}
