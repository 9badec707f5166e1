// The whole interaction policy as one table: the prompts oidc-provider asks for, in order, and
// each check that asks for one, with its reason (what oidc-provider reports in
// interaction.prompt.reasons) and why it is there. oidc-provider's own prompts and checks are
// rows too (without an implementation: the library's is kept as it is), so the table reads as
// the policy that runs; buildInteractionPolicy builds the policy from it and is the only code
// that changes it. test/unit/interaction-policy.test.ts checks that the built policy is the
// table, row for row, so a library upgrade that adds, drops or reorders a built-in check fails
// there instead of changing the sign-in silently.
//
// Prompts: login → select_account → consent (the pages: src/routes/interactions.ts).
import type { KoaContextWithOIDC } from 'oidc-provider';
import { interactionPolicy } from 'oidc-provider';
import { ACCOUNT_CLIENT_ID } from '../services/applications.ts';
import type { SessionService } from '../services/sessions.ts';
import { eligibleIdentitiesOf, grantIdentityOf, type IdentityFlowDeps } from './identity.ts';

/** oidc-provider's policy list (with get, add, remove), as `interactions.policy` takes it. */
export type InteractionPolicy = interactionPolicy.DefaultPolicy;

export interface InteractionPolicyDeps {
  identityFlow: IdentityFlowDeps;
  sessions: Pick<SessionService, 'check'>;
  /** Account security: whether signing this user in to this client needs a second factor. */
  mfaRequired(accountId: string, clientId: string): Promise<boolean>;
}

type CheckFn = (ctx: KoaContextWithOIDC) => boolean | Promise<boolean>;

export interface CheckRow {
  reason: string;
  /** Why the check is there (for oidc-provider's: what it asks for). */
  why: string;
  /** Gatehouse's checks: the description oidc-provider reports with the reason. */
  description?: string;
  /**
   * The error a prompt=none request gets. Unset: on a check of a prompt Gatehouse adds, the
   * prompt's (account_selection_required for select_account); on a check added to a built-in
   * prompt, interaction_required (oidc-provider gives the prompt's error only to the checks the
   * prompt is constructed with: lib/helpers/interaction_policy/prompt.js).
   */
  error?: string;
  /** Gatehouse's checks: the check itself. Unset: oidc-provider's built-in check. */
  check?: (deps: InteractionPolicyDeps) => CheckFn;
}

export interface PromptRow {
  name: string;
  /** The client may ask for the prompt (prompt=<name>); it then opens with a `<name>_prompt` check. */
  requestable: boolean;
  /** oidc-provider's own prompt (its built-in checks come first), or one Gatehouse adds. */
  builtIn: boolean;
  why: string;
  checks: readonly CheckRow[];
}

const { Check, Prompt, base } = interactionPolicy;

interface InteractionResult {
  login?: unknown;
  select_account?: { identityId?: string };
}

/** Checks oidc-provider makes itself, in its order: each reason with why it is there (no implementation of ours). */
function builtInChecks(whyByReason: Record<string, string>): CheckRow[] {
  return Object.entries(whyByReason).map(([reason, why]) => ({ reason, why }));
}

const resultOf = (ctx: KoaContextWithOIDC) => (ctx.oidc.result ?? {}) as InteractionResult;

/** The user's identities that may use the requesting application (once per request); none for the account pages. */
function eligibleFor(deps: InteractionPolicyDeps, ctx: KoaContextWithOIDC) {
  const accountId = ctx.oidc.session?.accountId;
  const client = ctx.oidc.client;
  if (!accountId || !client || client.clientId === ACCOUNT_CLIENT_ID) return undefined;
  return eligibleIdentitiesOf(deps.identityFlow, ctx, accountId, client.clientId);
}

/** The name of the identity-selection prompt (oidc-provider's select_account, account_selection_required). */
export const SELECT_IDENTITY_PROMPT = 'select_account';

