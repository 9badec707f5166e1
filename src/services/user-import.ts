// Bulk user import from CSV: one user per row with its default identity, roles, groups and data
// scope.
//
// Rules kept here:
// - everything is checked before anything is written, and every problem is reported with its
//   line number (of the file, header = line 1) and column;
// - all-or-nothing (the default) commits nothing if any row is refused; per-row commits the rows
//   that passed and reports the others; a dry run commits nothing and reports what would happen;
// - usernames and emails are compared without regard to case, as the database does: a row whose
//   username already exists is left alone and reported as existing (so re-running a file creates
//   nothing twice); a second row of the file with the same username or email is refused, naming
//   the first; an email another user has is refused;
// - nobody imports rights wider than their own: the roles of a row, the roles of its groups and
//   its data-scope values must be within the importer's (OWASP ASVS 5 V8.2);
// - rows are written with multi-row inserts in one transaction, so 100,000 rows take seconds, and
//   each created user is audited like one created through the API.
import { randomUUID } from 'node:crypto';
import { hashCostProblem, hashScheme } from './passwords.ts';
import { parse } from 'csv-parse/sync';
import type { Queries } from '../queries/index.ts';
import type { ImportedUserRow } from '../queries/user-import.ts';
import type { AuditEventInput, AuditService } from './audit.ts';
import type { AuthorizationService } from './authorization.ts';
import { AppError } from './errors.ts';
import { dataScopeNotHeld, permissionsNotHeld, type GranterRights } from './escalation.ts';
import { ADMIN_ROLE, administersAll, roleRefusal } from './administration.ts';
import type { InvitationService } from './invitations.ts';
import type { ChangeRequest } from './roles.ts';
import { departmentSchema, emailSchema, identityAliasSchema, personNameSchema, phoneSchema, SERVICE_IDENTITY_KIND, usernameSchema } from './users.ts';
import type { z } from 'zod';
import { holdsForbiddenCharacter } from './text.ts';

export const IMPORT_COLUMNS = ['username', 'email', 'name', 'phone', 'department', 'identity_kind', 'identity_alias', 'roles', 'groups', 'data_scope', 'password_hash'] as const;
type Column = (typeof IMPORT_COLUMNS)[number];

export const MAX_IMPORT_ROWS = 200_000;
export type ImportMode = 'all-or-nothing' | 'per-row';

export interface ImportOptions {
  dryRun?: boolean;
  mode?: ImportMode;
  /** Queue an invitation mail (a set-password link) for each created user with an email and no password. Default true. */
  invite?: boolean;
  /** Called as the import goes: after parsing, every few thousand rows checked, every chunk written. */
  onProgress?: (progress: { phase: 'parsed' | 'checked' | 'written'; done: number; total: number }) => void;
}

export interface RowProblem {
  line: number;
  column: Column | null;
  reason: string;
}

export interface ImportReport {
  dryRun: boolean;
  mode: ImportMode;
  /** Data rows in the file. */
  rows: number;
  /** Users created (or, in a dry run, that would be). */
  created: number;
  /** Rows whose username already exists: left as they are. */
  existing: { line: number; username: string }[];
  /** Rows refused, each problem with its line and column. */
  refused: number;
  problems: RowProblem[];
  /** Whether anything was written. */
  committed: boolean;
  /** Invitation mails queued (sent by the server's user-invitations job). */
  invitations: number;
}

/** Argon2 PHC strings, as the argon2 package writes and verifies them. */
const SUPPORTED_HASH = /^\$argon2(id|i|d)\$v=\d+\$[mtp]=\d+(,[mtp]=\d+){2}\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;
// Account security: bcrypt and PBKDF2 hashes from other systems are accepted too, and
// upgraded to argon2id at the user's next sign-in (services/passwords.ts).
const importable = (hash: string) => SUPPORTED_HASH.test(hash) || hashScheme(hash) !== undefined;

function splitList(value: string): string[] {
  return value
    .split(';')
    .map((v) => v.trim())
    .filter(Boolean);
}

function firstMessage(result: z.ZodSafeParseResult<unknown>): string | undefined {
  return result.success ? undefined : result.error.issues[0]?.message;
}

function missingPermissions(granter: GranterRights, permissions: { resource: string; permission: string }[]): string[] {
  return permissionsNotHeld(granter, permissions).map((p) => p.permission);
}

/** `client=ROOM,Pharma;supplier=*` → { client: [ROOM, Pharma], supplier: [*] }, or a reason. */
function parseDataScope(value: string): Record<string, string[]> | string {
  const scope: Record<string, string[]> = {};
  for (const part of splitList(value)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return `"${part}" is not key=value[,value...]`;
    const key = part.slice(0, eq).trim();
    const values = [
      ...new Set(
        part
          .slice(eq + 1)
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      ),
    ];
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(key)) return `"${key}" is not a data-scope key (lowercase letters, digits and _)`;
    if (key in scope) return `key "${key}" is given twice`;
    if (values.length === 0) return `key "${key}" has no values`;
    if (values.includes('*') && values.length > 1) return `key "${key}": "*" (all) stands alone`;
    if (values.some((v) => v.length > 200)) return `key "${key}": a value is longer than 200 characters`;
    scope[key] = values;
  }
  return scope;
}

