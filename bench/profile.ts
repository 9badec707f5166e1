// Prints the top self-time functions and packages of a V8 CPU profile:
//   node --import tsx bench/profile.ts bench/results/profiles/<run>/CPU.*.cpuprofile [top]
import { formatProfile, summarizeProfile } from './lib/cpuprofile.ts';

const [file, top] = process.argv.slice(2);
if (!file) {
  process.stderr.write('Usage: node --import tsx bench/profile.ts FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
process.stdout.write(`${formatProfile(await summarizeProfile(file, Number(top) || 25))}\n`);
