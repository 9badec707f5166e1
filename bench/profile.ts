// Prints the top self-time functions and packages of a V8 CPU profile, and the total time of
// Gatehouse's own functions; with a windows.json beside it (written by `npm run bench -- --profile`),
// one summary per measured scenario:
//   node --import tsx bench/profile.ts bench/results/profiles/<run>/CPU.*.cpuprofile [top] [scenario]
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { formatProfile, summarizeProfile } from './lib/cpuprofile.ts';

const [file, top, only] = process.argv.slice(2);
if (!file) {
  process.stderr.write('Usage: node --import tsx bench/profile.ts FILE.cpuprofile [TOP] [SCENARIO]\n');
  process.exit(2);
}
let windows: { scenario: string; fromUs: number; toUs: number }[] = [];
try {
  windows = JSON.parse(await readFile(path.join(path.dirname(file), 'windows.json'), 'utf8')) as typeof windows;
} catch {
  // a profile from elsewhere: the whole run only
}
const n = Number(top) || 25;
for (const window of windows.filter((w) => !only || w.scenario.includes(only))) process.stdout.write(`${formatProfile(await summarizeProfile(file, n, window))}\n\n`);
if (!only) process.stdout.write(`${formatProfile(await summarizeProfile(file, n))}\n`);
