// Who is calling the admin API, established from a Gatehouse-issued bearer token and the
// caller's current authorization (recomputed, so a removed role takes effect at once).
export interface Caller {
  tenantId: string;
  subjectType: 'user' | 'service';
  /** User id, or service account id for a service. */
  subjectId: string;
  identityId: string;
  /** Permissions on Gatehouse's own admin API. */
  adminPermissions: Set<string>;
  /** Every role name the caller's identity holds. */
  roles: string[];
  /** Role ids the caller holds, to check that nobody grants a role they do not hold. */
  roleIds: Set<string>;
  /** Permissions per resource identifier, for the same check on permissions. */
  permissionsByResource: Record<string, string[]>;
  dataScope: Record<string, string[]>;
  /** Holds the system role Admin: administers the whole tenant (services/administration.ts). */
  isAdmin: boolean;
  /** Roles the caller's roles may assign without the caller holding their permissions. */
  assignableRoleIds: Set<string>;
  /** The session (uid) the token was issued in; absent for service accounts. */
  sessionId?: string;
}

import type { Context } from 'koa';
import type { Actor } from '../../services/actor.ts';

/** The audit actor for an admin API call. */
export function actorOf(caller: Caller, ctx: Context): Actor {
  return { actorType: caller.subjectType, actorId: caller.subjectId, ip: ctx.ip, userAgent: ctx.get('user-agent') || null };
}
