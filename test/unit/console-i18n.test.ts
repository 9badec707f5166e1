// The console's languages: every string the console's code passes to t() is translated in every
// catalog with the same {placeholders}, no catalog holds a string nobody asks for, two area files
// never translate one string two ways, and no component shows text that does not go through t()
// (JSX text or a labelling attribute written as a literal).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../console/src/', import.meta.url));
const TRANSLATED = ['de', 'fr'] as const;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'locales' || name === 'api' ? [] : walk(full);
    return /\.tsx?$/.test(name) ? [full] : [];
  });
}

const sources = walk(SRC).map((file) => ({ file: path.relative(SRC, file), text: readFileSync(file, 'utf8') }));

/** The strings the code asks t() for: t('…') or t("…") with a literal. */
function askedStrings(): Map<string, string> {
  const asked = new Map<string, string>();
  for (const { file, text } of sources) {
    for (const match of text.matchAll(/\bt\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g)) {
      asked.set(match[1] !== undefined ? match[1].replace(/\\'/g, "'") : match[2]!.replace(/\\"/g, '"'), file);
    }
  }
  return asked;
}

function catalog(language: string): { merged: Map<string, string>; conflicts: string[] } {
  const dir = path.join(SRC, 'locales', language);
  const merged = new Map<string, string>();
  const conflicts: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const entries = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Record<string, string>;
    for (const [key, value] of Object.entries(entries)) {
      if (merged.has(key) && merged.get(key) !== value) conflicts.push(`${language}/${name}: "${key}"`);
      merged.set(key, value);
    }
  }
  return { merged, conflicts };
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('console message catalogs', () => {
  const asked = askedStrings();

  it('translate every string the console asks for, with its placeholders, and nothing else', () => {
    assert.ok(asked.size > 10, `found ${asked.size} strings`);
    for (const language of TRANSLATED) {
      const { merged, conflicts } = catalog(language);
      assert.deepEqual(conflicts, [], 'one string, one translation');
      for (const [key, file] of asked) {
        const text = merged.get(key);
        assert.ok(text !== undefined && text.trim() !== '', `${language}: "${key}" (asked in ${file}) is not translated`);
        assert.deepEqual(placeholders(text), placeholders(key), `${language}: "${key}" keeps its placeholders`);
      }
      const unused = [...merged.keys()].filter((key) => !asked.has(key));
      assert.deepEqual(unused, [], `${language}: catalog strings no code asks for`);
    }
  });

  it('show no text outside t(): no literal JSX text and no literal label, title or placeholder', () => {
    const found: string[] = [];
    for (const { file, text } of sources.filter((s) => s.file.endsWith('.tsx'))) {
      // Text between a closing '>' and the next '<' or '{' that holds a letter, outside of code:
      // JSX text. Type parameters and comparisons do not put letters straight after '>' on a line.
      for (const [n, line] of text.split('\n').entries()) {
        const trimmed = line.trim();
        if (trimmed.startsWith('//') || trimmed.startsWith('*') || trimmed.startsWith('/*')) continue;
        const jsxText =
          /^[^=<>{}()]*\p{L}[^=<>{}();]*$/u.test(trimmed) &&
          !/^[\w.]+[,;]?$/.test(trimmed) &&
          !/^[\w$]+:\s*[\w$.]+$/.test(trimmed) &&
          /^<|^\{|^\p{L}/u.test(trimmed) &&
          !/[;,[{(]$|^(return|const|let|if|else|import|export|case|type|interface|function)\b/.test(trimmed);
        const inline = />\s*([\p{L}][^<>{}]*?)\s*</u.exec(line);
        const attribute = /\b(label|title|aria-label|placeholder|confirmLabel|description|alt)="([^"]*\p{L}[^"]*)"/u.exec(line);
        if (jsxText && !trimmed.startsWith('<') && !trimmed.startsWith('{')) found.push(`${file}:${n + 1}: ${trimmed}`);
        else if (inline && !/=>|\bextends\b/.test(inline[0])) found.push(`${file}:${n + 1}: ${inline[1]}`);
        else if (attribute) found.push(`${file}:${n + 1}: ${attribute[1]}="${attribute[2]}"`);
      }
    }
    assert.deepEqual(found, []);
  });
});
