// The password policy's rules (NIST SP 800-63B rev 4 §3.1.1.2 defaults, and the optional
// composition rules), each with its own message, and the departures a policy makes from NIST.
import assert from 'node:assert/strict';
import { checkPassword, DEFAULT_PASSWORD_POLICY, departures, passwordExpiresAt, passwordPolicySchema } from '../../src/services/password-policy.ts';

const alone = { username: 'amelia.hart', email: 'amelia.hart@skyways.example', name: 'Amelia Hart', withMfa: false };
const rules = (password: string, policy = DEFAULT_PASSWORD_POLICY, context = alone) => checkPassword(policy, password, context).map((v) => v.rule);

describe('password policy', () => {
  it('defaults to NIST: 15 characters alone, 8 with MFA, no composition rules, no expiry, blocklist on', () => {
    assert.deepEqual([DEFAULT_PASSWORD_POLICY.minLength, DEFAULT_PASSWORD_POLICY.minLengthWithMfa, DEFAULT_PASSWORD_POLICY.expiryDays, DEFAULT_PASSWORD_POLICY.blocklist], [15, 8, null, true]);
    assert.deepEqual(departures(DEFAULT_PASSWORD_POLICY), []);
    assert.deepEqual(rules('fourteen chars'), ['min_length']);
    assert.deepEqual(rules('eight ch', DEFAULT_PASSWORD_POLICY, { ...alone, withMfa: true }), []);
    assert.deepEqual(rules('lowercase only and long enough'), [], 'no composition rule by default');
  });

  it('accepts 64- and 128-character passwords, and counts Unicode code points after NFKC', () => {
    assert.deepEqual(rules('a1b2c3d4'.repeat(8)), []);
    assert.deepEqual(rules('correct-horse-battery-staple-'.repeat(5).slice(0, 128)), []);
    // 15 emoji are 15 characters (30 UTF-16 units): long enough; 14 are not.
    assert.deepEqual(rules('🔒'.repeat(15)), []);
    assert.deepEqual(rules('🔒'.repeat(14)), ['min_length']);
    assert.deepEqual(
      checkPassword(DEFAULT_PASSWORD_POLICY, 'x'.repeat(1025), alone).map((v) => v.rule),
      ['max_bytes'],
    );
  });

  it('refuses blocklisted passwords with their reason', () => {
    const [violation] = checkPassword(DEFAULT_PASSWORD_POLICY, 'passwordpassword', alone);
    assert.equal(violation?.rule, 'blocklist');
    assert.match(violation!.message, /commonly used or breached/);
    assert.deepEqual(rules('1qaz2wsx3edc4rfv'), ['blocklist']);
    assert.deepEqual(rules('PasswordPassword'), ['blocklist'], 'case does not help');
    assert.deepEqual(rules('passwordpassword', { ...DEFAULT_PASSWORD_POLICY, blocklist: false }), []);
    assert.deepEqual(rules('we love skyways airline', { ...DEFAULT_PASSWORD_POLICY, blockedWords: ['Airline'] }), ['blocked_word', 'context_word']);
  });

  it('refuses context words (username, email, name) with their reason', () => {
    for (const password of ['my name is amelia.hart ok', 'hart-of-the-matter-2026', 'flying with skyways since 1930']) {
      const found = checkPassword(DEFAULT_PASSWORD_POLICY, password, alone);
      assert.deepEqual(
        found.map((v) => v.rule),
        ['context_word'],
        password,
      );
      assert.match(found[0]!.message, /username, email address or name/);
    }
    assert.deepEqual(rules('hart-of-the-matter-2026', { ...DEFAULT_PASSWORD_POLICY, contextWords: false }), []);
  });

  it('gives each composition rule its own message when a tenant switches them on', () => {
    const strict = passwordPolicySchema.parse({ requireLowercase: true, requireUppercase: true, requireDigit: true, requireSymbol: true, minCharacterClasses: 4 });
    const found = checkPassword(strict, 'ALLUPPERCASEWORDS', alone);
    assert.deepEqual(
      found.map((v) => v.rule),
      ['require_lowercase', 'require_digit', 'require_symbol', 'character_classes'],
    );
    assert.equal(new Set(found.map((v) => v.message)).size, 4, 'four different messages');
    assert.deepEqual(checkPassword(strict, 'Mixed-Case-And-9s', alone), []);
  });

  it('names every departure from NIST and validates the settings together', () => {
    const policy = passwordPolicySchema.parse({ minLength: 10, minLengthWithMfa: 6, maxLength: 32, requireUppercase: true, blocklist: false, contextWords: false, expiryDays: 90, lockout: { threshold: 500 } });
    assert.deepEqual(
      departures(policy).map((d) => d.setting),
      ['minLength', 'minLengthWithMfa', 'maxLength', 'requireUppercase', 'blocklist', 'contextWords', 'expiryDays', 'lockout.threshold'],
    );
    assert.ok(departures(policy).every((d) => /NIST 800-63B rev 4 §3\.(1\.1\.2|2\.2)/.test(d.reason)));
    assert.equal(passwordPolicySchema.safeParse({ minLength: 40, maxLength: 30 }).success, false);
    assert.equal(passwordPolicySchema.safeParse({ expiryDays: 10, reminderDays: 10 }).success, false);
    assert.equal(passwordPolicySchema.safeParse({ unknownSetting: true }).success, false);
    const changed = new Date('2026-01-01T00:00:00Z');
    assert.equal(passwordExpiresAt(policy, changed)?.toISOString(), '2026-04-01T00:00:00.000Z');
    assert.equal(passwordExpiresAt(DEFAULT_PASSWORD_POLICY, changed), null);
  });
});
