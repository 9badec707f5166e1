// The relying-party rules of the tenant settings (services/tenant-settings.ts), without I/O: which
// origins are accepted, and which relying-party ids can serve which origins.
import assert from 'node:assert/strict';
import { normalizeOrigin, relyingPartyRefusal } from '../../src/services/tenant-settings.ts';

describe('tenant settings: passkey relying party', () => {
  it('accepts https origins and http only on loopback hosts, serialized without a trailing slash', () => {
    assert.deepEqual(normalizeOrigin('https://Login.Example.com/'), { origin: 'https://login.example.com' });
    assert.deepEqual(normalizeOrigin('https://example.com:8443'), { origin: 'https://example.com:8443' });
    for (const loopback of ['http://localhost:3000', 'http://auth.localhost', 'http://127.0.0.1:8080', 'http://[::1]:3000']) {
      assert.ok('origin' in normalizeOrigin(loopback), loopback);
    }
    for (const [value, reason] of [
      ['http://example.com', /https/],
      ['http://10.0.0.1', /https/],
      ['https://example.com/path', /origin only/],
      ['https://example.com/?q=1', /origin only/],
      ['https://user@example.com', /origin only/],
      ['ftp://example.com', /https/],
      ['example.com', /not a URL/],
    ] as const) {
      const result = normalizeOrigin(value);
      assert.ok('error' in result, value);
      assert.match(result.error, reason, value);
    }
  });

  it('takes a relying-party id equal to every origin host or a suffix of it, never an IP address or a top-level domain', () => {
    assert.equal(relyingPartyRefusal('example.com', ['https://example.com', 'https://login.example.com', 'https://a.b.example.com:8443']), undefined);
    assert.equal(relyingPartyRefusal('localhost', ['http://localhost:3000']), undefined);
    assert.match(relyingPartyRefusal('example.com', ['https://badexample.com'])!, /neither the host/);
    assert.match(relyingPartyRefusal('login.example.com', ['https://example.com'])!, /neither the host/);
    assert.match(relyingPartyRefusal('com', ['https://example.com'])!, /top-level domain/);
    assert.match(relyingPartyRefusal('127.0.0.1', ['http://127.0.0.1:3000'])!, /IP address/);
    assert.match(relyingPartyRefusal('-bad-.example.com', ['https://-bad-.example.com'])!, /not a domain name/);
  });
});
