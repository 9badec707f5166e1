// Redis implementation of the key-value seam (ioredis): one server, a Sentinel-managed primary or
// a Redis Cluster. Every operation that must be atomic is a single Redis command, a MULTI, or a
// Lua script: never a read followed by a write from here, because several Gatehouse nodes share
// this Redis and would race each other. On a cluster all keys share one hash tag (redisKeyMapper),
// so those multi-key commands and scripts stay on one slot.

import { createHash } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisConnection, RedisNode } from '../config/index.ts';
import type { KeyValueStore, MessageHandler } from './types.ts';

export type { RedisConnection, RedisNode };

export interface RedisStoreOptions {
  /** redis:// or rediss:// URL of one server; may carry a password, which is never echoed in errors. */
  url?: string;
  /** Sentinel, Cluster or a URL; `url` is the shorthand for the standalone case. */
  connection?: RedisConnection;
  /** Prepended to every key and channel, so several deployments can share one Redis. */
  prefix: string;
  /**
   * Receives connection errors after start-up (ioredis keeps reconnecting by itself) and errors
   * thrown by subscription handlers. Without it they are dropped: failed commands still reject
   * and ping() still reports an unreachable Redis.
   */
  onError?: (error: unknown) => void;
}

const CONNECT_TIMEOUT_MS = 5_000;

// INCR, then set the TTL only if the key has none (the EXPIRE NX semantics, but runnable on
// Redis 6.2 which GETDEL already requires). One script, so no other client can run between the
// increment and the expiry and a counter can never be left without its window.
const INCR_WITH_TTL_SCRIPT = `
local value = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return value
`;
const INCR_WITH_TTL_SHA = createHash('sha1').update(INCR_WITH_TTL_SCRIPT).digest('hex');

// DECR only an existing counter above 0: a counter that expired is not brought back as -1 with
// no expiry (a plain DECR would create it so).
const DECR_IF_POSITIVE_SCRIPT = `
local value = tonumber(redis.call('GET', KEYS[1]) or '0')
if value > 0 then return redis.call('DECR', KEYS[1]) end
return value
`;
const DECR_IF_POSITIVE_SHA = createHash('sha1').update(DECR_IF_POSITIVE_SCRIPT).digest('hex');

// SET NX with the remaining TTL of another key (KEYS[2]), or ARGV[2] when that key is absent
// (-2) or has no expiry (-1). One script, so the marker and its lifetime are decided together.
const SET_NX_WITH_TTL_OF_SCRIPT = `
local ttl = redis.call('TTL', KEYS[2])
if ttl < 1 then ttl = tonumber(ARGV[2]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ttl) then return 1 end
return 0
`;
const SET_NX_WITH_TTL_OF_SHA = createHash('sha1').update(SET_NX_WITH_TTL_OF_SCRIPT).digest('hex');

// mgetByIndex(): GET of the index key (KEYS[1]), then GET of each ARGV prefix followed by the id it
// holds. The keys read second are not declared; on a Cluster they carry the same hash tag as
// KEYS[1] (redisKeyMapper), so they live in its slot and on its node.
// Keys after KEYS[1] are read as they are, after the prefixed ones.
const MGET_BY_INDEX_SCRIPT = `
local id = redis.call('GET', KEYS[1])
if not id then return false end
local out = { id }
for i = 1, #ARGV do
  local value = redis.call('GET', ARGV[i] .. id)
  if value then out[i + 1] = value else out[i + 1] = false end
end
for i = 2, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if value then out[#ARGV + i] = value else out[#ARGV + i] = false end
end
return out
`;
const MGET_BY_INDEX_SHA = createHash('sha1').update(MGET_BY_INDEX_SCRIPT).digest('hex');

