// The production start: `npm start` runs the JavaScript that `npm run build:server` compiled into
// dist/ (at install, through `prepare`), with no TypeScript loader in the process. It must find
// the templates and the migrations from there, and record migrations under the same names as the
// sources do, so that a database first migrated by `node bin/gatehouse.js migrate` (tsx) is up to
// date for the compiled server and the other way round.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { migrationName } from '../../src/db/migrate.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const CONFIG_VARIABLES = /^(NODE_ENV|PORT|HOST|LOG_LEVEL|DATABASE_URL|DATABASE_POOL_MAX|REDIS_URL|GATEHOUSE_\w+|NODE_OPTIONS)$/;

describe('the compiled build (npm run build:server, npm start)', function () {
  this.timeout(180_000);
  let dataDir: string;
  let server: ChildProcessWithoutNullStreams | undefined;

  const env = (): NodeJS.ProcessEnv => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !CONFIG_VARIABLES.test(key))),
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_SECRET: 'build-test-secret-0123456789-0123456789-0123456789',
    LOG_LEVEL: 'warn',
  });

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-build-'));
    await run('npm', ['run', '--silent', 'build:server'], { cwd: REPO_ROOT, env: env() });
  });

  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('npm start runs dist/, which imports no TypeScript and no loader', async () => {
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // One glibc arena (argon2id's 19 MiB blocks go back to the system after sign-ins) and a young
    // generation of 2 × 8 MiB (operator guide, "Memory").
    assert.equal(pkg.scripts.start, 'MALLOC_ARENA_MAX=1 node --max-semi-space-size=8 dist/src/bin.js start');
    assert.equal(pkg.scripts.prepare, 'npm run build', 'npm ci builds');
    assert.match(pkg.scripts.build!, /npm run build:server/);
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else files.push(full);
      }
    };
    await walk(path.join(REPO_ROOT, 'dist', 'src'));
    await walk(path.join(REPO_ROOT, 'dist', 'migrations'));
    assert.ok(files.length > 50, `dist holds the compiled sources (${files.length} files)`);
    assert.ok(
      files.every((f) => f.endsWith('.js')),
      'only JavaScript is emitted',
    );
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      assert.doesNotMatch(text, /from '\.{1,2}\/[^']*\.ts'|import\('\.{1,2}\/[^']*\.ts'\)|['"]tsx['"/]/, `${path.relative(REPO_ROOT, file)} imports TypeScript or tsx`);
    }
    assert.ok(existsSync(path.join(REPO_ROOT, 'dist', 'migrations', '20261123000001_initial_schema.js')));
  });

  it('records compiled migrations under their source names', () => {
    assert.equal(migrationName('20261123000001_initial_schema.js'), '20261123000001_initial_schema.ts');
    assert.equal(migrationName('20261123000001_initial_schema.ts'), '20261123000001_initial_schema.ts');
  });

  it('starts from dist/ on a database the sources migrated, renders pages and answers /readyz', async () => {
    // The sources (tsx) migrate first: the compiled server must find nothing pending and nothing unknown.
    const migrated = await run(process.execPath, ['bin/gatehouse.js', 'migrate', '--init'], { cwd: REPO_ROOT, env: env() });
    assert.match(migrated.stdout + migrated.stderr, /Applied \d+ migration|up to date/);
    server = spawn(process.execPath, ['dist/src/bin.js', 'start'], { cwd: REPO_ROOT, env: { ...env(), HOST: '127.0.0.1', PORT: '0' }, stdio: ['pipe', 'pipe', 'pipe'] });
    server.stdin.end();
    let stdout = '';
    let stderr = '';
    server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      server!.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /Gatehouse is running at (http:\/\/\S+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      server!.once('exit', (code, signal) => reject(new Error(`the compiled server exited (${code ?? signal})\nstdout: ${stdout}\nstderr: ${stderr}`)));
    });
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    // An error page: the templates are found from dist/src/views/render.js.
    const page = await fetch(`${url}/auth?client_id=no-such-client&response_type=code&scope=openid`);
    const html = await page.text();
    assert.equal(page.status, 400);
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<title>[^<]+· Gatehouse<\/title>/);
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    // And the compiled CLI sees the same schema as up to date.
    const status = await run(process.execPath, ['dist/src/bin.js', 'migrate'], { cwd: REPO_ROOT, env: env() });
    assert.match(status.stdout + status.stderr, /up to date/);
  });
});
