// The bench's own arithmetic and reporting (bench/lib), which its figures depend on: modes and
// options, exact percentiles, per-scenario profile windows, and the met/missed table.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compareMarkdown, compareRow, verdict } from '../../bench/lib/compare-report.ts';
import { mainThreadProfile, summarizeProfile } from '../../bench/lib/cpuprofile.ts';
import { growthExponent, growthSvg, growthVerdict, parseSizes } from '../../bench/lib/growth-report.ts';
import { parseOptions, SCENARIOS } from '../../bench/lib/options.ts';
import { markdownTables, type BenchResults } from '../../bench/lib/report.ts';
import { aggregate } from '../../bench/lib/load.ts';
import { LatencyRecorder, median } from '../../bench/lib/stats.ts';
import { startArguments, startEnvironment } from '../../bench/lib/tree.ts';

describe('bench library', () => {
  it('parses the modes and options, refusing unknown scenarios and malformed values', () => {
    const full = parseOptions([]);
    assert.ok(full !== 'help');
    assert.equal(full.mode, 'full');
    assert.equal(full.bulkUsers, 100_000, 'the search target is measured at 100k users');
    assert.deepEqual([...full.only], [...SCENARIOS]);
    const quick = parseOptions(['--quick', '--only=cc,refresh', '--node-flags=--max-old-space-size=96 --expose-gc', '--gatehouse-env=MALLOC_ARENA_MAX=1,A=b=c']);
    assert.ok(quick !== 'help');
    assert.equal(quick.mode, 'quick');
    assert.deepEqual([...quick.only], ['cc', 'refresh']);
    assert.deepEqual(quick.nodeFlags, ['--max-old-space-size=96', '--expose-gc']);
    assert.deepEqual(quick.gatehouseEnv, { MALLOC_ARENA_MAX: '1', A: 'b=c' });
    assert.equal(parseOptions(['--help']), 'help');
    assert.throws(() => parseOptions(['--only=cc,nope']), /unknown scenario/);
    assert.throws(() => parseOptions(['--connections=0']), /positive integer/);
    assert.throws(() => parseOptions(['--gatehouse-env=NOEQUALS']), /KEY=VALUE/);
  });

  it('computes nearest-rank percentiles and aggregates rounds by their total time', () => {
    const latency = new LatencyRecorder();
    for (let ms = 1; ms <= 100; ms += 1) latency.record(ms);
    assert.deepEqual({ ...latency.summary() }, { p50: 50, p95: 95, p99: 99, max: 100, mean: 50.5, samples: 100 });
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    const a = new LatencyRecorder();
    a.record(10);
    const b = new LatencyRecorder();
    b.record(30);
    const total = aggregate([
      { ok: 100, non2xx: 1, seconds: 1, latency: a },
      { ok: 300, errors: 2, seconds: 2, latency: b },
    ]);
    assert.equal(total.rate, 133.3, '400 operations in 3 seconds');
    assert.deepEqual(total.roundRates, [100, 150]);
    assert.equal(total.failed, 3);
    assert.equal(total.latency.samples, 2);
  });

  it('summarizes a CPU profile per window, with the total time of repository functions', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-test-'));
    try {
      const src = `file://${path.join(process.cwd(), 'src', 'oidc', 'adapter.ts')}`;
      const profile = {
        nodes: [
          { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 4] },
          { id: 2, callFrame: { functionName: 'upsert', url: src, lineNumber: 9, columnNumber: 0 }, children: [3] },
          { id: 3, callFrame: { functionName: 'write', url: 'file:///x/node_modules/ioredis/built/Redis.js', lineNumber: 0, columnNumber: 0 } },
          { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1, columnNumber: -1 } },
        ],
        startTime: 1_000,
        endTime: 5_000,
        samples: [3, 2, 4, 3],
        timeDeltas: [1_000, 1_000, 1_000, 1_000],
      };
      await writeFile(path.join(dir, 'CPU.20260101.000000.123.1.002.cpuprofile'), JSON.stringify({ ...profile, samples: [4, 4, 4, 4] }));
      await writeFile(path.join(dir, 'CPU.20260101.000000.123.0.001.cpuprofile'), JSON.stringify(profile));
      const file = await mainThreadProfile(dir);
      assert.equal(path.basename(file ?? ''), 'CPU.20260101.000000.123.0.001.cpuprofile', 'thread 0 serves the requests');
      const whole = await summarizeProfile(file!, 10);
      assert.equal(whole.busyMs, 3);
      assert.equal(whole.ownTotals[0]?.name, 'upsert');
      assert.equal(whole.ownTotals[0]?.ms, 3, 'the callee ioredis write counts towards upsert');
      // Samples at 2000, 3000, 4000 and 5000 µs: a window over the first two keeps 2 ms busy.
      const windowed = await summarizeProfile(file!, 10, { scenario: 'refresh', fromUs: 1_500, toUs: 3_500 });
      assert.equal(windowed.scenario, 'refresh');
      assert.equal(windowed.busyMs, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints every target as met or missed, with the CPU per operation beside each rate', () => {
    const latency = { p50: 1, p95: 2, p99: 3, max: 4, mean: 1.5, samples: 10 };
    const result = { rate: 900, roundRates: [900], ok: 900, failed: 0, seconds: 1, latency };
    const results: BenchResults = {
      version: 1,
      mode: 'quick',
      startedAt: '',
      finishedAt: '',
      command: 'npm run bench -- --quick',
      machine: { nproc: 2, cpuModel: 'cpu', memoryGb: 1, node: 'v20', os: 'linux', uvThreadpoolSize: 4 },
      settings: {},
      scenarios: { cc: { id: 'cc', label: 'client credentials', result, cpuMsPerOp: 1.25, reference: { label: 'peer', result: { ...result, rate: 1000 }, cpuMsPerOp: 1.1 }, ratio: 0.9 } },
      targets: [
        { name: 'client credentials vs peer', wanted: '≥ 0.80× peer', actual: '0.90×', met: true },
        { name: 'refresh grants', wanted: '≥ 1,000/s', actual: '900/s', met: false },
      ],
    };
    const table = markdownTables(results);
    assert.match(table, /\| client credentials \| 900 \| 1\.00 \| 2\.00 \| 3\.00 \| 1\.25 \| peer \| 1,000 \| 1\.10 \| 0\.90× \| 0 \|/);
    assert.match(table, /\| client credentials vs peer \| ≥ 0\.80× peer \| 0\.90× \| met \|/);
    assert.match(table, /\| refresh grants \| ≥ 1,000\/s \| 900\/s \| \*\*missed\*\* \|/);
  });
});

