// Running one CLI command: the same whether this process opened the database itself or a
// running server carries the command out for it (src/cli/control.ts), so output and exit
// codes cannot differ between the two.
import type { GatehouseContext } from '../context.ts';
import { AppError } from '../services/errors.ts';
import { ensureSystemRoles } from '../services/system-roles.ts';
import { UsageError } from './args.ts';
import { commands, USAGE, type Command, type CommandDeps, type CommandIo } from './commands.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface ResolvedCommand {
  run: Command;
  args: string[];
  /** Shown to whoever finds the embedded database busy, e.g. "users create". */
  purpose: string;
}

/** The command named by argv (without `start`), or a UsageError saying what exists. */
export function resolveCommand(argv: string[]): ResolvedCommand {
  const [command, ...rest] = argv;
  const entry = command !== undefined && Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!entry) throw new UsageError(`unknown command "${command ?? ''}"\n\n${USAGE}`);
  if (typeof entry === 'function') return { run: entry, args: rest, purpose: command! };
  const [sub, ...subArgs] = rest;
  const run = sub !== undefined && Object.hasOwn(entry, sub) ? entry[sub] : undefined;
  if (!run) throw new UsageError(`usage: gatehouse ${command} ${Object.keys(entry).join('|')} [options]`);
  return { run, args: subArgs, purpose: `${command} ${sub}` };
}

/** The exit code for a failed command, after writing its one-line reason to stderr. */
export function reportFailure(error: unknown, io: Pick<CommandIo, 'stderr'>): number {
  if (error instanceof UsageError) {
    io.stderr(`${error.message}\n`);
    return EXIT_USAGE;
  }
  io.stderr(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT_FAILED;
}

/** Runs a resolved command against an open context; resolves to the exit code. */
export async function executeCommand(context: GatehouseContext, command: ResolvedCommand, io: CommandIo, deps: CommandDeps): Promise<number> {
  try {
    // As at server start: a command run before the first start (seed, service-accounts) finds
    // the system roles it may name.
    await ensureSystemRoles(context.queries, context.tenantId, deps.adminCatalog);
    await command.run(context, command.args, io, deps);
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof AppError)) context.logger.debug({ err: error }, 'command failed');
    return reportFailure(error, io);
  }
}
