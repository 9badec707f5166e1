// Scheduled work that runs once across all nodes (ARCHITECTURE.md, "Jobs and reactions"): time is
// cut into slots of each job's interval, and at every slot boundary each node tries to claim the
// slot with SET NX in the shared store; the one that wins runs the job, the others skip it. With
// the in-process store there is one node, which always wins. A job must still be idempotent (a slot
// whose winner crashed is not retried until the next one), so jobs record what they did.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { KeyValueStore } from '../store/types.ts';

export interface ScheduledJob {
  /** Stable name: it is part of the store key that decides which node runs a slot. */
  name: string;
  intervalSeconds: number;
  run(): Promise<unknown>;
}

export interface Scheduler {
  register(job: ScheduledJob): void;
  /** Starts the timers (the server calls this; CLI commands never do). */
  start(): void;
  /** Stops the timers; resolves once the jobs already running have finished (a safe point). */
  stop(): Promise<void>;
  /**
   * Claims the current slot of the job and runs it if this node won; resolves to whether it ran.
   * What the timers call; tests call it to run a job now.
   */
  runIfDue(name: string): Promise<boolean>;
  readonly nodeId: string;
}

export function createScheduler(deps: { store: KeyValueStore; logger: Logger; now?: () => number }): Scheduler {
  const jobs = new Map<string, ScheduledJob>();
  const timers = new Set<NodeJS.Timeout>();
  const nodeId = randomUUID();
  const now = deps.now ?? Date.now;
  let running = false;
  const inFlight = new Set<Promise<unknown>>();

  async function runIfDue(name: string): Promise<boolean> {
    const job = jobs.get(name);
    if (!job) throw new Error(`no scheduled job named "${name}"`);
    const slot = Math.floor(now() / 1000 / job.intervalSeconds);
    const won = await deps.store.setIfAbsent(`scheduler:${job.name}:${slot}`, nodeId, job.intervalSeconds * 2);
    if (!won) return false;
    const started = Date.now();
    try {
      const result = await job.run();
      deps.logger.info({ job: job.name, ms: Date.now() - started, result }, 'scheduled job done');
    } catch (error) {
      deps.logger.error({ job: job.name, err: error }, 'scheduled job failed');
    }
    return true;
  }

  function schedule(job: ScheduledJob) {
    if (!running) return;
    const intervalMs = job.intervalSeconds * 1000;
    // Fire just after the next slot boundary, with a little jitter so nodes do not race in lockstep.
    const delay = intervalMs - (now() % intervalMs) + Math.floor(Math.random() * Math.min(1000, intervalMs / 10));
    const timer = setTimeout(() => {
      timers.delete(timer);
      const run = runIfDue(job.name).catch((error: unknown) => deps.logger.error({ job: job.name, err: error }, 'could not claim a scheduled job'));
      inFlight.add(run);
      void run.finally(() => {
        inFlight.delete(run);
        schedule(job);
      });
    }, delay);
    timer.unref();
    timers.add(timer);
  }

  return {
    nodeId,
    register(job) {
      if (!/^[a-z][a-z0-9-]*$/.test(job.name)) throw new Error(`invalid job name "${job.name}"`);
      if (!(job.intervalSeconds >= 1)) throw new Error(`job "${job.name}": intervalSeconds must be at least 1`);
      jobs.set(job.name, job);
      schedule(job);
    },
    start() {
      if (running) return;
      running = true;
      for (const job of jobs.values()) schedule(job);
    },
    async stop() {
      running = false;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...inFlight]);
    },
    runIfDue,
  };
}
