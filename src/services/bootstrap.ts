// First start: the default tenant exists (migration); an administrator is created when the
// directory is empty, from GATEHOUSE_ADMIN_USERNAME/PASSWORD or with a generated password that
// is shown once and never stored in clear or logged. Its default identity holds the Admin role.
import type { GatehouseContext } from '../context.ts';
import { SYSTEM_ACTOR } from './actor.ts';
import { randomToken } from './secrets.ts';

export async function ensureAdministrator(context: GatehouseContext): Promise<{ username: string; generatedPassword?: string } | undefined> {
  if ((await context.users.count()) > 0) return undefined;
  const username = context.config.adminUsername ?? 'admin';
  const generatedPassword = context.config.adminPassword ? undefined : randomToken(18);
  const user = await context.users.create({ username, password: context.config.adminPassword ?? generatedPassword, name: 'Administrator' }, SYSTEM_ACTOR);
  const identity: { id: string } | undefined = await context.knex('identities').where({ user_id: user.id }).first('id');
  const admin: { id: string } | undefined = await context.knex('roles').where({ tenant_id: context.tenantId, name: 'Admin', system: true }).first('id');
  if (identity && admin) {
    await context.knex('identity_roles').insert({ tenant_id: context.tenantId, identity_id: identity.id, role_id: admin.id }).onConflict(['identity_id', 'role_id']).ignore();
    await context.authorization.invalidateAll();
  }
  return { username, generatedPassword };
}
