// A source tree the bench runs Gatehouse from: the working tree, or (for --compare) a checkout
// of another git ref in a temporary git worktree with its own node_modules. Each tree is started
// the way its own package.json says (`npm start`), so a ref from before the compiled build runs
// through tsx and one after it runs dist/.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Leading `NAME=value` words of a start script: environment the command sets for node. */
const ASSIGNMENT = /^[A-Z_][A-Z0-9_]*=[A-Za-z0-9_.:,/-]*$/;

/**
 * The node arguments of a tree's `npm start`: "node dist/src/bin.js start" → ["dist/src/bin.js",
 * "start"]. Only a plain `node …` command is accepted (no shell syntax), optionally after
 * `NAME=value` environment assignments (see startEnvironment), so the bench can start the process
 * itself and measure that process, not an npm wrapper.
 */
export function startArguments(startScript: string | undefined): string[] {
  if (!startScript) throw new Error('package.json has no "start" script');
  const words = startScript.trim().split(/\s+/);
  while (words.length && ASSIGNMENT.test(words[0]!)) words.shift();
  if (words[0] !== 'node' || words.length < 2) throw new Error(`the start script must be "node FILE [ARGS]", got "${startScript}"`);
  if (words.some((w) => /[;&|<>$`'"\\]/.test(w))) throw new Error(`the start script must be a plain node command, got "${startScript}"`);
  return words.slice(1);
}

/** The environment a tree's `npm start` sets before node: "A=1 node x.js" → { A: "1" }. */
export function startEnvironment(startScript: string | undefined): Record<string, string> {
  startArguments(startScript);
  const env: Record<string, string> = {};
  for (const word of startScript!.trim().split(/\s+/)) {
    if (!ASSIGNMENT.test(word)) break;
    const at = word.indexOf('=');
    env[word.slice(0, at)] = word.slice(at + 1);
  }
  return env;
}

export interface Tree {
  /** "working tree" or the ref's name. */
  label: string;
  root: string;
  /** node arguments that start the server (from the tree's npm start). */
  startArgs: string[];
  /** Environment the tree's npm start sets for node (NAME=value before `node`). */
  startEnv: Record<string, string>;
  /** Short commit, with "+" when the tree has changes not committed. */
  commit: string;
}

async function scripts(root: string): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return pkg.scripts ?? {};
}

/** Reads a tree's start command and, if it starts a build (dist/), builds it first. */
export async function prepareTree(label: string, root: string, log: (message: string) => void): Promise<Tree> {
  const s = await scripts(root);
  const startArgs = startArguments(s.start);
  if (startArgs.some((a) => a.startsWith('dist/'))) {
    const script = s['build:server'] ? 'build:server' : 'build';
    log(`${label}: npm run ${script}`);
    await run('npm', ['run', '--silent', script], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  }
  const commit = (await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: root })).stdout.trim();
  const dirty = (await run('git', ['status', '--porcelain', '--', 'src', 'migrations', 'views', 'bin', 'package.json'], { cwd: root })).stdout.trim().length > 0;
  return { label, root, startArgs, startEnv: startEnvironment(s.start), commit: `${commit}${dirty ? '+' : ''}` };
}

/**
 * A detached git worktree of `ref` under `parent`, with its dependencies: the working tree's
 * node_modules hard-linked when `ref` has the same package-lock.json, otherwise installed (`npm ci`,
 * which also builds it when its package.json has a prepare script). Remove it with removeCheckout.
 */
export async function checkoutRef(repoRoot: string, ref: string, parent: string, log: (message: string) => void): Promise<string> {
  const commit = (await run('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: repoRoot }).catch(() => ({ stdout: '' }))).stdout.trim();
  if (!commit) throw new Error(`--compare: "${ref}" is not a commit in this repository`);
  const dir = path.join(parent, `ref-${commit.slice(0, 10)}`);
  log(`checking out ${ref} (${commit.slice(0, 10)}) in ${dir}`);
  await run('git', ['worktree', 'add', '--detach', dir, commit], { cwd: repoRoot });
  if (await sameLockfile(repoRoot, commit)) {
    // The same dependencies as the working tree: its node_modules, hard-linked (seconds, no
    // network, no space), instead of an install and the full build npm ci's prepare runs (the
    // server is built by prepareTree; the console is not needed to measure the server).
    log(`${ref}: the same package-lock.json as the working tree: its node_modules hard-linked`);
    await run('cp', ['-al', path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules')]);
  } else {
    log(`${ref}: npm ci (its own node_modules)`);
    await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  }
  if (!existsSync(path.join(dir, 'node_modules'))) throw new Error(`npm ci in ${dir} left no node_modules`);
  return dir;
}

/** Whether `commit` locks the same dependencies as the working tree, whose node_modules exists. */
async function sameLockfile(repoRoot: string, commit: string): Promise<boolean> {
  if (!existsSync(path.join(repoRoot, 'node_modules'))) return false;
  const theirs = await run('git', ['show', `${commit}:package-lock.json`], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 }).catch(() => undefined);
  if (!theirs) return false;
  const ours = await readFile(path.join(repoRoot, 'package-lock.json'), 'utf8').catch(() => undefined);
  return ours === theirs.stdout;
}

export async function removeCheckout(repoRoot: string, dir: string): Promise<void> {
  await run('git', ['worktree', 'remove', '--force', dir], { cwd: repoRoot });
}
