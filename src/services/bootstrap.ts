// First start: the default tenant exists (migration); an administrator is created when the
// directory is empty, from GATEHOUSE_ADMIN_USERNAME/PASSWORD or with a generated password that
// is shown once and never stored in clear or logged. Its default identity holds the Admin role,
// given as any role assignment is: in one transaction with its audit event.
import type { GatehouseContext } from '../context.ts';
import { SYSTEM_ACTOR } from './actor.ts';
import { randomToken } from './secrets.ts';

export async function ensureAdministrator(context: GatehouseContext): Promise<{ username: string; generatedPassword?: string } | undefined> {
  if ((await context.users.count()) > 0) return undefined;
  const { tenantId, queries } = context;
  const username = context.config.adminUsername ?? 'admin';
  const generatedPassword = context.config.adminPassword ? undefined : randomToken(18);
  const user = await context.users.create({ username, password: context.config.adminPassword ?? generatedPassword, name: 'Administrator' }, SYSTEM_ACTOR);
  const identityId = await queries.identities.firstIdOfUser(user.id);
  const adminRoleId = await queries.roles.findSystemRoleId(tenantId, 'Admin');
  if (identityId && adminRoleId) {
    await queries.transaction(async (tx) => {
      const before = await tx.roles.directRoles(tenantId, identityId);
      const added = await tx.roles.assignToIdentity(tenantId, identityId, [adminRoleId]);
      if (!added.length) return;
      const after = await tx.roles.directRoles(tenantId, identityId);
      await context.audit.record({ tenantId, action: 'identity.roles_assigned', ...SYSTEM_ACTOR, targetType: 'identity', targetId: identityId, details: { before: { roles: before }, after: { roles: after }, added } }, tx.db);
    });
    await context.authorization.invalidateAll();
  }
  return { username, generatedPassword };
}
