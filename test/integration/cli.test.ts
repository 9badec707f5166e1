// The `gatehouse` command as an operator runs it: `node bin/gatehouse.js ...` in child processes,
// checking exit codes, stdout/stderr and what the commands leave behind. One data directory is
// shared by the whole file (a PGlite initdb costs seconds); with DATABASE_URL/REDIS_URL set the
// commands run on the shared PostgreSQL and Redis instead, so every name here is unique.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTROL_SOCKET, CONTROL_TOKEN } from '../../src/cli/control.ts';
import { loadConfig } from '../../src/config/index.ts';
import { openContext } from '../../src/context.ts';
import { LOCK_FILE_NAME } from '../../src/db/embedded-lock.ts';
import { createLogger } from '../../src/logger.ts';
import { passwordSignIn } from '../helpers/sign-in.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = 'bin/gatehouse.js';
const POSTGRES = Boolean(process.env.DATABASE_URL);
const SECRET = 'cli-test-secret-0123456789-0123456789-0123456789';
const CHILD_TIMEOUT_MS = 90_000;

/** Every variable loadConfig reads: none leaks in from the environment the tests run in. */
const CONFIG_VARIABLES = /^(NODE_ENV|PORT|HOST|LOG_LEVEL|DATABASE_URL|DATABASE_POOL_MAX|REDIS_\w+|GATEHOUSE_\w+)$/;

const suffix = randomBytes(4).toString('hex');
const unique = (prefix: string) => `${prefix}-${suffix}`;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let dataDir: string;
const tempDirs: string[] = [];

function childEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !CONFIG_VARIABLES.test(key)));
  Object.assign(env, {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_SECRET: SECRET,
    GATEHOUSE_REDIS_PREFIX: `test:cli-${suffix}:`,
    LOG_LEVEL: 'silent',
    ...(POSTGRES ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  });
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs one command to completion; `input` is written to its stdin, which is then closed. */
function gatehouse(args: string[], options: { input?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, childEnv(options.env));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gatehouse ${args.join(' ')} did not finish within ${(options.timeoutMs ?? CHILD_TIMEOUT_MS) / 1000}s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? CHILD_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a command that never reads stdin may close it first
    child.stdin.end(options.input ?? '');
  });
}

