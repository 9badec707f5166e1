// The key-value seam. Redis (ioredis) in production, an in-process map on the embedded default.
// Everything that must be single-use is made atomic here (SET NX, GETDEL, INCR), never as a
// check-then-set in JavaScript, so two nodes racing for one code or token never both get it.

export type MessageHandler = (message: string) => void;

/** One write of a batch (see KeyValueStore.write). */
export type WriteOp =
  | { op: 'set'; key: string; value: string; ttlSeconds?: number }
  | { op: 'sadd'; key: string; members: string[]; ttlSeconds?: number }
  | { op: 'del'; keys: string[] }
  /** As setIfAbsentWithTtlOf, within the batch (whether it set the key is not reported). */
  | { op: 'setIfAbsentWithTtlOf'; key: string; value: string; ttlOf: string; fallbackTtlSeconds: number };

export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  /** Value of `key`, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Several values at once, in the order of `keys`. */
  mget(keys: string[]): Promise<(string | undefined)[]>;
  /**
   * Follows an index in one round trip: the value of `indexKey` (an id), then `prefix + id` for
   * each of `prefixes` (undefined where absent), and of each of `alsoKeys` (read in the same call).
   * Undefined when the index key is absent.
   */
  mgetByIndex(indexKey: string, prefixes: string[], alsoKeys?: string[]): Promise<{ id: string; values: (string | undefined)[]; also: (string | undefined)[] } | undefined>;
  /**
   * mget, and in the same round trip one key named by what it read: when `keys[follow.of]` holds
   * a JSON object whose `follow.field` is a string, the value of `follow.prefix + that string`
   * (followed: undefined when there was nothing to follow).
   */
  //
  // With `follow.index`, the same call also follows the index `index.prefix + that string` (an
  // id, as mgetByIndex) to `p + id` for each of `index.prefixes` (indexed: undefined when the
  // index key is absent).
  //
  // With `follow.also`, the same call also reads `p + id2` for each of `also.prefixes`, where id2
  // is the string field `also.field` of the same JSON object (also: undefined when that field is
  // not a string), whether or not `follow.field` was one.
  mgetFollowing(
    keys: string[],
    follow: { of: number; field: string; prefix: string; index?: { prefix: string; prefixes: string[] }; also?: { field: string; prefixes: string[] } },
  ): Promise<{
    values: (string | undefined)[];
    followed?: { id: string; value: string | undefined; indexed?: { id: string; values: (string | undefined)[] } };
    also?: { id: string; values: (string | undefined)[] };
  }>;
  /** Sets `key`; with `ttlSeconds` it expires after that many seconds. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Sets `key` only if it does not exist; true when this call set it (atomic, SET NX). */
  setIfAbsent(key: string, value: string, ttlSeconds?: number): Promise<boolean>;
  /**
   * Sets `key` only if it does not exist, to expire with `ttlOf` (its remaining TTL; or
   * `fallbackTtlSeconds` when `ttlOf` is absent or has no expiry); true when this call set it.
   * One atomic step (a Lua script on Redis): a single-use marker that lives exactly as long as
   * the thing it marks, without a read before the write.
   */
  setIfAbsentWithTtlOf(key: string, value: string, ttlOf: string, fallbackTtlSeconds: number): Promise<boolean>;
  /**
   * Applies several writes at once, atomically and in order (MULTI/EXEC on Redis: one round
   * trip, and no other client sees some of them without the others). TTLs as for set and sadd.
   */
  write(ops: WriteOp[]): Promise<void>;
  /** Atomically reads and removes `key` (GETDEL): of many concurrent callers only one gets the value. */
  consume(key: string): Promise<string | undefined>;
  /** Removes keys; returns how many existed. */
  del(...keys: string[]): Promise<number>;
  /** Atomic counter; the TTL is set when the counter is created and not extended by later calls. */
  incr(key: string, ttlSeconds?: number): Promise<number>;
  /**
   * Gives back one count of an existing counter (a reserved attempt that turned out fine): DECR
   * only when the key exists and is above 0, keeping its TTL, so a counter that expired meanwhile
   * is never recreated without a window. Returns the value after, 0 when there was none.
   */
  decrIfPositive(key: string): Promise<number>;
  /** Remaining seconds to live; undefined when the key is absent, -1 when it has no expiry. */
  ttl(key: string): Promise<number | undefined>;
  expire(key: string, ttlSeconds: number): Promise<void>;
  /** Set operations. A TTL given to sadd is (re)applied to the whole set. */
  sadd(key: string, members: string[], ttlSeconds?: number): Promise<void>;
  srem(key: string, members: string[]): Promise<void>;
  smembers(key: string): Promise<string[]>;
  /** Pub/sub across every node sharing the store. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Returns a function that removes the subscription. Messages published while the subscriber's
   * connection is down are lost (pub/sub keeps nothing): `onLink(false)` says that from now on
   * messages may be missed, `onLink(true)` that the subscription hears them again. An in-process
   * store never loses one and never calls it.
   */
  subscribe(channel: string, handler: MessageHandler, onLink?: (linked: boolean) => void): Promise<() => Promise<void>>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
