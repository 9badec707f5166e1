// Real Redis topologies for the Sentinel and Cluster tests: redis-server processes started by the
// test on free loopback ports of 7100-7199 (a cluster node also needs its bus port, port +
// 10000), each in its own temporary directory, and stopped by PID afterwards.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);
const PORT_RANGE = { from: 7100, to: 7199 };
const HOST = '127.0.0.1';

export interface RedisProcess {
  port: number;
  dir: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const taken = new Set<number>();

/** A free port of the range (and its cluster bus port when `withBus`), never handed out twice. */
async function freePort(withBus: boolean): Promise<number> {
  const start = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from + 1));
  for (let i = 0; i <= PORT_RANGE.to - PORT_RANGE.from; i += 1) {
    const port = PORT_RANGE.from + ((start - PORT_RANGE.from + i) % (PORT_RANGE.to - PORT_RANGE.from + 1));
    if (taken.has(port)) continue;
    if (!(await portFree(port))) continue;
    if (withBus && !(await portFree(port + 10_000))) continue;
    taken.add(port);
    return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.from}-${PORT_RANGE.to}`);
}

/** Starts redis-server (or a sentinel) and resolves once its log says it is ready. */
async function startProcess(args: (port: number, dir: string) => Promise<string[]>, readyLine: RegExp, withBus = false): Promise<RedisProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-redis-'));
  const port = await freePort(withBus);
  const child = spawn('redis-server', await args(port, dir), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (readyLine.test(log)) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server on ${port} exited (${code}) before it was ready:\n${log}`)));
  });
  // Keep draining the pipes so a chatty server never blocks on a full one.
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    port,
    dir,
    child,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      taken.delete(port);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const BASE = (port: number, dir: string) => ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];

