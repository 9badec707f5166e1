// Child processes of the bench (Gatehouse, the peer, the CLI seed): started with their output in
// a log file, awaited until they answer over HTTP, sampled for RSS from /proc, and always stopped:
// on normal completion, on an error, on Ctrl-C, and (with SIGKILL) if the bench itself exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';

const running = new Set<ChildProcess>();

/** Environment for children: the caller's, minus anything that would configure Gatehouse behind the bench's back. */
export function benchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('GATEHOUSE_') || ['DATABASE_URL', 'REDIS_URL', 'NODE_OPTIONS', 'PORT', 'HOST', 'LOG_LEVEL', 'NODE_ENV', 'DATABASE_POOL_MAX'].includes(key)) continue;
    env[key] = value;
  }
  return env;
}
const cleanups: (() => Promise<void>)[] = [];
let handlersInstalled = false;

/** Work to do (after the children are stopped) if the bench is interrupted, e.g. deleting its Redis keys. */
export function onInterrupt(cleanup: () => Promise<void>): void {
  installHandlers();
  cleanups.push(cleanup);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Last resort: whatever is still running when the bench process goes away dies with it.
  process.on('exit', () => {
    for (const child of running) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      const hardStop = setTimeout(() => process.exit(130), 20_000);
      hardStop.unref();
      void (async () => {
        await stopAll().catch(() => undefined);
        for (const cleanup of cleanups) await cleanup().catch(() => undefined);
        process.exit(130);
      })();
    });
  }
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Settles when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChild(name: string, command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string }): Child {
  installHandlers();
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      // Let the pipes drain before closing the log.
      setTimeout(() => log.end(), 50);
      resolve({ code, signal });
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  return { name, process: child, pid: child.pid, logFile: options.logFile, exited };
}

/** Runs a command to completion; throws with the end of its log when it fails. */
export async function runToCompletion(name: string, command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string; timeoutMs: number }): Promise<void> {
  const child = startChild(name, command, args, options);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), options.timeoutMs);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${name} failed (${signal ?? `exit code ${code}`}); end of ${options.logFile}:\n${await logTail(options.logFile)}`);
}

export async function logTail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Stops a child with SIGTERM, then SIGKILL after `graceMs` (a CPU profile needs a clean exit). */
export async function stopChild(child: Child, graceMs = 15_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (process) => {
      if (process.exitCode !== null || process.signalCode !== null) return;
      process.kill('SIGTERM');
      const timer = setTimeout(() => process.kill('SIGKILL'), 10_000);
      await new Promise((resolve) => process.once('exit', resolve));
      clearTimeout(timer);
    }),
  );
}

/** A TCP port that was free on loopback a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200; fails early if the child exits, or after `timeoutMs`. */
export async function waitUntilReady(child: Child, url: string, timeoutMs = 60_000, pollMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${child.name} exited before it was ready; end of ${child.logFile}:\n${await logTail(child.logFile)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`${child.name} was not ready at ${url} within ${timeoutMs / 1000} s; end of ${child.logFile}:\n${await logTail(child.logFile)}`);
}

export interface MemoryReading {
  /** Resident set size now, MiB. */
  rssMb: number;
  /** Peak resident set size since the process started (VmHWM), MiB. */
  peakRssMb: number;
}

/** RSS of one process (not its children), from /proc/PID/status. */
export async function readMemory(pid: number): Promise<MemoryReading | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: what /proc reports times in on Linux

/**
 * CPU time a process has used so far (user + system, all its threads: argon2's threadpool
 * included), in milliseconds, from /proc/PID/stat. Per operation it is a steadier figure than
 * throughput on a machine that other work shares, because time spent waiting for a core is not
 * in it. `pid` undefined: this process.
 */
export async function readCpuMs(pid?: number): Promise<number | undefined> {
  if (pid === undefined) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `intervalMs` while started; reports the maximum and the mean. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private readings: number[] = [];

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    if (this.timer) return;
    const tick = () => {
      void readMemory(this.pid).then((reading) => {
        if (reading && Number.isFinite(reading.rssMb)) this.readings.push(reading.rssMb);
      });
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get maxMb(): number {
    return this.readings.length ? Math.max(...this.readings) : 0;
  }

  get meanMb(): number {
    return this.readings.length ? this.readings.reduce((a, b) => a + b, 0) / this.readings.length : 0;
  }

  get samples(): number {
    return this.readings.length;
  }

  /** The highest reading taken since `mark` (a value of `samples` read earlier), MiB. */
  maxSince(mark: number): number {
    const since = this.readings.slice(mark);
    return since.length ? Math.max(...since) : 0;
  }
}

/**
 * Runs the body of a bench command: its exit code, or 1 with the error on stderr when it throws.
 * `cleanup` runs either way (children, Redis keys, databases); then the work directory goes, or
 * stays for its logs when the body threw.
 */
export async function runInWorkDir(run: { label: string; workDir: string; progress: (message: string) => void; cleanup: () => Promise<void> }, body: () => Promise<number>): Promise<number> {
  let succeeded = false;
  try {
    const code = await body();
    succeeded = true;
    return code;
  } catch (error) {
    process.stderr.write(`\n${run.label} failed: ${(error as Error).stack ?? error}\n`);
    return 1;
  } finally {
    await run.cleanup();
    if (succeeded) await rm(run.workDir, { recursive: true, force: true });
    else run.progress(`logs kept in ${run.workDir}`);
  }
}
