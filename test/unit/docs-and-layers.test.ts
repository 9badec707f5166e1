// The documents a reader moves between link to each other correctly: every relative link in
// README.md, ARCHITECTURE.md, CHANGELOG.md, BENCH.md and docs/ names a file that exists and, with
// a #fragment, a heading in it. (The admin API reference is checked against the route table in
// api-reference.test.ts; the layering in layers.test.ts.)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

function outsideCode(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

async function documents(): Promise<string[]> {
  const docs = (await readdir(path.join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return ['README.md', 'ARCHITECTURE.md', 'CHANGELOG.md', 'BENCH.md', ...docs].filter((f) => existsSync(path.join(ROOT, f)));
}

describe('documentation', () => {
  it('the README is short and keeps its two commands', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.split('\n').length < 200, `README.md has ${readme.split('\n').length} lines: detail belongs in docs/`);
    assert.match(readme, /^npm ci && npm start\b/m);
    assert.match(readme, /^npm test\b/m);
  });

  it('every relative link resolves to a file and, with a fragment, to one of its headings', async () => {
    const problems: string[] = [];
    const anchors = new Map<string, Set<string>>();
    const anchorsOf = async (file: string) => {
      if (!anchors.has(file)) {
        const text = await readFile(path.join(ROOT, file), 'utf8');
        const headings = [...text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!));
        anchors.set(file, new Set(headings));
      }
      return anchors.get(file)!;
    };
    for (const file of await documents()) {
      const text = outsideCode(await readFile(path.join(ROOT, file), 'utf8'));
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue;
        const [rel, fragment] = target!.split('#') as [string, string | undefined];
        const resolved = rel ? path.posix.normalize(path.posix.join(path.posix.dirname(file), rel)) : file;
        if (!existsSync(path.join(ROOT, resolved))) {
          problems.push(`${file}: ${target} (no such file)`);
          continue;
        }
        if (fragment && resolved.endsWith('.md') && !(await anchorsOf(resolved)).has(fragment)) problems.push(`${file}: ${target} (no such heading)`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
