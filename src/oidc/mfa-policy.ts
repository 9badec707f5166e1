// Step-up to a second factor: when the tenant's policy requires MFA for a user or an application
// and the browser's session was signed in with a password alone, the login prompt is asked again,
// so the password and the second factor are both checked before the application gets a code.
import type { Configuration } from 'oidc-provider';
import { interactionPolicy } from 'oidc-provider';

type Policy = NonNullable<NonNullable<Configuration['interactions']>['policy']>;

export function requireMfaWhereConfigured(policy: Policy, mfaRequired: (accountId: string, clientId: string) => Promise<boolean>): Policy {
  const { Check } = interactionPolicy;
  const login = policy.find((prompt) => prompt.name === 'login');
  if (!login) throw new Error('the interaction policy has no login prompt');
  login.checks.add(
    new Check('mfa_required', 'the application or the user requires a second factor', async (ctx) => {
      const { oidc } = ctx;
      const accountId = oidc.session?.accountId;
      if (!accountId || !oidc.client) return Check.NO_NEED_TO_PROMPT;
      // Just signed in through our steps: they already applied the requirement.
      if ((oidc.result as { login?: unknown } | undefined)?.login) return Check.NO_NEED_TO_PROMPT;
      if (oidc.session?.amr?.includes('otp')) return Check.NO_NEED_TO_PROMPT;
      return (await mfaRequired(accountId, oidc.client.clientId)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}
