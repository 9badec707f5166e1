// A separate Gatehouse process that creates one user and exits: the webhook tests kill it while
// its transaction is open. Usage: node --import tsx test/helpers/create-user-child.ts <username>
// with DATABASE_URL and REDIS_URL set.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { openContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { SYSTEM_ACTOR } from '../../src/services/actor.ts';

const username = process.argv[2]!;
const config = loadConfig({
  NODE_ENV: 'test',
  GATEHOUSE_DATA_DIR: await mkdtemp(path.join(os.tmpdir(), 'gatehouse-child-')),
  GATEHOUSE_SECRET: 'test-secret-0123456789-0123456789-0123456789',
  LOG_LEVEL: 'silent',
  DATABASE_URL: process.env.DATABASE_URL!,
  REDIS_URL: process.env.REDIS_URL!,
  GATEHOUSE_REDIS_PREFIX: `test:child:${process.pid}:`,
});
const context = await openContext(config, createLogger(config.logLevel), { purpose: 'test-child', migrate: false });
process.stdout.write('ready\n');
await context.users.create({ username }, SYSTEM_ACTOR);
await context.close();
