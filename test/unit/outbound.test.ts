// The SSRF rule of outgoing webhook requests: which addresses count as public.
import assert from 'node:assert/strict';
import { isPublicAddress, postJson } from '../../src/services/outbound.ts';

describe('outbound requests: public addresses only', () => {
  it('refuses private, loopback, link-local, reserved and mapped addresses', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not-an-ip',
    ]) {
      assert.equal(isPublicAddress(address), false, address);
    }
  });
  it('allows public addresses', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPublicAddress(address), true, address);
  });
  it('refuses a request to a loopback literal without connecting', async () => {
    await assert.rejects(postJson('http://127.0.0.1:9/hook', '{}', {}, { allowPrivate: false, timeoutMs: 1000 }), /not a public address/);
    await assert.rejects(postJson('http://[::1]:9/hook', '{}', {}, { allowPrivate: false, timeoutMs: 1000 }), /not a public address/);
  });
  it('refuses a name that resolves to a loopback address', async () => {
    await assert.rejects(postJson('http://localhost:9/hook', '{}', {}, { allowPrivate: false, timeoutMs: 1000 }), /non-public address/);
  });
});