// mgetFollowing(): GET of each key, then, when KEYS[ARGV[1]] holds a JSON object whose field
// ARGV[2] is a string (an id), GET of ARGV[3] followed by that id (not declared: the same hash
// tag on a Cluster, as for mgetByIndex). ARGV[4] counts the index arguments after it: none, or
// an index prefix (GET of it followed by the id gives a target) and the prefixes each followed by
// that target. After them, a field name ('' for none) whose string value in the same object is
// a second id, and the prefixes each followed by that id. The reply has a fixed shape, false
// where nothing was found or there was nothing to follow: the values, the id, its value, the
// index target, one value per index prefix, the second id, one value per prefix after it.
const MGET_FOLLOWING_SCRIPT = `
local out = {}
for i = 1, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if value then out[i] = value else out[i] = false end
end
local nIndex = tonumber(ARGV[4])
local alsoAt = 5 + nIndex
local nIndexed = math.max(nIndex - 1, 0)
local nAlso = #ARGV - alsoAt
for i = #KEYS + 1, #KEYS + 4 + nIndexed + nAlso do out[i] = false end
local source = out[tonumber(ARGV[1])]
if source then
  local ok, doc = pcall(cjson.decode, source)
  if ok and type(doc) == 'table' then
    if type(doc[ARGV[2]]) == 'string' then
      local id = doc[ARGV[2]]
      out[#KEYS + 1] = id
      out[#KEYS + 2] = redis.call('GET', ARGV[3] .. id) or false
      if nIndex > 0 then
        local target = redis.call('GET', ARGV[5] .. id)
        if target then
          out[#KEYS + 3] = target
          for i = 1, nIndexed do out[#KEYS + 3 + i] = redis.call('GET', ARGV[5 + i] .. target) or false end
        end
      end
    end
    if ARGV[alsoAt] ~= '' and type(doc[ARGV[alsoAt]]) == 'string' then
      local id = doc[ARGV[alsoAt]]
      out[#KEYS + 4 + nIndexed] = id
      for i = 1, nAlso do out[#KEYS + 4 + nIndexed + i] = redis.call('GET', ARGV[alsoAt + i] .. id) or false end
    end
  end
end
return out
`;
const MGET_FOLLOWING_SHA = createHash('sha1').update(MGET_FOLLOWING_SCRIPT).digest('hex');

// write(): a batch of SET / SADD(+EXPIRE) / DEL / SET NX with another key's TTL as one script,
// atomic like MULTI/EXEC but one command to send and one reply to read (a MULTI of five commands
// is seven of each). ARGV holds the operations in order: 'set', value, ttl (0: none) | 'sadd', ttl
// (0: none), n, n members | 'del', n | 'setnxttlof', value, fallback ttl; each operation takes its
// keys from KEYS in order (del: n of them; setnxttlof: the key, then the key whose TTL it takes).
// Arguments are checked before anything is written, so a refused TTL leaves nothing half done.
const WRITE_SCRIPT = `
local i, k = 1, 1
local ops = {}
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'set' then
    local ttl = tonumber(ARGV[i + 2])
    if ttl < 0 or ttl % 1 ~= 0 then return redis.error_reply("ERR invalid expire time in 'set' command") end
    ops[#ops + 1] = { 'set', KEYS[k], ARGV[i + 1], ttl }
    i, k = i + 3, k + 1
  elseif op == 'sadd' then
    local ttl, n = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
    if ttl < 0 or ttl % 1 ~= 0 then return redis.error_reply("ERR invalid expire time in 'expire' command") end
    local members = {}
    for j = 1, n do members[j] = ARGV[i + 2 + j] end
    ops[#ops + 1] = { 'sadd', KEYS[k], members, ttl }
    i, k = i + 3 + n, k + 1
  elseif op == 'setnxttlof' then
    local fallback = tonumber(ARGV[i + 2])
    if fallback < 1 or fallback % 1 ~= 0 then return redis.error_reply("ERR invalid expire time in 'set' command") end
    ops[#ops + 1] = { 'setnxttlof', KEYS[k], ARGV[i + 1], fallback, KEYS[k + 1] }
    i, k = i + 3, k + 2
  else
    local n = tonumber(ARGV[i + 1])
    local keys = {}
    for j = 1, n do keys[j] = KEYS[k + j - 1] end
    ops[#ops + 1] = { 'del', keys }
    i, k = i + 2, k + n
  end
end
for _, op in ipairs(ops) do
  if op[1] == 'set' then
    if op[4] > 0 then redis.call('SET', op[2], op[3], 'EX', op[4]) else redis.call('SET', op[2], op[3]) end
  elseif op[1] == 'sadd' then
    if #op[3] > 0 then redis.call('SADD', op[2], unpack(op[3])) end
    if op[4] > 0 then redis.call('EXPIRE', op[2], op[4]) end
  elseif op[1] == 'setnxttlof' then
    local ttl = redis.call('TTL', op[5])
    if ttl < 1 then ttl = op[4] end
    redis.call('SET', op[2], op[3], 'NX', 'EX', ttl)
  elseif #op[2] > 0 then
    redis.call('DEL', unpack(op[2]))
  end
end
return #ops
`;
const WRITE_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

