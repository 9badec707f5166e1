// A second Gatehouse process for the reminder test: opens its own context (database, Redis) from
// the environment, says "ready", waits for "go" on stdin so both processes run the job at the
// same moment, runs the expiry-reminder job once and prints its report as JSON.
import { loadConfig } from '../../src/config/index.ts';
import { openContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';

const config = loadConfig(process.env);
const context = await openContext(config, createLogger('silent'), { purpose: 'test reminders', migrate: false });
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const report = await context.passwordExpiry.runReminders({ changeUrl: process.env.CHANGE_URL ?? 'http://localhost/account/password' });
process.stdout.write(`${JSON.stringify(report)}\n`);
await context.close();
process.exit(0);
