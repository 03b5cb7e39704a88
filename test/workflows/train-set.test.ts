import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { DEFAULT_PRIOR } from '../../src/gp/fit/priors.js';
import type { TrainInput } from '../../src/gp/fit/train.js';
import { planTraining, type TrainPlanRequest } from '../../src/workflows/train-set.js';
import { sharedData } from '../helpers/data.js';

const water = sharedData('ferebus-benchmark/water');

/** The iqa column and feature rows of an ichor CSV, parsed independently of io/csv. */
function readIqa(file: string): { x: number[]; y: number[]; n: number } {
  const [head, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  const iy = cols.indexOf('iqa');
  const features = cols.map((c, i) => (/^f\d+$/.test(c) ? i : -1)).filter((i) => i >= 0);
  const x: number[] = [];
  const y: number[] = [];
  for (const r of rows) {
    const v = r.split(',').map(Number);
    for (const i of features) x.push(v[i]!);
    y.push(v[iy]!);
  }
  return { x, y, n: rows.length };
}

const noOut: Omit<TrainPlanRequest, 'source'> = { optimiseNoise: false, seed: 1, optimiser: 'lbfgsb', optimiserExplicit: false, pso: {} };
const base: Omit<TrainPlanRequest, 'source'> = { ...noOut, out: '/tmp/out' };

function trainInput(plan: ReturnType<typeof planTraining>, i = 0): TrainInput {
  const t = plan.jobs[i]!.task;
  assert.equal(t.kind, 'train');
  return (t as { input: TrainInput }).input;
}

test('planTraining: the water FEREBUS config becomes one O1 task with the CSV data, the validation set and the config settings', { skip: !water }, () => {
  const notes: string[] = [];
  const plan = planTraining({ ...base, source: { kind: 'config', path: join(water!, 'marginal', 'ferebus.toml') } }, (l) => notes.push(l));
  assert.deepEqual(notes, ['config asks for optimiser = "pso"; using lbfgsb (analytic gradients); --optimiser pso follows the config']);
  assert.equal(plan.outDir, '/tmp/out');
  assert.equal(plan.jobs.length, 1);
  const job = plan.jobs[0]!;
  assert.equal(job.label, 'O1');
  assert.equal(job.property, 'iqa');
  assert.equal(job.outPath, join('/tmp/out', 'WATER_iqa_O1.model'));
  assert.equal(job.valid, join(water!, 'WATER_O1_VALIDATION_SET.csv'));
  const csv = readIqa(join(water!, 'WATER_O1_TRAINING_SET.csv'));
  assert.match(job.header, new RegExp(`^WATER O1 iqa: ${csv.n} points × 3 features, prior mean \\S+, marginal likelihood, optimiser lbfgsb$`));
  const input = trainInput(plan);
  assert.equal(input.nFeatures, 3);
  assert.deepEqual(Array.from(input.y), csv.y);
  assert.deepEqual(Array.from(input.x), csv.x);
  // The config's kernel k1 over every feature (FEREBUS's default active dimensions).
  assert.equal(typeof input.kernel, 'object');
  const kernel = input.kernel as { kernels: Array<{ name: string; type: string; activeDims: number[] }> };
  assert.deepEqual(kernel.kernels.map((k) => [k.name, k.type, k.activeDims]), [['k1', 'rbf', [1, 2, 3]]]);
  assert.equal(input.likelihood, 'marginal');
  assert.equal(input.glsConstantMean, false);
  assert.equal(input.systemName, 'WATER');
  assert.deepEqual(input.alf, [1, 2, 3]);
  assert.equal(input.nAtoms, 3);
  assert.equal(input.optimiser, 'lbfgsb');
  assert.equal(input.pso, undefined);
  assert.deepEqual(input.notes, ['method = B3LYP', 'basis-set = 6-31+g(d,p)']);
});

test('planTraining: an explicit PSO follows [optimiser.pso] and its search box; a flag overrides the config', { skip: !water }, () => {
  const notes: string[] = [];
  const plan = planTraining({ ...base, optimiser: 'pso', optimiserExplicit: true, pso: { swarmSize: 20 }, source: { kind: 'config', path: join(water!, 'marginal', 'ferebus.toml') } }, (l) => notes.push(l));
  assert.deepEqual(notes, []);
  const input = trainInput(plan);
  assert.deepEqual(input.pso, { swarmSize: 20, iterations: 1000, inertia: 0.729, cognitive: 1.494, social: 1.494, tolerance: 1e-8, stallIterations: 50 });
  assert.deepEqual(input.thetaBounds, [1e-6, 3]);
  assert.equal(input.noiseBounds, undefined);
  assert.equal(
    input.notes!.at(-1),
    'pso_settings swarm_size=20 iterations=1000 inertia_weight=0.729 cognitive_learning_rate=1.494 social_learning_rate=1.494 ' +
      'stopping_criteria=relative_change tolerance=1e-8 stall_iterations=50 theta_bounds=1e-6,3 source=config+flags',
  );
  assert.match(plan.jobs[0]!.header, /optimiser pso \(swarm 20, ≤ 1000 iterations, w 0\.729, c1 1\.494, c2 1\.494, stop at relative change ≤ 1e-8 for 50 iterations, θ in \[1e-6, 3\], from config and flags\)$/);
});

test('planTraining: a CSV with the defaults; a refit without an output folder is refused', { skip: !water }, () => {
  const file = join(water!, 'WATER_O1_TRAINING_SET.csv');
  const plan = planTraining({ ...noOut, source: { kind: 'csv', path: file, atom: 'O1', alf: [], nAtoms: 0 } });
  assert.equal(plan.outDir, '.');
  assert.equal(plan.jobs[0]!.outPath, join('.', 'WATER_iqa_O1.model'));
  assert.equal(plan.jobs[0]!.valid, undefined);
  const input = trainInput(plan);
  assert.equal(input.kernel, 'rbf-cyclic');
  assert.equal(input.prior, DEFAULT_PRIOR);
  assert.equal(input.noise, 1e-10);
  assert.deepEqual(Array.from(input.y), readIqa(file).y);
  assert.throws(
    () => planTraining({ ...noOut, source: { kind: 'from-model', path: join(water!, 'marginal', 'WATER_iqa_O1.model'), keepHyperparameters: false } }),
    (e: unknown) => e instanceof AtomgpError && /--out DIR is required/.test(e.message),
  );
});
