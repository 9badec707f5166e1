// The `gatehouse` subcommands other than `start`: each a thin call into services.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GatehouseContext } from '../context.ts';
import { migrationStatus } from '../db/migrate.ts';
import { CLI_ACTOR } from '../services/actor.ts';
import { AppError } from '../services/errors.ts';
import { isAdminApiClient } from '../services/applications.ts';
import { applySeed, readSeedFile } from '../services/seed.ts';
import { parse, required, UsageError } from './args.ts';
import { createOutput } from './output.ts';

/**
 * Where a command writes and reads: this process's stdio, or the stream of a CLI process whose
 * command a running server carries out (src/cli/control.ts). Relative paths are the caller's.
 */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin(): Promise<string>;
  /** The directory relative file names are resolved against. */
  readonly cwd: string;
}

export const processIo: CommandIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  readStdin,
  get cwd() {
    return process.cwd();
  },
};

/** What a command needs beyond the context, handed in by the composition root. */
export interface CommandDeps {
  /** The admin API's permission names (the route table's catalog). */
  adminCatalog: string[];
}

export type Command = (context: GatehouseContext, args: string[], io?: CommandIo, deps?: CommandDeps) => Promise<void>;

const CLIENT_CREATE_USAGE = 'gatehouse clients create --name NAME --type web|spa|native|service [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--third-party] [--admin-api] [--json]';
const CLIENT_ADMIN_API_USAGE = 'gatehouse clients admin-api CLIENT_ID --allow|--deny [--json]';
const USER_CREATE_USAGE = 'gatehouse users create --username NAME [--password PASSWORD | --password-stdin] [--email EMAIL] [--name NAME] [--json]';
const SET_PASSWORD_USAGE = 'gatehouse users set-password --username NAME (--password PASSWORD | --password-stdin) [--json]';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function passwordFrom(values: { password?: string; 'password-stdin'?: boolean }, io: CommandIo): Promise<string | undefined> {
  if (values.password !== undefined && values['password-stdin']) throw new UsageError('give either --password or --password-stdin, not both');
  return values['password-stdin'] ? io.readStdin() : values.password;
}

