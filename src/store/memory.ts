// In-process implementation of the key-value seam, for the embedded single-node default and
// for tests. It mirrors Redis semantics closely enough that code written against it behaves the
// same when deployed on Redis: the contract suite in test/integration runs against both.
//
// Atomicity: every method does all of its reading and writing synchronously, before its
// returned promise settles, and never awaits in between. JavaScript runs one turn at a time, so
// no other caller can observe or interleave with a half-done operation (the in-process
// equivalent of SET NX / GETDEL / INCR being single Redis commands).

import type { KeyValueStore, MessageHandler, WriteOp } from './types.ts';

export interface MemoryStoreOptions {
  /** How often expired entries are purged; reads expire lazily regardless. Default 30 s. */
  sweepIntervalMs?: number;
  /** Clock in epoch milliseconds; injectable so expiry can be tested without sleeping. */
  now?: () => number;
  /** Receives errors thrown by subscription handlers; they are dropped when not given. */
  onError?: (error: unknown) => void;
}

type Entry = { kind: 'string'; value: string; expiresAt: number | undefined } | { kind: 'set'; members: Set<string>; expiresAt: number | undefined };

interface Subscription {
  readonly handler: MessageHandler;
}

// Same texts as the Redis errors, so callers that log or match on them see the same thing.
const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
const NOT_INTEGER = 'ERR value is not an integer or out of range';
const INTEGER_PATTERN = /^-?(0|[1-9][0-9]*)$/;

// Redis rejects a zero, negative or fractional EX, so the memory store does too: otherwise a
// caller bug (say ttl computed as 0) would only surface once deployed on Redis.
function assertTtl(ttlSeconds: number, command: string): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new Error(`ERR invalid expire time in '${command}' command`);
  }
}