describe('bench: --compare and the trees it starts', () => {
  it('parses --compare as a quick run unless --full or --smoke, and refuses what is not a ref', () => {
    const compare = parseOptions(['--compare=main']);
    assert.ok(compare !== 'help');
    assert.equal(compare.compare, 'main');
    assert.equal(compare.mode, 'quick');
    const full = parseOptions(['--compare', 'HEAD~3', '--full']);
    assert.ok(full !== 'help');
    assert.equal(full.compare, 'HEAD~3');
    assert.equal(full.mode, 'full');
    const plain = parseOptions([]);
    assert.ok(plain !== 'help');
    assert.equal(plain.compare, undefined);
    assert.throws(() => parseOptions(['--compare=main; rm -rf /']), /git ref/);
  });

  it("reads a tree's start command from its npm start script, refusing shell syntax", () => {
    assert.deepEqual(startArguments('node dist/src/bin.js start'), ['dist/src/bin.js', 'start']);
    assert.deepEqual(startArguments('node bin/gatehouse.js start'), ['bin/gatehouse.js', 'start']);
    assert.throws(() => startArguments(undefined), /no "start" script/);
    assert.throws(() => startArguments('tsx src/main.ts start'), /node FILE/);
    assert.throws(() => startArguments('node a.js && node b.js'), /plain node command/);
    assert.deepEqual(startArguments('MALLOC_ARENA_MAX=1 node dist/src/bin.js start'), ['dist/src/bin.js', 'start']);
    assert.deepEqual(startEnvironment('MALLOC_ARENA_MAX=1 node dist/src/bin.js start'), { MALLOC_ARENA_MAX: '1' });
    assert.deepEqual(startEnvironment('node dist/src/bin.js start'), {});
    assert.throws(() => startArguments('A=$(id) node a.js'), /node FILE/);
  });

  it('computes working/ref ratios of rate and CPU and calls differences under 15% noise', () => {
    const row = compareRow('cc', 'client credentials', { rate: 1000, cpuMsPerOp: 1.0, failed: 0 }, { rate: 1500, cpuMsPerOp: 0.6, failed: 0 });
    assert.equal(row.rateRatio, 1.5);
    assert.equal(row.cpuRatio, 0.6);
    assert.equal(verdict('rate', 1.5), 'faster');
    assert.equal(verdict('rate', 0.5), '**slower**');
    assert.equal(verdict('rate', 1.1), 'within noise');
    assert.equal(verdict('cpu', 0.6), 'cheaper');
    assert.equal(verdict('cpu', 1.3), '**dearer**');
    const noCpu = compareRow('jwks', 'JWKS', { rate: 0, failed: 3 }, { rate: 10, failed: 0 });
    assert.equal(noCpu.rateRatio, 0, 'no ratio against a side that did nothing');
    assert.equal(noCpu.cpuRatio, undefined);
    const table = compareMarkdown('main (abc)', 'working tree (def)', [row, noCpu], { startupMs: { ref: 2000, work: 1000 }, idleRssMb: { ref: 160, work: 120 }, underLoadMaxRssMb: { ref: 300, work: 200 } });
    assert.match(table, /\| client credentials \| 1,000 \| 1.00 \| 1,500 \| 0.60 \| 1.50× \| faster \| 0.60× \| cheaper \|/);
    assert.match(table, /\| JWKS \(failed: 3 \/ 0\) \|/);
    assert.match(table, /\| start to \/readyz \| 2,000 ms \| 1,000 ms \| 0.50× \|/);
  });
});

