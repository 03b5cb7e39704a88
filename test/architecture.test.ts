/**
 * The layout's invariants (docs/architecture.md): no folder of src/ imports, directly or through
 * others, a folder that imports it back; maths, models and features never read files.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { test } from 'node:test';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Top-level folder of src/ a file belongs to ('.' for src/*.ts). */
function folderOf(file: string): string {
  const parts = relative('src', file).split(sep);
  return parts.length > 1 ? parts[0]! : '.';
}

/** Folder → folders it imports (relative imports only), with one example file per edge. */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sources('src')) {
    if (file === join('src', 'index.ts')) continue; // the library entry re-exports every folder
    const from = folderOf(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const to = folderOf(normalize(join(dirname(file), m[1]!)));
      if (to === from) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, file);
    }
  }
  return graph;
}

test('no import cycles between the folders of src/', () => {
  const graph = folderGraph();
  const reaches = (a: string, b: string, seen = new Set<string>()): boolean => {
    for (const n of graph.get(a)?.keys() ?? []) {
      if (n === b) return true;
      if (!seen.has(n)) {
        seen.add(n);
        if (reaches(n, b, seen)) return true;
      }
    }
    return false;
  };
  const cycles: string[] = [];
  for (const [a, edges] of graph) for (const [b, file] of edges) if (reaches(b, a)) cycles.push(`${a} → ${b} (${file})`);
  assert.deepEqual(cycles, [], `folder cycles:\n${cycles.join('\n')}`);
});

test('math/, gp/ and features/ never touch files or processes', () => {
  const offenders = sources('src')
    .filter((f) => ['math', 'gp', 'features'].includes(folderOf(f)))
    .filter((f) => /from 'node:(fs|child_process)'/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(offenders, []);
});