interface Subscription {
  readonly handler: MessageHandler;
  readonly onLink?: (linked: boolean) => void;
}

interface ChannelState {
  readonly subscriptions: Set<Subscription>;
  /** Settles when Redis has confirmed the SUBSCRIBE; every subscriber of the channel awaits it. */
  ready: Promise<void>;
}

// EXPIRE with 0 or a negative number deletes the key in Redis; for incr/sadd that would silently
// destroy the counter or set, so such TTLs are refused here as SET EX refuses them.
function assertTtl(ttlSeconds: number, command: string): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new Error(`ERR invalid expire time in '${command}' command`);
  }
}

/** host:port for messages: the URL itself may contain a password. */
function describeAddress(connection: RedisConnection): string {
  const list = (nodes: RedisNode[]) => nodes.map((node) => `${node.host}:${node.port}`).join(',');
  if (connection.mode === 'sentinel') return `${connection.name} through the sentinels ${list(connection.sentinels)}`;
  if (connection.mode === 'cluster') return `the cluster ${list(connection.nodes)}`;
  const url = connection.url;
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '6379'}`;
  } catch {
    return '(unparseable Redis URL)';
  }
}

function waitForReady(client: Redis | Cluster, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const fail = (reason: string): void => {
      cleanup();
      const detail = lastError === undefined ? '' : `: ${lastError.message}`;
      reject(new Error(`Cannot connect to Redis at ${address} ${reason}${detail}`, { cause: lastError }));
    };
    const onError = (error: Error): void => {
      lastError = error;
    };
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const onEnd = (): void => fail('(connection ended)');
    const timer = setTimeout(() => fail(`within ${CONNECT_TIMEOUT_MS / 1000} s`), CONNECT_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('error', onError);
      client.off('ready', onReady);
      client.off('end', onEnd);
    };
    client.on('error', onError);
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}

/** Runs a MULTI and throws the first per-command error, which exec() only reports in its result. */
async function execOrThrow(results: Promise<[Error | null, unknown][] | null>): Promise<void> {
  const replies = await results;
  if (replies === null) throw new Error('Redis transaction was aborted');
  for (const [error] of replies) {
    if (error !== null) throw error;
  }
}

function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

async function quitOrDisconnect(client: Redis | Cluster): Promise<void> {
  // QUIT lets pending replies arrive; when the link is down there is nothing to wait for, and
  // a queued QUIT would only wait on reconnection attempts.
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
    return;
  }
  // In Sentinel mode QUIT ends the connection to the primary but not the failover detector's
  // subscriptions to the sentinels (ioredis cleans those up in disconnect() only); left open,
  // they try to reconnect every minute once the sentinels are gone and keep the process alive.
  if (client instanceof Redis) client.disconnect();
}

// While a Sentinel or Cluster failover is under way (the old primary gone, the new one not yet
// known) a command is retried on the new primary instead of failing: reconnection attempts
// 100, 200, … 1000 ms apart, then every second, twenty in all (about 15 s: the sentinels must
// notice the primary is down, agree and promote a replica); a single server keeps failing fast.
// oidc-provider turns a failed command inside its endpoints into a 500, so waiting is better.
const HA_RETRIES_PER_REQUEST = 20;
const haRetryDelay = (times: number): number => Math.min(times * 100, 1_000);

// A primary demoted to replica while we still talk to it answers writes with READONLY: reconnect
// (which asks the sentinels again) and resend the command there.
const reconnectOnReadonly = (error: Error): 2 | false => (error.message.startsWith('READONLY') ? 2 : false);

function connect(connection: RedisConnection): Redis | Cluster {
  // Shared by every mode. Commands issued in the same event-loop turn (by concurrent requests)
  // leave in one write and one pipeline instead of one socket write each; order and replies
  // are unchanged. Commands issued during a brief reconnect are queued, not failed at once.
  const common = { connectTimeout: CONNECT_TIMEOUT_MS, lazyConnect: false, enableOfflineQueue: true, enableAutoPipelining: true } as const;
  if (connection.mode === 'standalone') {
    // Fail a command after two reconnection attempts instead of queueing it for minutes:
    // callers are HTTP requests that should answer with an error quickly.
    return new Redis(connection.url, { ...common, maxRetriesPerRequest: 2 });
  }
  const auth = { ...(connection.username ? { username: connection.username } : {}), ...(connection.password ? { password: connection.password } : {}), ...(connection.tls ? { tls: {} } : {}) };
  if (connection.mode === 'sentinel') {
    const options: RedisOptions = {
      ...common,
      ...auth,
      sentinels: connection.sentinels,
      name: connection.name,
      role: 'master',
      db: connection.db ?? 0,
      ...(connection.sentinelPassword ? { sentinelPassword: connection.sentinelPassword } : {}),
      ...(connection.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      // Listen to the sentinels' +switch-master, so a failover is followed at once rather than
      // when the old primary's connection breaks.
      failoverDetector: true,
      maxRetriesPerRequest: HA_RETRIES_PER_REQUEST,
      retryStrategy: haRetryDelay,
      reconnectOnError: reconnectOnReadonly,
    };
    return new Redis(options);
  }
  const options: ClusterOptions = {
    enableOfflineQueue: true,
    enableAutoPipelining: true,
    lazyConnect: false,
    // Only primaries: a replica may lag, and single-use codes must be read where they are written.
    scaleReads: 'master',
    clusterRetryStrategy: haRetryDelay,
    redisOptions: { ...auth, connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: HA_RETRIES_PER_REQUEST, reconnectOnError: reconnectOnReadonly },
  };
  return new Cluster(connection.nodes, options);
}

/**
 * Maps the caller's key to the Redis key. On a Cluster every key of this deployment carries one
 * hash tag, `{prefix}`: Redis hashes only what is between the first braces, so all of them live
 * in one slot and every multi-key command (MGET, DEL of several keys) and every Lua script below
 * runs on one node, atomic as on a single server (Redis Cluster specification, "Hash tags").
 * The cluster brings failover and replicas; several deployments (prefixes) spread over its
 * primaries. Without a cluster the key is prefix + key, as it always was.
 */
export function redisKeyMapper(mode: RedisConnection['mode'], prefix: string): (key: string) => string {
  if (mode !== 'cluster') return (key) => prefix + key;
  // An empty tag ("{}") would not count as one and the whole key would be hashed.
  const tagged = `{${prefix || 'gatehouse'}}`;
  return (key) => tagged + key;
}

export async function createRedisStore(options: RedisStoreOptions): Promise<KeyValueStore> {
  const { prefix } = options;
  const connection: RedisConnection | undefined = options.connection ?? (options.url ? { mode: 'standalone', url: options.url } : undefined);
  if (connection === undefined) throw new Error('createRedisStore: neither a URL nor a Sentinel or Cluster connection was given');
  const address = describeAddress(connection);
  const k = redisKeyMapper(connection.mode, prefix);
  // Channels are not keys: PUBLISH on a Cluster reaches subscribers on every node, whatever the
  // slot, so they keep the plain prefix.
  const channelName = (channel: string): string => prefix + channel;

  let started = false;
  const reportError = (error: unknown): void => {
    options.onError?.(error);
  };

  const client = connect(connection);
  // A listener must always exist, otherwise ioredis prints every reconnection error to stderr.
  // Before start-up completes, errors are folded into the rejection below instead.
  client.on('error', (error: Error) => {
    if (started) reportError(error);
  });

  try {
    await waitForReady(client, address);
  } catch (error) {
    // Stop ioredis from reconnecting forever in the background of a failed start-up.
    client.disconnect();
    throw error;
  }
  started = true;

  // Subscriptions need their own connection (a subscribed connection cannot run ordinary
  // commands in RESP2); created on first use and shared by every subscription of this store.
  let subscriber: Redis | Cluster | undefined;
  const channels = new Map<string, ChannelState>();

  const getSubscriber = (): Redis | Cluster => {
    if (subscriber !== undefined) return subscriber;
    const connection = client instanceof Cluster ? client.duplicate() : client.duplicate();
    connection.on('error', reportError);
    connection.on('message', (channel: string, message: string) => {
      const state = channels.get(channel);
      if (state === undefined) return;
      // Copy: a handler may unsubscribe itself (or others) while we iterate.
      for (const subscription of [...state.subscriptions]) {
        if (!state.subscriptions.has(subscription)) continue;
        try {
          subscription.handler(message);
        } catch (error) {
          // A throwing handler must not starve the others or unwind into ioredis's parser.
          reportError(error);
        }
      }
    });
    // A dropped connection loses what is published until it is back and subscribed again: each
    // subscription is told when it may be missing messages and when it hears them again.
    let down = false;
    const tell = (linked: boolean) => {
      for (const state of channels.values()) for (const subscription of state.subscriptions) subscription.onLink?.(linked);
    };
    connection.on('close', () => {
      if (down || closed) return;
      down = true;
      tell(false);
    });
    connection.on('ready', () => {
      if (!down) return;
      const names = [...channels.keys()];
      // SUBSCRIBE again (idempotent) and wait for Redis to confirm before saying the link is back.
      void (names.length ? connection.subscribe(...names) : Promise.resolve()).then(() => {
        down = false;
        tell(true);
      }, reportError);
    });
    subscriber = connection;
    return connection;
  };

  let closed = false;

  /** EVALSHA, loading the script with EVAL when Redis does not know it (restart, fresh server). */
  const runScript = async (sha: string, script: string, keys: string[], args: (string | number)[]): Promise<unknown> => {
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScriptError(error)) throw error;
      return client.eval(script, keys.length, ...keys, ...args);
    }
  };

  return {
    kind: 'redis',

    async get(key) {
      return (await client.get(k(key))) ?? undefined;
    },

    async mget(keys) {
      // MGET with no keys is a Redis syntax error; nothing to ask for.
      if (keys.length === 0) return [];
      const values = await client.mget(keys.map(k));
      return values.map((value) => value ?? undefined);
    },

    async mgetByIndex(indexKey, prefixes, alsoKeys = []) {
      const reply = (await runScript(MGET_BY_INDEX_SHA, MGET_BY_INDEX_SCRIPT, [k(indexKey), ...alsoKeys.map(k)], prefixes.map(k))) as (string | null)[] | null;
      if (!reply) return undefined;
      const [id, ...values] = reply;
      return { id: id!, values: prefixes.map((_, i) => values[i] ?? undefined), also: alsoKeys.map((_, i) => values[prefixes.length + i] ?? undefined) };
    },

    async mgetFollowing(keys, follow) {
      const indexArgs = follow.index ? [k(follow.index.prefix), ...follow.index.prefixes.map(k)] : [];
      const alsoArgs = follow.also ? [follow.also.field, ...follow.also.prefixes.map(k)] : [''];
      const args = [follow.of + 1, follow.field, k(follow.prefix), indexArgs.length, ...indexArgs, ...alsoArgs];
      const reply = (await runScript(MGET_FOLLOWING_SHA, MGET_FOLLOWING_SCRIPT, keys.map(k), args)) as (string | null)[];
      const at = (i: number) => reply[i] ?? undefined;
      const values = keys.map((_, i) => at(i));
      const nIndexed = follow.index ? follow.index.prefixes.length : 0;
      const alsoId = at(keys.length + 3 + nIndexed);
      const also = follow.also && alsoId !== undefined ? { id: alsoId, values: follow.also.prefixes.map((_, i) => at(keys.length + 4 + nIndexed + i)) } : undefined;
      const id = at(keys.length);
      if (id === undefined) return also ? { values, also } : { values };
      const followed: { id: string; value: string | undefined; indexed?: { id: string; values: (string | undefined)[] } } = { id, value: at(keys.length + 1) };
      const target = at(keys.length + 2);
      if (follow.index && target !== undefined) followed.indexed = { id: target, values: follow.index.prefixes.map((_, i) => at(keys.length + 3 + i)) };
      return also ? { values, followed, also } : { values, followed };
    },

    async set(key, value, ttlSeconds) {
      if (ttlSeconds === undefined) await client.set(k(key), value);
      else await client.set(k(key), value, 'EX', ttlSeconds);
    },

    async setIfAbsent(key, value, ttlSeconds) {
      const reply = ttlSeconds === undefined ? await client.set(k(key), value, 'NX') : await client.set(k(key), value, 'EX', ttlSeconds, 'NX');
      return reply === 'OK';
    },

    async setIfAbsentWithTtlOf(key, value, ttlOf, fallbackTtlSeconds) {
      assertTtl(fallbackTtlSeconds, 'set');
      return (await runScript(SET_NX_WITH_TTL_OF_SHA, SET_NX_WITH_TTL_OF_SCRIPT, [k(key), k(ttlOf)], [value, fallbackTtlSeconds])) === 1;
    },

    async write(ops) {
      if (ops.length === 0) return;
      const keys: string[] = [];
      const args: (string | number)[] = [];
      for (const op of ops) {
        if (op.op === 'set') {
          if (op.ttlSeconds !== undefined) assertTtl(op.ttlSeconds, 'set');
          keys.push(k(op.key));
          args.push('set', op.value, op.ttlSeconds ?? 0);
        } else if (op.op === 'sadd') {
          if (op.ttlSeconds !== undefined) assertTtl(op.ttlSeconds, 'expire');
          keys.push(k(op.key));
          args.push('sadd', op.ttlSeconds ?? 0, op.members.length, ...op.members);
        } else if (op.op === 'setIfAbsentWithTtlOf') {
          assertTtl(op.fallbackTtlSeconds, 'set');
          keys.push(k(op.key), k(op.ttlOf));
          args.push('setnxttlof', op.value, op.fallbackTtlSeconds);
        } else {
          keys.push(...op.keys.map(k));
          args.push('del', op.keys.length);
        }
      }
      await runScript(WRITE_SHA, WRITE_SCRIPT, keys, args);
    },

    async consume(key) {
      return (await client.getdel(k(key))) ?? undefined;
    },

    async del(...keys) {
      if (keys.length === 0) return 0;
      return client.del(...keys.map(k));
    },

    async incr(key, ttlSeconds) {
      if (ttlSeconds === undefined) return client.incr(k(key));
      assertTtl(ttlSeconds, 'expire');
      // The script cache is empty after a Redis restart or on a fresh server; runScript loads it.
      const reply = await runScript(INCR_WITH_TTL_SHA, INCR_WITH_TTL_SCRIPT, [k(key)], [ttlSeconds]);
      if (typeof reply !== 'number') throw new Error(`Unexpected INCR reply from Redis: ${String(reply)}`);
      return reply;
    },

    async decrIfPositive(key) {
      const reply = await runScript(DECR_IF_POSITIVE_SHA, DECR_IF_POSITIVE_SCRIPT, [k(key)], []);
      if (typeof reply !== 'number') throw new Error(`Unexpected DECR reply from Redis: ${String(reply)}`);
      return reply;
    },

    async ttl(key) {
      const seconds = await client.ttl(k(key));
      // -2: no such key. -1 (no expiry) is passed through as the interface defines it.
      return seconds === -2 ? undefined : seconds;
    },

    async expire(key, ttlSeconds) {
      await client.expire(k(key), ttlSeconds);
    },

    async sadd(key, members, ttlSeconds) {
      if (ttlSeconds !== undefined) assertTtl(ttlSeconds, 'expire');
      if (members.length === 0) {
        // SADD needs at least one member; still honour "the TTL is reapplied to the set".
        if (ttlSeconds !== undefined) await client.expire(k(key), ttlSeconds);
        return;
      }
      if (ttlSeconds === undefined) {
        await client.sadd(k(key), ...members);
        return;
      }
      // MULTI so the set never exists, even briefly, without its TTL if this node dies mid-way.
      await execOrThrow(
        client
          .multi()
          .sadd(k(key), ...members)
          .expire(k(key), ttlSeconds)
          .exec(),
      );
    },

    async srem(key, members) {
      if (members.length === 0) return;
      await client.srem(k(key), ...members);
    },

    async smembers(key) {
      return client.smembers(k(key));
    },

    async publish(channel, message) {
      await client.publish(channelName(channel), message);
    },

    async subscribe(channel, handler, onLink) {
      if (closed) throw new Error('Redis store is closed');
      const fullChannel = channelName(channel);
      const subscription: Subscription = { handler, onLink };
      let state = channels.get(fullChannel);
      if (state === undefined) {
        const connection = getSubscriber();
        const created: ChannelState = { subscriptions: new Set(), ready: Promise.resolve() };
        created.ready = connection.subscribe(fullChannel).then(
          () => undefined,
          (error: unknown) => {
            // Forget the failed channel so the next subscribe() sends SUBSCRIBE again.
            if (channels.get(fullChannel) === created) channels.delete(fullChannel);
            throw error;
          },
        );
        channels.set(fullChannel, created);
        state = created;
      }
      state.subscriptions.add(subscription);
      const joined = state;
      try {
        // Every caller waits for the confirmation, so a message published right after
        // subscribe() resolves is guaranteed to be delivered.
        await joined.ready;
      } catch (error) {
        joined.subscriptions.delete(subscription);
        throw error;
      }

      return async () => {
        const current = channels.get(fullChannel);
        if (current !== joined || !current.subscriptions.delete(subscription)) return;
        if (current.subscriptions.size > 0) return;
        // Last handler gone: drop the state before UNSUBSCRIBE so a concurrent subscribe()
        // creates a fresh SUBSCRIBE, which Redis processes after this UNSUBSCRIBE on the same
        // connection, leaving the channel subscribed.
        channels.delete(fullChannel);
        if (subscriber !== undefined && !closed) await subscriber.unsubscribe(fullChannel);
      };
    },

    async ping() {
      await client.ping();
    },

    async close() {
      if (closed) return;
      closed = true;
      channels.clear();
      await Promise.all([quitOrDisconnect(client), subscriber === undefined ? undefined : quitOrDisconnect(subscriber)]);
    },
  };
}
