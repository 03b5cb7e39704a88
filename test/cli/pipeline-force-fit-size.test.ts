/**
 * A training set too large for the force fit is refused right after the relaxation, with the
 * largest --n-train that fits, not after the θ search (session 16: serine with --n-train 2000
 * failed after 26 minutes of training).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { checkForceFitSize, FORCE_FIT_MAX_ORDER } from '../../src/gp/fit/additive-forces.js';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-force-fit-size-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('checkForceFitSize: up to the limit of atoms × geometries passes, one more geometry is refused with the largest --n-train', () => {
  const n = Math.floor(FORCE_FIT_MAX_ORDER / 23);
  assert.doesNotThrow(() => checkForceFitSize(23, n));
  assert.throws(
    () => checkForceFitSize(23, n + 1),
    (e: unknown) => e instanceof AtomgpError && e.message.includes(`23 atoms × ${n + 1} geometries`) && e.message.includes(`--n-train ≤ ${n}`) && /--force-sigma-Ha-per-bohr 0/.test(e.message),
  );
});

test('pipeline: serine with --n-train 2000 and forces is refused after the relaxation, before sampling, in one line', () => {
  const out = join(root, 'ser');
  const args = ['pipeline', '--molecule', 'serine', '--reference', 'builtin', '--n-train', '2000', '--n-valid', '100', '--sample-steps', '100000', '--out', out];
  const r = runCli(args);
  assert.equal(r.code, 2, r.err);
  // the progress lines of the relaxation, then one error line
  const lines = r.err.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('atomgp pipeline: error:')).length, 1, r.err);
  assert.match(lines.at(-1)!, /^atomgp pipeline: error: --n-train 2000 with forces in the fit: 23 atoms × 2000 geometries = 46000 weights exceed the limit of 30000 .*take --n-train ≤ 1304/);
  assert.ok(!existsSync(join(out, 'sampling', 'frames.extxyz')), 'nothing sampled');
});
