// docs/api-reference.md is rendered from the OpenAPI document; it must be what the route table
// renders today, so a new or changed route cannot go undocumented.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { currentApiReference, renderApiReference } from '../../scripts/api-reference.ts';

describe('admin API reference', () => {
  it('docs/api-reference.md is up to date with the route table (run `npm run docs:api`)', async () => {
    const onDisk = await readFile(new URL('../../docs/api-reference.md', import.meta.url), 'utf8');
    assert.ok(onDisk === currentApiReference(), 'docs/api-reference.md is stale: run `npm run docs:api` and commit it');
  });

  it('renders each operation with its permission, parameters and body fields', () => {
    const text = renderApiReference({
      paths: {
        '/api/v1/things/{id}': {
          patch: {
            summary: 'Change a thing',
            tags: ['things'],
            'x-permission': 'things:update',
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
            requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } }, required: ['name'] } } } },
            responses: { '200': { description: 'Success' }, '400': {} },
          },
        },
      },
    });
    assert.match(text, /^\| `PATCH \/things\/\{id\}` \| `things:update` \| Change a thing \|$/m);
    assert.match(text, /^\| `id` \| path \| string \| yes \|$/m);
    assert.match(text, /^\| `name` \| string \| yes \|$/m);
    assert.match(text, /^\| `tags` \| string\[\] \| no \|$/m);
    assert.match(text, /^Answers 200\.$/m);
  });
});
