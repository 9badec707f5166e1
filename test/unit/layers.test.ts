// The layering of ARCHITECTURE.md, "Layers", checked on the import graph esbuild resolves (values
// only: a type import costs nothing at run time): routes → services → queries | store → db →
// config, oidc → services, and each storage or framework package imported by its own layer alone.
import assert from 'node:assert/strict';
import { isBuiltin } from 'node:module';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importGraph, layerViolations, routesTouchingKnex, servicesTouchingKnex } from '../helpers/import-graph.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('layering (import graph)', () => {
  it('src/ follows the layers: no forbidden import', async () => {
    const edges = await importGraph(ROOT);
    assert.ok(edges.length > 100, `the graph has only ${edges.length} edges: the scan found too little`);
    assert.deepEqual(layerViolations(edges), []);
  });

  it('services reach the database through src/queries/ (but for the files still listed as pending)', async () => {
    assert.deepEqual(await servicesTouchingKnex(ROOT), []);
  });

  it('every package src/ imports at run time is a dependency, not a devDependency', async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
    const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.optionalDependencies ?? {})]);
    const packages = new Set((await importGraph(ROOT)).map((edge) => edge.to).filter((to) => !to.startsWith('node:') && !to.startsWith('.') && !to.startsWith('src/') && !isBuiltin(to)));
    assert.ok(packages.has('oidc-provider') && packages.has('knex'), `the scan found too few packages: ${[...packages].join(', ')}`);
    assert.deepEqual(
      [...packages].filter((name) => !declared.has(name)),
      [],
    );
  });

  it('routes and middleware never touch knex', async () => {
    assert.deepEqual(await routesTouchingKnex(ROOT), []);
  });

  describe('catches a wrong import', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-layers-'));
      const files: Record<string, string> = {
        'src/queries/users.ts': "import { rule } from '../services/users.ts';\nexport const q = rule;\n",
        'src/services/users.ts': "import Router from '@koa/router';\nimport type { Knex } from 'knex';\nexport const rule = (k?: Knex) => new Router() && k;\n",
        'src/services/ok.ts': "import { q } from '../queries/users.ts';\nexport const ok = q;\n",
        'src/cli/commands.ts': "import { x } from '../routes/api.ts';\nexport const c = x;\n",
        'src/routes/api.ts': 'export const x = 1;\n',
        'src/services/store-user.ts': "import Redis from 'ioredis';\nexport const r = Redis;\n",
        'src/services/through-context.ts': "// knex is mentioned in this comment only\nexport const count = (context: { knex: (t: string) => unknown }) => context.knex('users');\n",
        'src/services/pending.ts': "import type { Knex } from 'knex';\nexport const p = (k: Knex) => k('users');\n",
        'src/services/done.ts': '// once ran SQL through knex; now only queries\nexport const d = 1;\n',
        'src/routes/scim.ts': 'export const routes = (services: { knex: unknown }) => services.knex;\n',
        'src/routes/typed.ts': "import type { Knex } from 'knex';\nexport type Db = Knex;\n",
        'src/middleware/clean.ts': '// no knex here, only in this comment\nexport const m = 1;\n',
      };
      for (const [file, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
        await writeFile(path.join(dir, file), text);
      }
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('reports an upward import, a framework package in services and a package outside its layer; not a type import', async () => {
      const problems = layerViolations(await importGraph(dir));
      assert.deepEqual(
        problems.map((p) => p.replace(/ \(.*$/, '')),
        ['src/cli/commands.ts → src/routes/api.ts', 'src/queries/users.ts → src/services/users.ts', 'src/services/store-user.ts → ioredis', 'src/services/users.ts → @koa/router'],
      );
    });

    it('reports a service that imports knex, even as a type, or uses a knex handed in; and a pending entry that is done', async () => {
      const problems = await servicesTouchingKnex(dir, ['src/services/pending.ts', 'src/services/done.ts']);
      assert.deepEqual(
        problems.map((p) => p.replace(/ (uses|no longer).*$/, ' $1')),
        ['src/services/done.ts no longer', 'src/services/through-context.ts uses', 'src/services/users.ts uses'],
      );
    });

    it('reports a route that uses a knex handed in or imports knex, even as a type', async () => {
      const problems = await routesTouchingKnex(dir);
      assert.deepEqual(
        problems.map((p) => p.replace(/ uses.*$/, '')),
        ['src/routes/scim.ts', 'src/routes/typed.ts'],
      );
    });
  });
});