export function createUserImportService(deps: { queries: Queries; audit: AuditService; authorization: AuthorizationService; invitations: Pick<InvitationService, 'queue'> }) {
  const queries = deps.queries.userImport;

  function parseCsv(text: string): { header: string[]; records: { line: number; values: Record<string, string> }[] } {
    let rows: { record: string[]; info: { lines: number } }[];
    try {
      rows = parse(text, { bom: true, info: true, skip_empty_lines: true, relax_column_count: false, trim: true, max_record_size: 64 * 1024 }) as unknown as { record: string[]; info: { lines: number } }[];
    } catch (error) {
      throw new AppError('import.malformed_csv', 400, `the file is not valid CSV: ${(error as Error).message}`);
    }
    if (rows.length === 0) throw new AppError('import.empty', 400, 'the file is empty: the first line must be a header naming the columns');
    const header = rows[0]!.record.map((h) => h.trim().toLowerCase());
    const unknown = header.filter((h) => !(IMPORT_COLUMNS as readonly string[]).includes(h));
    if (unknown.length) throw new AppError('import.unknown_column', 400, `unknown column(s) ${unknown.map((u) => `"${u}"`).join(', ')}; the columns are ${IMPORT_COLUMNS.join(', ')}`);
    const twice = header.find((h, i) => header.indexOf(h) !== i);
    if (twice) throw new AppError('import.duplicate_column', 400, `column "${twice}" appears twice in the header`);
    if (!header.includes('username')) throw new AppError('import.missing_column', 400, 'the header must have a "username" column');
    const records = rows.slice(1).map(({ record, info }) => ({ line: info.lines, values: Object.fromEntries(header.map((h, i) => [h, record[i] ?? ''])) }));
    if (records.length > MAX_IMPORT_ROWS) throw new AppError('import.too_many_rows', 413, `the file has ${records.length} rows; import at most ${MAX_IMPORT_ROWS} at a time`);
    return { header, records };
  }

  /** What every row is checked against: the tenant's directory and what the caller may grant. */
  async function loadDirectory(by: ChangeRequest) {
    const [roles, groups, kinds, scopeKeys] = await Promise.all([queries.roles(by.tenantId), queries.groups(by.tenantId), queries.identityKinds(by.tenantId), queries.dataScopeKeys(by.tenantId)]);
    const roleByName = new Map(roles.map((r) => [r.name.toLowerCase(), r]));
    const groupByName = new Map(groups.map((g) => [g.name.toLowerCase(), g]));
    const kindSet = new Set(kinds);
    const keySet = new Set(scopeKeys);
    const granter = administersAll(by) ? undefined : (by.granter as GranterRights);
    // Roles the default account policy gives each kind: a row's identity_kind grants them.
    const policy = granter ? await queries.defaultPolicyRoles(by.tenantId) : [];
    // Only an Admin grants Admin, through a group as well.
    const adminGroupIds = new Set(granter ? await queries.groupsWithSystemRole(by.tenantId, ADMIN_ROLE) : []);
    const kindRefusals = new Map<string, string[]>();
    const refusalsForKind = (kind: string): string[] => {
      if (!granter) return [];
      let found = kindRefusals.get(kind);
      if (!found) {
        const reached = roles.filter((r) => policy.some((p) => p.roleId === r.id && (p.identityKind === null || p.identityKind === kind)));
        found = reached.map((r) => roleRefusal(by, r)).filter((r): r is string => r !== undefined);
        kindRefusals.set(kind, found);
      }
      return found;
    };

    return { roles, groups, roleByName, groupByName, kindSet, keySet, granter, adminGroupIds, refusalsForKind };
  }
  type Directory = Awaited<ReturnType<typeof loadDirectory>>;

  /** What the file itself and the users that exist make of a row: seen before, or taken. */
  interface Seen {
    takenUsernames: Set<string>;
    takenEmails: Set<string>;
    firstLineOfUsername: Map<string, number>;
    firstLineOfEmail: Map<string, number>;
  }

  /** One row: the user it creates, an existing user it names, or its problems (none written). */
  function checkRow({ line, values }: { line: number; values: Record<string, string> }, directory: Directory, seen: Seen, by: ChangeRequest): { existing: { line: number; username: string } } | { problems: RowProblem[] } | { user: ImportedUserRow } {
    const { roleByName, groupByName, kindSet, keySet, granter, adminGroupIds, refusalsForKind } = directory;
    const { takenUsernames, takenEmails, firstLineOfUsername, firstLineOfEmail } = seen;
    const rowProblems: RowProblem[] = [];
    const problem = (column: Column | null, reason: string) => rowProblems.push({ line, column, reason });
    const field = (column: Column) => values[column] ?? '';
    // The edge check does not read CSV bodies: a cell's characters are checked here, before anything else.
    for (const column of IMPORT_COLUMNS) if (holdsForbiddenCharacter(field(column))) problem(column, 'holds a control character (such as NUL), which is not allowed');
    if (rowProblems.length > 0) return { problems: rowProblems };

    const username = field('username');
    const usernameError = firstMessage(usernameSchema.safeParse(username));
    const lowered = username.toLowerCase();
    if (usernameError) problem('username', usernameError);
    else if (firstLineOfUsername.has(lowered)) problem('username', `"${username}" is already on line ${firstLineOfUsername.get(lowered)} (usernames are compared without regard to case)`);
    else firstLineOfUsername.set(lowered, line);

    if (!usernameError && rowProblems.length === 0 && takenUsernames.has(lowered)) {
      return { existing: { line, username } };
    }

    const email = field('email');
    if (email) {
      const emailLower = email.toLowerCase();
      const emailError = firstMessage(emailSchema.safeParse(email));
      if (emailError) problem('email', emailError);
      else if (firstLineOfEmail.has(emailLower)) problem('email', `"${email}" is already on line ${firstLineOfEmail.get(emailLower)} (emails are compared without regard to case)`);
      else if (takenEmails.has(emailLower)) problem('email', `another user already has the email "${email}"`);
      if (!firstLineOfEmail.has(emailLower)) firstLineOfEmail.set(emailLower, line);
    }
    const optional = (column: Column, schema: z.ZodType<string>) => {
      const value = field(column);
      if (!value) return null;
      const error = firstMessage(schema.safeParse(value));
      if (error) problem(column, error);
      return value;
    };
    const name = optional('name', personNameSchema);
    const phone = optional('phone', phoneSchema);
    const department = optional('department', departmentSchema);

    const kind = field('identity_kind') || 'internal';
    if (kind === SERVICE_IDENTITY_KIND) problem('identity_kind', `identity kind "${SERVICE_IDENTITY_KIND}" is reserved for service accounts`);
    else if (!kindSet.has(kind)) problem('identity_kind', `identity kind "${kind}" is not defined (see GET /api/v1/identity-kinds)`);
    else for (const refusal of refusalsForKind(kind)) problem('identity_kind', `you cannot grant what the default account policy gives kind "${kind}": ${refusal}`);
    const alias = field('identity_alias') || username;
    const aliasError = firstMessage(identityAliasSchema.safeParse(alias));
    if (aliasError) problem('identity_alias', aliasError);

    /** The ids of the entries the list column names, each one `refusalOf` allows (else its refusal is a problem). */
    const namedIds = <T extends { id: string }>(column: 'roles' | 'groups', byName: Map<string, T>, refusalOf: (entry: T) => string | undefined): string[] => {
      const ids: string[] = [];
      for (const name of splitList(field(column))) {
        const entry = byName.get(name.toLowerCase());
        if (!entry) {
          problem(column, `no ${column.slice(0, -1)} named "${name}"`);
          continue;
        }
        const refusal = refusalOf(entry);
        if (refusal) problem(column, refusal);
        else if (!ids.includes(entry.id)) ids.push(entry.id);
      }
      return ids;
    };
    const roleIds = namedIds('roles', roleByName, (role) => {
      const refusal = granter ? roleRefusal(by, role) : undefined;
      return refusal && `you cannot grant ${refusal}`;
    });
    const groupIds = namedIds('groups', groupByName, (group) => {
      const missing = granter ? missingPermissions(granter, group.permissions) : [];
      if (adminGroupIds.has(group.id)) return `you cannot add members to group "${group.name}": it gives Admin, which only an Admin grants`;
      if (missing.length) return `you cannot add members to group "${group.name}": its roles carry permissions you do not hold (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`;
      return undefined;
    });
    const scope = parseDataScope(field('data_scope'));
    if (typeof scope === 'string') {
      problem('data_scope', scope);
    } else {
      for (const [key, scopeValues] of Object.entries(scope)) {
        if (!keySet.has(key)) {
          problem('data_scope', `data-scope key "${key}" is not defined (see GET /api/v1/data-scope-keys)`);
          continue;
        }
        const outside = granter ? dataScopeNotHeld(granter, key, scopeValues) : [];
        if (outside.length) problem('data_scope', `you cannot grant ${key}=${outside.join(',')}: it is wider than your own data scope`);
      }
    }
    const passwordHash = field('password_hash') || null;
    if (passwordHash && !importable(passwordHash)) problem('password_hash', 'not a supported password hash (argon2 such as $argon2id$v=19$m=19456,t=2,p=1$…, bcrypt $2b$…, or PBKDF2 pbkdf2_sha256$… / $pbkdf2-sha256$…)');
    else if (passwordHash && hashCostProblem(passwordHash)) problem('password_hash', `too costly to verify: ${hashCostProblem(passwordHash)}`);

    if (rowProblems.length) return { problems: rowProblems };
    return {
      user: {
        id: randomUUID(),
        tenantId: by.tenantId,
        username,
        email: email || null,
        name,
        phone,
        department,
        passwordHash,
        identityId: randomUUID(),
        identityKind: kind,
        identityAlias: alias,
        roleIds,
        groupIds,
        dataScope: typeof scope === 'string' ? {} : scope,
      },
    };
  }

  return {
    async importCsv(text: string, by: ChangeRequest, options: ImportOptions = {}): Promise<ImportReport> {
      const mode = options.mode ?? 'all-or-nothing';
      const dryRun = options.dryRun ?? false;
      const progress = options.onProgress ?? (() => undefined);
      const { records } = parseCsv(text);
      const total = records.length;
      progress({ phase: 'parsed', done: total, total });

      const directory = await loadDirectory(by);
      const { roles, groups } = directory;
      const lowerUsernames = records.map((r) => r.values.username!.toLowerCase()).filter(Boolean);
      const lowerEmails = records.map((r) => (r.values.email ?? '').toLowerCase()).filter(Boolean);
      const [takenUsernames, takenEmails] = await Promise.all([queries.existingUsernames(by.tenantId, lowerUsernames), queries.existingEmails(by.tenantId, lowerEmails)]);
      const seen: Seen = { takenUsernames, takenEmails, firstLineOfUsername: new Map(), firstLineOfEmail: new Map() };

      const problems: RowProblem[] = [];
      const existing: { line: number; username: string }[] = [];
      const toCreate: ImportedUserRow[] = [];
      let refused = 0;
      records.forEach((record, index) => {
        const checked = checkRow(record, directory, seen, by);
        if ('existing' in checked) existing.push(checked.existing);
        else if ('problems' in checked) {
          problems.push(...checked.problems);
          refused += 1;
        } else toCreate.push(checked.user);
        if ((index + 1) % 10_000 === 0) progress({ phase: 'checked', done: index + 1, total });
      });
      progress({ phase: 'checked', done: total, total });

      // All-or-nothing with a refused row: nothing is (or, in a dry run, would be) created.
      const blocked = mode === 'all-or-nothing' && refused > 0;
      const report: ImportReport = { dryRun, mode, rows: total, created: blocked ? 0 : toCreate.length, existing, refused, problems, committed: false, invitations: 0 };
      if (dryRun || blocked || toCreate.length === 0) return report;

      const roleName = new Map(roles.map((r) => [r.id, r.name]));
      const groupName = new Map(groups.map((g) => [g.id, g.name]));
      try {
        await deps.queries.transaction(async ({ db: trx, userImport }) => {
          await userImport.insertUsers(trx, toCreate, by.actor.actorId ?? null, (written) => progress({ phase: 'written', done: written, total: toCreate.length }));
          const events: AuditEventInput[] = toCreate.map((u) => ({
            tenantId: by.tenantId,
            action: 'user.created',
            ...by.actor,
            targetType: 'user',
            targetId: u.id,
            details: {
              source: 'import',
              after: {
                username: u.username,
                email: u.email,
                name: u.name,
                phone: u.phone,
                department: u.department,
                hasPassword: u.passwordHash !== null,
                identity: { id: u.identityId, kind: u.identityKind, alias: u.identityAlias, roles: u.roleIds.map((id) => roleName.get(id)), groups: u.groupIds.map((id) => groupName.get(id)), dataScope: u.dataScope },
              },
            },
          }));
          events.push({ tenantId: by.tenantId, action: 'users.imported', ...by.actor, targetType: 'user', targetId: null, details: { mode, rows: total, created: toCreate.length, existing: existing.length, refused } });
          await deps.audit.recordMany(events, trx);
          if (options.invite ?? true) {
            const invited = toCreate.filter((u) => u.email && !u.passwordHash).map((u) => u.id);
            await deps.invitations.queue(trx, by.tenantId, invited);
            report.invitations = invited.length;
          }
        });
      } catch (error) {
        // Someone created one of these usernames or emails while the file was being checked.
        if ((error as { code?: string } | null)?.code === '23505') {
          throw new AppError('import.conflict', 409, 'a username or email of this file was taken while it was being imported; nothing was written: run the import again');
        }
        throw error;
      }
      await deps.authorization.invalidateAll();
      report.committed = true;
      return report;
    },
  };
}

export type UserImportService = ReturnType<typeof createUserImportService>;