/** Polls `check` until it holds: for states Redis announces no event for (cluster_state, links). */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function query<T>(port: number, action: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: HOST, port, maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  try {
    await redis.connect();
    return await action(redis);
  } finally {
    redis.disconnect();
  }
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)\\r?$`, 'm').exec(info)?.[1]?.trim();
}

export interface TestCluster {
  nodes: RedisProcess[];
  /** host:port list for REDIS_CLUSTER_NODES. */
  seeds: string;
  /** Makes the replica of the primary serving `key` take over (CLUSTER FAILOVER); resolves when it is primary. */
  failoverSlotOf(key: string): Promise<{ from: number; to: number }>;
  stop(): Promise<void>;
}

/** Three primaries, each with one replica, formed with redis-cli --cluster create. */
export async function startCluster(): Promise<TestCluster> {
  const nodes: RedisProcess[] = [];
  try {
    for (let i = 0; i < 6; i += 1) {
      nodes.push(await startProcess(async (port, dir) => [...BASE(port, dir), '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '3000'], /Ready to accept connections/, true));
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', '1', '--cluster-yes']);
    await until('cluster_state:ok on every node', async () => {
      for (const node of nodes) {
        const info = await query(node.port, (r) => r.cluster('INFO') as Promise<string>);
        if (infoField(info, 'cluster_state') !== 'ok' || infoField(info, 'cluster_known_nodes') !== '6') return false;
      }
      return true;
    });
    // Three replicas, each in sync with its primary, so a failover has something to take over.
    await until('three replicas in sync', async () => {
      let replicas = 0;
      for (const node of nodes) {
        const info = await query(node.port, (r) => r.info('replication'));
        if (infoField(info, 'role') !== 'slave') continue;
        if (infoField(info, 'master_link_status') !== 'up') return false;
        replicas += 1;
      }
      return replicas === 3;
    });
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    throw error;
  }
  return {
    nodes,
    seeds: nodes
      .slice(0, 3)
      .map((n) => `${HOST}:${n.port}`)
      .join(','),
    async failoverSlotOf(key) {
      const slot = await query(nodes[0]!.port, (r) => r.cluster('KEYSLOT', key) as Promise<number>);
      // The slot map as node 0 knows it, once it lists the slot's replica (gossip may lag the
      // replication itself by a moment).
      const slotMap = () => query(nodes[0]!.port, (r) => r.cluster('SLOTS'));
      let range: Awaited<ReturnType<typeof slotMap>>[number] | undefined;
      await until(`a replica for slot ${slot} in the slot map`, async () => {
        range = (await slotMap()).find(([from, to]) => slot >= from && slot <= to);
        return Boolean(range?.[3]);
      });
      const [, , primary, replica] = range!;
      if (!primary) throw new Error(`slot ${slot} has no primary`);
      if (!replica) throw new Error(`slot ${slot} has no replica`);
      await query(replica[1], (r) => r.cluster('FAILOVER'));
      await until(`the replica on ${replica[1]} to be primary`, async () => infoField(await query(replica[1], (r) => r.info('replication')), 'role') === 'master');
      return { from: primary[1], to: replica[1] };
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}

export interface TestSentinels {
  name: string;
  primary: RedisProcess;
  replica: RedisProcess;
  sentinels: RedisProcess[];
  /** host:port list for REDIS_SENTINELS. */
  seeds: string;
  /**
   * Shuts the primary down (SIGTERM: Redis 7 first lets its replica catch up) and resolves when
   * the sentinels announce the replica as the new primary (+switch-master).
   */
  killPrimary(): Promise<number>;
  stop(): Promise<void>;
}

/** A primary, one replica and three sentinels (quorum 2) watching them as `name`. */
export async function startSentinels(name = 'gatehouse'): Promise<TestSentinels> {
  const started: RedisProcess[] = [];
  try {
    const primary = await startProcess(async (port, dir) => BASE(port, dir), /Ready to accept connections/);
    started.push(primary);
    const replica = await startProcess(async (port, dir) => [...BASE(port, dir), '--replicaof', HOST, String(primary.port)], /Ready to accept connections/);
    started.push(replica);
    await until('the replica in sync', async () => infoField(await query(replica.port, (r) => r.info('replication')), 'master_link_status') === 'up');
    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < 3; i += 1) {
      const sentinel = await startProcess(async (port, dir) => {
        const file = path.join(dir, 'sentinel.conf');
        // A sentinel rewrites its configuration file, so each gets its own.
        await writeFile(
          file,
          [`port ${port}`, `bind ${HOST}`, `dir ${dir}`, `sentinel monitor ${name} ${HOST} ${primary.port} 2`, `sentinel down-after-milliseconds ${name} 1000`, `sentinel failover-timeout ${name} 5000`, `sentinel parallel-syncs ${name} 1`, ''].join(
            '\n',
          ),
        );
        return [file, '--sentinel'];
      }, /\+monitor master/);
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    // Each sentinel knows the replica and the two other sentinels before anything fails.
    await until('the sentinels to know the replica and each other', async () => {
      for (const sentinel of sentinels) {
        const state = await query(sentinel.port, async (r) => ({
          replicas: (await r.call('SENTINEL', 'REPLICAS', name)) as string[][],
          peers: (await r.call('SENTINEL', 'SENTINELS', name)) as string[][],
        }));
        const replicaOk = state.replicas.some((fields) => {
          const map = new Map<string, string>();
          for (let j = 0; j < fields.length; j += 2) map.set(fields[j]!, fields[j + 1]!);
          return map.get('port') === String(replica.port) && map.get('flags') === 'slave' && map.get('master-link-status') === 'ok';
        });
        if (!replicaOk || state.peers.length !== 2) return false;
      }
      return true;
    });
    return {
      name,
      primary,
      replica,
      sentinels,
      seeds: sentinels.map((s) => `${HOST}:${s.port}`).join(','),
      async killPrimary() {
        const watcher = new Redis({ host: HOST, port: sentinels[0]!.port, maxRetriesPerRequest: 1 });
        try {
          const switched = new Promise<number>((resolve) => {
            watcher.on('message', (_channel: string, message: string) => {
              // "<name> <old-ip> <old-port> <new-ip> <new-port>"
              const [master, , , , port] = message.split(' ');
              if (master === name) resolve(Number(port));
            });
          });
          await watcher.subscribe('+switch-master');
          await primary.stop('SIGTERM');
          return await switched;
        } finally {
          watcher.disconnect();
        }
      },
      async stop() {
        await Promise.all(started.map((process) => process.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((process) => process.stop('SIGKILL')));
    throw error;
  }
}
