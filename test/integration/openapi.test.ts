// The served OpenAPI document is valid OpenAPI 3.1 by a standard validator (every $ref resolves
// from the document root), so generators such as openapi-typescript can read it.
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

describe('the OpenAPI document', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let doc: Record<string, unknown>;

  before(async () => {
    gh = await startTestGatehouse();
    const response = await fetch(new URL('/api/v1/openapi.json', gh.url));
    assert.equal(response.status, 200);
    doc = (await response.json()) as Record<string, unknown>;
  });
  after(async () => gh?.close());

  it('validates as OpenAPI 3.1, references resolved', async () => {
    const result = await new Validator().validate(doc as never);
    assert.deepEqual(result, { valid: true });
  });

  it('names recursive schemas as components, with no reference into a schema\'s own $defs', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]*"/g) ?? [];
    assert.ok(refs.length > 0);
    for (const ref of refs) assert.match(ref, /"#\/components\/(schemas|responses)\/[A-Za-z0-9]+"/);
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
    assert.ok(schemas.NavigationNode && schemas.NavigationAdminNode);
  });
});
