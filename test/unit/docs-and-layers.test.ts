// Cheap checks that keep the tree honest: the README's admin-API tables list exactly the routes
// that are served. The layering is checked on the real import graph in layers.test.ts.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allRoutes } from '../../src/routes/api/index.ts';
import type { ApiServices } from '../../src/routes/api/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('documentation and layering', () => {
  it('the README lists every admin-API route with its permission, and no route that does not exist', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    // Building the route table reads no service: handlers only run on requests.
    const routes = allRoutes({} as ApiServices);
    const served = new Set(routes.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    for (const route of routes) {
      const row = new RegExp(`^\\| \`${route.method.toUpperCase()} ${route.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\` \\| ${route.permission ? `\`${route.permission}\`` : '\\(signed in\\)'} \\|`, 'm');
      assert.match(readme, row, `README is missing ${route.method.toUpperCase()} ${route.path}`);
    }
    const documented = [...readme.matchAll(/^\| `((?:GET|POST|PUT|PATCH|DELETE) \/[^`]*)` \|/gm)].map((m) => m[1]!);
    assert.deepEqual(documented.filter((d) => !served.has(d)), [], 'README documents routes that are not served');
  });
});
