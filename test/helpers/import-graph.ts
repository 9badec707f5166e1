// The value-import graph of a source tree, resolved by a real bundler (esbuild: type-only imports
// are erased, relative paths and packages resolved as at run time), and the layering rules of
// ARCHITECTURE.md, "Layers", checked against it.
import path from 'node:path';
import { readFile, readdir } from 'node:fs/promises';
import { build } from 'esbuild';

export interface ImportEdge {
  from: string;
  to: string;
}

async function tsFiles(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await tsFiles(root, rel)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/**
 * Every value import of every `.ts` file under `root/dir`, as paths relative to `root` for files
 * of the tree and bare names for packages (`knex`, `node:fs`).
 */
export async function importGraph(root: string, dir = 'src'): Promise<ImportEdge[]> {
  const entryPoints = (await tsFiles(root, dir)).map((f) => path.join(root, f));
  const result = await build({
    entryPoints,
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: path.join(root, '.import-graph'),
    logLevel: 'silent',
    loader: { '.eta': 'text', '.json': 'json' },
  });
  const edges: ImportEdge[] = [];
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (imported.kind !== 'import-statement' && imported.kind !== 'dynamic-import' && imported.kind !== 'require-call') continue;
      const to = imported.external ? imported.path.replace(/^((?:@[^/]+\/)?[^/]+).*$/, '$1') : imported.path;
      edges.push({ from: file, to });
    }
  }
  return edges;
}

/** A layer of src/ by its top folder (`src/services/x.ts` → `services`), or the file itself. */
export function layerOf(file: string): string {
  const m = /^src\/([^/]+)\//.exec(file);
  return m ? m[1]! : file.replace(/^src\//, '');
}

/** Which layers (or packages) a layer may import values from, beyond itself and node: built-ins. */
export interface LayerRules {
  /** layer → layers of src/ it may import from (others are refused). */
  mayImport: Record<string, readonly string[]>;
  /** package → the only layers that may import it as a value. */
  packageOwners: Record<string, readonly string[]>;
}

/** The layers: routes → services → queries | store → db → config; oidc → services. */
export const STYLE_RULES: LayerRules = {
  mayImport: {
    config: [],
    'logger.ts': ['config'],
    // Metrics and traces cut across the layers, like the logger: anything may report to them.
    telemetry: ['config', 'logger.ts'],
    db: ['config', 'logger.ts', 'telemetry'],
    store: ['config', 'logger.ts', 'telemetry'],
    queries: ['db', 'config'],
    services: ['queries', 'store', 'db', 'config', 'logger.ts', 'telemetry'],
    views: ['config'],
    oidc: ['services', 'queries', 'store', 'db', 'config', 'views', 'middleware', 'logger.ts', 'telemetry'],
    middleware: ['services', 'views', 'config', 'logger.ts', 'telemetry'],
    routes: ['services', 'oidc', 'middleware', 'views', 'config', 'logger.ts', 'telemetry'],
    cli: ['services', 'config', 'db', 'logger.ts', 'telemetry'],
  },
  packageOwners: {
    knex: ['db'],
    'knex-pglite': ['db'],
    '@electric-sql/pglite': ['db'],
    pg: ['db'],
    ioredis: ['store'],
    'oidc-provider': ['oidc'],
    koa: ['routes', 'middleware', 'oidc', 'server.ts'],
    '@koa/router': ['routes', 'middleware', 'server.ts'],
  },
};

/**
 * Imports that break the rules, as `from → to` lines. The composition roots (`main.ts`, `wiring.ts`,
 * `server.ts`, `context.ts`) wire every layer together and are checked only for packages.
 */
export function layerViolations(edges: ImportEdge[], rules: LayerRules = STYLE_RULES): string[] {
  const problems: string[] = [];
  for (const { from, to } of edges) {
    const fromLayer = layerOf(from);
    if (!to.startsWith('src/')) {
      if (to.startsWith('node:')) continue;
      const owners = rules.packageOwners[to];
      if (owners && !owners.includes(fromLayer)) problems.push(`${from} → ${to} (only ${owners.join(', ')} may import ${to})`);
      continue;
    }
    const allowed = rules.mayImport[fromLayer];
    if (!allowed) continue;
    const toLayer = layerOf(to);
    if (toLayer !== fromLayer && !allowed.includes(toLayer)) problems.push(`${from} → ${to} (${fromLayer} may import ${allowed.join(', ') || 'nothing of src/'})`);
  }
  return [...new Set(problems)].sort();
}

/**
 * Service files that still run SQL themselves, until it moves to `src/queries/`. A file leaves
 * this list when its SQL does; `servicesTouchingKnex` reports a listed file that no longer needs
 * to be here, so the list only shrinks.
 */
export const SERVICES_PENDING_QUERIES: readonly string[] = [];

/** Importing knex (even its types) or naming a `knex` handed in: what a service must not do. */
const KNEX_USE = /from\s+['"]knex['"]|\bknex\b/;

/**
 * Service files that touch knex themselves (import it, even as a type, or use a `knex` handed in
 * through their dependencies or the context) though not listed as pending, and listed files that
 * no longer do. Services reach the database through the queries bag (`src/queries/index.ts`).
 */
export async function servicesTouchingKnex(root: string, pending: readonly string[] = SERVICES_PENDING_QUERIES): Promise<string[]> {
  const problems: string[] = [];
  for (const file of (await tsFiles(root, 'src/services')).sort()) {
    const uses = KNEX_USE.test(stripComments(await readFile(path.join(root, file), 'utf8')));
    if (uses && !pending.includes(file)) problems.push(`${file} uses knex (services reach the database through src/queries/)`);
    if (!uses && pending.includes(file)) problems.push(`${file} no longer uses knex: take it off SERVICES_PENDING_QUERIES`);
  }
  return problems;
}

/**
 * Route and middleware files that touch knex (import it, even as a type, or use a `knex` handed in).
 * None may: a route reaches data through a service (or, for a plain read, the queries bag).
 */
export async function routesTouchingKnex(root: string, dirs: readonly string[] = ['src/routes', 'src/middleware']): Promise<string[]> {
  const problems: string[] = [];
  for (const dir of dirs) {
    for (const file of (await tsFiles(root, dir)).sort()) {
      if (KNEX_USE.test(stripComments(await readFile(path.join(root, file), 'utf8')))) problems.push(`${file} uses knex (routes reach data through services)`);
    }
  }
  return problems;
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}
