/**
 * Synthetic but valid GP model sets for tests and benchmarks: a random molecule, training inputs
 * that are real ALF features of randomly displaced copies of it, random positive hyperparameters
 * and random weights. Not physical; shaped exactly like real models (e.g. aspirin-size:
 * 21 atoms × 1000 points × 57 features).
 */
import { BOHR_PER_ANGSTROM } from '../../chem/units.js';
import { AtomgpError } from '../../errors.js';
import { AlfFeaturizer, featureCount } from '../../features/alf.js';
import { parseComposition } from './composition.js';
import type { GpModel, KernelSpec, MeanSpec } from './model.js';

/** mulberry32: tiny seeded generator, enough for synthetic data. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type SyntheticKernel = 'rbf' | 'rbf-cyclic' | 'rbf*periodic' | 'rbf+periodic' | 'rbf-cyclic*periodic';
export type SyntheticMean = 'zero' | 'constant' | 'linear' | 'quadratic';

export interface SyntheticOptions {
  nAtoms: number;
  nTrain: number;
  seed?: number;
  kernel?: SyntheticKernel;
  mean?: SyntheticMean;
  /** Max random displacement of training geometries, Å. */
  displacementA?: number;
  /** θ drawn log-uniformly in [thetaMin, thetaMax]. */
  thetaMin?: number;
  thetaMax?: number;
  /**
   * A given molecule instead of the random one (e.g. a preset): symbols, reference geometry (Å)
   * and ALFs (0-based); `nAtoms` must match. Training inputs are then its displaced copies.
   */
  geometry?: { symbols: readonly string[]; positionsA: Float64Array; alfs: readonly (readonly number[])[] };
}

export interface SyntheticMolecule {
  symbols: string[];
  /** Reference geometry, Å. */
  positionsA: Float64Array;
  models: GpModel[];
  /** ALFs, 0-based. */
  alfs: number[][];
}

const ELEMENTS = ['C', 'N', 'O', 'H', 'H'];

/** Random geometry with all pairs ≥ 1.1 Å apart, in a box growing with N. */
function randomGeometry(n: number, rnd: () => number): Float64Array {
  const p = new Float64Array(3 * n);
  const box = 1.6 * Math.cbrt(n) + 1;
  for (let i = 0; i < n; i++) {
    for (let tries = 0; ; tries++) {
      for (let c = 0; c < 3; c++) p[3 * i + c] = box * rnd();
      let ok = true;
      for (let j = 0; j < i && ok; j++) {
        const d = Math.hypot(p[3 * i]! - p[3 * j]!, p[3 * i + 1]! - p[3 * j + 1]!, p[3 * i + 2]! - p[3 * j + 2]!);
        if (d < 1.1) ok = false;
      }
      if (ok || tries > 10000) break;
    }
  }
  return p;
}

function kernelSpecs(kind: SyntheticKernel, K: number, rnd: () => number, tMin: number, tMax: number): { kernels: KernelSpec[]; text: string } {
  const theta = () => tMin * (tMax / tMin) ** rnd();
  const all = Array.from({ length: K }, (_, i) => i + 1);
  const phis = all.filter((d) => d >= 6 && d % 3 === 0);
  const rest = all.filter((d) => !(d >= 6 && d % 3 === 0));
  const mk = (name: string, type: KernelSpec['type'], dims: number[]): KernelSpec => ({
    name,
    type,
    activeDims: dims,
    theta: dims.map(() => theta()),
    extra: [],
  });
  switch (kind) {
    case 'rbf':
      return { kernels: [mk('k1', 'rbf', all)], text: 'k1' };
    case 'rbf-cyclic':
      return { kernels: [mk('k1', 'rbf-cyclic', all)], text: 'k1' };
    case 'rbf*periodic':
    case 'rbf+periodic': {
      if (phis.length === 0) return { kernels: [mk('k1', 'rbf', all)], text: 'k1' };
      const op = kind === 'rbf*periodic' ? '*' : '+';
      return { kernels: [mk('k1', 'rbf', rest), mk('k2', 'periodic', phis)], text: `(k1${op}k2)` };
    }
    case 'rbf-cyclic*periodic':
      // Overlapping dims on purpose: exercises merged terms.
      return { kernels: [mk('k1', 'rbf-cyclic', all), mk('k2', 'periodic', phis.length ? phis : [1])], text: 'k1*k2' };
  }
}

