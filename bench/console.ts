// The console's weight and first load on this machine: `npm run bench:console`.
//
// - Size: every file the console's page loads (console/dist: index.html and assets/), raw and
//   gzip-compressed at level 9, as a server or proxy that compresses would send them.
// - First load: Chromium opens /console/ for an administrator who already has a Gatehouse
//   session (signed in once before), with an empty HTTP cache each time, and the clock stops
//   when the overview's heading and its counts are on screen. That includes the console's own
//   sign-in round trip (authorization request, callback, token exchange) and its first API calls.
//   The bundle is fetched and parsed twice: by /console/ (which sends the browser to sign in)
//   and by /console/callback (the tokens live in the page's memory only).
//   Measured RUNS times (default 7; BENCH_CONSOLE_RUNS), the median and the slowest reported.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { ADMIN, startConsoleDemo } from './lib/console-demo.ts';

const DIST = fileURLToPath(new URL('../console/dist/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RUNS = Math.max(1, Number(process.env.BENCH_CONSOLE_RUNS ?? 7));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

function sizes(): { file: string; bytes: number; gzip: number }[] {
  return files(DIST)
    .filter((file) => /\.(html|js|css)$/.test(file))
    .map((file) => {
      const body = readFileSync(file);
      return { file: path.relative(DIST, file), bytes: body.length, gzip: gzipSync(body, { level: 9 }).length };
    });
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

async function firstLoads(url: string): Promise<number[]> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    // Sign in once; later contexts start with that Gatehouse session cookie and an empty cache.
    const first = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await first.newPage();
    await page.goto(`${url}/console/`);
    await page.getByLabel('Username or email').fill(ADMIN.username);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('.counts').waitFor();
    const session = await first.storageState();
    await first.close();
    const timings: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, storageState: session });
      const fresh = await context.newPage();
      const started = performance.now();
      await fresh.goto(`${url}/console/`);
      await fresh.locator('.counts').waitFor();
      timings.push(performance.now() - started);
      await context.close();
    }
    return timings;
  } finally {
    await browser.close();
  }
}

const measured = sizes();
const total = measured.reduce((sum, f) => ({ bytes: sum.bytes + f.bytes, gzip: sum.gzip + f.gzip }), { bytes: 0, gzip: 0 });
console.log('Console bundle (console/dist):');
for (const f of measured) console.log(`  ${f.file.padEnd(32)} ${kb(f.bytes).padStart(11)}  gzip ${kb(f.gzip).padStart(10)}`);
console.log(`  ${'total'.padEnd(32)} ${kb(total.bytes).padStart(11)}  gzip ${kb(total.gzip).padStart(10)}`);

const demo = await startConsoleDemo();
try {
  const timings = (await firstLoads(demo.url)).sort((a, b) => a - b);
  const median = timings[Math.floor(timings.length / 2)]!;
  console.log(`First load of /console/ to the overview's counts (signed-in session, empty cache, ${timings.length} runs): median ${median.toFixed(0)} ms, slowest ${timings[timings.length - 1]!.toFixed(0)} ms`);
  // The figure depends on what else the machine runs: say how busy it was.
  console.log(
    `(${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((n) => n.toFixed(1))
      .join(' / ')} over 1 / 5 / 15 min)`,
  );
} finally {
  await demo.close();
}
