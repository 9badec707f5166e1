// Cheap checks that keep the tree honest: the README's admin-API tables list exactly the routes
// that are served, and imports follow the layers of STYLE.md
// (routes → services → queries | store → db → config; only src/oidc imports oidc-provider values).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allRoutes } from '../../src/routes/api/index.ts';
import type { ApiServices } from '../../src/routes/api/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(rel)));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

function importsOf(source: string): string[] {
  return [...source.matchAll(/^\s*import\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
}

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

  it('services and queries never import koa, oidc-provider or routes; queries never import services', async () => {
    const problems: string[] = [];
    for (const file of [...(await sourceFiles('src/services')), ...(await sourceFiles('src/queries'))]) {
      for (const spec of importsOf(await readFile(path.join(ROOT, file), 'utf8'))) {
        if (/^(koa|@koa\/router|oidc-provider)$/.test(spec)) problems.push(`${file} imports ${spec}`);
        if (spec.includes('/routes/') || spec.includes('/oidc/')) problems.push(`${file} imports ${spec}`);
        if (file.startsWith('src/queries') && spec.includes('/services/')) problems.push(`${file} imports ${spec}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('only src/oidc imports values from oidc-provider', async () => {
    const problems: string[] = [];
    for (const file of await sourceFiles('src')) {
      if (file.startsWith(`src${path.sep}oidc`)) continue;
      if (importsOf(await readFile(path.join(ROOT, file), 'utf8')).includes('oidc-provider')) problems.push(file);
    }
    assert.deepEqual(problems, []);
  });
});
