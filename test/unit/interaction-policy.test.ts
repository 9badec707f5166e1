// The interaction policy (src/oidc/interaction-policy.ts): what is built is the table, row for
// row, and the table's rows for oidc-provider's own prompts are what the installed library ships.
import assert from 'node:assert/strict';
import { interactionPolicy } from 'oidc-provider';
import { buildInteractionPolicy, INTERACTION_POLICY, type InteractionPolicyDeps } from '../../src/oidc/interaction-policy.ts';

function deps(overrides: Partial<InteractionPolicyDeps> = {}): InteractionPolicyDeps {
  return { identityFlow: {} as InteractionPolicyDeps['identityFlow'], sessions: { check: async () => ({ alive: true }) } as unknown as InteractionPolicyDeps['sessions'], mfaRequired: async () => false, ...overrides };
}

const shape = (policy: { name: string; checks: { reason: string }[] }[]) => policy.map((prompt) => [prompt.name, prompt.checks.map((check) => check.reason)]);

describe('interaction policy', () => {
  it('builds the prompts and checks of the table, in its order', () => {
    const policy = buildInteractionPolicy(deps());
    assert.deepEqual(
      shape(policy),
      INTERACTION_POLICY.map((row) => [row.name, row.checks.map((check) => check.reason)]),
    );
  });

  it('is login (with the application session limit and MFA step-up), then identity selection, then consent', () => {
    const policy = buildInteractionPolicy(deps());
    assert.deepEqual(
      policy.map((p) => p.name),
      ['login', 'select_account', 'consent'],
    );
    assert.deepEqual(
      policy
        .get('login')!
        .checks.slice(-2)
        .map((c) => c.reason),
      ['application_session_limit', 'mfa_required'],
    );
    assert.deepEqual(
      policy.get('select_account')!.checks.map((c) => [c.reason, c.error]),
      [
        ['select_account_prompt', 'account_selection_required'],
        ['no_eligible_identity', 'access_denied'],
        ['identity_selection_required', 'login_required'],
      ],
    );
    // Added to a built-in prompt after it was made: oidc-provider answers prompt=none with interaction_required.
    assert.equal(policy.get('login')!.checks.get('mfa_required')!.error, undefined);
    assert.equal(policy.get('login')!.checks.get('application_session_limit')!.error, undefined);
  });

  it('lists exactly the checks the installed oidc-provider ships for its own prompts', () => {
    const defaults = interactionPolicy.base();
    const builtIn = INTERACTION_POLICY.filter((row) => row.builtIn);
    assert.deepEqual(
      builtIn.map((row) => row.name),
      defaults.map((prompt) => prompt.name),
      'oidc-provider’s default prompts changed: update INTERACTION_POLICY',
    );
    for (const row of builtIn) {
      assert.deepEqual(
        row.checks.filter((check) => !check.check).map((check) => check.reason),
        defaults.get(row.name)!.checks.map((check) => check.reason),
        `oidc-provider’s ${row.name} checks changed: update INTERACTION_POLICY`,
      );
    }
    for (const row of INTERACTION_POLICY.filter((r) => !r.builtIn)) {
      assert.ok(
        row.checks.every((check) => check.check || check.reason === `${row.name}_prompt`),
        `${row.name}: every check is Gatehouse's own, after the ${row.name}_prompt oidc-provider adds`,
      );
    }
  });

  it('asks for a second factor only where required and not yet given', async () => {
    const asked: string[] = [];
    const policy = buildInteractionPolicy(
      deps({
        mfaRequired: async (accountId, clientId) => {
          asked.push(`${accountId}/${clientId}`);
          return accountId === 'strict';
        },
      }),
    );
    const check = policy.get('login')!.checks.get('mfa_required')!;
    const ctx = (accountId: string | undefined, extra: { amr?: string[]; result?: unknown } = {}) => ({ oidc: { session: { accountId, amr: extra.amr }, client: { clientId: 'app' }, result: extra.result } }) as never;
    assert.equal(await check.check(ctx('strict')), true);
    assert.equal(await check.check(ctx('relaxed')), false);
    assert.equal(await check.check(ctx('strict', { amr: ['pwd', 'otp'] })), false);
    assert.equal(await check.check(ctx('strict', { result: { login: {} } })), false);
    assert.equal(await check.check(ctx(undefined)), false);
    assert.deepEqual(asked, ['strict/app', 'relaxed/app']);
  });
});
