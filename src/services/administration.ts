// The administration guard: every administrative write asks it two questions before anything
// is committed (OWASP ASVS 5 V8.2.1-V8.2.3: function- and data-level authorization, no
// escalation; V8.3.1: enforced at a trusted service layer, not in the UI or the route).
//
//   may the caller manage this subject?  A user or service account may be changed only by a
//     caller who could grant everything the subject has: each of its effective roles is one
//     whose permissions the caller holds or one the caller's roles may assign, and the caller's
//     data scope covers the subject's per key ("*" covers all). A subject holding Admin is
//     managed only by an Admin.
//   may the caller grant this?  Judged on the effective result of a change: the roles and
//     data-scope values an identity holds after the write that it did not hold before (direct,
//     through groups, through the default policy reached by its kind) must each be grantable.
//
// A holder of the system role Admin administers the whole tenant: it passes both questions for
// every subject, role, permission and data-scope value, present and future, without holding
// them. Only an Admin grants Admin, and the tenant keeps at least one active Admin. Trusted
// operator paths (CLI, seed file, first start) act as 'system' and are not limited, but are
// audited under their own actor. A refusal is `403 auth.escalation` naming what is lacking;
// callers run the checks inside the write's transaction, so a refusal leaves nothing written.
import { createAdministrationQueries } from '../queries/administration.ts';
import { loadEffectiveAuthorization } from '../queries/authorization.ts';
import type { Executor } from '../queries/index.ts';
import { AppError } from './errors.ts';
import { dataScopeNotHeld, permissionsNotHeld, type GranterRights } from './escalation.ts';

/** The system role that administers the tenant. */
export const ADMIN_ROLE = 'Admin';

/** The part of a change request the guard reads (roles.ts ChangeRequest satisfies it). */
export interface Administrator {
  tenantId: string;
  granter: GranterRights | 'system';
}

export interface GrantableRole {
  id: string;
  name: string;
  permissions: { resource: string; permission: string }[];
}

/** The executor of the write being guarded (its transaction), or the pool for a check outside one. */
type Db = Executor;

/**
 * Serializes changes that may take Admin away (see keepingAnAdmin). It is the audit chain's key
 * (src/queries/audit.ts) on purpose: such a change always audits, so it takes that lock anyway, and
 * with one key a transaction that audited first and one that guarded first cannot wait on each
 * other in opposite orders.
 */
const ADMIN_CHANGE_LOCK = 74203;

function refuse(message: string): never {
  throw new AppError('auth.escalation', 403, message);
}

function listed(values: string[], max = 5): string {
  return `${values.slice(0, max).join(', ')}${values.length > max ? ', …' : ''}`;
}

/** Role names are unique per tenant without regard to case, and system roles keep their name. */
export function isAdminRole(role: { name: string }): boolean {
  return role.name.toLowerCase() === ADMIN_ROLE.toLowerCase();
}

/** Whether the caller administers everything: an Admin, or a trusted operator path. */
export function administersAll(by: Administrator): boolean {
  return by.granter === 'system' || by.granter.isAdmin === true;
}

/** Why the caller may not grant `role`, or undefined when it may. */
export function roleRefusal(by: Administrator, role: GrantableRole): string | undefined {
  if (by.granter === 'system') return undefined;
  if (isAdminRole(role)) return by.granter.isAdmin ? undefined : `role "${role.name}": only an Admin grants Admin`;
  if (by.granter.isAdmin || by.granter.assignableRoleIds?.has(role.id)) return undefined;
  const missing = permissionsNotHeld(by.granter, role.permissions);
  if (!missing.length) return undefined;
  return `role "${role.name}": it carries permissions you do not hold (${listed(missing.map((p) => p.permission))}) and none of your roles may assign it`;
}

/** Throws unless the caller may grant every role of `roles` (to an identity, a group, a kind…). */
export function assertMayGrantRoles(by: Administrator, roles: GrantableRole[], to: string): void {
  const refusals = roles.map((role) => roleRefusal(by, role)).filter((r): r is string => r !== undefined);
  if (refusals.length) refuse(`you cannot grant ${to}: ${refusals.join('; ')}`);
}

/** Throws unless the caller holds every permission of `permissions` (what a role it defines carries). */
export function assertMayGrantPermissions(by: Administrator, permissions: { resource: string; permission: string }[], what: string): void {
  if (administersAll(by)) return;
  const missing = permissionsNotHeld(by.granter as GranterRights, permissions);
  if (missing.length) refuse(`you cannot grant ${what}: it carries permissions you do not hold (${listed(missing.map((p) => p.permission))})`);
}

/** Throws unless `values` for `key` lie within the caller's own data scope ("*" covers all). */
export function assertMayGrantDataScope(by: Administrator, key: string, values: string[]): void {
  if (administersAll(by)) return;
  const outside = dataScopeNotHeld(by.granter as GranterRights, key, values);
  if (outside.length) refuse(`you cannot grant data scope ${key}=${outside.join(',')}: it is wider than your own`);
}

/** Roles with their permissions, by id. */
export async function loadRoles(db: Db, roleIds: string[]): Promise<GrantableRole[]> {
  return createAdministrationQueries(db).rolesWithPermissions(roleIds);
}

interface IdentityRights {
  roleIds: Set<string>;
  dataScope: Record<string, string[]>;
}

/** Effective roles and data scope of each identity, read in `db` (the write's transaction). */
export async function snapshotIdentities(db: Db, identityIds: string[]): Promise<Map<string, IdentityRights>> {
  const result = new Map<string, IdentityRights>();
  for (const id of new Set(identityIds)) {
    const authz = await loadEffectiveAuthorization(db, id);
    result.set(id, { roleIds: new Set(authz?.roleIds ?? []), dataScope: authz?.dataScope ?? {} });
  }
  return result;
}

