import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { massesAmu } from '../../src/chem/molecule.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../src/dynamics/integrators.js';
import { runMd } from '../../src/dynamics/run.js';
import { AnalyticPotential, waterLikeSpec } from '../../src/potentials/analytic.js';

/**
 * fixtures/checkpoint-v1-nvt: written by atomgp before the strict monitor and the equilibration
 * (main at 2ce0d39): the analytic water, NVT (massive chains, defaults) at 400 K, seed 17,
 * dt 0.5 fs, log every 3 steps, trajectory every 7, checkpoints every 50; stopped at step 230.
 * whole-*: the same run uninterrupted to step 400 by that version. Resumed now, the files must
 * equal the old uninterrupted run's bit for bit.
 */
const fixture = fileURLToPath(new URL('./fixtures/checkpoint-v1-nvt/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'atomgp-checkpoint-v1-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a checkpoint written before the strict monitor resumes bit for bit', () => {
  for (const f of ['checkpoint.json', 'log.csv', 'trajectory.extxyz']) copyFileSync(join(fixture, f), join(root, f));
  const { spec, minimumA } = waterLikeSpec();
  const s = runMd({
    potential: new AnalyticPotential(spec),
    potentialSpec: { kind: 'analytic', spec },
    symbols: spec.symbols,
    massesAmu: massesAmu(spec.symbols),
    startPositionsA: minimumA,
    settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: 0.5, temperatureK: 400 },
    steps: 400,
    seed: 17,
    outDir: root,
    mode: 'resume',
    trajStride: 7,
    logEvery: 3,
    checkpointEvery: 50,
  });
  assert.equal(s.resumedFromStep, 230);
  assert.equal(s.survived, true, JSON.stringify(s.failure));
  assert.equal(readFileSync(join(root, 'log.csv'), 'utf8'), readFileSync(join(fixture, 'whole-log.csv'), 'utf8'));
  assert.equal(readFileSync(join(root, 'trajectory.extxyz'), 'utf8'), readFileSync(join(fixture, 'whole-trajectory.extxyz'), 'utf8'));
});
