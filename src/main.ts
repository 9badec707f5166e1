// Composition root: config -> logger -> db -> store -> provider -> app -> listen. The only file
// that wires things together from the command line or calls process.exit.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from './cli/args.ts';
import { processIo, USAGE } from './cli/commands.ts';
import { openControlChannel, runThroughServer } from './cli/control.ts';
import { executeCommand, reportFailure, resolveCommand } from './cli/run.ts';
import { ConfigError, loadConfig, type Config } from './config/index.ts';
import { openContext, type GatehouseContext } from './context.ts';
import { EmbeddedDatabaseBusyError } from './db/index.ts';
import { createLogger, type Logger } from './logger.ts';
import { ListenError, listenHttp, startServer } from './server.ts';
import { enableMetrics, startMetricsServer, type MetricsServer } from './telemetry/metrics.ts';
import { enableTracing, shutdownTracing } from './telemetry/tracing.ts';
import { SYSTEM_ACTOR } from './services/actor.ts';
import { ensureAdministrator } from './services/bootstrap.ts';
import { DEMO_PASSWORD, demoSeed } from './services/demo.ts';
import { AppError } from './services/errors.ts';
import { applySeed } from './services/seed.ts';
import { adminPermissionCatalog } from './routes/api/index.ts';

async function start(config: Config, logger: Logger, args: string[]): Promise<void> {
  const demo = args.includes('--demo');
  const unknown = args.filter((a) => a !== '--demo');
  if (unknown.length) throw new UsageError(`unknown option(s) for start: ${unknown.join(' ')}\n\nUsage: gatehouse start [--demo]`);
  // The port first: one taken by another process is reported before any migration runs.
  const listening = await listenHttp(config.port, config.host);
  // Before the context opens: its database, store and caches are observed from the start.
  if (config.tracing) await enableTracing({ serviceName: config.tracing.serviceName, tracesEndpoint: config.tracing.tracesEndpoint });
  let metricsServer: MetricsServer | undefined;
  if (config.metrics) {
    try {
      metricsServer = await startMetricsServer(enableMetrics(), config.metrics);
    } catch (error) {
      listening.close();
      throw error;
    }
  }
  let context: GatehouseContext;
  try {
    context = await openContext(config, logger, { purpose: 'start', migrate: config.migrateOnStart });
  } catch (error) {
    listening.close();
    throw error;
  }
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let control: Awaited<ReturnType<typeof openControlChannel>>;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await control?.close();
    await server?.close();
    await metricsServer?.close();
    await context.close();
    await shutdownTracing();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  // The server seeds the system roles at start; the first administrator needs the Admin role.
  server = await startServer(context, { port: config.port, host: config.host, server: listening });
  // On the embedded database no other process may open it: CLI commands come to this one.
  if (context.db.kind === 'pglite') {
    const opened = context;
    control = await openControlChannel({
      dataDir: config.dataDir,
      logger,
      run: async (argv, io) => {
        let resolved;
        try {
          resolved = resolveCommand(argv);
        } catch (error) {
          return reportFailure(error, io);
        }
        return executeCommand(opened, resolved, io, { adminCatalog: adminPermissionCatalog() });
      },
    });
  }
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
  if (metricsServer) logger.info({ url: metricsServer.url }, 'metrics listening');
  process.stdout.write(`Gatehouse is running at ${server.url} (issuer ${server.issuer})\n`);
}

/** The CLI's refusal to start a data directory nobody asked for. */
function missingDataDir(config: Config): string | undefined {
  // Embedded: the database lives there. PostgreSQL without GATEHOUSE_SECRET: the secret does.
  const needed = [...(config.databaseUrl ? [] : [path.join(config.dataDir, 'pgdata')]), ...(config.secret ? [] : [path.join(config.dataDir, 'secret')])];
  if (needed.every((file) => existsSync(file))) return undefined;
  return `No Gatehouse data in ${config.dataDir} (GATEHOUSE_DATA_DIR). Run the command where the server keeps its data, ` + 'set GATEHOUSE_DATA_DIR to that directory, or add --init to start a new, empty one here.';
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
    const init = argv.includes('--init');
    const commandLine = argv.filter((arg) => arg !== '--init');
    const resolved = resolveCommand(commandLine);
    if (!init) {
      const missing = missingDataDir(config);
      if (missing) throw new Error(missing);
    }
    let context: GatehouseContext;
    try {
      context = await openContext(config, logger, { purpose: resolved.purpose, migrate: command === 'migrate' || config.migrateOnStart });
    } catch (error) {
      // A server running on this data directory carries the command out itself.
      if (error instanceof EmbeddedDatabaseBusyError && error.holder.purpose === 'start') {
        const code = await runThroughServer(config.dataDir, commandLine, processIo);
        if (code !== undefined) return code;
      }
      throw error;
    }
    try {
      return await executeCommand(context, resolved, processIo, { adminCatalog: adminPermissionCatalog() });
    } finally {
      await context.close();
    }
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof AppError) && !(error instanceof ListenError)) logger.debug({ err: error }, 'command failed');
    return reportFailure(error, processIo);
  }
}