export function createMemoryStore(options: MemoryStoreOptions = {}): KeyValueStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const channels = new Map<string, Set<Subscription>>();
  let closed = false;

  const sweep = (): void => {
    const time = now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= time) entries.delete(key);
    }
  };
  // Lazy expiry alone would keep never-read keys (abandoned sessions, one-off nonces) forever.
  // unref() so an idle store never keeps the process alive; close() clears it.
  const sweepTimer = setInterval(sweep, options.sweepIntervalMs ?? 30_000);
  sweepTimer.unref();

  const assertOpen = (): void => {
    // Mirrors ioredis rejecting commands after quit(), so use-after-close bugs show up here too.
    if (closed) throw new Error('Memory store is closed');
  };

  /** The live entry for `key`, dropping it first if it has expired. */
  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  const expiryFor = (ttlSeconds: number | undefined, command: string): number | undefined => {
    if (ttlSeconds === undefined) return undefined;
    assertTtl(ttlSeconds, command);
    return now() + ttlSeconds * 1000;
  };

  const stringValue = (key: string): string | undefined => {
    const entry = live(key);
    if (entry === undefined) return undefined;
    if (entry.kind !== 'string') throw new Error(WRONGTYPE);
    return entry.value;
  };

  /** A string value, undefined for an absent key or one of another type (as MGET answers). */
  const stringOf = (key: string): string | undefined => {
    const entry = live(key);
    return entry?.kind === 'string' ? entry.value : undefined;
  };

  function setIfAbsentWithTtlOf(key: string, value: string, ttlOf: string, fallbackTtlSeconds: number): boolean {
    if (live(key) !== undefined) return false;
    const source = live(ttlOf);
    // Like the Redis script: the other key's remaining time, rounded up to whole seconds.
    const expiresAt = source?.expiresAt !== undefined ? now() + Math.max(1, Math.ceil((source.expiresAt - now()) / 1000)) * 1000 : now() + fallbackTtlSeconds * 1000;
    entries.set(key, { kind: 'string', value, expiresAt });
    return true;
  }

  return {
    kind: 'memory',

    async get(key) {
      assertOpen();
      return stringValue(key);
    },

    async mget(keys) {
      assertOpen();
      // MGET answers nil (not an error) for keys holding another type.
      return keys.map((key) => {
        const entry = live(key);
        return entry?.kind === 'string' ? entry.value : undefined;
      });
    },

    async mgetByIndex(indexKey, prefixes, alsoKeys = []) {
      assertOpen();
      const index = live(indexKey);
      if (index?.kind !== 'string') return undefined;
      const id = index.value;
      return { id, values: prefixes.map((prefix) => stringOf(prefix + id)), also: alsoKeys.map(stringOf) };
    },

    async mgetFollowing(keys, follow) {
      assertOpen();
      const values = keys.map(stringOf);
      const source = values[follow.of];
      let id: unknown;
      try {
        id = source === undefined ? undefined : (JSON.parse(source) as Record<string, unknown> | null)?.[follow.field];
      } catch {
        // not JSON: nothing to follow
      }
      let alsoId: unknown;
      try {
        alsoId = source === undefined || !follow.also ? undefined : (JSON.parse(source) as Record<string, unknown> | null)?.[follow.also.field];
      } catch {
        // not JSON: nothing to follow
      }
      const also = follow.also && typeof alsoId === 'string' ? { id: alsoId, values: follow.also.prefixes.map((prefix) => stringOf(prefix + alsoId)) } : undefined;
      if (typeof id !== 'string') return also ? { values, also } : { values };
      const followed: { id: string; value: string | undefined; indexed?: { id: string; values: (string | undefined)[] } } = { id, value: stringOf(follow.prefix + id) };
      const target = follow.index ? stringOf(follow.index.prefix + id) : undefined;
      if (follow.index && target !== undefined) followed.indexed = { id: target, values: follow.index.prefixes.map((prefix) => stringOf(prefix + target)) };
      return also ? { values, followed, also } : { values, followed };
    },

    async set(key, value, ttlSeconds) {
      assertOpen();
      // Like a plain SET, this replaces any previous value and TTL.
      entries.set(key, { kind: 'string', value, expiresAt: expiryFor(ttlSeconds, 'set') });
    },

    async setIfAbsent(key, value, ttlSeconds) {
      assertOpen();
      const expiresAt = expiryFor(ttlSeconds, 'set');
      if (live(key) !== undefined) return false;
      entries.set(key, { kind: 'string', value, expiresAt });
      return true;
    },

    async setIfAbsentWithTtlOf(key, value, ttlOf, fallbackTtlSeconds) {
      assertOpen();
      assertTtl(fallbackTtlSeconds, 'set');
      return setIfAbsentWithTtlOf(key, value, ttlOf, fallbackTtlSeconds);
    },

    async write(ops: WriteOp[]) {
      assertOpen();
      // Validate everything first: MULTI on Redis rejects a bad TTL before anything applies.
      for (const op of ops) {
        if (op.op === 'setIfAbsentWithTtlOf') assertTtl(op.fallbackTtlSeconds, 'set');
        else if (op.op !== 'del' && op.ttlSeconds !== undefined) assertTtl(op.ttlSeconds, op.op === 'set' ? 'set' : 'expire');
      }
      for (const op of ops) {
        if (op.op === 'setIfAbsentWithTtlOf') {
          setIfAbsentWithTtlOf(op.key, op.value, op.ttlOf, op.fallbackTtlSeconds);
          continue;
        }
        if (op.op === 'set') {
          entries.set(op.key, { kind: 'string', value: op.value, expiresAt: expiryFor(op.ttlSeconds, 'set') });
        } else if (op.op === 'sadd') {
          let entry = live(op.key);
          if (entry !== undefined && entry.kind !== 'set') throw new Error(WRONGTYPE);
          if (entry === undefined && op.members.length > 0) {
            entry = { kind: 'set', members: new Set<string>(), expiresAt: undefined };
            entries.set(op.key, entry);
          }
          if (entry === undefined) continue;
          for (const member of op.members) entry.members.add(member);
          if (op.ttlSeconds !== undefined) entry.expiresAt = expiryFor(op.ttlSeconds, 'expire');
        } else {
          for (const key of op.keys) entries.delete(key);
        }
      }
    },

    async consume(key) {
      assertOpen();
      const value = stringValue(key);
      if (value !== undefined) entries.delete(key);
      return value;
    },

    async del(...keys) {
      assertOpen();
      let count = 0;
      // A Set so that del('a', 'a') counts 'a' once, as Redis does.
      for (const key of new Set(keys)) {
        if (live(key) !== undefined) {
          entries.delete(key);
          count += 1;
        }
      }
      return count;
    },

    async incr(key, ttlSeconds) {
      assertOpen();
      // Validated before anything changes, so a bad TTL never leaves a half-applied increment.
      const expiresAt = expiryFor(ttlSeconds, 'expire');
      const entry = live(key);
      if (entry === undefined) {
        entries.set(key, { kind: 'string', value: '1', expiresAt });
        return 1;
      }
      if (entry.kind !== 'string') throw new Error(WRONGTYPE);
      if (!INTEGER_PATTERN.test(entry.value)) throw new Error(NOT_INTEGER);
      const next = Number(entry.value) + 1;
      if (!Number.isSafeInteger(next)) throw new Error(NOT_INTEGER);
      entry.value = String(next);
      // The TTL is only applied when the counter has none (EXPIRE NX): a fixed rate-limit window
      // must not slide forward with every hit.
      if (entry.expiresAt === undefined) entry.expiresAt = expiresAt;
      return next;
    },

    async decrIfPositive(key) {
      assertOpen();
      const entry = live(key);
      if (entry === undefined) return 0;
      if (entry.kind !== 'string') throw new Error(WRONGTYPE);
      if (!INTEGER_PATTERN.test(entry.value)) throw new Error(NOT_INTEGER);
      const value = Number(entry.value);
      if (value <= 0) return value;
      entry.value = String(value - 1);
      return value - 1;
    },

    async ttl(key) {
      assertOpen();
      const entry = live(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt === undefined) return -1;
      return Math.ceil((entry.expiresAt - now()) / 1000);
    },

    async expire(key, ttlSeconds) {
      assertOpen();
      if (!Number.isSafeInteger(ttlSeconds)) throw new Error(NOT_INTEGER);
      const entry = live(key);
      if (entry === undefined) return;
      // EXPIRE with a non-positive TTL deletes the key in Redis.
      if (ttlSeconds <= 0) entries.delete(key);
      else entry.expiresAt = now() + ttlSeconds * 1000;
    },

    async sadd(key, members, ttlSeconds) {
      assertOpen();
      const expiresAt = expiryFor(ttlSeconds, 'expire');
      let entry = live(key);
      if (entry !== undefined && entry.kind !== 'set') throw new Error(WRONGTYPE);
      if (entry === undefined) {
        // Redis never stores an empty set, so adding nothing to an absent key creates nothing.
        if (members.length === 0) return;
        entry = { kind: 'set', members: new Set<string>(), expiresAt: undefined };
        entries.set(key, entry);
      }
      for (const member of members) entry.members.add(member);
      if (expiresAt !== undefined) entry.expiresAt = expiresAt;
    },

    async srem(key, members) {
      assertOpen();
      const entry = live(key);
      if (entry === undefined) return;
      if (entry.kind !== 'set') throw new Error(WRONGTYPE);
      for (const member of members) entry.members.delete(member);
      // Redis deletes a set when its last member goes; keep ttl()/get answers identical.
      if (entry.members.size === 0) entries.delete(key);
    },

    async smembers(key) {
      assertOpen();
      const entry = live(key);
      if (entry === undefined) return [];
      if (entry.kind !== 'set') throw new Error(WRONGTYPE);
      return [...entry.members];
    },

    async publish(channel, message) {
      assertOpen();
      const subscriptions = channels.get(channel);
      if (subscriptions === undefined) return;
      // Receivers are fixed at publish time, as in Redis, but delivery happens on a later turn so
      // a publisher never runs subscriber code inside its own call stack (Redis cannot either).
      for (const subscription of [...subscriptions]) {
        setImmediate(() => {
          // Dropped if unsubscribed in the meantime: an unsubscribe that has resolved means no
          // further calls to that handler.
          if (!channels.get(channel)?.has(subscription)) return;
          try {
            subscription.handler(message);
          } catch (error) {
            // One failing handler must not stop delivery to the others nor crash the process
            // from inside a timer, so the error goes to whoever asked to hear about it.
            options.onError?.(error);
          }
        });
      }
    },

    async subscribe(channel, handler) {
      assertOpen();
      // A fresh object per call, so the same function subscribed twice is two subscriptions and
      // each returned unsubscribe removes exactly its own.
      const subscription: Subscription = { handler };
      let subscriptions = channels.get(channel);
      if (subscriptions === undefined) {
        subscriptions = new Set();
        channels.set(channel, subscriptions);
      }
      subscriptions.add(subscription);
      return async () => {
        const current = channels.get(channel);
        if (current === undefined) return;
        current.delete(subscription);
        if (current.size === 0) channels.delete(channel);
      };
    },

    async ping() {
      assertOpen();
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweepTimer);
      entries.clear();
      channels.clear();
    },
  };
}
