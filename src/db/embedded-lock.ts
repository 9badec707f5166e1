// One process owns the embedded (PGlite) database at a time. PGlite runs PostgreSQL inside
// this process with its own shared buffers, so a second process opening the same data
// directory would not see the first one's cached pages and the two would silently overwrite
// each other's writes. A lock file in the data directory turns that into a clear error.
import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const LOCK_FILE_NAME = 'gatehouse.lock';

/** What a lock file records about the process holding it. */
export interface LockHolder {
  readonly pid: number;
  /** What the holder opened the database for, e.g. "start" or "migrate". */
  readonly purpose: string;
  /** ISO timestamp of when the lock was taken. */
  readonly startedAt: string;
  readonly hostname: string;
}

export interface EmbeddedLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file, but only while it is still ours. Safe to call more than once. */
  release(): Promise<void>;
}

export class EmbeddedDatabaseBusyError extends Error {
  readonly code = 'embedded_database_busy';

  constructor(
    readonly dataDir: string,
    readonly lockPath: string,
    readonly holder: LockHolder,
  ) {
    super(busyMessage(dataDir, lockPath, holder));
    this.name = 'EmbeddedDatabaseBusyError';
  }
}

const SHARE_HINT = 'PGlite cannot be shared between processes: stop that process first, or run the server on PostgreSQL ' + '(set DATABASE_URL) so CLI commands and several processes can share it.';

function busyMessage(dataDir: string, lockPath: string, holder: LockHolder): string {
  const who = `(pid ${holder.pid}, ${JSON.stringify(holder.purpose)}, since ${holder.startedAt})`;
  if (holder.hostname !== os.hostname()) {
    // We cannot probe a pid on another machine or container, so a crashed holder there
    // leaves a lock only a person can judge; say how to clear it.
    return `The embedded database in ${dataDir} is in use by a Gatehouse process on host ${JSON.stringify(holder.hostname)} ${who}. ` + `${SHARE_HINT} If that process is no longer running, delete ${lockPath}.`;
  }
  if (holder.pid === process.pid) {
    return `The embedded database in ${dataDir} is already open in this process ${who}. ${SHARE_HINT}`;
  }
  return `The embedded database in ${dataDir} is in use by another Gatehouse process ${who}. ${SHARE_HINT}`;
}

function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

function parseHolder(raw: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { pid, purpose, startedAt, hostname } = record;
  // pid 0 and negative pids mean process groups to kill(2), so only positive integers count.
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof purpose !== 'string' || typeof startedAt !== 'string' || typeof hostname !== 'string') return undefined;
  if (Number.isNaN(Date.parse(startedAt))) return undefined;
  return { pid, purpose, startedAt, hostname };
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else, so it is alive.
    return errnoCode(error) !== 'ESRCH';
  }
}

/** Whether the holder recorded in a lock file may still be using the database. */
function holderIsLive(holder: LockHolder): boolean {
  // Another host's pids mean nothing here: assume the worst.
  if (holder.hostname !== os.hostname()) return true;
  if (holder.pid === process.pid) {
    // Our own pid is either this process (a second open of the same directory) or an
    // earlier process that had the same pid, which is routine in containers where the
    // server is always pid 1. Only this process can have written the lock after it started.
    return Date.parse(holder.startedAt) >= Math.floor(performance.timeOrigin);
  }
  return processIsAlive(holder.pid);
}

type ReadResult = { kind: 'missing' } | { kind: 'holder'; raw: string; holder: LockHolder } | { kind: 'unreadable'; raw: string };

async function readLock(lockPath: string): Promise<ReadResult> {
  // The holder creates the file and then writes it, so a reader can catch it empty for an
  // instant; only content that stays unparsable is treated as left behind by a crash.
  let raw = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      raw = await readFile(lockPath, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return { kind: 'missing' };
      throw error;
    }
    const holder = parseHolder(raw);
    if (holder) return { kind: 'holder', raw, holder };
    await sleep(100);
  }
  return { kind: 'unreadable', raw };
}

/**
 * Removes a stale lock file, unless it changed since we judged it stale. Two processes can
 * find the same stale lock; a plain unlink by the slower one could delete the lock the faster
 * one has just taken. Renaming moves exactly one file, which we can then inspect.
 */
async function removeStaleLock(lockPath: string, staleRaw: string): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${randomUUID()}`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return; // someone else cleared it already
    throw error;
  }
  try {
    const moved = await readFile(aside, 'utf8');
    if (moved !== staleRaw) {
      // We moved a fresh lock another process took in the meantime: put it back. link()
      // fails rather than overwrite if yet another process got in between.
      await link(aside, lockPath).catch(() => undefined);
    }
  } finally {
    await rm(aside, { force: true });
  }
}

async function tryCreate(lockPath: string, content: string): Promise<boolean> {
  let handle;
  try {
    // 'wx' fails if the file exists: creation is the atomic test-and-set.
    handle = await open(lockPath, 'wx', 0o644);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(content, 'utf8');
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(lockPath, { force: true });
    throw error;
  }
  return true;
}

/**
 * Takes the embedded-database lock in `dataDir` (created if missing) or throws
 * EmbeddedDatabaseBusyError naming the live holder. A lock left by a dead process is taken over.
 * The caller must release() it when it closes the database; nothing is registered globally.
 */
export async function acquireEmbeddedLock(dataDir: string, purpose: string): Promise<EmbeddedLock> {
  // The data directory also keeps generated secrets, so it is private to the owner.
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const lockPath = path.join(dataDir, LOCK_FILE_NAME);
  const holder: LockHolder = { pid: process.pid, purpose, startedAt: new Date().toISOString(), hostname: os.hostname() };
  const content = `${JSON.stringify(holder)}\n`;

  // Two rounds: the second follows the removal of a stale lock. If the lock is taken again
  // by then, another process won the race and is reported as the holder.
  for (let round = 0; round < 2; round++) {
    if (await tryCreate(lockPath, content)) {
      return { path: lockPath, holder, release: () => releaseLock(lockPath, content) };
    }
    const existing = await readLock(lockPath);
    if (existing.kind === 'missing') continue; // released between our attempt and the read
    if (existing.kind === 'holder' && holderIsLive(existing.holder)) {
      throw new EmbeddedDatabaseBusyError(dataDir, lockPath, existing.holder);
    }
    if (round === 0) await removeStaleLock(lockPath, existing.raw);
  }
  throw new Error(`Could not take the embedded database lock ${lockPath}: it keeps changing. Is another Gatehouse process starting?`);
}

async function releaseLock(lockPath: string, content: string): Promise<void> {
  let current: string;
  try {
    current = await readFile(lockPath, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  // Someone may have judged our lock stale (e.g. after a pid check across a suspend) and
  // taken it; their lock is not ours to remove.
  if (current === content) await rm(lockPath, { force: true });
}
