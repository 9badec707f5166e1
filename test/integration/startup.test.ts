// Start-up order: the port opens before the app is built (the issuer follows the bound port), so
// a request that arrives the moment the port opens must wait for the app and be answered, not
// find a server with no handler and hang.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { openContext, type GatehouseContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { freePort } from '../helpers/ports.ts';

/** Connects as soon as the port accepts, trying every few milliseconds. */
async function connectWhenOpen(port: number): Promise<net.Socket> {
  for (;;) {
    const socket = await new Promise<net.Socket | undefined>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (socket) return socket;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('start-up', function () {
  this.timeout(120_000);
  let dataDir: string;
  let context: GatehouseContext;
  let server: RunningServer | undefined;

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-startup-'));
    const config = loadConfig({
      NODE_ENV: 'test',
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_SECRET: 'test-secret-0123456789-0123456789-0123456789',
      GATEHOUSE_REDIS_PREFIX: `test:${randomBytes(4).toString('hex')}:`,
      LOG_LEVEL: 'silent',
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    });
    context = await openContext(config, createLogger('silent'), { purpose: 'test', migrate: true });
  });

  after(async () => {
    await server?.close();
    await context?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers a request sent the moment the port opens', async () => {
    const port = await freePort();
    const starting = startServer(context, { port, host: '127.0.0.1', scheduledJobs: false });
    const socket = await connectWhenOpen(port);
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request({ createConnection: () => socket, host: '127.0.0.1', port, path: '/.well-known/openid-configuration', agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.once('error', reject);
      request.end();
    });
    server = await starting;
    assert.equal(status, 200);
  });
});
