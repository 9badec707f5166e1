// The served OpenAPI document is valid OpenAPI 3.1 by a standard validator (every $ref resolves
// from the document root), and openapi-typescript (which generates the console's client) reads it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
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

  it("names recursive schemas as components, with no reference into a schema's own $defs", () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]*"/g) ?? [];
    assert.ok(refs.length > 0);
    for (const ref of refs) assert.match(ref, /"#\/components\/(schemas|responses)\/[A-Za-z0-9]+"/);
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
    assert.ok(schemas.NavigationNode && schemas.NavigationAdminNode);
  });

  it('generates types with openapi-typescript, the generator of the console client', async function () {
    this.timeout(120_000);
    const cli = new URL('../../console/node_modules/.bin/openapi-typescript', import.meta.url);
    assert.ok(existsSync(cli), 'the console packages are installed by npm ci (npm run build:console)');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-openapi-'));
    try {
      await writeFile(path.join(dir, 'openapi.json'), JSON.stringify(doc));
      await promisify(execFile)(cli.pathname, [path.join(dir, 'openapi.json'), '-o', path.join(dir, 'schema.d.ts')]);
      const types = await readFile(path.join(dir, 'schema.d.ts'), 'utf8');
      assert.match(types, /"\/api\/v1\/me\/navigation"/);
      assert.match(types, /NavigationNode: \{/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
