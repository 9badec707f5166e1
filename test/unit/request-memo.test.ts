// createRequestMemo (src/oidc/identity.ts): one lookup per request and key, never shared
// between requests, and a request's own writes seen by its later steps.
import assert from 'node:assert/strict';
import { createRequestMemo } from '../../src/oidc/identity.ts';

describe('request memo', () => {
  it('looks a key up once per request, and again for another request', async () => {
    const memo = createRequestMemo();
    let loads = 0;
    const load = async () => {
      loads += 1;
      return `value ${loads}`;
    };
    const first = {};
    const second = {};
    assert.deepEqual(await Promise.all([memo.get(first, 'k', load), memo.get(first, 'k', load)]), ['value 1', 'value 1']);
    assert.equal(await memo.get(second, 'k', load), 'value 2', 'another request looks it up itself');
    assert.equal(await memo.get(first, 'other', load), 'value 3', 'another key too');
    assert.equal(await memo.get(undefined, 'k', load), 'value 4', 'without a request nothing is kept');
    assert.equal(await memo.get(undefined, 'k', load), 'value 5');
  });

  it('hands a request what it wrote itself', async () => {
    const memo = createRequestMemo();
    const request = {};
    assert.equal(await memo.get(request, 'grant', async () => 'old'), 'old');
    memo.set(request, 'grant', 'new');
    assert.equal(await memo.get(request, 'grant', async () => 'stale'), 'new');
  });
});
