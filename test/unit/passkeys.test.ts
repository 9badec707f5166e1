// The relying-party settings follow from the issuer, and the amr/acr rules of passkeys.
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.ts';
import { passkeySettings } from '../../src/services/passkeys.ts';
import { isMultiFactor, passkeyAmr } from '../../src/services/sign-in.ts';

describe('passkey settings and factors', () => {
  it('derive the relying-party id and origin from the issuer, configured values winning', () => {
    const derived = passkeySettings('https://id.example.com:8443/tenant');
    assert.equal(derived.rpId, 'id.example.com');
    assert.deepEqual(derived.origins, ['https://id.example.com:8443']);
    assert.equal(derived.userVerification, 'required');
    assert.equal(derived.attachment, 'any');
    const config = loadConfig({ GATEHOUSE_PASSKEY_RP_ID: 'Example.com', GATEHOUSE_PASSKEY_ORIGINS: 'https://a.example.com/x, https://b.example.com', GATEHOUSE_PASSKEY_ATTACHMENT: 'platform', GATEHOUSE_PASSKEY_USER_VERIFICATION: 'preferred' });
    const configured = passkeySettings('https://id.example.com', config.passkeys);
    assert.equal(configured.rpId, 'example.com');
    assert.deepEqual(configured.origins, ['https://a.example.com', 'https://b.example.com']);
    assert.equal(configured.attachment, 'platform');
    assert.equal(configured.userVerification, 'preferred');
    assert.throws(() => loadConfig({ GATEHOUSE_PASSKEY_ATTACHMENT: 'usb' }));
  });

  it('count a user-verified passkey as two factors, and one without verification as one', () => {
    assert.deepEqual(passkeyAmr({ userVerified: true, backupEligible: false }), ['hwk', 'user']);
    assert.deepEqual(passkeyAmr({ userVerified: true, backupEligible: true }), ['swk', 'user']);
    assert.equal(isMultiFactor(['hwk', 'user']), true);
    assert.equal(isMultiFactor(['hwk']), false);
    assert.equal(isMultiFactor(['pwd']), false);
    assert.equal(isMultiFactor(['pwd', 'hwk']), true);
    assert.equal(isMultiFactor(['pwd', 'otp']), true);
  });
});
