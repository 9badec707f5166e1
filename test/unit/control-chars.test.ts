// The edge check's JSON inspection: which texts it looks into and which fields it names.
import assert from 'node:assert/strict';
import { findInJson, jsonMayHoldControl } from '../../src/middleware/control-chars.ts';

describe('control characters and lone surrogates in JSON', () => {
  it('looks further only when the text can hold one once parsed', () => {
    assert.equal(jsonMayHoldControl('{"name":"Kim","note":"a\\nb"}'), false, 'a line feed is allowed');
    assert.equal(jsonMayHoldControl('{"name":"Kim\\u0000"}'), true);
    assert.equal(jsonMayHoldControl('{"name":"Kim\\ud800"}'), true);
    assert.equal(jsonMayHoldControl('{"name":"Kim\\uDC00"}'), true);
    assert.equal(jsonMayHoldControl('{"name":"Kim 😀"}'), false, 'raw UTF-8 cannot spell a surrogate');
  });

  it('names the field holding a control character or an unpaired surrogate, at any depth', () => {
    assert.equal(findInJson(JSON.parse('{"name":"Kim\\ud800"}'), ''), 'name');
    assert.equal(findInJson(JSON.parse('{"a":[{"b":"\\udc00x"}]}'), ''), 'a[0].b');
    assert.equal(findInJson(JSON.parse('{"k\\ud83d":"v"}'), ''), 'k\ud83d', 'a key is checked too');
    assert.equal(findInJson(JSON.parse('{"name":"x\\u0000"}'), ''), 'name');
  });

  it('lets a surrogate pair, tab and line breaks through', () => {
    assert.equal(findInJson(JSON.parse('{"name":"Kim \\ud83d\\ude00","note":"a\\tb\\r\\nc"}'), ''), undefined);
  });
});
