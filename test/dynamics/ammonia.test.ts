import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../src/dynamics/integrators.js';
import { runMd } from '../../src/dynamics/run.js';
import { lbfgs } from '../../src/optimize/lbfgs.js';
import { createPotential } from '../../src/potentials/factory.js';
import { sharedData } from '../helpers/data.js';

const models = sharedData('ammonia/models');
const root = mkdtempSync(join(tmpdir(), 'atomgp-md-nh3-'));
after(() => rmSync(root, { recursive: true, force: true }));
const symbols = ['N', 'H', 'H', 'H'];
const guess = Float64Array.from([0, 0, 0, 0, 0.94, 0.38, 0.814, -0.47, 0.38, -0.814, -0.47, 0.38]);

test('ammonia GP models: L-BFGS reaches forces below 0.01 kcal/mol/Å, then NVE at 0.25 fs conserves energy', { skip: !models }, async () => {
  const spec = { kind: 'gp-models' as const, dir: models! };
  const potential = await createPotential(spec);
  const opt = lbfgs(potential, guess, { fmaxKcalPerMolPerA: 0.01, energyTolKcalPerMol: 1e-6 });
  assert.ok(opt.converged, opt.message);
  assert.ok(opt.fmaxKcalPerMolPerA < 0.01);
  assert.ok(opt.steps < 50, `${opt.steps} steps`);
  const s = runMd({
    potential,
    potentialSpec: spec,
    symbols,
    massesAmu: massesAmu(symbols),
    startPositionsA: opt.positionsA,
    settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nve', timestepFs: 0.25, temperatureK: 300 },
    steps: 2000,
    seed: 1,
    outDir: join(root, 'nve'),
    mode: 'new',
    trajStride: 100,
  });
  assert.ok(s.survived);
  assert.equal(s.nDof, 6);
  // done-when criterion of issue 4 is 0.02 kcal/mol over 2 ps; here 0.5 ps
  assert.ok(s.maxAbsConservedDriftKcalPerMol < 0.02, `max |ΔH| ${s.maxAbsConservedDriftKcalPerMol} kcal/mol`);
});

test('ammonia GP models: 20 ps of NVT at 300 K (massive Nosé–Hoover chains) average 300 ± 30 K for every seed tried', { skip: !models }, async () => {
  const spec = { kind: 'gp-models' as const, dir: models! };
  const potential = await createPotential(spec);
  const start = lbfgs(potential, guess, { fmaxKcalPerMolPerA: 0.01 }).positionsA;
  for (const seed of [1, 2]) {
    const s = runMd({
      potential,
      symbols,
      massesAmu: massesAmu(symbols),
      startPositionsA: start,
      settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: 0.5, temperatureK: 300 },
      steps: 40_000,
      seed,
      outDir: join(root, `nvt-${seed}`),
      mode: 'new',
      logEvery: 100,
      trajStride: 10_000,
      checkpoints: false,
    });
    assert.ok(s.survived);
    assert.equal(s.nDof, 12);
    // measured over seeds 1-8: 296-305 K (one global chain: 261-324 K)
    assert.ok(Math.abs(s.meanTemperatureK - 300) < 30, `seed ${seed}: mean T ${s.meanTemperatureK} K`);
  }
});
