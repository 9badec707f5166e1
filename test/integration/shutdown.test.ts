// Clean shutdown of a real server process: SIGTERM while sign-ins and refreshes are running.
// /readyz turns 503, requests already accepted are answered, the process exits 0, and every
// refresh token a client holds afterwards still works on the next server: nobody lost a session.
// Both storage modes: the embedded database by default, PostgreSQL + Redis with DATABASE_URL.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as client from 'openid-client';
import { discover, signIn } from '../helpers/oidc.ts';
import { rawRefresh } from '../helpers/sessions.ts';
import { freePort } from '../helpers/ports.ts';
import { runGatehouse, type ProcessResult } from '../helpers/process.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG_VARIABLES = /^(NODE_ENV|PORT|HOST|LOG_LEVEL|DATABASE_URL|DATABASE_POOL_MAX|REDIS_URL|GATEHOUSE_\w+|OTEL_\w+)$/;
const CALLBACK = 'http://localhost:8151/callback';
const PASSWORD = 'shutdown cleanly 123456';
const suffix = randomBytes(4).toString('hex');

interface RunningProcess {
  child: ChildProcessWithoutNullStreams;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** The first error code in an error's cause chain (fetch wraps the socket's error). */
function errorCode(error: unknown): string | undefined {
  for (let current = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 6; current = current.cause as typeof current, depth++) {
    if (typeof current.code === 'string' && /^E[A-Z]+$|^UND_ERR/.test(current.code)) return current.code;
  }
  return undefined;
}

