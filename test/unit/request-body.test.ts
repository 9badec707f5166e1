// The one request-body reader (src/middleware/form-body.ts): size limits, the form's content type
// and the error each refusal carries.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { Context } from 'koa';
import { FORM_LIMIT_BYTES, readBody, readForm } from '../../src/middleware/form-body.ts';

function request(body: string, type = 'application/x-www-form-urlencoded'): Context {
  const req = Readable.from([Buffer.from(body)]);
  return { req, is: (...types: string[]) => (types.flat().includes(type) ? type : false) } as unknown as Context;
}

async function refusal(work: Promise<unknown>) {
  try {
    await work;
  } catch (error) {
    const { code, status, message } = error as { code: string; status: number; message: string };
    return { code, status, message };
  }
  assert.fail('expected a refusal');
}

describe('request body', () => {
  it('reads a form', async () => {
    const form = await readForm(request('login=ana&password=%C3%A9t%C3%A9'));
    assert.equal(form.get('login'), 'ana');
    assert.equal(form.get('password'), 'été');
  });

  it('refuses a form of another content type with 415, before reading it', async () => {
    assert.deepEqual(await refusal(readForm(request('{}', 'application/json'))), { code: 'request.unsupported_media_type', status: 415, message: 'expected a form submission' });
  });

  it('refuses a form larger than its limit with 413', async () => {
    assert.equal((await readForm(request(`a=${'x'.repeat(FORM_LIMIT_BYTES - 2)}`))).get('a')!.length, FORM_LIMIT_BYTES - 2);
    assert.deepEqual(await refusal(readForm(request(`a=${'x'.repeat(FORM_LIMIT_BYTES)}`))), { code: 'request.too_large', status: 413, message: 'the form is too large' });
  });

  it('reads any body as text within the limit given, and names the limit when refusing', async () => {
    assert.equal(await readBody(request('{"a":1}', 'application/json'), 7), '{"a":1}');
    assert.deepEqual(await refusal(readBody(request('{"a":1}', 'application/json'), 6)), { code: 'request.too_large', status: 413, message: 'the request body is larger than 6 bytes' });
  });
});
