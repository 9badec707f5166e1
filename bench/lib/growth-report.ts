// The growth curves of `npm run bench -- --growth`: parsing the sizes, fitting how a figure grows
// with n, and drawing the curves as a small SVG (no chart library: a few polylines on log axes).

/** "10k,100k,1m" or "10000,100000" → [10000, 100000, 1000000], sorted, duplicates dropped. */
export function parseSizes(text: string, name: string): number[] {
  const sizes = text.split(',').map((part) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(part);
    if (!m) throw new Error(`${name}: "${part}" is not a size (e.g. 10000, 100k, 1m)`);
    const n = Number(m[1]) * (m[2]!.toLowerCase() === 'k' ? 1_000 : m[2]!.toLowerCase() === 'm' ? 1_000_000 : 1);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: "${part}" is not a positive whole number`);
    return n;
  });
  return [...new Set(sizes)].sort((a, b) => a - b);
}

export interface GrowthPoint {
  n: number;
  value: number;
}

/**
 * The exponent b of value ≈ a·n^b between the first and last point (log-log slope): 0 is flat,
 * 1 is linear. Growth no faster than log n shows as a slope near 0 over a decade or more.
 */
export function growthExponent(points: GrowthPoint[]): number | undefined {
  const usable = points.filter((p) => p.n > 0 && p.value > 0);
  if (usable.length < 2) return undefined;
  const first = usable[0]!;
  const last = usable[usable.length - 1]!;
  if (first.n === last.n) return undefined;
  return Math.round((Math.log(last.value / first.value) / Math.log(last.n / first.n)) * 100) / 100;
}

/** How the curve reads: "flat", "≤ log n", or "grows (n^b)". */
export function growthVerdict(points: GrowthPoint[]): string {
  const b = growthExponent(points);
  if (b === undefined) return 'one point';
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const logRatio = Math.log(last.n) / Math.log(first.n);
  if (b < 0.05) return `flat (n^${b.toFixed(2)})`;
  // log n grows by logRatio over the range; anything within that (and 15% noise) is no faster.
  if (last.value / first.value <= logRatio * 1.15) return `no faster than log n (n^${b.toFixed(2)})`;
  return `**grows** (n^${b.toFixed(2)})`;
}

export interface Series {
  label: string;
  unit: string;
  points: GrowthPoint[];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/**
 * Each series normalised to its first point (1.0 = the cost at the smallest size) on a log n
 * axis, with a dashed log n reference curve: what "no faster than log n" allows.
 */
export function growthSvg(title: string, series: Series[]): string {
  const W = 800;
  const H = 360;
  const M = { left: 56, right: 300, top: 36, bottom: 44 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="30">${escapeXml(title)}: no data</text></svg>\n`;
  const nMin = Math.min(...all.map((p) => p.n));
  const nMax = Math.max(...all.map((p) => p.n), nMin * 10);
  const norm = series.map((s) => ({ ...s, rel: s.points.map((p) => ({ n: p.n, r: s.points[0]!.value > 0 ? p.value / s.points[0]!.value : 0 })) }));
  const logRef = (n: number) => Math.log(n) / Math.log(nMin);
  const yMax = Math.max(2, ...norm.flatMap((s) => s.rel.map((p) => p.r)), logRef(nMax)) * 1.1;
  const x = (n: number) => M.left + ((Math.log10(n) - Math.log10(nMin)) / Math.max(Math.log10(nMax) - Math.log10(nMin), 1e-9)) * (W - M.left - M.right);
  const y = (r: number) => H - M.bottom - (r / yMax) * (H - M.top - M.bottom);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${M.left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  parts.push(`<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>`);
  parts.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>`);
  for (let e = Math.ceil(Math.log10(nMin)); e <= Math.floor(Math.log10(nMax)); e += 1) {
    const n = 10 ** e;
    parts.push(`<line x1="${x(n)}" y1="${H - M.bottom}" x2="${x(n)}" y2="${H - M.bottom + 5}" stroke="black"/><text x="${x(n)}" y="${H - M.bottom + 18}" text-anchor="middle">${n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : n}</text>`);
  }
  for (let r = 0; r <= yMax; r += yMax > 6 ? 2 : 1) {
    parts.push(`<line x1="${M.left - 5}" y1="${y(r)}" x2="${M.left}" y2="${y(r)}" stroke="black"/><text x="${M.left - 8}" y="${y(r) + 4}" text-anchor="end">${r}×</text>`);
  }
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">n (log scale)</text>`);
  parts.push(`<text x="14" y="${(M.top + H - M.bottom) / 2}" transform="rotate(-90 14 ${(M.top + H - M.bottom) / 2})" text-anchor="middle">cost ÷ cost at smallest n</text>`);
  const refPoints: string[] = [];
  for (let k = 0; k <= 20; k += 1) {
    const n = nMin * (nMax / nMin) ** (k / 20);
    refPoints.push(`${x(n).toFixed(1)},${y(logRef(n)).toFixed(1)}`);
  }
  parts.push(`<polyline points="${refPoints.join(' ')}" fill="none" stroke="#999" stroke-dasharray="5,4"/>`);
  parts.push(`<text x="${W - M.right + 8}" y="${M.top + 4}" fill="#666">- - log n</text>`);
  norm.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    parts.push(`<polyline points="${s.rel.map((p) => `${x(p.n).toFixed(1)},${y(p.r).toFixed(1)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of s.rel) parts.push(`<circle cx="${x(p.n).toFixed(1)}" cy="${y(p.r).toFixed(1)}" r="3" fill="${colour}"/>`);
    const first = s.points[0]!;
    parts.push(`<text x="${W - M.right + 8}" y="${M.top + 22 + i * 18}" fill="${colour}">${escapeXml(`${s.label} (${fmt(first.value)} ${s.unit} at ${fmtN(first.n)})`)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const fmt = (v: number) => (v >= 100 ? Math.round(v).toString() : v >= 10 ? v.toFixed(1) : v.toFixed(2));
export const fmtN = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
