// findAccount: the bridge from oidc-provider's `sub` to a Gatehouse user, with the identity
// claims (scope `identity`) of the grant the token belongs to.
import type { Account, AccountClaims, FindAccount, KoaContextWithOIDC } from 'oidc-provider';
import type { AuthorizationService } from '../services/authorization.ts';
import type { GrantIdentityService } from '../services/grant-identities.ts';
import type { UserService } from '../services/users.ts';
import { grantStillEligible, identityClaimsForGrant, type IdentityFlowDeps, type RequestMemo } from './identity.ts';

export function createFindAccount(deps: { users: UserService; authorization: AuthorizationService; grantIdentities: GrantIdentityService; requestMemo: RequestMemo; identityFlow: IdentityFlowDeps }): FindAccount {
  return async (ctx: KoaContextWithOIDC, sub, token): Promise<Account | undefined> => {
    const user = await deps.users.findForOidc(sub);
    // A deactivated or locked user keeps no account: oidc-provider then refuses refresh and userinfo.
    if (!user || user.status !== 'active') return undefined;
    const used = token as { kind?: string; grantId?: string; clientId?: string } | undefined;
    // A refresh (refresh token) or userinfo (access token) request: the grant's identity must still
    // be eligible for the client, or the grant is revoked and the request refused (ASVS 5 V8.3.2).
    if ((used?.kind === 'RefreshToken' || used?.kind === 'AccessToken') && !(await grantStillEligible(deps.identityFlow, ctx, { grantId: used.grantId, accountId: sub, clientId: used.clientId }))) {
      return undefined;
    }
    const grantId = used?.grantId ?? ctx.oidc?.entities?.Grant?.jti;
    return {
      accountId: user.id,
      async claims(_use, scope): Promise<AccountClaims> {
        const identity = scope.split(' ').includes('identity') ? await identityClaimsForGrant(deps, grantId, ctx) : undefined;
        return {
          sub: user.id,
          preferred_username: user.username,
          name: user.name ?? undefined,
          email: user.email ?? undefined,
          // Gatehouse does not verify email ownership yet: say so rather than imply it.
          email_verified: user.email ? false : undefined,
          updated_at: Math.floor(user.updatedAt.getTime() / 1000),
          ...(identity ?? {}),
        };
      },
    };
  };
}
