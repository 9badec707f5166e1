// Summarizes a V8 .cpuprofile (node --cpu-prof): self time per function and per package/file,
// from the sample timeline (timeDeltas), so the figures are milliseconds of CPU on the main thread.
// Work on libuv's threadpool (argon2, some crypto) is not in it: the main thread only waits.
import { readFile } from 'node:fs/promises';

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
  totalMs: number;
  /** Time not spent idle: what the main thread actually worked. */
  busyMs: number;
  functions: SelfTimeRow[];
  groups: SelfTimeRow[];
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

export async function summarizeProfile(file: string, top = 25): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i += 1) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const groups = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}@${where}`;
    const entry = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const group = groupOf(frame);
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => Math.round((us / Math.max(busyUs, 1)) * 1000) / 10;
  return {
    file,
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    functions: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ name: f.name, where: f.where, ms: Math.round(f.us / 1000), percent: pct(f.us) })),
    groups: [...groups.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, where: '', ms: Math.round(us / 1000), percent: pct(us) })),
  };
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [`CPU profile ${summary.file}: ${summary.busyMs} ms busy of ${summary.totalMs} ms (percentages of busy time)`, '', 'Top self time by package / file:'];
  for (const g of summary.groups) lines.push(`  ${String(g.percent).padStart(5)}%  ${String(g.ms).padStart(7)} ms  ${g.name}`);
  lines.push('', 'Top self time by function:');
  for (const f of summary.functions) lines.push(`  ${String(f.percent).padStart(5)}%  ${String(f.ms).padStart(7)} ms  ${f.name}  ${f.where}`);
  return lines.join('\n');
}