describe(`clean shutdown on SIGTERM (${process.env.DATABASE_URL ? 'PostgreSQL + Redis' : 'embedded'})`, function () {
  this.timeout(600_000);
  let dataDir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  const running: RunningProcess[] = [];

  function gatehouse(args: string[], input = ''): Promise<ProcessResult> {
    return runGatehouse(args, { cwd: REPO_ROOT, env }, input);
  }

  async function startServer(): Promise<RunningProcess> {
    const child = spawn(process.execPath, ['bin/gatehouse.js', 'start'], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end();
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const started: RunningProcess = { child, exit, output: () => output };
    running.push(started);
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (/Gatehouse is running at /.test(output)) {
          child.stdout.off('data', check);
          resolve();
        }
      };
      child.stdout.on('data', check);
      void exit.then(({ code, signal }) => reject(new Error(`the server exited (${code ?? signal}) before it was running:\n${output}`)));
    });
    return started;
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-shutdown-'));
    port = await freePort();
    env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !CONFIG_VARIABLES.test(key)));
    Object.assign(env, {
      HOST: '127.0.0.1',
      PORT: String(port),
      GATEHOUSE_DATA_DIR: dataDir,
      // The secret of the other tests (test/helpers/gatehouse.ts): on a shared PostgreSQL the signing keys are theirs.
      GATEHOUSE_SECRET: 'test-secret-0123456789-0123456789-0123456789',
      GATEHOUSE_ADMIN_PASSWORD: 'Clean-stop-9876-qwerty-zx',
      GATEHOUSE_REDIS_PREFIX: `test:shutdown-${suffix}:`,
      // Long enough to see /readyz answer 503 while requests are still served.
      GATEHOUSE_SHUTDOWN_DELAY: '2',
      LOG_LEVEL: 'info',
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    });
  });

  after(async () => {
    for (const server of running) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers what it accepted, turns /readyz 503, exits 0, and every refresh token still works afterwards', async () => {
    const first = await startServer();
    const issuer = `http://127.0.0.1:${port}`;
    const username = `shutdown-${suffix}`;
    // On the embedded database the running server carries these out for the CLI.
    const user = await gatehouse(['users', 'create', '--username', username, '--password-stdin', '--json'], `${PASSWORD}\n`);
    assert.equal(user.code, 0, user.stderr);
    const created = await gatehouse(['clients', 'create', '--name', `Shutdown ${suffix}`, '--type', 'web', '--redirect-uri', CALLBACK, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const app = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    const config: client.Configuration = await discover({ issuer }, app.client_id, app.client_secret);
    const credentials = { clientId: app.client_id, clientSecret: app.client_secret };

    let terminated = false;
    let afterTerm = 0;
    const lost: string[] = [];
    const held = new Map<string, string>();
    let done = 0;
    let warmedUp: () => void;
    const warm = new Promise<void>((resolve) => (warmedUp = resolve));
    const counted = () => {
      done += 1;
      if (terminated) afterTerm += 1;
      if (done === 12) warmedUp();
    };
    let interrupted = 0;
    /**
     * After SIGTERM a connection can be refused, or reset while it still waited in the kernel's
     * accept queue when the listener closed: the request never reached Gatehouse, and the client
     * retries on the next server. Whether it really was not carried out shows below: the token the
     * client still holds must work there. Any other failure is a lost request.
     */
    const failed = (what: string, error: unknown): void => {
      if (terminated && ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(errorCode(error) ?? '')) {
        interrupted += 1;
        return;
      }
      lost.push(`${what}: ${errorCode(error) ?? ''} ${(error as Error).message}`);
    };
    const signInOnce = async () => (await signIn({ gatehouse: { issuer }, config, redirectUri: CALLBACK, username, password: PASSWORD, scope: 'openid' })).tokens.refresh_token!;

    async function refresher(name: string) {
      let token: string;
      try {
        token = await signInOnce();
      } catch (error) {
        failed(`${name} first sign-in`, error);
        return;
      }
      held.set(name, token);
      for (;;) {
        let answer;
        try {
          answer = await rawRefresh(issuer, credentials, token);
        } catch (error) {
          failed(`${name} refresh`, error);
          return;
        }
        if (answer.status !== 200) {
          lost.push(`${name} refresh answered ${answer.status} ${JSON.stringify(answer.body)}`);
          return;
        }
        token = answer.body.refresh_token!;
        held.set(name, token);
        counted();
      }
    }
    async function signer(name: string) {
      for (;;) {
        try {
          held.set(name, await signInOnce());
          counted();
        } catch (error) {
          failed(`${name} sign-in`, error);
          return;
        }
      }
    }

    const workers = [...['r1', 'r2', 'r3', 'r4'].map(refresher), ...['s1', 's2', 's3'].map(signer)];
    await warm;
    terminated = true;
    first.child.kill('SIGTERM');
    // The load balancer's view: /readyz says 503 while the server still answers.
    let readyStatus = 0;
    while (readyStatus !== 503) {
      try {
        readyStatus = (await fetch(`${issuer}/readyz`)).status;
      } catch (error) {
        assert.fail(`/readyz was never 503 before the listener closed: ${errorCode(error)}`);
      }
    }
    await Promise.all(workers);
    const exit = await first.exit;
    assert.deepEqual(exit, { code: 0, signal: null }, first.output());
    assert.deepEqual(lost, [], `requests lost at shutdown:\n${lost.join('\n')}\n--- server output\n${first.output()}`);
    assert.ok(afterTerm > 0, 'requests were answered after SIGTERM, during the drain');
    assert.equal(held.size, 7, 'every worker holds a refresh token');
    const logLines = first
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    assert.deepEqual(
      logLines.filter((line) => line.level >= 50),
      [],
      'no request failed on the server',
    );
    assert.ok(logLines.some((line) => line.msg === 'stopped'));

    const second = await startServer();
    for (const [name, token] of held) {
      const answer = await rawRefresh(issuer, credentials, token);
      assert.equal(answer.status, 200, `${name}'s last refresh token does not work after the restart: ${JSON.stringify(answer.body)}`);
    }
    // Whoever was cut off mid-way signs in again on the next server.
    assert.ok(await signInOnce(), 'signing in works on the next server');
    second.child.kill('SIGTERM');
    assert.deepEqual(await second.exit, { code: 0, signal: null }, second.output());
  });
});
