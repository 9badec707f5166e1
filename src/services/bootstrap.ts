// First start: the default tenant exists (migration); an administrator is created when the
// directory is empty, from GATEHOUSE_ADMIN_USERNAME/PASSWORD or with a generated password that
// is shown once and never stored in clear or logged.
import type { GatehouseContext } from '../context.ts';
import { SYSTEM_ACTOR } from './actor.ts';
import { randomToken } from './secrets.ts';

export async function ensureAdministrator(context: GatehouseContext): Promise<{ username: string; generatedPassword?: string } | undefined> {
  if ((await context.users.count()) > 0) return undefined;
  const username = context.config.adminUsername ?? 'admin';
  const generatedPassword = context.config.adminPassword ? undefined : randomToken(18);
  await context.users.create({ username, password: context.config.adminPassword ?? generatedPassword, name: 'Administrator' }, SYSTEM_ACTOR);
  return { username, generatedPassword };
}
