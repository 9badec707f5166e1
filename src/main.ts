// Composition root: config -> logger -> db -> store -> provider -> app -> listen. The only file
// that wires things together from the command line or calls process.exit.
import { UsageError } from './cli/args.ts';
import { commands, USAGE } from './cli/commands.ts';
import { ConfigError, loadConfig, type Config } from './config/index.ts';
import { openContext } from './context.ts';
import { createLogger, type Logger } from './logger.ts';
import { startServer } from './server.ts';
import { SYSTEM_ACTOR } from './services/actor.ts';
import { ensureAdministrator } from './services/bootstrap.ts';
import { DEMO_PASSWORD, demoSeed } from './services/demo.ts';
import { AppError } from './services/errors.ts';
import { applySeed } from './services/seed.ts';
import { ensureSystemRoles } from './services/system-roles.ts';
import { adminPermissionCatalog } from './routes/api/index.ts';

async function start(config: Config, logger: Logger, args: string[]): Promise<void> {
  const demo = args.includes('--demo');
  const unknown = args.filter((a) => a !== '--demo');
  if (unknown.length) throw new UsageError(`unknown option(s) for start: ${unknown.join(' ')}\n\nUsage: gatehouse start [--demo]`);
  const context = await openContext(config, logger, { purpose: 'start', migrate: config.migrateOnStart });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await server?.close();
    await context.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  // The server seeds the system roles at start; the first administrator needs the Admin role.
  server = await startServer(context, { port: config.port, host: config.host });
  const admin = await ensureAdministrator(context);
  if (admin?.generatedPassword) {
    // Printed once to the terminal, never logged: it is the only copy.
    process.stdout.write(`\nCreated administrator "${admin.username}" with one-time password: ${admin.generatedPassword}\nStore it now; it is not shown again (set GATEHOUSE_ADMIN_PASSWORD to choose it).\n\n`);
  }
  if (demo) {
    const report = await applySeed(context, demoSeed(server.issuer), SYSTEM_ACTOR, { adminCatalog: adminPermissionCatalog() });
    process.stdout.write(`
Demo loaded (${report.users.created.length} users created, ${report.applications.created.length} applications created).
  Users (password "${DEMO_PASSWORD}"):
    lucy   internal (User + Admin, client=*, supplier=*) and client (Client, client=*)
    kim    internal (User, client=ROOM)
    jack   client (Client, client=ROOM)
    simon  client (Client, client=Pharma)
  Applications:
    Smart Hub           web, accepts internal   client_id smart-hub, secret smart-hub-secret-change-me-0123456789abcdef, redirect http://localhost:8080/callback
    Client Portal       SPA, accepts client     client_id client-portal (public, PKCE S256), redirect http://localhost:5173/callback
    Operations Console  web, accepts both       client_id ops-console, secret ops-console-secret-change-me-0123456789abcd, redirect http://localhost:8081/callback
    Demo service        client credentials      client_id demo-service, secret demo-service-secret-change-me-0123456789ab, resource ${server.issuer}/demo-api
  Try: ${server.issuer}/auth?client_id=smart-hub&response_type=code&scope=openid%20profile%20identity&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcallback
`);
  }
  process.stdout.write(`Gatehouse is running at ${server.url} (issuer ${server.issuer})\n`);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n\nSee .env.example for every setting.\n`);
      return 1;
    }
    throw error;
  }
  const isServer = command === 'start';
  // The server logs JSON to stdout; CLI commands keep stdout for their output.
  const logger = createLogger(isServer ? config.logLevel : 'warn', isServer ? undefined : process.stderr);
  try {
    if (isServer) {
      await start(config, logger, rest);
      return -1; // keep running
    }
    const entry = commands[command];
    if (!entry) throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    let run = typeof entry === 'function' ? entry : undefined;
    let args = rest;
    if (typeof entry !== 'function') {
      const [sub, ...subArgs] = rest;
      run = sub ? entry[sub] : undefined;
      if (!run) throw new UsageError(`usage: gatehouse ${command} ${Object.keys(entry).join('|')} [options]`);
      args = subArgs;
    }
    const context = await openContext(config, logger, { purpose: `${command}${typeof entry === 'function' ? '' : ` ${rest[0]}`}`, migrate: command === 'migrate' || config.migrateOnStart });
    try {
      // As at server start: a command run before the first start (seed, service-accounts) finds
      // the system roles it may name.
      const adminCatalog = adminPermissionCatalog();
      await ensureSystemRoles(context.knex, context.tenantId, adminCatalog);
      await run!(context, args, { adminCatalog });
    } finally {
      await context.close();
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof AppError || (error as { code?: string }).code === 'embedded_database_busy') {
      process.stderr.write(`Error: ${(error as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`Error: ${(error as Error).message}\n`);
    logger.debug({ err: error }, 'command failed');
    return 1;
  }
}