describe('bench --growth: sizes, growth exponents and the chart', () => {
  it('parses size lists with k and m suffixes, sorted and without duplicates', () => {
    assert.deepEqual(parseSizes('100k,10k,1m,10000', '--growth-users'), [10_000, 100_000, 1_000_000]);
    assert.deepEqual(parseSizes('2.5k', 'x'), [2500]);
    assert.throws(() => parseSizes('10k,lots', '--growth-users'), /--growth-users: "lots" is not a size/);
    assert.throws(() => parseSizes('0', 'x'), /positive/);
    const options = parseOptions(['--growth', '--growth-users=10k,100k', '--growth-audit=1m', '--quick']);
    assert.ok(options !== 'help');
    assert.deepEqual(options.growth, { users: [10_000, 100_000], audit: [1_000_000], logins: 400, seconds: 3 });
    const plain = parseOptions([]);
    assert.ok(plain !== 'help');
    assert.equal(plain.growth, undefined, 'growth is opt-in');
  });

  it('reads the log-log slope: flat, no faster than log n, or growing', () => {
    const flat = [
      { n: 10_000, value: 2 },
      { n: 1_000_000, value: 2.02 },
    ];
    const logN = [
      { n: 10_000, value: 4 },
      { n: 1_000_000, value: 6 },
    ]; // log(1e6)/log(1e4) = 1.5
    const linear = [
      { n: 10_000, value: 1 },
      { n: 1_000_000, value: 100 },
    ];
    assert.equal(growthExponent(linear), 1);
    assert.equal(growthExponent(flat), 0);
    assert.match(growthVerdict(flat), /^flat/);
    assert.match(
      growthVerdict([
        { n: 10_000, value: 3 },
        { n: 100_000, value: 2 },
      ]),
      /^flat/,
      'cheaper at a larger size is flat, not growth',
    );
    assert.match(growthVerdict(logN), /^no faster than log n/);
    assert.match(growthVerdict(linear), /grows.*n\^1\.00/);
    assert.equal(growthVerdict([{ n: 10, value: 1 }]), 'one point');
  });

  it('draws each series normalised to its first point, with a log n reference', () => {
    const svg = growthSvg('t <&>', [
      {
        label: 'search p95',
        unit: 'ms',
        points: [
          { n: 10_000, value: 5 },
          { n: 100_000, value: 10 },
        ],
      },
    ]);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /t &lt;&amp;&gt;/, 'text is escaped');
    assert.equal((svg.match(/<polyline/g) ?? []).length, 2, 'one series and the log n reference');
    assert.match(svg, /search p95 \(5.00 ms at 10k\)/);
  });
});
