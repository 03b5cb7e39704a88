/**
 * Exit statuses are the same for every command and documented (issue 17 item 7): every status the
 * CLI's source can return is a row of the tables in docs/cli.md and docs/reliability.md, and the
 * tables name what each means (exit 1 of `md` — the monitor stopped a run — was missing once).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { INTERRUPTED_STATUS } from '../../src/errors.js';

/** The first column of the markdown table under `heading`. */
function statusRows(file: string, heading: RegExp): { status: string; meaning: string }[] {
  const text = readFileSync(file, 'utf8');
  const at = text.search(heading);
  assert.ok(at >= 0, `${file}: no section ${heading}`);
  const rows: { status: string; meaning: string }[] = [];
  for (const line of text.slice(at).split('\n').slice(1)) {
    if (line.startsWith('| status') || line.startsWith('| ---')) continue;
    if (!line.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    const [, status, meaning] = line.split('|').map((c) => c.trim());
    rows.push({ status: status!, meaning: meaning! });
  }
  return rows;
}

test('every exit status in src/cli is documented in docs/cli.md and docs/reliability.md, with what it means', () => {
  const returned = new Set<number>(Object.values(INTERRUPTED_STATUS));
  for (const f of readdirSync('src/cli').filter((x) => x.endsWith('.ts'))) {
    const src = readFileSync(join('src/cli', f), 'utf8');
    // `return 2;`, `return x ? 0 : 1;`, `process.exit(2)`
    for (const m of src.matchAll(/return ([^;\n]*);/g)) {
      const expr = m[1]!;
      if (/^\d+$/.test(expr)) returned.add(Number(expr));
      const ternary = /\? (\d+) : (\d+)$/.exec(expr);
      if (ternary) for (const v of ternary.slice(1)) returned.add(Number(v));
    }
    for (const m of src.matchAll(/process\.exit\((\d+)\)/g)) returned.add(Number(m[1]));
  }
  assert.deepEqual([...returned].sort((a, b) => a - b), [0, 1, 2, 130, 143]);
  for (const file of ['docs/cli.md', 'docs/reliability.md']) {
    const rows = statusRows(file, /^## Exit status/m);
    const documented = rows.flatMap((r) => r.status.split('/').map((s) => Number(s.trim())));
    assert.deepEqual(documented.sort((a, b) => a - b), [0, 1, 2, 130, 143], file);
    const one = rows.find((r) => r.status === '1')!.meaning;
    for (const cmd of ['md', 'opt', 'inspect']) assert.match(one, new RegExp(`\`${cmd}\``), `${file}: exit 1 of ${cmd}`);
    assert.match(one, /monitor stopped/, `${file}: md's exit 1`);
    assert.match(rows.find((r) => r.status === '2')!.meaning, /bad input/);
    const sig = rows.find((r) => r.status.startsWith('130'))!.meaning;
    for (const cmd of ['md', 'pipeline', 'demo', 'study', 'robustness', 'train']) assert.match(sig, new RegExp(`\`${cmd}\``), `${file}: signals of ${cmd}`);
  }
});