function describeResult(result: Result): string {
  return `exit ${result.code}${result.signal ? ` (${result.signal})` : ''}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function assertExit(result: Result, code: number): void {
  assert.equal(result.code, code, describeResult(result));
}

/** stdout of a successful --json command, parsed. */
function json<T>(result: Result): T {
  assertExit(result, 0);
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    assert.fail(`stdout is not one JSON document:\n${describeResult(result)}`);
  }
}

/** A failure must say what to fix, not dump a stack trace. */
function assertNoStackTrace(result: Result): void {
  assert.doesNotMatch(result.stderr, /^\s+at .+:\d+:\d+\)?$/m, `stderr holds a stack trace:\n${result.stderr}`);
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `gatehouse-cli-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** Opens the same database in this process (once no child holds it) to check what the commands wrote. */
async function withContext<T>(fn: (context: Awaited<ReturnType<typeof openContext>>) => Promise<T>): Promise<T> {
  const env = childEnv();
  const config = loadConfig({ ...env, NODE_ENV: 'test' });
  const context = await openContext(config, createLogger('silent'), { purpose: 'cli-test-check', migrate: false });
  try {
    return await fn(context);
  } finally {
    await context.close();
  }
}

interface ClientJson {
  client_id: string;
  client_secret?: string;
  name: string;
  type: string;
  redirect_uris: string[];
}

interface SeedReportJson {
  users: { created: string[]; unchanged: string[] };
  applications: { created: string[]; updated: string[]; unchanged: string[] };
  apiResources: { created: string[]; updated: string[]; unchanged: string[] };
  clientSecrets: { clientId: string; clientSecret: string }[];
}

describe(`gatehouse CLI (${POSTGRES ? 'PostgreSQL + Redis' : 'embedded'})`, function () {
  this.timeout(600_000); // every command loads PGlite; slow on a busy machine

  before(async () => {
    dataDir = await tempDir('data');
  });

  after(async () => {
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  // First, while the data directory is still empty: only then does `start` create the administrator.
  describe('start on the embedded database', function () {
    let server: ChildProcessWithoutNullStreams | undefined;
    let serverExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    let stdout = '';
    let stderr = '';
    let url = '';

    before(async function () {
      if (POSTGRES) return this.skip(); // the single-owner lock exists only for PGlite
      server = spawnCli(['start'], childEnv({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'debug' }));
      server.stdin.end();
      server.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      serverExit = new Promise((resolve) => server!.on('exit', (code, signal) => resolve({ code, signal })));
      url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the server did not report that it was running within 240s\nstdout: ${stdout}\nstderr: ${stderr}`)), 240_000);
        const check = () => {
          const match = /Gatehouse is running at (http:\/\/\S+)/.exec(stdout);
          if (match) {
            clearTimeout(timer);
            server!.stdout.off('data', check);
            resolve(match[1]);
          }
        };
        server!.stdout.on('data', check);
        void serverExit.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`the server exited (${code ?? signal}) before it was running\nstdout: ${stdout}\nstderr: ${stderr}`));
        });
      });
    });

    after(() => {
      // Only if a test failed before the graceful stop: never leave a server behind.
      if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    });

    it('listens where it says it does', () => {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(new URL(url).port, '0', 'the real port is printed, not the requested 0');
    });

    it("carries out a CLI command on the same data directory itself, with the command's output and exit code", async () => {
      const name = unique('beside-server');
      const created = json<{ username: string; status: string }>(await gatehouse(['users', 'create', '--username', name, '--password-stdin', '--json'], { input: 'beside the server 1234\n' }));
      assert.equal(created.username, name);
      const users = json<{ username: string }[]>(await gatehouse(['users', 'list', '--json']));
      assert.ok(
        users.some((u) => u.username === name),
        'the running server lists the user it created',
      );
      const human = await gatehouse(['users', 'list']);
      assertExit(human, 0);
      assert.match(human.stdout, new RegExp(`\\t${name}\\tactive`));
    });

    it('relays usage errors (exit 2) and failures (exit 1) with the same messages as a direct run', async () => {
      const usage = await gatehouse(['clients', 'create', '--name', 'x', '--type', 'bogus']);
      assertExit(usage, 2);
      assert.match(usage.stderr, /--type must be web, spa, native or service/);
      const unknownSub = await gatehouse(['users', 'frobnicate']);
      assertExit(unknownSub, 2);
      assert.match(unknownSub.stderr, /usage: gatehouse users/);
      const failed = await gatehouse(['clients', 'create', '--name', unique('no-redirect'), '--type', 'web']);
      assertExit(failed, 1);
      assert.match(failed.stderr, /^Error: .*redirect/im);
      assert.equal(failed.stdout, '');
      assertNoStackTrace(failed);
    });

    it("resolves relative file names against the CLI's own directory", async () => {
      const dir = await tempDir('seed-cwd');
      const name = unique('seeded-beside');
      await writeFile(path.join(dir, 'seed.yaml'), `users:\n  - username: ${name}\n    password: seeded beside the server 99\n`);
      const result = await new Promise<Result>((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(REPO_ROOT, BIN), 'seed', 'seed.yaml', '--json'], { cwd: dir, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
      });
      assert.deepEqual(json<SeedReportJson>(result).users.created, [name]);
    });

    it('keeps the control socket and its token to the owner (0600), and refuses a peer without the token', async () => {
      const socketPath = path.join(dataDir, CONTROL_SOCKET);
      assert.equal((await stat(socketPath)).mode & 0o777, 0o600);
      assert.equal((await stat(path.join(dataDir, CONTROL_TOKEN))).mode & 0o777, 0o600);
      const name = unique('no-token');
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(socketPath);
        let text = '';
        socket.on('connect', () => socket.write(`${JSON.stringify({ token: 'guessed', argv: ['users', 'create', '--username', name, '--password', 'not allowed 12345'], cwd: '/' })}\n`));
        socket.on('data', (c: Buffer) => (text += c.toString()));
        socket.on('error', reject);
        socket.on('close', () => resolve(text));
      });
      assert.match(reply, /"error":"refused/);
      assert.doesNotMatch(reply, /"exit"/);
      const users = json<{ username: string }[]>(await gatehouse(['users', 'list', '--json']));
      assert.ok(!users.some((u) => u.username === name), 'nothing was created');
    });

    it('answers /healthz and /readyz', async () => {
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });

      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(ready.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', store: 'ok' } });
    });

    it('shuts down gracefully on SIGTERM within 10 s, releasing the lock', async () => {
      server!.kill('SIGTERM');
      const exited = await Promise.race([serverExit, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000))]);
      assert.notEqual(exited, 'timeout', `still running 10 s after SIGTERM\nstdout: ${stdout}\nstderr: ${stderr}`);
      assert.deepEqual(exited, { code: 0, signal: null }, `stderr: ${stderr}`);
      assert.equal(existsSync(path.join(dataDir, LOCK_FILE_NAME)), false, 'the lock file is removed');
      assert.equal(existsSync(path.join(dataDir, CONTROL_SOCKET)), false, 'the control socket is removed');
      assert.equal(existsSync(path.join(dataDir, CONTROL_TOKEN)), false, 'the control token is removed');
    });

    it('printed the one-time administrator password exactly once, and never in a log line', () => {
      const announcements = [...stdout.matchAll(/Created administrator "admin" with one-time password: (\S+)/g)];
      assert.equal(announcements.length, 1, `stdout:\n${stdout}`);
      const password = announcements[0][1];
      assert.ok(password.length >= 16, 'a generated password is long');
      assert.equal(stdout.split(password).length - 1, 1, 'the password appears once on stdout');
      assert.ok(!stderr.includes(password), 'nor on stderr');

      const logLines = stdout.split('\n').filter((line) => line.startsWith('{'));
      const entries = logLines.map((line) => JSON.parse(line) as { msg?: string; url?: string });
      // The logs are there (so their not holding the password means something)...
      assert.ok(
        entries.some((e) => e.msg === 'Gatehouse listening'),
        `stdout:\n${stdout}`,
      );
      assert.ok(
        entries.some((e) => e.msg === 'request' && e.url === '/readyz'),
        'requests are logged at debug',
      );
      assert.ok(
        entries.some((e) => e.msg === 'stopped'),
        'the shutdown is logged',
      );
      // ...and none of them holds it.
      for (const line of logLines) assert.ok(!line.includes(password), `a log line holds the password: ${line}`);
    });

    it('lets CLI commands open the data directory once the server has stopped', async () => {
      const users = json<{ username: string; status: string }[]>(await gatehouse(['users', 'list', '--json']));
      // The administrator from the first start, and the users the running server created for the CLI.
      assert.deepEqual(
        users.map((u) => [u.username, u.status]),
        [
          ['admin', 'active'],
          [unique('beside-server'), 'active'],
          [unique('seeded-beside'), 'active'],
        ],
      );
    });
  });

  describe('commands', () => {
    const webName = unique('CLI Web');
    const spaName = unique('CLI SPA');
    const username = unique('cli-user');
    let webClient: ClientJson;
    let spaClient: ClientJson;

    it('migrate --json reports the applied migrations and none pending', async () => {
      const status = json<{ applied: string[]; pending: string[] }>(await gatehouse(['migrate', '--json']));
      assert.ok(status.applied.length >= 1, 'at least the initial schema is applied');
      assert.ok(
        status.applied.every((name) => /^\d{14}_[\w-]+\.ts$/.test(name)),
        status.applied.join(', '),
      );
      assert.ok(status.applied.some((name) => name.includes('initial_schema')));
      assert.deepEqual(status.pending, []);
    });

    it('clients create --type web prints the client_id and a client_secret', async () => {
      webClient = json<ClientJson>(await gatehouse(['clients', 'create', '--name', webName, '--type', 'web', '--redirect-uri', 'https://app.example.com/cb', '--json']));
      assert.match(webClient.client_id, /^[\w.~-]{3,}$/);
      assert.equal(typeof webClient.client_secret, 'string');
      assert.ok(webClient.client_secret!.length >= 32, 'the secret is long enough to be a secret');
      assert.equal(webClient.name, webName);
      assert.equal(webClient.type, 'web');
      assert.deepEqual(webClient.redirect_uris, ['https://app.example.com/cb']);
    });

    it('clients create --type spa prints no secret: a SPA is a public client', async () => {
      spaClient = json<ClientJson>(await gatehouse(['clients', 'create', '--name', spaName, '--type', 'spa', '--redirect-uri', 'https://spa.example.com/cb', '--json']));
      assert.equal(spaClient.type, 'spa');
      assert.notEqual(spaClient.client_id, webClient.client_id);
      assert.equal('client_secret' in spaClient, false, JSON.stringify(spaClient));
    });

    it('clients list --json includes both, without any secret', async () => {
      const result = await gatehouse(['clients', 'list', '--json']);
      const clients = json<(ClientJson & { first_party: boolean })[]>(result);
      const web = clients.find((c) => c.client_id === webClient.client_id);
      const spa = clients.find((c) => c.client_id === spaClient.client_id);
      assert.ok(web, 'the web client is listed');
      assert.ok(spa, 'the SPA is listed');
      assert.deepEqual([web.name, web.type, web.first_party, web.redirect_uris], [webName, 'web', true, ['https://app.example.com/cb']]);
      assert.deepEqual([spa.name, spa.type], [spaName, 'spa']);
      assert.ok(!result.stdout.includes(webClient.client_secret!), 'the secret was shown once, at creation');
    });

    it('clients delete CLIENT_ID removes the application', async () => {
      const result = await gatehouse(['clients', 'delete', webClient.client_id]);
      assertExit(result, 0);
      assert.match(result.stdout, new RegExp(`Deleted application ${webClient.client_id}`));
      // Checked in this process below ("what the commands wrote"), to spare a child process.
    });

    it('clients create --type bogus exits 2 with a message naming --type', async () => {
      const result = await gatehouse(['clients', 'create', '--name', unique('Bogus'), '--type', 'bogus', '--redirect-uri', 'https://app.example.com/cb']);
      assertExit(result, 2);
      assert.match(result.stderr, /--type/);
      assert.match(result.stderr, /web, spa, native or service/, 'the message lists the valid types');
      assert.equal(result.stdout, '');
      assertNoStackTrace(result);
    });

    it('clients create --type web without a redirect URI exits 1 saying a redirect URI is needed', async () => {
      const result = await gatehouse(['clients', 'create', '--name', unique('No Redirect'), '--type', 'web']);
      assertExit(result, 1);
      assert.match(result.stderr, /redirect URI/i);
      assert.equal(result.stdout, '', 'no client_id is printed for an application that was not created');
      assertNoStackTrace(result);
    });

    it('users create --password-stdin reads the password from stdin', async () => {
      const user = json<{ id: string; username: string; status: string }>(await gatehouse(['users', 'create', '--username', username, '--password-stdin', '--email', `${username}@example.com`, '--json'], { input: 'initial-password-1\n' }));
      assert.equal(user.username, username);
      assert.equal(user.status, 'active');
      assert.match(user.id, /^[0-9a-f-]{36}$/);
    });

    it('users set-password --password-stdin changes the password', async () => {
      const result = json<{ username: string; passwordSet: boolean }>(await gatehouse(['users', 'set-password', '--username', username, '--password-stdin', '--json'], { input: 'changed-password-2\n' }));
      assert.deepEqual([result.username, result.passwordSet], [username, true]);
      // That the new password (without the trailing newline) signs in and the old one no longer
      // does is checked below, in this process.
    });

    it('users create with an invalid username exits non-zero saying which characters are allowed', async () => {
      const result = await gatehouse(['users', 'create', '--username', 'a b', '--password', 'a-good-password-3']);
      assert.notEqual(result.code, 0, describeResult(result));
      assert.match(result.stderr, /username may contain letters, digits/);
      assert.equal(result.stdout, '');
      assertNoStackTrace(result);
    });

    it('users import shows progress on stderr, reports a dry run, imports, and exits 1 listing refused rows', async () => {
      const dir = await tempDir('import');
      const good = path.join(dir, 'team.csv');
      const imported = unique('csv-user');
      await writeFile(good, `username,email,identity_kind\n${imported},${imported}@example.com,supplier\n`);
      const dry = await gatehouse(['users', 'import', good, '--dry-run']);
      assertExit(dry, 0);
      assert.match(dry.stdout, /^Dry run: 1 rows: 1 would be created, 0 already existed, 0 refused \(nothing written\)\.$/m);
      assert.match(dry.stderr, /^checked 1\/1 rows/m, 'progress goes to stderr');
      const real = json<{ created: number; committed: boolean }>(await gatehouse(['users', 'import', good, '--json']));
      assert.deepEqual([real.created, real.committed], [1, true]);
      const bad = path.join(dir, 'bad.csv');
      await writeFile(bad, `username,email\n${unique('ok')},\nno spaces allowed,\n`);
      const refused = await gatehouse(['users', 'import', bad]);
      assertExit(refused, 1);
      assert.match(refused.stdout, /^  line 3, username: username may contain/m);
      assert.match(refused.stderr, /1 row\(s\) refused; nothing was imported/);
      assertNoStackTrace(refused);
      const usage = await gatehouse(['users', 'import', good, '--mode', 'sometimes']);
      assertExit(usage, 2);
      assert.match(usage.stderr, /--mode must be all-or-nothing or per-row/);
      await withContext(async (context) => {
        const user = await context.users.findByUsername(imported);
        assert.ok(user, 'the imported user exists');
        const identity = await context.knex('identities').where({ user_id: user.id }).first('kind');
        assert.equal(identity.kind, 'supplier');
      });
    });

    describe('seed', () => {
      const seedUser = unique('seed-jack');
      const roleName = unique('Booker');
      const apiIdentifier = `https://api-${suffix}.example.com`;
      const appClientId = unique('seed-hub');
      const invalidFileUser = unique('never-created');
      let seedFile: string;

      before(async () => {
        const dir = await tempDir('seed');
        seedFile = path.join(dir, 'seed.yaml');
        // Roles are defined in the file itself: the system roles exist only once a server has started.
        await writeFile(
          seedFile,
          `dataScopeKeys: [client]
roles:
  - name: ${roleName}
    permissions: [{ resource: ${apiIdentifier}, permission: bookings:create }]
apiResources:
  - { identifier: ${apiIdentifier}, name: Bookings API ${suffix}, scopes: [bookings:read, bookings:create] }
users:
  - username: ${seedUser}
    email: ${seedUser}@example.com
    password: a-long-initial-password
    identities:
      - { kind: client, alias: Jack ${suffix}, roles: [${roleName}], dataScope: { client: [ROOM] } }
applications:
  - { clientId: ${appClientId}, name: Seed Hub ${suffix}, type: web, redirectUris: [https://hub.example.com/callback] }
`,
        );
      });

      it('imports users, applications and API resources', async () => {
        const report = json<SeedReportJson>(await gatehouse(['seed', seedFile, '--json']));
        assert.deepEqual(report.users, { created: [seedUser], unchanged: [] });
        assert.deepEqual(report.applications, { created: [appClientId], updated: [], unchanged: [] });
        assert.deepEqual(report.apiResources, { created: [apiIdentifier], updated: [], unchanged: [] });
        assert.deepEqual(
          report.clientSecrets.map((s) => s.clientId),
          [appClientId],
          'the new web application gets a secret, shown once',
        );
        assert.ok(report.clientSecrets[0].clientSecret.length >= 32);
      });

      it('changes nothing when run a second time', async () => {
        const result = await gatehouse(['seed', seedFile]);
        assertExit(result, 0);
        assert.match(result.stdout, /^users: 0 created, 1 unchanged$/m);
        assert.match(result.stdout, /^applications: 0 created, 0 updated, 1 unchanged$/m);
        assert.match(result.stdout, /^API resources: 0 created, 0 updated, 1 unchanged$/m);
        assert.doesNotMatch(result.stdout, /client_secret/, 'no new secret is generated for an existing application');
      });

      it('refuses an invalid file with exit 1, naming every bad field, and writes nothing', async () => {
        const bad = path.join(path.dirname(seedFile), 'bad.yaml');
        await writeFile(
          bad,
          `users:
  - username: ${invalidFileUser}
    email: not-an-email
applicatons:
  - { name: Typo, type: web, redirectUris: [https://typo.example.com/cb] }
`,
        );
        const result = await gatehouse(['seed', bad]);
        assertExit(result, 1);
        assert.match(result.stderr, /users\.0\.email/, `the bad field is named:\n${result.stderr}`);
        assert.match(result.stderr, /email must be a valid email address/);
        assert.match(result.stderr, /applicatons/, `the unknown key is named:\n${result.stderr}`);
        assert.equal(result.stdout, '');
        assertNoStackTrace(result);
      });

      it('left the data a token would carry, and wrote nothing from the invalid file', async () => {
        await withContext(async (context) => {
          const user = await context.users.findByUsername(seedUser);
          assert.ok(user, 'the seeded user exists');
          const identity: { id: string } | undefined = await context.knex('identities').where({ user_id: user.id, kind: 'client' }).first('id');
          assert.ok(identity, 'the seeded client identity exists');
          const authz = await context.queries.authorization.effective(identity.id);
          assert.ok(authz);
          assert.equal(authz.identity.alias, `Jack ${suffix}`);
          assert.ok(authz.roles.includes(roleName), authz.roles.join(', '));
          assert.deepEqual(authz.permissionsByResource[apiIdentifier], ['bookings:create']);
          assert.deepEqual(authz.dataScope, { client: ['ROOM'] });
          const identities = await context.knex('identities').where({ user_id: user.id, kind: 'client' }).count<{ count: string | number }[]>({ count: '*' });
          assert.equal(Number(identities[0].count), 1, 'the second run added no duplicate identity');

          const signIn = await passwordSignIn(context, seedUser, 'a-long-initial-password');
          assert.equal(signIn.userId, (await context.users.findByUsername(seedUser))?.id, 'the seeded password signs in');

          assert.ok(await context.apiResources.findByIdentifier(apiIdentifier), 'the API resource exists');
          assert.equal((await context.applications.findById(appClientId))?.type, 'web');

          assert.equal(await context.users.findByUsername(invalidFileUser), undefined, 'nothing from the invalid file was written');
        });
      });
    });

    it('service-accounts create --role Admin prints a client_id and a usable access key whose identity holds Admin', async () => {
      const created = json<{ client_id: string; client_secret: string; roles: string[] }>(await gatehouse(['service-accounts', 'create', '--name', unique('CLI Robot'), '--role', 'Admin', '--json']));
      assert.match(created.client_secret, /^gh_sk_/);
      assert.deepEqual(created.roles, ['Admin']);
      await withContext(async (context) => {
        assert.equal(await context.serviceAccounts.verifySecret(created.client_id, created.client_secret), true, 'the printed key is usable');
        const account = await context.serviceAccounts.get(created.client_id);
        const authz = await context.authorization.forIdentity(account.identityId!);
        assert.deepEqual(authz?.roles, ['Admin']);
      });
    });

    it('service-accounts create with an unknown role exits 2 naming it, and creates nothing', async () => {
      const name = unique('CLI Typo');
      const result = await gatehouse(['service-accounts', 'create', '--name', name, '--role', 'Admn']);
      assertExit(result, 2);
      assert.match(result.stderr, /no role named "Admn"/);
      assert.equal(result.stdout, '');
      await withContext(async (context) => {
        assert.equal(
          (await context.serviceAccounts.list()).some((a) => a.name === name),
          false,
        );
      });
    });

    it('left what the user and client commands promised', async () => {
      await withContext(async (context) => {
        assert.equal(await context.applications.findById(webClient.client_id), undefined, 'the deleted client is gone');
        assert.equal((await context.applications.findById(spaClient.client_id))?.name, spaName, 'the other one is still there');

        assert.equal((await passwordSignIn(context, username, 'changed-password-2')).userId, (await context.users.findByUsername(username))?.id, 'the new password signs in');
        assert.equal((await passwordSignIn(context, username, 'changed-password-2\n')).userId, undefined, 'the trailing newline from stdin is not part of it');
        assert.equal((await passwordSignIn(context, username, 'initial-password-1')).reason, 'password', 'the old password no longer works');
        assert.equal(await context.users.findByUsername('a b'), undefined);
      });
    });

    it('an unknown command exits 2 and prints the usage', async () => {
      const result = await gatehouse(['frobnicate']);
      assertExit(result, 2);
      assert.match(result.stderr, /unknown command "frobnicate"/);
      assert.match(result.stderr, /Usage: gatehouse <command>/);
      for (const command of ['start', 'migrate', 'clients', 'users', 'seed']) assert.match(result.stderr, new RegExp(`^  ${command}\\b`, 'm'));
    });
  });

  describe('data directory and port', () => {
    it('refuses to start a new data directory unless --init is given, naming the path', async function () {
      this.timeout(400_000); // two PGlite initdb runs on a busy machine
      const parent = await tempDir('fresh');
      const fresh = path.join(parent, 'elsewhere');
      const refused = await gatehouse(['users', 'list'], { env: { GATEHOUSE_DATA_DIR: fresh, GATEHOUSE_SECRET: undefined } });
      assertExit(refused, 1);
      assert.ok(refused.stderr.includes(fresh), `the message names the path:\n${refused.stderr}`);
      assert.match(refused.stderr, /--init/);
      assertNoStackTrace(refused);
      assert.equal(existsSync(fresh), false, 'nothing was created');

      const created = await gatehouse(['users', 'list', '--json', '--init'], { env: { GATEHOUSE_DATA_DIR: fresh, GATEHOUSE_SECRET: undefined }, timeoutMs: 180_000 });
      assertExit(created, 0);
      assert.ok(existsSync(path.join(fresh, 'secret')), 'with --init the data directory is started');
      const again = await gatehouse(['users', 'list', '--json'], { env: { GATEHOUSE_DATA_DIR: fresh, GATEHOUSE_SECRET: undefined }, timeoutMs: 180_000 });
      assertExit(again, 0);
    });

    it('reports a port in use in one line, before opening the database or running migrations', async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const port = (blocker.address() as net.AddressInfo).port;
      try {
        const fresh = path.join(await tempDir('port'), 'data');
        const result = await gatehouse(['start'], { env: { GATEHOUSE_DATA_DIR: fresh, GATEHOUSE_SECRET: undefined, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info' } });
        assertExit(result, 1);
        // oidc-provider may warn about the Node.js version on its own line first.
        const lines = result.stderr.split('\n').filter((line) => line && !line.startsWith('oidc-provider WARNING'));
        assert.deepEqual(lines, [`Error: 127.0.0.1:${port} is already in use by another process: stop it or choose another PORT/HOST.`]);
        assert.doesNotMatch(result.stdout, /migration/i);
        // Neither a database nor a secret: nothing was opened.
        assert.deepEqual(existsSync(fresh) ? await readdir(fresh) : [], []);
      } finally {
        blocker.close();
      }
    });
  });

  describe('NODE_ENV=production', () => {
    it('refuses to start on trial settings, naming DATABASE_URL, REDIS_URL, GATEHOUSE_SECRET and GATEHOUSE_ISSUER', async () => {
      const untouched = path.join(await tempDir('prod'), 'data');
      const result = await gatehouse(['start'], {
        env: { NODE_ENV: 'production', DATABASE_URL: undefined, REDIS_URL: undefined, GATEHOUSE_SECRET: undefined, GATEHOUSE_ISSUER: undefined, GATEHOUSE_DATA_DIR: untouched, PORT: '0', HOST: '127.0.0.1' },
      });
      assertExit(result, 1);
      for (const variable of ['DATABASE_URL', 'REDIS_URL', 'GATEHOUSE_SECRET', 'GATEHOUSE_ISSUER']) {
        assert.match(result.stderr, new RegExp(`^  - ${variable}: required when NODE_ENV=production`, 'm'), `${variable} is named:\n${result.stderr}`);
      }
      assert.doesNotMatch(result.stdout, /Gatehouse is running/);
      assert.equal(existsSync(untouched), false, 'it stops before creating an embedded database');
      assertNoStackTrace(result);
    });
  });
});
