// The results: the machine they came from, every scenario's rate and latency, the targets met or
// missed, as JSON (bench/results/latest.json) and as a markdown table (stdout, BENCH.md).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Aggregate } from './load.ts';
import type { LatencySummary } from './stats.ts';

export interface ScenarioResult {
  id: string;
  label: string;
  /** Gatehouse's figure (the argon2 ceiling for "argon2"). */
  result: Aggregate;
  /**
   * CPU time of Gatehouse's process (all threads) per successful operation during the measured
   * rounds, ms: steadier than the rate when other work shares the machine.
   */
  cpuMsPerOp?: number;
  /** What it is compared with: the peer, or the argon2id ceiling (CPU of the bench process). */
  reference?: { label: string; result: Aggregate; cpuMsPerOp?: number };
  /** result.rate / reference.rate. */
  ratio?: number;
  /** Further comparisons of the same Gatehouse figure (the sign-in: the argon2id ceiling). */
  alsoComparedWith?: { label: string; result: Aggregate; cpuMsPerOp?: number; ratio: number }[];
  notes?: string[];
  details?: Record<string, unknown>;
}

export interface Target {
  name: string;
  wanted: string;
  actual: string;
  met: boolean;
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  os: string;
  postgres?: string;
  redis?: string;
  uvThreadpoolSize: number;
  /** os.loadavg() (1, 5, 15 min) when the run started and ended: other work on the machine. */
  loadAverageBefore?: number[];
  loadAverageAfter?: number[];
}

export interface BenchResults {
  version: 1;
  mode: string;
  startedAt: string;
  finishedAt: string;
  command: string;
  git?: { commit: string; dirty: boolean };
  machine: Machine;
  settings: Record<string, unknown>;
  scenarios: Record<string, ScenarioResult>;
  redis?: { bytesPerSession: number; sessions: number; breakdown: Record<string, unknown>; perLogin?: Record<string, unknown> };
  rss?: { startupMs?: number; idleMb: number; underLoadMaxMb: number; underLoadMeanMb: number; afterLoadMb?: number; peakMb?: number; peerIdleMb?: number; peerUnderLoadMaxMb?: number; byScenarioMaxMb?: Record<string, number> };
  targets: Target[];
  profile?: unknown;
}

export function describeMachine(extra: { postgres?: string; redis?: string }): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    ...extra,
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE) || 4,
  };
}

export function gitInfo(cwd: string): { commit: string; dirty: boolean } | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'migrations', 'views', 'bin'], { cwd, encoding: 'utf8' }).trim().length > 0;
    return { commit, dirty };
  } catch {
    return undefined;
  }
}

const fmtRate = (rate: number) => (rate >= 100 ? Math.round(rate).toLocaleString('en-US') : rate.toFixed(1));
const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const latencyCells = (l: LatencySummary) => [fmtMs(l.p50), fmtMs(l.p95), fmtMs(l.p99)];

export function markdownTables(results: BenchResults): string {
  const out: string[] = [];
  const cpu = (ms: number | undefined) => (ms === undefined ? '' : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
  out.push('| scenario | Gatehouse /s | p50 ms | p95 ms | p99 ms | CPU ms/op | compared with | their /s | their CPU ms/op | ratio | failed |');
  out.push('|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|');
  for (const s of Object.values(results.scenarios)) {
    const ref = s.reference;
    out.push(
      `| ${s.label} | ${fmtRate(s.result.rate)} | ${latencyCells(s.result.latency).join(' | ')} | ${cpu(s.cpuMsPerOp)} | ${ref ? ref.label : ''} | ${ref ? fmtRate(ref.result.rate) : ''} | ${cpu(ref?.cpuMsPerOp)} | ${s.ratio !== undefined ? `${s.ratio.toFixed(2)}×` : ''} | ${s.result.failed} |`,
    );
    for (const other of s.alsoComparedWith ?? []) {
      out.push(`| 〃 | | | | | | ${other.label} | ${fmtRate(other.result.rate)} | ${cpu(other.cpuMsPerOp)} | ${other.ratio.toFixed(2)}× | |`);
    }
  }
  const extras: string[] = [];
  if (results.redis) extras.push(`| Redis bytes per session | ${Math.round(results.redis.bytesPerSession)} B (${results.redis.sessions} sessions measured) |`);
  if (results.rss) {
    if (results.rss.startupMs !== undefined) extras.push(`| Gatehouse start to /readyz | ${results.rss.startupMs} ms |`);
    extras.push(`| Gatehouse RSS idle | ${results.rss.idleMb.toFixed(1)} MB |`);
    extras.push(`| Gatehouse RSS under load (max / mean) | ${results.rss.underLoadMaxMb.toFixed(1)} / ${results.rss.underLoadMeanMb.toFixed(1)} MB |`);
    if (results.rss.peerUnderLoadMaxMb) extras.push(`| peer RSS idle / under load (max) | ${(results.rss.peerIdleMb ?? 0).toFixed(1)} / ${results.rss.peerUnderLoadMaxMb.toFixed(1)} MB |`);
  }
  if (extras.length) {
    out.push('', '| resource | figure |', '|---|---:|', ...extras);
  }
  out.push('', '| target | wanted | measured | |', '|---|---|---|---|');
  for (const t of results.targets) out.push(`| ${t.name} | ${t.wanted} | ${t.actual} | ${t.met ? 'met' : '**missed**'} |`);
  return out.join('\n');
}
