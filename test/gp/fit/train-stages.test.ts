import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainAtomModel } from '../../../src/gp/fit/train.js';
import { Rng } from '../../../src/util/rng.js';

test('large sets: restarts on a subset, refinement on nested ×2 subsets then on all points, close to the full-set fit', () => {
  const rng = new Rng(4);
  const n = 360;
  const x = Float64Array.from({ length: 3 * n }, () => rng.uniformIn(0, 3));
  const y = Float64Array.from({ length: n }, (_, i) => Math.sin(1.3 * x[3 * i]!) + 0.5 * Math.cos(2.1 * x[3 * i + 1]!) + 0.05 * x[3 * i + 2]!);
  const base = { x, y, nFeatures: 3, kernel: 'rbf' as const, prior: 'mean', restarts: 2, seed: 3, noise: 1e-8 };
  const staged = trainAtomModel({ ...base, subsample: 90 });
  const again = trainAtomModel({ ...base, subsample: 90 });
  const direct = trainAtomModel({ ...base, subsample: 0 });
  const line = staged.model.metadata.find((m) => m.startsWith('optimiser'))!;
  assert.match(line, /search=staged staged_starts=2 subsample=90 stages=90,180,360 extrapolated_start=(yes|no) (switch_off=\S+ )?seed=3 evaluations=\d+ full_equivalent=/);
  assert.match(direct.model.metadata.find((m) => m.startsWith('optimiser'))!, /search=full starts=2 /);
  assert.deepEqual(Array.from(again.model.weights), Array.from(staged.model.weights), 'deterministic');
  // The staged fit ends on the full set: its likelihood is the full-set value and close to the direct fit's.
  assert.ok(Math.abs(staged.logLikelihood - direct.logLikelihood) < 1e-3 * Math.abs(direct.logLikelihood), `staged ${staged.logLikelihood} vs direct ${direct.logLikelihood}`);
  for (let d = 0; d < 3; d++) assert.ok(Math.abs(Math.log(staged.theta[d]! / direct.theta[d]!)) < 0.1, `θ_${d + 1}: ${staged.theta[d]} vs ${direct.theta[d]}`);
});

test('search both: one full-set start and the staged search, and the higher full-set likelihood is kept', () => {
  const rng = new Rng(4);
  const n = 360;
  const x = Float64Array.from({ length: 3 * n }, () => rng.uniformIn(0, 3));
  const y = Float64Array.from({ length: n }, (_, i) => Math.sin(1.3 * x[3 * i]!) + 0.5 * Math.cos(2.1 * x[3 * i + 1]!) + 0.05 * x[3 * i + 2]!);
  const base = { x, y, nFeatures: 3, kernel: 'rbf' as const, prior: 'mean', seed: 3, noise: 1e-8, subsample: 90, polishIterations: 0 };
  const both = trainAtomModel({ ...base, search: 'both' });
  const line = both.model.metadata.find((m) => m.startsWith('optimiser'))!;
  const m = /candidates=full:(\S+),staged:(\S+) chosen=(full|staged)/.exec(line);
  assert.ok(m, line);
  const [full, staged] = [Number(m[1]), Number(m[2])];
  const [kept, other] = m[3] === 'full' ? [full, staged] : [staged, full];
  assert.ok(kept >= other, line);
  assert.ok(Math.abs(both.logLikelihood - Math.max(full, staged)) < 2e-3, `${both.logLikelihood} vs ${line}`);
  // Each candidate is what that search alone finds.
  const fullAlone = trainAtomModel({ ...base, search: 'full', restarts: 1 });
  assert.ok(Math.abs(fullAlone.logLikelihood - full) < 2e-3, `full alone ${fullAlone.logLikelihood} vs ${full}`);
  assert.throws(() => trainAtomModel({ ...base, search: 'staged', subsample: 400 }), /search staged needs more points \(360\) than the subset size \(400\)/);
  assert.throws(() => trainAtomModel({ ...base, search: 'subset' as 'full' }), /unknown search 'subset'/);
});