export const INTERACTION_POLICY: readonly PromptRow[] = [
  {
    name: 'login',
    requestable: true,
    builtIn: true,
    why: 'the password and, where required, the second factor (src/services/sign-in.ts)',
    checks: [
      ...builtInChecks({
        login_prompt: 'the client asked for a new sign-in (prompt=login)',
        no_session: 'nobody is signed in in this browser',
        max_age: 'the sign-in is older than the max_age the client asked for (OIDC Core §3.1.2.1)',
        id_token_hint: 'the id_token_hint names another user than the one signed in',
        claims_id_token_sub_value: 'the claims parameter asks for another subject than the one signed in',
        essential_acrs: 'none of the essential acr values asked for was reached',
        essential_acr: 'the essential acr value asked for was not reached',
      }),
      {
        reason: 'application_session_limit',
        description: 'the application requires a more recent sign-in',
        why: 'the application has a stricter absolute lifetime or idle timeout than the session meets: the password is asked again (like max_age), once',
        check:
          ({ sessions }) =>
          async (ctx) => {
            const { session, client } = ctx.oidc;
            if (!session?.accountId || !client || resultOf(ctx).login) return Check.NO_NEED_TO_PROMPT;
            const verdict = await sessions.check(session.uid, { clientId: client.clientId });
            return !verdict.alive && verdict.reason.startsWith('application_') ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
          },
      },
      {
        reason: 'mfa_required',
        description: 'the application or the user requires a second factor',
        why: 'step-up: the tenant requires a second factor for this user or application and the session was signed in with a password alone',
        check:
          ({ mfaRequired }) =>
          async (ctx) => {
            const { oidc } = ctx;
            const accountId = oidc.session?.accountId;
            if (!accountId || !oidc.client) return Check.NO_NEED_TO_PROMPT;
            // Just signed in through our steps: they already applied the requirement.
            if (resultOf(ctx).login) return Check.NO_NEED_TO_PROMPT;
            if (oidc.session?.amr?.includes('otp')) return Check.NO_NEED_TO_PROMPT;
            return (await mfaRequired(accountId, oidc.client.clientId)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
          },
      },
    ],
  },
  {
    name: SELECT_IDENTITY_PROMPT,
    requestable: true,
    builtIn: false,
    why: 'which of the user’s identities the grant is for: shown when more than one may use the application and the user just signed in (or the client asked with prompt=select_account); exactly one → no page; none → the page says there is no access',
    checks: [
      { reason: 'select_account_prompt', why: 'the client asked for the choice (prompt=select_account)' },
      {
        reason: 'no_eligible_identity',
        description: 'no identity of the signed-in user may use this application',
        // With prompt=none the application is told access_denied at once (RFC 6749 §4.1.2.1, OIDC
        // Core §3.1.2.6), never account_selection_required, which a client answers by trying again.
        error: 'access_denied',
        why: 'no identity of the signed-in user may use the application: the page explains it and offers to return with access_denied',
        check: (deps) => async (ctx) => {
          const eligible = await eligibleFor(deps, ctx);
          return eligible && eligible.length === 0 ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
        },
      },
      {
        reason: 'identity_selection_required',
        description: 'the user must choose which identity to use',
        // With prompt=none a choice that has to be made asks for an interactive sign-in.
        error: 'login_required',
        why: 'several identities may use the application and none is chosen yet for it in this session',
        check: (deps) => async (ctx) => {
          const { oidc } = ctx;
          const eligible = await eligibleFor(deps, ctx);
          if (!eligible || !oidc.client) return Check.NO_NEED_TO_PROMPT;
          const result = resultOf(ctx);
          if (result.select_account?.identityId) return Check.NO_NEED_TO_PROMPT;
          const clientId = oidc.client.clientId;
          if (eligible.length === 1) return Check.NO_NEED_TO_PROMPT;
          if (result.login) return Check.REQUEST_PROMPT;
          // Signed in earlier in this session: keep the identity already chosen for this app.
          const grantId = oidc.session?.grantIdFor(clientId);
          const current = grantId ? await grantIdentityOf(deps.identityFlow, ctx, grantId) : undefined;
          return current && eligible.some((e) => e.id === current) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
        },
      },
    ],
  },
  {
    name: 'consent',
    requestable: true,
    builtIn: true,
    why: 'third-party applications only: a first-party application’s grant is extended without asking (loadExistingGrant in src/oidc/configuration.ts)',
    checks: [
      ...builtInChecks({
        consent_prompt: 'the client asked for consent (prompt=consent)',
        native_client_prompt: 'a native client’s request always shows the user a page',
        op_scopes_missing: 'scopes the grant does not hold yet',
        op_claims_missing: 'claims the grant does not hold yet',
        rs_scopes_missing: 'API resource scopes the grant does not hold yet',
        rar_prompt: 'authorization_details were asked for (RFC 9396)',
      }),
    ],
  },
];

/** The interaction policy oidc-provider runs: its defaults with Gatehouse's prompts and checks, as the table says. */
export function buildInteractionPolicy(deps: InteractionPolicyDeps, table: readonly PromptRow[] = INTERACTION_POLICY): InteractionPolicy {
  const defaults = base();
  const policy = base();
  policy.clear();
  for (const row of table) {
    const own = row.checks.flatMap((c) => {
      if (!c.check) return [];
      const description = c.description ?? c.why;
      return [c.error ? new Check(c.reason, description, c.error, c.check(deps)) : new Check(c.reason, description, c.check(deps))];
    });
    if (row.builtIn) {
      const prompt = defaults.get(row.name);
      if (!prompt) throw new Error(`oidc-provider has no ${row.name} prompt`);
      for (const check of own) prompt.checks.add(check);
      policy.add(prompt);
    } else {
      policy.add(new Prompt({ name: row.name, requestable: row.requestable }, ...own));
    }
  }
  return policy;
}
