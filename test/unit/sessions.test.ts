// Pure parts of session management: what a User-Agent says about a device, and which errors mean
// that PostgreSQL or Redis is out of reach (503) rather than a bug (500).
import assert from 'node:assert/strict';
import { describeDevice } from '../../src/services/devices.ts';
import { isUnavailableError } from '../../src/services/availability.ts';
import { USER_AGENTS } from '../helpers/sessions.ts';

describe('device description', () => {
  it('names the device type, browser and OS of common browsers', () => {
    assert.deepEqual(describeDevice(USER_AGENTS.iphone), { deviceType: 'mobile', browser: 'Mobile Safari 17', os: 'iOS 17.1', userAgent: USER_AGENTS.iphone });
    assert.deepEqual({ ...describeDevice(USER_AGENTS.ipad), userAgent: undefined }, { deviceType: 'tablet', browser: 'Mobile Safari 16', os: 'iOS 16.6', userAgent: undefined });
    const windows = describeDevice(USER_AGENTS.windowsChrome);
    assert.equal(windows.deviceType, 'desktop');
    assert.equal(windows.browser, 'Chrome 120');
    assert.equal(windows.os, 'Windows 10');
    assert.equal(describeDevice(USER_AGENTS.macFirefox).browser, 'Firefox 121');
  });

  it('says unknown for no header or one that names no browser or system, and keeps a bounded, clean copy', () => {
    assert.deepEqual(describeDevice(undefined), { deviceType: 'unknown', browser: null, os: null, userAgent: null });
    assert.equal(describeDevice('curl-ish/1.0').deviceType, 'unknown');
    const long = describeDevice(`${USER_AGENTS.windowsChrome}\u0000\n${'x'.repeat(2000)}`);
    assert.equal(long.userAgent!.length, 512);
    assert.doesNotMatch(long.userAgent!, /[\u0000-\u001f]/);
  });
});

describe('storage unavailability', () => {
  const withCode = (code: string) => Object.assign(new Error('boom'), { code });

  it('recognises lost or refused connections to PostgreSQL and Redis, also wrapped', () => {
    assert.equal(isUnavailableError(withCode('ECONNREFUSED')), true);
    assert.equal(isUnavailableError(withCode('57P01')), true, 'admin_shutdown');
    assert.equal(isUnavailableError(withCode('08006')), true, 'connection_failure');
    assert.equal(isUnavailableError(Object.assign(new Error('Timeout acquiring a connection'), { name: 'KnexTimeoutError' })), true);
    assert.equal(isUnavailableError(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isUnavailableError(new Error('Connection is closed.')), true);
    assert.equal(isUnavailableError(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], '')), true);
    assert.equal(isUnavailableError(new Error('query failed', { cause: withCode('ECONNRESET') })), true);
  });

  it('leaves bugs and data errors alone', () => {
    assert.equal(isUnavailableError(new TypeError('x is undefined')), false);
    assert.equal(isUnavailableError(withCode('23505')), false, 'unique violation');
    assert.equal(isUnavailableError(withCode('22P02')), false, 'invalid text representation');
    assert.equal(isUnavailableError(undefined), false);
    assert.equal(isUnavailableError('ECONNREFUSED'), false);
  });
});
