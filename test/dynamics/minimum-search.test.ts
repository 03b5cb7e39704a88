import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { MinimumSearchFailure, searchEnergyMinimum } from '../../src/dynamics/minimum.js';
import { AnalyticPotential, waterLikeSpec } from '../../src/potentials/analytic.js';
import { createResult } from '../../src/potentials/potential.js';

const { spec, minimumA } = waterLikeSpec();
const water = new AnalyticPotential(spec);

function energyKcal(x: Float64Array): number {
  const r = createResult(3);
  water.compute(Float64Array.from(x), r, false);
  return r.energyHa * KCAL_PER_MOL_PER_HARTREE;
}

/** The Morse/harmonic-angle water with one bond stretched by `dr` Å and H3 pushed by `dy` Å. */
function distorted(dr: number, dy: number): Float64Array {
  const x = Float64Array.from(minimumA);
  const r = Math.hypot(x[3]!, x[4]!);
  x[3] = (x[3]! * (r + dr)) / r;
  x[4] = (x[4]! * (r + dr)) / r;
  x[7] = x[7]! + dy;
  return x;
}

test('searchEnergyMinimum: the analytic minimum of a water-like Morse molecule started away from it', () => {
  const eMin = energyKcal(minimumA);
  const start = distorted(0.08, 0.1);
  assert.ok(energyKcal(start) - eMin > 1, 'the start is well above the minimum');
  const m = searchEnergyMinimum({ potential: water, symbols: spec.symbols, startPositionsA: start });
  assert.ok(Math.abs(m.epotKcalPerMol - eMin) < 1e-6, `${m.epotKcalPerMol} vs ${eMin}`);
  assert.equal(m.source, 'lowest L-BFGS minimum (fmax 0.05 kcal/mol/Å) from 1 geometries (start); 1 converged, 0 rejected as no longer the molecule');

  // Extra starts are searched too and named in the source text.
  const extra = [distorted(-0.05, 0.05), distorted(0.1, -0.08)];
  const withExtra = searchEnergyMinimum({ potential: water, symbols: spec.symbols, startPositionsA: start, extraStarts: extra, extraStartsLabel: 'train.xyz' });
  assert.ok(Math.abs(withExtra.epotKcalPerMol - eMin) < 1e-6, `${withExtra.epotKcalPerMol} vs ${eMin}`);
  assert.equal(withExtra.source, 'lowest L-BFGS minimum (fmax 0.05 kcal/mol/Å) from 3 geometries (start, 2 frames of train.xyz); 3 converged, 0 rejected as no longer the molecule');
});

test('searchEnergyMinimum: a reference geometry replaces the start; the short source text of runMd', () => {
  const eMin = energyKcal(minimumA);
  const reference = distorted(0.03, -0.04);
  // A start whose bond is broken (2.5 Å): never searched from when a reference is given.
  const start = distorted(1.5, 0);
  const m = searchEnergyMinimum({ potential: water, symbols: spec.symbols, startPositionsA: start, referencePositionsA: reference, sourceStyle: 'single' });
  assert.ok(Math.abs(m.epotKcalPerMol - eMin) < 1e-6, `${m.epotKcalPerMol} vs ${eMin}`);
  assert.equal(m.source, 'L-BFGS minimum (fmax 0.05 kcal/mol/Å) from the reference geometry');
  const full = searchEnergyMinimum({ potential: water, symbols: spec.symbols, startPositionsA: start, referencePositionsA: reference });
  assert.match(full.source, /from 1 geometries \(reference geometry\)/);
  // Bonds given as far shorter (0.3 Å) than the molecule's: every minimum counts as broken, a MinimumSearchFailure.
  assert.throws(
    () => searchEnergyMinimum({ potential: water, symbols: spec.symbols, startPositionsA: reference, bonds: [[0, 1]], bondLengthsA: [0.3] }),
    (e: unknown) => e instanceof MinimumSearchFailure && /bond O1-H2/.test(e.message),
  );
});
