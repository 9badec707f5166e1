// findAccount: the bridge from oidc-provider's `sub` to a Gatehouse user.
import type { Account, AccountClaims, FindAccount } from 'oidc-provider';
import type { UserService } from '../services/users.ts';

export function createFindAccount(users: UserService): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const user = await users.findById(sub);
    // A deactivated or locked user keeps no account: oidc-provider then refuses refresh and userinfo.
    if (!user || user.status !== 'active') return undefined;
    return {
      accountId: user.id,
      async claims(): Promise<AccountClaims> {
        return {
          sub: user.id,
          preferred_username: user.username,
          name: user.name ?? undefined,
          email: user.email ?? undefined,
          // Gatehouse does not verify email ownership yet: say so rather than imply it.
          email_verified: user.email ? false : undefined,
          updated_at: Math.floor(user.updatedAt.getTime() / 1000),
        };
      },
    };
  };
}
