// `npm run bench -- --compare <ref>`: the ratios of the working tree's figures to a ref's,
// measured in the same run, alternating. Pure functions, so the arithmetic is unit-tested.

export interface SideFigures {
  /** Successful operations per second over the measured rounds. */
  rate: number;
  /** Server CPU (all threads) per successful operation, ms. */
  cpuMsPerOp?: number;
  failed: number;
}

export interface CompareRow {
  id: string;
  label: string;
  ref: SideFigures;
  work: SideFigures;
  /** work.rate / ref.rate: above 1 is faster. */
  rateRatio: number;
  /** work.cpuMsPerOp / ref.cpuMsPerOp: below 1 costs less. */
  cpuRatio?: number;
}

export interface CompareResources {
  startupMs: { ref: number; work: number };
  idleRssMb: { ref: number; work: number };
  underLoadMaxRssMb: { ref: number; work: number };
}

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : 0);

export function compareRow(id: string, label: string, ref: SideFigures, work: SideFigures): CompareRow {
  return {
    id,
    label,
    ref,
    work,
    rateRatio: ratio(work.rate, ref.rate),
    ...(ref.cpuMsPerOp && work.cpuMsPerOp !== undefined ? { cpuRatio: ratio(work.cpuMsPerOp, ref.cpuMsPerOp) } : {}),
  };
}

/** A change that moves a figure by less than this is within the noise of one quick run. */
export const NOISE = 0.15;

/** "faster", "slower" or "same" for a rate ratio, "cheaper"/"dearer"/"same" for a CPU ratio. */
export function verdict(kind: 'rate' | 'cpu', value: number | undefined): string {
  if (value === undefined || value === 0) return '';
  if (Math.abs(value - 1) < NOISE) return 'within noise';
  if (kind === 'rate') return value > 1 ? 'faster' : '**slower**';
  return value < 1 ? 'cheaper' : '**dearer**';
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const fmtCpu = (n: number | undefined) => (n === undefined ? '' : n >= 10 ? n.toFixed(1) : n.toFixed(2));

export function compareMarkdown(refLabel: string, workLabel: string, rows: CompareRow[], resources?: CompareResources): string {
  const out = [`| scenario | ${refLabel} /s | CPU ms/op | ${workLabel} /s | CPU ms/op | rate ratio | | CPU ratio | |`, '|---|---:|---:|---:|---:|---:|---|---:|---|'];
  for (const r of rows) {
    out.push(
      `| ${r.label}${r.ref.failed || r.work.failed ? ` (failed: ${r.ref.failed} / ${r.work.failed})` : ''} | ${fmt(r.ref.rate)} | ${fmtCpu(r.ref.cpuMsPerOp)} | ${fmt(r.work.rate)} | ${fmtCpu(r.work.cpuMsPerOp)} | ${r.rateRatio.toFixed(2)}× | ${verdict('rate', r.rateRatio)} | ${r.cpuRatio !== undefined ? `${r.cpuRatio.toFixed(2)}×` : ''} | ${verdict('cpu', r.cpuRatio)} |`,
    );
  }
  if (resources) {
    out.push('', `| resource | ${refLabel} | ${workLabel} | ratio |`, '|---|---:|---:|---:|');
    const line = (name: string, unit: string, v: { ref: number; work: number }) => out.push(`| ${name} | ${fmt(v.ref)} ${unit} | ${fmt(v.work)} ${unit} | ${ratio(v.work, v.ref).toFixed(2)}× |`);
    line('start to /readyz', 'ms', resources.startupMs);
    line('RSS idle', 'MB', resources.idleRssMb);
    line('RSS under load (max)', 'MB', resources.underLoadMaxRssMb);
  }
  return out.join('\n');
}