/** Build a synthetic molecule and one model per atom (ALF: atom, next atom, atom after). */
export function syntheticMolecule(opts: SyntheticOptions): SyntheticMolecule {
  const n = opts.nAtoms;
  const nTrain = opts.nTrain;
  const rnd = seededUniform(opts.seed ?? 1);
  const K = featureCount(n);
  const given = opts.geometry;
  if (given && (given.symbols.length !== n || given.positionsA.length !== 3 * n || given.alfs.length !== n)) {
    throw new AtomgpError(`synthetic molecule: nAtoms ${n}, but the given geometry has ${given.symbols.length} symbols, ${given.positionsA.length / 3} positions, ${given.alfs.length} ALFs`);
  }
  const symbols = given ? [...given.symbols] : Array.from({ length: n }, (_, i) => ELEMENTS[i % ELEMENTS.length]!);
  const ref = given ? Float64Array.from(given.positionsA) : randomGeometry(n, rnd);
  const disp = opts.displacementA ?? 0.15;
  const alfs = given
    ? given.alfs.map((alf) => [...alf])
    : Array.from({ length: n }, (_, i) => (n === 2 ? [i, 1 - i] : [i, (i + 1) % n, (i + 2) % n]));
  const idx = Array.from({ length: n }, (_, i) => i);
  const fzs = alfs.map((alf) => new AlfFeaturizer(idx, alf));
  const X = alfs.map(() => new Float64Array(nTrain * K));
  const pos = new Float64Array(3 * n);
  const f = new Float64Array(K);
  for (let t = 0; t < nTrain; t++) {
    for (let i = 0; i < 3 * n; i++) pos[i] = (ref[i]! + disp * (2 * rnd() - 1)) * BOHR_PER_ANGSTROM;
    for (let a = 0; a < n; a++) {
      fzs[a]!.compute(pos, f);
      X[a]!.set(f, t * K);
    }
  }
  const models: GpModel[] = alfs.map((alf, a) => {
    const { kernels, text } = kernelSpecs(opts.kernel ?? 'rbf-cyclic', K, rnd, opts.thetaMin ?? 0.05, opts.thetaMax ?? 0.5);
    const yMin = -40 - 10 * rnd();
    let mean: MeanSpec;
    switch (opts.mean ?? 'constant') {
      case 'zero':
        mean = { type: 'zero' };
        break;
      case 'constant':
        mean = { type: 'constant', value: yMin };
        break;
      case 'linear':
      case 'quadratic':
        mean = {
          type: opts.mean as 'linear' | 'quadratic',
          beta: Float64Array.from({ length: K }, () => 0.2 * (rnd() - 0.5)),
          xMin: X[a]!.slice(0, K),
          yMin,
        };
        break;
    }
    const weights = Float64Array.from({ length: nTrain }, () => 0.02 * (rnd() - 0.5));
    const trainY = Float64Array.from({ length: nTrain }, () => yMin + 0.01 * rnd());
    const label = `${symbols[a]}${a + 1}`;
    return {
      metadata: ['program atomgp-synthetic'],
      systemName: 'SYNTHETIC',
      atom: label,
      property: 'iqa',
      alf: alf.map((k) => k + 1),
      nAtoms: n,
      nFeatures: K,
      nTrain,
      mean,
      kernels,
      compositionText: text,
      composition: parseComposition(text),
      trainingDataInfo: [],
      trainX: X[a]!,
      trainY,
      weights,
      extraSections: [],
      source: `synthetic ${label}`,
    } satisfies GpModel;
  });
  return { symbols, positionsA: ref, models, alfs };
}