export const commands: Record<string, Record<string, Command> | Command> = {
  async migrate(context, args, io = processIo) {
    const { values } = parse(args, {}, 'gatehouse migrate [--json]');
    // openContext already applied pending migrations for this command.
    const status = await migrationStatus(context.db);
    createOutput(Boolean(values.json), io.stdout).result(status, () => `Database is up to date (${status.applied.length} migrations applied, ${status.pending.length} pending).`);
  },

  clients: {
    async create(context, args, io = processIo) {
      const { values } = parse(
        args,
        {
          name: { type: 'string' },
          type: { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          'post-logout-redirect-uri': { type: 'string', multiple: true },
          'third-party': { type: 'boolean' },
          'admin-api': { type: 'boolean' },
        },
        CLIENT_CREATE_USAGE,
      );
      const type = required(values.type, '--type', CLIENT_CREATE_USAGE);
      if (!['web', 'spa', 'native', 'service'].includes(type)) throw new UsageError(`--type must be web, spa, native or service (got "${type}")\n\nUsage: ${CLIENT_CREATE_USAGE}`);
      const { application, clientSecret } = await context.applications.create(
        {
          name: required(values.name, '--name', CLIENT_CREATE_USAGE),
          type: type as 'web' | 'spa' | 'native' | 'service',
          redirectUris: values['redirect-uri'] ?? [],
          postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
          firstParty: !values['third-party'],
          adminApiClient: Boolean(values['admin-api']),
        },
        CLI_ACTOR,
      );
      createOutput(Boolean(values.json), io.stdout).result({ client_id: application.id, ...(clientSecret ? { client_secret: clientSecret } : {}), name: application.name, type: application.type, redirect_uris: application.redirectUris }, () =>
        [`client_id:     ${application.id}`, ...(clientSecret ? [`client_secret: ${clientSecret}`, '', 'The client secret is shown only now: store it safely.'] : [])].join('\n'),
      );
    },
    /** The admin API audience is closed by default: the operator allows (or stops) one application. */
    async 'admin-api'(context, args, io = processIo) {
      const { values, positionals } = parse(args, { allow: { type: 'boolean' }, deny: { type: 'boolean' } }, CLIENT_ADMIN_API_USAGE);
      const id = required(positionals[0], 'CLIENT_ID', CLIENT_ADMIN_API_USAGE);
      if (Boolean(values.allow) === Boolean(values.deny)) throw new UsageError(`give exactly one of --allow or --deny\n\nUsage: ${CLIENT_ADMIN_API_USAGE}`);
      const changed = await context.applications.setAdminApiClient(id, Boolean(values.allow), CLI_ACTOR);
      createOutput(Boolean(values.json), io.stdout).result({ client_id: id, admin_api_client: Boolean(values.allow), changed }, () => `${id} ${values.allow ? 'may' : 'may no longer'} obtain tokens for the admin API${changed ? '' : ' (unchanged)'}.`);
    },
    async list(context, args, io = processIo) {
      const { values } = parse(args, {}, 'gatehouse clients list [--json]');
      const apps = await context.applications.list();
      createOutput(Boolean(values.json), io.stdout).result(
        apps.map((a) => ({ client_id: a.id, name: a.name, type: a.type, first_party: a.firstParty, admin_api_client: isAdminApiClient(a), redirect_uris: a.redirectUris, created_at: a.createdAt.toISOString() })),
        () => (apps.length ? apps.map((a) => `${a.id}\t${a.type}\t${a.name}`).join('\n') : 'No applications.'),
      );
    },
    async delete(context, args, io = processIo) {
      const { values, positionals } = parse(args, {}, 'gatehouse clients delete CLIENT_ID [--json]');
      const id = required(positionals[0], 'CLIENT_ID', 'gatehouse clients delete CLIENT_ID [--json]');
      await context.applications.remove(id, CLI_ACTOR);
      createOutput(Boolean(values.json), io.stdout).result({ deleted: id }, () => `Deleted application ${id}.`);
    },
  },

  users: {
    async create(context, args, io = processIo) {
      const { values } = parse(args, { username: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' }, email: { type: 'string' }, name: { type: 'string' } }, USER_CREATE_USAGE);
      const user = await context.users.create({ username: required(values.username, '--username', USER_CREATE_USAGE), password: await passwordFrom(values, io), email: values.email, name: values.name }, CLI_ACTOR);
      createOutput(Boolean(values.json), io.stdout).result({ id: user.id, username: user.username, email: user.email, name: user.name, status: user.status }, () => `Created user ${user.username} (${user.id}).`);
    },
    async 'set-password'(context, args, io = processIo) {
      const { values } = parse(args, { username: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' } }, SET_PASSWORD_USAGE);
      const password = required(await passwordFrom(values, io), '--password', SET_PASSWORD_USAGE);
      const user = await context.users.setPassword(required(values.username, '--username', SET_PASSWORD_USAGE), password, CLI_ACTOR);
      createOutput(Boolean(values.json), io.stdout).result({ id: user.id, username: user.username, passwordSet: true }, () => `Password set for ${user.username}.`);
    },
    async list(context, args, io = processIo) {
      const { values } = parse(args, {}, 'gatehouse users list [--json]');
      const users = await context.users.list();
      createOutput(Boolean(values.json), io.stdout).result(
        users.map((u) => ({ id: u.id, username: u.username, email: u.email, name: u.name, status: u.status })),
        () => (users.length ? users.map((u) => `${u.id}\t${u.username}\t${u.status}`).join('\n') : 'No users.'),
      );
    },
    async delete(context, args, io = processIo) {
      const usage = 'gatehouse users delete --username NAME [--json]';
      const { values } = parse(args, { username: { type: 'string' } }, usage);
      const user = await context.users.findByUsername(required(values.username, '--username', usage));
      if (!user) throw new UsageError(`no user "${values.username}"`);
      await context.users.remove(user.id, CLI_ACTOR);
      createOutput(Boolean(values.json), io.stdout).result({ deleted: user.id, username: user.username }, () => `Deleted user ${user.username}.`);
    },
    async import(context, args, io = processIo) {
      const usage = 'gatehouse users import FILE.csv [--dry-run] [--mode all-or-nothing|per-row] [--skip-invitations] [--json]';
      const { values, positionals } = parse(args, { 'dry-run': { type: 'boolean' }, mode: { type: 'string' }, 'skip-invitations': { type: 'boolean' } }, usage);
      const file = required(positionals[0], 'FILE.csv', usage);
      const mode = values.mode ?? 'all-or-nothing';
      if (mode !== 'all-or-nothing' && mode !== 'per-row') throw new UsageError(`--mode must be all-or-nothing or per-row (got "${mode}")\n\nUsage: ${usage}`);
      let text: string;
      try {
        text = await readFile(path.resolve(io.cwd, file), 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      // Progress goes to stderr, so stdout keeps only the report (and --json stays parseable).
      const started = Date.now();
      const report = await context.userImport.importCsv(
        text,
        { tenantId: context.tenantId, actor: CLI_ACTOR, granter: 'system' },
        {
          mode,
          dryRun: Boolean(values['dry-run']),
          invite: !values['skip-invitations'],
          onProgress: ({ phase, done, total }) => io.stderr(`${phase} ${done}/${total} rows (${((Date.now() - started) / 1000).toFixed(1)} s)\n`),
        },
      );
      createOutput(Boolean(values.json), io.stdout).result(report, () =>
        [
          `${report.dryRun ? 'Dry run: ' : ''}${report.rows} rows: ${report.created} ${report.dryRun ? 'would be created' : 'created'}, ${report.existing.length} already existed, ${report.refused} refused${report.committed ? '' : ' (nothing written)'}.`,
          ...(report.invitations ? [`${report.invitations} invitation mails queued: the server sends them (job user-invitations, every minute).`] : []),
          ...report.problems.map((p) => `  line ${p.line}${p.column ? `, ${p.column}` : ''}: ${p.reason}`),
        ].join('\n'),
      );
      // Exit status 1 when a row was refused, so scripts notice; the report says what was written.
      if (report.refused > 0) throw new AppError('import.rows_refused', 422, `${report.refused} row(s) refused${report.committed ? '; the other rows were imported' : '; nothing was imported'}`);
    },
  },

  'service-accounts': {
    async create(context, args, io = processIo) {
      const usage = 'gatehouse service-accounts create --name NAME [--role ROLE]... [--json]';
      const { values } = parse(args, { name: { type: 'string' }, role: { type: 'string', multiple: true } }, usage);
      const name = required(values.name, '--name', usage);
      // Check the roles before creating anything, so a typo leaves no half-made account behind.
      const roleNames = values.role ?? [];
      const roles = await context.roles.list(context.tenantId);
      const roleIds = roleNames.map((wanted) => {
        const role = roles.find((r) => r.name.toLowerCase() === wanted.toLowerCase());
        if (!role) throw new UsageError(`--role: no role named "${wanted}" (roles: ${roles.map((r) => r.name).join(', ')})`);
        return role.id;
      });
      const account = await context.serviceAccounts.create({ name }, CLI_ACTOR);
      if (roleIds.length && account.identityId) await context.roles.assignToIdentity(account.identityId, roleIds, { tenantId: context.tenantId, actor: CLI_ACTOR, granter: 'system' });
      const { key, secret } = await context.serviceAccounts.createKey(account.id, { description: 'created by gatehouse service-accounts create' }, CLI_ACTOR);
      createOutput(Boolean(values.json), io.stdout).result({ client_id: account.id, client_secret: secret, key_id: key.id, name: account.name, roles: roleNames }, () =>
        [`client_id:     ${account.id}`, `client_secret: ${secret}`, '', 'The access key is shown only now: store it safely.'].join('\n'),
      );
    },
  },

  audit: {
    async verify(context, args, io = processIo) {
      const { values } = parse(args, {}, 'gatehouse audit verify [--json]');
      const result = await context.audit.verify();
      createOutput(Boolean(values.json), io.stdout).result(result, () =>
        result.ok
          ? `Audit chain OK: ${result.count} events verified${result.anchor.lastPurgedId ? ` (from the purge anchor after event ${result.anchor.lastPurgedId})` : ''}.`
          : [`Audit chain BROKEN at event ${result.brokenAt.id} (${result.count} events before it verified):`, `  ${result.brokenAt.field} expected ${result.brokenAt.expected}`, `  ${result.brokenAt.field} found    ${result.brokenAt.found}`].join(
              '\n',
            ),
      );
      // Exit status 1 for scripts and monitoring: the report above says where.
      if (!result.ok) throw new AppError('audit.chain_broken', 409, `the audit chain is broken at event ${result.brokenAt.id}`);
    },
    async purge(context, args, io = processIo) {
      const { values } = parse(args, {}, 'gatehouse audit purge [--json]');
      const report = await context.audit.purgeExpired({ tenantId: context.tenantId, actor: CLI_ACTOR });
      createOutput(Boolean(values.json), io.stdout).result({ ...report, cutoff: report.cutoff.toISOString() }, () => `Purged ${report.count} audit events older than ${report.retentionDays} days (before ${report.cutoff.toISOString()}).`);
    },
  },

  async seed(context, args, io = processIo, deps) {
    const usage = 'gatehouse seed FILE.(json|yaml) [--json]';
    const { values, positionals } = parse(args, {}, usage);
    const file = required(positionals[0], 'FILE', usage);
    const report = await applySeed(context, await readSeedFile(path.resolve(io.cwd, file)), CLI_ACTOR, { adminCatalog: deps?.adminCatalog ?? [] });
    createOutput(Boolean(values.json), io.stdout).result(report, () =>
      [
        `users: ${report.users.created.length} created, ${report.users.unchanged.length} unchanged`,
        `applications: ${report.applications.created.length} created, ${report.applications.updated.length} updated, ${report.applications.unchanged.length} unchanged`,
        `API resources: ${report.apiResources.created.length} created, ${report.apiResources.updated.length} updated, ${report.apiResources.unchanged.length} unchanged`,
        ...(report.navigation.updated.length + report.navigation.unchanged.length ? [`navigation: ${report.navigation.updated.length} updated, ${report.navigation.unchanged.length} unchanged`] : []),
        ...report.clientSecrets.map((s) => `client_secret for ${s.clientId}: ${s.clientSecret}  (shown only now)`),
      ].join('\n'),
    );
  },
};

export const USAGE = `Usage: gatehouse <command> [options]

Commands:
  start [--demo]                      start the server (migrates first unless GATEHOUSE_MIGRATE_ON_START=false)
  migrate                             apply pending database migrations
  clients create|list|delete|admin-api
                                      manage applications (OIDC clients); admin-api CLIENT_ID
                                      --allow|--deny lets one obtain admin-API tokens
  users create|set-password|list|delete|import
                                      manage users
  seed FILE                           import users, applications and API resources (idempotent)
  service-accounts create --name N [--role R]...
                                      a service account and its first access key (shown once)
  audit verify|purge                  check the audit log's hash chain; delete events past retention

Every command takes --json for machine-readable output.`;