/**
 * Throws unless every role and data-scope value the identities hold now and did not hold in
 * `before` is grantable by the caller: the effective result of the change, whichever path
 * (direct role, group, default policy through the kind, a copied scope) brought it.
 */
export async function assertGainsGrantable(db: Db, by: Administrator, before: Map<string, IdentityRights>, identityIds: string[], what: string): Promise<void> {
  if (administersAll(by)) return;
  const after = await snapshotIdentities(db, identityIds);
  const gainedRoles = new Set<string>();
  for (const [id, now] of after) {
    const was = before.get(id);
    for (const roleId of now.roleIds) if (!was?.roleIds.has(roleId)) gainedRoles.add(roleId);
    for (const [key, values] of Object.entries(now.dataScope)) {
      const held = was?.dataScope[key] ?? [];
      if (held.includes('*')) continue;
      const added = values.filter((v) => !held.includes(v));
      if (added.length) assertMayGrantDataScope(by, key, added);
    }
  }
  assertMayGrantRoles(by, await loadRoles(db, [...gainedRoles]), what);
}

/**
 * Runs `work` (writes in `db`, a transaction) and then checks what the identities gained.
 * `identityIds` may be a function for identities the work creates.
 */
export async function guardedGrant<T>(db: Db, by: Administrator, identityIds: string[] | ((result: T) => string[]), what: string, work: () => Promise<T>): Promise<T> {
  if (administersAll(by)) return work();
  const before = await snapshotIdentities(db, Array.isArray(identityIds) ? identityIds : []);
  const result = await work();
  const ids = Array.isArray(identityIds) ? identityIds : identityIds(result);
  await assertGainsGrantable(db, by, before, ids, what);
  return result;
}

/** Throws unless the caller may manage the holder of these identities (see the header). */
export async function assertMayManageIdentities(db: Db, by: Administrator, identityIds: string[], label: string): Promise<void> {
  if (by.granter === 'system') return;
  const rights = await snapshotIdentities(db, identityIds);
  const roleIds = new Set<string>();
  const scope: Record<string, Set<string>> = {};
  for (const r of rights.values()) {
    for (const id of r.roleIds) roleIds.add(id);
    for (const [key, values] of Object.entries(r.dataScope)) for (const v of values) (scope[key] ??= new Set()).add(v);
  }
  const roles = await loadRoles(db, [...roleIds]);
  const admin = roles.find(isAdminRole);
  if (admin && !by.granter.isAdmin) refuse(`you cannot manage ${label}: it holds the role "${admin.name}", and only an Admin manages an Admin`);
  if (by.granter.isAdmin) return;
  const refusals = roles.map((role) => roleRefusal(by, role)).filter((r): r is string => r !== undefined);
  if (refusals.length) refuse(`you cannot manage ${label}: ${refusals.join('; ')}`);
  for (const [key, values] of Object.entries(scope)) {
    const outside = dataScopeNotHeld(by.granter, key, [...values]);
    if (outside.length) refuse(`you cannot manage ${label}: its data scope ${key}=${outside.join(',')} is outside your own`);
  }
}

/** The user's identities checked with assertMayManageIdentities; 404 when the user is not in the tenant. */
export async function assertMayManageUser(db: Db, by: Administrator, userId: string): Promise<void> {
  if (by.granter === 'system') return;
  const user = await createAdministrationQueries(db).userWithIdentities(by.tenantId, userId);
  if (!user) throw new AppError('user.not_found', 404, 'user not found');
  await assertMayManageIdentities(db, by, user.identityIds, `user "${user.username}"`);
}

export async function assertMayManageServiceAccount(db: Db, by: Administrator, serviceAccountId: string): Promise<void> {
  if (by.granter === 'system') return;
  const account = await createAdministrationQueries(db).serviceAccountWithIdentities(by.tenantId, serviceAccountId);
  if (!account) throw new AppError('service_account.not_found', 404, 'service account not found');
  await assertMayManageIdentities(db, by, account.identityIds, `service account "${account.name}"`);
}

/** Manages the user or service account that owns the identity; 404 when there is none. */
export async function assertMayManageIdentityOwner(db: Db, by: Administrator, identityId: string): Promise<void> {
  if (by.granter === 'system') return;
  const identity = await createAdministrationQueries(db).identityOwner(by.tenantId, identityId);
  if (!identity) throw new AppError('identity.not_found', 404, 'identity not found');
  if (identity.userId) await assertMayManageUser(db, by, identity.userId);
  else if (identity.serviceAccountId) await assertMayManageServiceAccount(db, by, identity.serviceAccountId);
}

/** Only an Admin changes what only an Admin may hold or use (Admin itself, admin-API clients). */
export function assertAdmin(by: Administrator, what: string): void {
  if (!administersAll(by)) refuse(`only an Admin may ${what}`);
}

/** Active users and service accounts that hold Admin by any path. */
export async function activeAdminCount(db: Db, tenantId: string): Promise<number> {
  return createAdministrationQueries(db).activeHolderCount(tenantId, ADMIN_ROLE);
}

/**
 * Runs `work` in `trx` and refuses (409) when it leaves the tenant without an active Admin
 * that it had before. Admin-affecting changes take one lock so two cannot remove the last two.
 */
export async function keepingAnAdmin<T>(trx: Db, tenantId: string, work: () => Promise<T>): Promise<T> {
  await createAdministrationQueries(trx).advisoryLock(ADMIN_CHANGE_LOCK);
  const before = await activeAdminCount(trx, tenantId);
  const result = await work();
  if (before > 0 && (await activeAdminCount(trx, tenantId)) === 0) {
    throw new AppError('admin.last_admin', 409, 'this would leave the tenant without an active Admin: give Admin to another active account first');
  }
  return result;
}
