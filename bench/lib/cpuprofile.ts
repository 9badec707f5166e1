// Summarizes a V8 .cpuprofile (node --cpu-prof): self time per function and per package/file,
// and total (inclusive) time of the repository's own functions, from the sample timeline
// (timeDeltas), so the figures are milliseconds of CPU on the main thread. Work on libuv's
// threadpool (argon2, some crypto) is not in it: the main thread only waits.
//
// A window (monotonic microseconds, the clock of process.hrtime and of V8's profiler on Linux)
// keeps only the samples taken during one scenario's measured phase, so start-up and the other
// scenarios do not blur the picture.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimeRow {
  name: string;
  where: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  /** The scenario the window belongs to, when the summary covers one. */
  scenario?: string;
  totalMs: number;
  /** Time not spent idle: what the main thread actually worked. */
  busyMs: number;
  functions: SelfTimeRow[];
  groups: SelfTimeRow[];
  /** Inclusive time of functions in the repository (src/), callees included. */
  ownTotals: SelfTimeRow[];
}

/** Monotonic microseconds, comparable with the profile's timestamps. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function shortUrl(url: string): string {
  if (!url) return '';
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('/node_modules/');
  if (nm !== -1) return clean.slice(nm + '/node_modules/'.length);
  const src = clean.search(/\/(src|bench|bin|migrations)\//);
  return src !== -1 ? clean.slice(src + 1) : clean;
}

/** The package (node_modules), the repository file, or the runtime bucket a frame belongs to. */
function groupOf(frame: ProfileNode['callFrame']): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native / V8 builtins)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const short = shortUrl(url);
  if (url.includes('/node_modules/')) {
    const parts = short.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return short;
}

/**
 * The main thread's profile in `dir`: --cpu-prof writes one file per thread
 * (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile), and tsx's module loader runs on a
 * worker thread of its own; thread 0 is the one that serves requests.
 */
export async function mainThreadProfile(dir: string): Promise<string | undefined> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  const main = files.filter((f) => f.split('.')[4] === '0');
  const chosen = (main.length ? main : files).at(-1);
  return chosen ? path.join(dir, chosen) : undefined;
}

export async function summarizeProfile(file: string, top = 25, window?: { scenario: string; fromUs: number; toUs: number }): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const groups = new Map<string, number>();
  const own = new Map<string, { name: string; where: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  const keyOf = (frame: ProfileNode['callFrame']) => {
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    return { key: `${frame.functionName}@${where}`, where };
  };
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const { key, where } = keyOf(frame);
    const entry = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const group = groupOf(frame);
    groups.set(group, (groups.get(group) ?? 0) + us);
    // Inclusive time: every repository function on the stack of this sample, once each.
    const seen = new Set<string>();
    for (let cursor: number | undefined = id; cursor !== undefined; cursor = parentOf.get(cursor)) {
      const f = byId.get(cursor)?.callFrame;
      if (!f || !f.url || f.url.includes('/node_modules/') || !/\/src\//.test(f.url)) continue;
      const k = keyOf(f);
      if (seen.has(k.key)) continue;
      seen.add(k.key);
      const e = own.get(k.key) ?? { name: f.functionName || '(anonymous)', where: k.where, us: 0 };
      e.us += us;
      own.set(k.key, e);
    }
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => Math.round((us / Math.max(busyUs, 1)) * 1000) / 10;
  const rows = (m: Map<string, { name: string; where: string; us: number }>) =>
    [...m.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: Math.round(f.us / 1000), percent: pct(f.us) }));
  return {
    file,
    ...(window ? { scenario: window.scenario } : {}),
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    functions: rows(functions),
    groups: [...groups.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, where: '', ms: Math.round(us / 1000), percent: pct(us) })),
    ownTotals: rows(own),
  };
}

export function formatProfile(summary: ProfileSummary): string {
  const scope = summary.scenario ? `scenario "${summary.scenario}" (measured phase only)` : 'whole run';
  const lines = [`CPU profile of Gatehouse's main thread, ${scope}: ${summary.busyMs} ms busy of ${summary.totalMs} ms (percentages of busy time)`, '', 'Top self time by package / file:'];
  for (const g of summary.groups) lines.push(`  ${String(g.percent).padStart(5)}%  ${String(g.ms).padStart(7)} ms  ${g.name}`);
  lines.push('', 'Top self time by function:');
  for (const f of summary.functions) lines.push(`  ${String(f.percent).padStart(5)}%  ${String(f.ms).padStart(7)} ms  ${f.name}  ${f.where}`);
  if (summary.ownTotals.length) {
    lines.push('', "Total time (callees included) of Gatehouse's own functions:");
    for (const f of summary.ownTotals) lines.push(`  ${String(f.percent).padStart(5)}%  ${String(f.ms).padStart(7)} ms  ${f.name}  ${f.where}`);
  }
  return lines.join('\n');
}
