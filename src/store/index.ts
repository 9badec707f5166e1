// Chooses the key-value store for this process: Redis when configured (required for more than
// one node, since rate limits, single-use codes and pub/sub must be shared), otherwise the
// in-process map of the embedded single-node default.

import { createMemoryStore } from './memory.ts';
import { createRedisStore, type RedisConnection } from './redis.ts';
import type { KeyValueStore } from './types.ts';

export type { KeyValueStore, MessageHandler, WriteOp } from './types.ts';
export type { MemoryStoreOptions } from './memory.ts';
export type { RedisConnection, RedisNode, RedisStoreOptions } from './redis.ts';
export { createMemoryStore } from './memory.ts';
export { createRedisStore } from './redis.ts';

export interface StoreOptions {
  /** When set, Redis is used; the memory store otherwise. */
  redisUrl?: string;
  /** Sentinel or Cluster (or a URL); takes the place of redisUrl when given. */
  redis?: RedisConnection;
  /** Key and channel prefix; only meaningful for Redis, where several deployments may share a server. */
  prefix: string;
  /** Connection and subscription-handler errors; see RedisStoreOptions.onError. */
  onError?: (error: unknown) => void;
}

export async function createStore(options: StoreOptions): Promise<KeyValueStore> {
  // An empty string (e.g. REDIS_URL= in an env file) means "not configured", not a URL.
  if (options.redis) {
    return createRedisStore({ connection: options.redis, prefix: options.prefix, onError: options.onError });
  }
  if (options.redisUrl) {
    return createRedisStore({ url: options.redisUrl, prefix: options.prefix, onError: options.onError });
  }
  return createMemoryStore({ onError: options.onError });
}
