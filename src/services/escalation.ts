// No privilege escalation: nobody grants a role, a permission or a data scope wider than their
// own (OWASP ASVS 5 V8.2: authorization changes limited to the granter's own rights).
import { AppError } from './errors.ts';

export interface GranterRights {
  permissionsByResource: Record<string, string[]>;
  dataScope: Record<string, string[]>;
  /** Holds the system role Admin: administers the whole tenant (administration.ts). */
  isAdmin?: boolean;
  /** Roles the granter's roles may assign without the granter holding their permissions. */
  assignableRoleIds?: ReadonlySet<string>;
}

/** The permissions of `permissions` the granter does not hold. */
export function permissionsNotHeld(granter: GranterRights, permissions: { resource: string; permission: string }[]): { resource: string; permission: string }[] {
  return permissions.filter((p) => !(granter.permissionsByResource[p.resource] ?? []).includes(p.permission));
}

/** The values of `values` for `key` outside the granter's own data scope ("*" covers all). */
export function dataScopeNotHeld(granter: GranterRights, key: string, values: string[]): string[] {
  const own = granter.dataScope[key] ?? [];
  return own.includes('*') ? [] : values.filter((v) => v === '*' || !own.includes(v));
}

/** Throws unless every permission in `permissions` (per resource) is held by the granter. */
export function assertCanGrantPermissions(granter: GranterRights, permissions: { resource: string; permission: string }[], what: string): void {
  const missing = permissionsNotHeld(granter, permissions);
  if (missing.length) {
    throw new AppError(
      'auth.escalation',
      403,
      `you cannot grant ${what}: it carries permissions you do not hold (${missing
        .slice(0, 5)
        .map((p) => p.permission)
        .join(', ')}${missing.length > 5 ? ', …' : ''})`,
    );
  }
}

/** Throws unless `values` for `key` lie within the granter's own data scope ("*" covers all). */
export function assertCanGrantDataScope(granter: GranterRights, key: string, values: string[]): void {
  const outside = dataScopeNotHeld(granter, key, values);
  if (outside.length) throw new AppError('auth.escalation', 403, `you cannot grant data scope ${key}=${outside.join(',')}: it is wider than your own`);
}
