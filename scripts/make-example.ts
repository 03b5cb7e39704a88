/**
 * Regenerates examples/water-morse/: a small GP model set for water (O1, H2, H3) trained on a
 * Morse + harmonic-angle stand-in whose energy is split exactly into atomic energies (each term
 * shared equally by its atoms), plus a two-frame XYZ to predict. Made by atomgp itself so the
 * README's commands need no external data. Hyperparameters are fixed (θ_d = 1/(2 s_d²) from the
 * spread s_d of each feature), the prior mean is the maximum training energy ("max"), and the
 * weights solve (K + σ²I) w = y − m. Run: npx tsx scripts/make-example.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOHR_PER_ANGSTROM } from '../src/chem/units.js';
import { computeFeatures } from '../src/features/alf.js';
import { parseComposition } from '../src/gp/model/composition.js';
import { kernelMatrix, CompiledKernel } from '../src/gp/kernel/kernel.js';
import { choleskySolve, choleskyWithJitter } from '../src/math/linalg.js';
import type { GpModel, KernelSpec } from '../src/gp/model/model.js';
import { writeModel } from '../src/io/model.js';
import { AnalyticPotential, waterLikeSpec } from '../src/potentials/analytic.js';
import { createResult } from '../src/potentials/potential.js';
import { Rng } from '../src/util/rng.js';

const OUT = join('examples', 'water-morse');
const N_TRAIN = 80;
const NOISE = 1e-10;
const alfs = [
  [0, 1, 2],
  [1, 0, 2],
  [2, 0, 1],
];
const labels = ['O1', 'H2', 'H3'];

const { spec, minimumA } = waterLikeSpec();
const pot = new AnalyticPotential(spec);
const rng = new Rng(20261121);
const res = createResult(3);
const X = alfs.map(() => new Float64Array(N_TRAIN * 3));
const Y = alfs.map(() => new Float64Array(N_TRAIN));
const geom = new Float64Array(9);
const bohr = new Float64Array(9);
for (let t = 0; t < N_TRAIN; t++) {
  for (let i = 0; i < 9; i++) geom[i] = minimumA[i]! + 0.06 * rng.normal();
  pot.compute(geom, res, false);
  for (let i = 0; i < 9; i++) bohr[i] = geom[i]! * BOHR_PER_ANGSTROM;
  const feats = computeFeatures(bohr, alfs);
  for (let a = 0; a < 3; a++) {
    X[a]!.set(feats[a]!, 3 * t);
    Y[a]![t] = res.atomicEnergiesHa[a]!;
  }
}

mkdirSync(OUT, { recursive: true });
for (let a = 0; a < 3; a++) {
  const x = X[a]!;
  const y = Y[a]!;
  const theta: number[] = [];
  for (let d = 0; d < 3; d++) {
    let m = 0;
    for (let t = 0; t < N_TRAIN; t++) m += x[3 * t + d]! / N_TRAIN;
    let v = 0;
    for (let t = 0; t < N_TRAIN; t++) v += (x[3 * t + d]! - m) ** 2 / N_TRAIN;
    theta.push(1 / (2 * v));
  }
  const kernels: KernelSpec[] = [{ name: 'k1', type: 'rbf', activeDims: [1, 2, 3], theta, extra: [] }];
  const composition = parseComposition('k1');
  let yMax = -Infinity;
  for (const v of y) yMax = Math.max(yMax, v);
  const K = kernelMatrix(new CompiledKernel(kernels, composition, 3, 4), x, N_TRAIN);
  for (let i = 0; i < N_TRAIN; i++) K[i * N_TRAIN + i] = K[i * N_TRAIN + i]! + NOISE;
  const L = new Float64Array(N_TRAIN * N_TRAIN);
  choleskyWithJitter(K, N_TRAIN, L, { what: `kernel matrix of ${labels[a]}` });
  const w = Float64Array.from(y, (v) => v - yMax);
  choleskySolve(L, N_TRAIN, w);
  const model: GpModel = {
    metadata: [
      'program atomgp scripts/make-example.ts',
      'reference Morse O-H + harmonic angle stand-in (src/potentials/analytic.ts waterLikeSpec), atomic energies by equal split',
      `noise ${NOISE}`,
      'prior_mean max',
    ],
    systemName: 'WATER',
    atom: labels[a]!,
    property: 'iqa',
    alf: alfs[a]!.map((k) => k + 1),
    nAtoms: 3,
    nFeatures: 3,
    nTrain: N_TRAIN,
    mean: { type: 'constant', value: yMax },
    kernels,
    compositionText: 'k1',
    composition,
    trainingDataInfo: [
      ['units.x', 'bohr bohr radians'],
      ['units.y', 'Ha'],
      ['scaling.x', 'none'],
      ['scaling.y', 'none'],
    ],
    trainX: x,
    trainY: y,
    weights: w,
    extraSections: [],
  };
  writeModel(join(OUT, `WATER_iqa_${labels[a]}.model`), model);
}

// Two frames: the minimum, and one O–H bond stretched to 1.2 Å.
const stretched = Float64Array.from(minimumA);
const s = 1.2 / 0.9572;
for (let c = 0; c < 3; c++) stretched[3 + c] = minimumA[3 + c]! * s;
const frame = (title: string, p: Float64Array) =>
  ['3', title, ...['O', 'H', 'H'].map((el, i) => `${el} ${p[3 * i]!.toFixed(8)} ${p[3 * i + 1]!.toFixed(8)} ${p[3 * i + 2]!.toFixed(8)}`)].join('\n');
writeFileSync(
  join(OUT, 'water.xyz'),
  `${frame('water at the stand-in minimum (Å)', minimumA)}\n${frame('water with O1-H2 stretched to 1.2 Å', stretched)}\n`,
);
console.log(`wrote ${OUT}`);
