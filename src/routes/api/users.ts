// Admin API: users: list, view, add, update, delete, clone, make active or inactive, and their
// status history. Thin handlers over services/directory-users.ts.
import { Readable } from 'node:stream';
import { z } from 'zod';
import { IMPORT_COLUMNS } from '../../services/user-import.ts';
import type { MaintenanceRow } from '../../services/user-maintenance.ts';
import { USER_STATUSES, userCloneSchema, userCreateSchema, userListQuerySchema, userPatchSchema, type UserDetails } from '../../services/directory-users.ts';
import { csvCell } from './audit.ts';
import { actorOf } from './caller.ts';
import { defineRoute, presenter, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { changeRequestOf, idParams } from './roles.ts';

const userIdentityView = z.object({
  id: z.string(),
  kind: z.string(),
  alias: z.string(),
  isDefault: z.boolean(),
  roles: z.array(z.object({ id: z.string(), name: z.string() })).describe('roles given to this identity directly'),
  groups: z.array(z.object({ id: z.string(), name: z.string() })).describe('groups the identity is a member of'),
});

export const userView = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  phone: z.string().nullable(),
  department: z.string().nullable(),
  status: z.enum(USER_STATUSES),
  lockedUntil: z.string().nullable().describe('while locked after failed sign-ins: when the lock ends'),
  defaultIdentityId: z.string().nullable(),
  hasPassword: z.boolean(),
  identities: z.array(userIdentityView),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const statusChangeView = z.object({
  id: z.string(),
  fromStatus: z.enum(USER_STATUSES).nullable(),
  toStatus: z.enum(USER_STATUSES),
  reason: z.string().nullable(),
  actorId: z.string().nullable(),
  changedAt: z.string(),
});

const maintenanceView = z.object({
  id: z.string(),
  username: z.string(),
  status: z.enum(USER_STATUSES),
  userType: z.string().nullable().describe("the kind of the user's default identity"),
  contact: z.object({ name: z.string().nullable(), email: z.string().nullable(), phone: z.string().nullable(), department: z.string().nullable() }),
  credentials: z.object({ passwordSet: z.boolean(), passwordChangedAt: z.string().nullable(), passwordExpiresAt: z.string().nullable().describe('null: the policy sets no expiry'), mfaEnrolled: z.boolean(), lockedUntil: z.string().nullable() }),
  associations: z.record(z.string(), z.array(z.string())).describe('per data-scope key, the values any of its identities may see ("*": all)'),
  identities: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      alias: z.string(),
      isDefault: z.boolean(),
      roles: z.array(z.string()).describe('effective: direct, groups and default policy'),
      directRoles: z.array(z.string()),
      groups: z.array(z.string()),
      dataScope: z.record(z.string(), z.array(z.string())),
    }),
  ),
});

function presentMaintenance(row: MaintenanceRow): z.infer<typeof maintenanceView> {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return { ...row, credentials: { ...row.credentials, passwordChangedAt: iso(row.credentials.passwordChangedAt), passwordExpiresAt: iso(row.credentials.passwordExpiresAt), lockedUntil: iso(row.credentials.lockedUntil) } };
}

const EXPORT_COLUMNS = ['user_id', 'username', 'email', 'name', 'phone', 'department', 'status', 'identity_kind', 'identity_alias', 'roles', 'groups', 'data_scope', 'password_set', 'mfa_enrolled'] as const;

/** One CSV line per identity; lists as the import reads them (roles and groups `;`-separated, data scope `key=v1,v2;key2=v`). */
function exportLines(row: MaintenanceRow): string {
  const identities = row.identities.length ? row.identities : [undefined];
  return identities
    .map((identity) => {
      const scope = identity
        ? Object.entries(identity.dataScope)
            .map(([key, values]) => `${key}=${values.join(',')}`)
            .join(';')
        : '';
      const cells = [
        row.id,
        row.username,
        row.contact.email,
        row.contact.name,
        row.contact.phone,
        row.contact.department,
        row.status,
        identity?.kind ?? null,
        identity?.alias ?? null,
        identity?.directRoles.join(';') ?? null,
        identity?.groups.join(';') ?? null,
        scope,
        String(row.credentials.passwordSet),
        String(row.credentials.mfaEnrolled),
      ];
      return `${cells.map(csvCell).join(',')}\r\n`;
    })
    .join('');
}

