/**
 * A tiny GP model set for the robustness tests: three atomic GPs (O1, H2, H3) trained on the
 * atomic energies of the analytic water-like potential at seeded random geometries around its
 * minimum. Far from those geometries the prior mean takes over, which is what the study probes.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BOHR_PER_ANGSTROM } from '../../../src/chem/units.js';
import { computeFeatures } from '../../../src/features/alf.js';
import { trainAtomModel } from '../../../src/gp/fit/train.js';
import { writeModel } from '../../../src/io/model.js';
import { AnalyticPotential, waterLikeSpec } from '../../../src/potentials/analytic.js';
import { createResult } from '../../../src/potentials/potential.js';
import { Rng } from '../../../src/util/rng.js';

export const WATER_ALFS = [
  [1, 2, 3],
  [2, 1, 3],
  [3, 1, 2],
];

/** Writes WATER_iqa_{O1,H2,H3}.model into `dir` (n points, RMS displacement rmsA, prior mean `prior`). */
export function writeTinyWaterModels(dir: string, n = 30, rmsA = 0.1, prior = 'mean', seed = 7): { minimumA: Float64Array } {
  const { spec, minimumA } = waterLikeSpec();
  const pot = new AnalyticPotential(spec);
  const res = createResult(3);
  const rng = new Rng(seed);
  const alfs = WATER_ALFS.map((a) => a.map((k) => k - 1));
  const x = [new Float64Array(3 * n), new Float64Array(3 * n), new Float64Array(3 * n)];
  const y = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  for (let i = 0; i < n; i++) {
    const pos = Float64Array.from(minimumA, (v) => v + (i === 0 ? 0 : rmsA * rng.normal()));
    pot.compute(pos, res, false);
    const feats = computeFeatures(pos.map((v) => v * BOHR_PER_ANGSTROM), alfs);
    for (let a = 0; a < 3; a++) {
      x[a]!.set(feats[a]!, 3 * i);
      y[a]![i] = res.atomicEnergiesHa[a]!;
    }
  }
  mkdirSync(dir, { recursive: true });
  ['O1', 'H2', 'H3'].forEach((atom, a) => {
    const r = trainAtomModel({ x: x[a]!, y: y[a]!, nFeatures: 3, kernel: 'rbf', prior, restarts: 1, seed: 1, systemName: 'WATER', atom, alf: WATER_ALFS[a]!, nAtoms: 3 });
    writeModel(join(dir, `WATER_iqa_${atom}.model`), r.model);
  });
  return { minimumA };
}