const reasonBody = z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict();

/** The service's public view of a user (services/users.ts publicUser), its dates as ISO strings. */
export function presentUser(user: UserDetails): z.infer<typeof userView> {
  return { ...user, lockedUntil: user.lockedUntil ? user.lockedUntil.toISOString() : null, createdAt: user.createdAt.toISOString(), updatedAt: user.updatedAt.toISOString() };
}

const presentStatusChange = presenter(statusChangeView);

export function userRoutes(services: Pick<ApiServices, 'audit' | 'directoryUsers' | 'userImport' | 'userMaintenance'>): ApiRoute[] {
  const { directoryUsers } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/users',
      permission: 'users:list',
      summary: 'List users with their identities, in username order; `q` searches username, email and name; keyset-paged with `cursor`',
      tag: 'users',
      query: userListQuerySchema,
      response: z.object({ items: z.array(userView), nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page') }),
      async handler({ query, caller }) {
        const page = await directoryUsers.list(caller.tenantId, query);
        return { items: page.items.map(presentUser), nextCursor: page.nextCursor };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id',
      permission: 'users:read',
      summary: 'Read one user with its identities',
      tag: 'users',
      params: idParams,
      response: userView,
      async handler({ params, caller }) {
        return presentUser(await directoryUsers.get(caller.tenantId, params.id));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users',
      permission: 'users:create',
      summary: 'Create a user and its default identity (kind "internal" and the username as alias unless `identity` says otherwise)',
      tag: 'users',
      body: userCreateSchema,
      response: userView,
      status: 201,
      async handler({ body, caller, ctx }) {
        return presentUser(await directoryUsers.create(body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/users/:id',
      permission: 'users:update',
      summary: "Change a user's username, email, name, phone or department (null clears a field)",
      tag: 'users',
      params: idParams,
      body: userPatchSchema,
      response: userView,
      async handler({ params, body, caller, ctx }) {
        return presentUser(await directoryUsers.update(params.id, body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id',
      permission: 'users:delete',
      summary: 'Delete a user with its identities, memberships, data scopes, sessions and grants',
      tag: 'users',
      params: idParams,
      async handler({ params, caller, ctx }) {
        await directoryUsers.remove(params.id, changeRequestOf(caller, ctx));
        return undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/clone',
      permission: 'users:clone',
      summary: 'Create a user from another: its identities, their direct roles, data scopes and group memberships, and its department; never its credentials. The caller must be able to grant all of them',
      tag: 'users',
      params: idParams,
      body: userCloneSchema,
      response: userView,
      status: 201,
      async handler({ params, body, caller, ctx }) {
        return presentUser(await directoryUsers.clone(params.id, body, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/activate',
      permission: 'users:activate',
      summary: 'Make a user active (also lifts a lock and restarts its cool-down count); recorded in its status history',
      tag: 'users',
      params: idParams,
      body: reasonBody,
      response: userView,
      async handler({ params, body, caller, ctx }) {
        return presentUser(await directoryUsers.activate(params.id, body.reason, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/deactivate',
      permission: 'users:deactivate',
      summary: 'Make a user inactive: it can no longer sign in and its refresh tokens stop working; recorded in its status history',
      tag: 'users',
      params: idParams,
      body: reasonBody,
      response: userView,
      async handler({ params, body, caller, ctx }) {
        return presentUser(await directoryUsers.deactivate(params.id, body.reason, changeRequestOf(caller, ctx)));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/status-history',
      permission: 'users:read-status-history',
      summary: "A user's status changes, newest first",
      tag: 'users',
      params: idParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
      response: z.object({ items: z.array(statusChangeView) }),
      async handler({ params, query, caller }) {
        return { items: (await directoryUsers.statusHistory(caller.tenantId, params.id, query.limit)).map(presentStatusChange) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/user-maintenance',
      permission: 'user-maintenance:list',
      summary:
        'The user-maintenance list in one call: per user its id, credential state (password set, MFA enrolled, password expiry, lock), contact details, user type, associations (data-scope values over its identities), identities with their effective roles and data scopes, and status. Same search, filters and cursor as GET /users',
      tag: 'users',
      query: userListQuerySchema,
      response: z.object({ items: z.array(maintenanceView), nextCursor: z.string().nullable() }),
      async handler({ query, caller }) {
        const page = await services.userMaintenance.list(caller.tenantId, query);
        return { items: page.items.map(presentMaintenance), nextCursor: page.nextCursor };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/user-maintenance/export',
      permission: 'user-maintenance:export',
      summary: `Export the users that match the user-maintenance search and filters as CSV (text/csv), one line per identity, in username order; columns ${EXPORT_COLUMNS.join(', ')}. Cells a spreadsheet would read as a formula start with a single quote. Audited`,
      tag: 'users',
      query: userListQuerySchema.omit({ cursor: true, limit: true }).strict(),
      raw: true,
      async handler({ query, caller, ctx }) {
        await services.audit.record({ tenantId: caller.tenantId, action: 'users.exported', ...actorOf(caller, ctx), targetType: 'users', details: { filters: query } });
        // The first page is read before the response starts, so a failure still gets a proper problem response.
        const first = await services.userMaintenance.list(caller.tenantId, { ...query, limit: 200 });
        async function* body(): AsyncGenerator<string> {
          yield `${EXPORT_COLUMNS.join(',')}\r\n`;
          let page = first;
          for (;;) {
            yield page.items.map(exportLines).join('');
            if (!page.nextCursor) return;
            page = await services.userMaintenance.list(caller.tenantId, { ...query, limit: 200, cursor: page.nextCursor });
          }
        }
        ctx.status = 200;
        ctx.type = 'text/csv; charset=utf-8';
        ctx.attachment(`users-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`);
        ctx.body = Readable.from(body(), { objectMode: false });
        return undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/import',
      permission: 'users:import',
      summary: `Import users from a CSV file (text/csv, header line first; columns ${IMPORT_COLUMNS.join(', ')}). mode=all-or-nothing (default) commits nothing if any row is refused; per-row commits the good rows. dryRun=true checks and reports without writing. Rows whose username exists are left alone. The caller must be able to grant every role, group and data scope`,
      tag: 'users',
      query: z
        .object({
          mode: z.enum(['all-or-nothing', 'per-row']).default('all-or-nothing'),
          dryRun: z
            .enum(['true', 'false'])
            .default('false')
            .transform((v) => v === 'true'),
          invite: z
            .enum(['true', 'false'])
            .default('true')
            .transform((v) => v === 'true')
            .describe('queue an invitation mail for each created user with an email and no password'),
        })
        .strict(),
      body: z.string().min(1, 'the CSV file is empty'),
      bodyType: 'text/csv',
      bodyLimit: 32 * 1024 * 1024,
      response: z.object({
        dryRun: z.boolean(),
        mode: z.enum(['all-or-nothing', 'per-row']),
        rows: z.number().int().describe('data rows in the file'),
        created: z.number().int().describe('users created, or in a dry run that would be'),
        existing: z.array(z.object({ line: z.number().int(), username: z.string() })).describe('rows whose username already exists: left as they are'),
        refused: z.number().int(),
        problems: z.array(z.object({ line: z.number().int().describe('line of the file (the header is line 1)'), column: z.string().nullable(), reason: z.string() })),
        committed: z.boolean(),
        invitations: z.number().int().describe('invitation mails queued; the server sends them within a minute'),
      }),
      async handler({ query, body, caller, ctx }) {
        return services.userImport.importCsv(body, changeRequestOf(caller, ctx), { mode: query.mode, dryRun: query.dryRun, invite: query.invite });
      },
      // 422 when rows were refused, so a client notices without reading the report.
      statusOf: (report) => ((report as { refused: number }).refused > 0 ? 422 : 200),
    }),
  ];
}
