/**
 * Training one atomic GP: fix the prior mean from the data (priors.ts), then maximise the log
 * marginal or concentrated likelihood (likelihood.ts) over log θ (and optionally log σ²) with a
 * bounded quasi-Newton optimiser (lbfgsb.ts) from several seeded starts, and return a GpModel in
 * the FFLUX format with weights w = (R + σ²I)⁻¹ (y − m(X)), so that E = m + k*ᵀ w.
 *
 * Large sets (n above `subsample`, default 700): the restarts run on a seeded random subset, and
 * only the best start is refined on the full set (each full evaluation of glycine's 2130 points
 * costs an O(n³) Cholesky plus inverse, ~2 s); the reported likelihood is always the full-set value.
 */
import { VERSION } from '../version.js';
import { AtomgpError } from '../errors.js';
import { compositionNames, parseComposition } from './composition.js';
import { compileLeaf, TERM_PERIODIC } from './kernel.js';
import { minimizeBounded } from './lbfgsb.js';
import { LikelihoodEvaluator, type LikelihoodKind, type LikelihoodProblem } from './likelihood.js';
import { evaluateMeanRows } from './mean.js';
import type { Composition, GpModel, KernelSpec, KernelType, MeanSpec, PeriodicPrefactor } from './model.js';
import { KERNEL_TYPES } from './model.js';
import { fitPrior, formatPrior, parsePrior, type PriorSpec } from './priors.js';
import { Rng } from '../util/rng.js';

/** A kernel by name (one kernel over all features) or an explicit composition of leaves. */
export type KernelChoice =
  | KernelType
  | { kernels: Array<{ name: string; type: KernelType; activeDims: number[] }>; composition: string };

export interface TrainInput {
  /** Training inputs, row-major n × nFeatures (bohr, radians). */
  x: Float64Array;
  y: Float64Array;
  nFeatures: number;
  kernel?: KernelChoice;
  prior?: PriorSpec | string;
  likelihood?: LikelihoodKind;
  /** σ² on the diagonal (FEREBUS's nugget/noise); default 1e-10. */
  noise?: number;
  optimiseNoise?: boolean;
  /** Number of optimiser starts (the first is a data-based guess, the rest seeded random). Default 4. */
  restarts?: number;
  seed?: number;
  /** Bounds on θ (per term). Default [1e-6, 1e3]. */
  thetaBounds?: [number, number];
  /** Bounds on σ² when optimised. Default [1e-12, 1e-4]. */
  noiseBounds?: [number, number];
  /** FEREBUS concentrated likelihood: constant mean re-estimated by GLS (only with prior `mean`). */
  glsConstantMean?: boolean;
  /** Periodic kernel prefactor (4: DL_FFLUX/ichor). */
  periodicPrefactor?: PeriodicPrefactor;
  maxIterations?: number;
  /** Relative change of the likelihood per iteration below which a start stops (default 1e-9). */
  ftol?: number;
  /** Subset size for the restarts on large sets (0: never subsample). Default 700. */
  subsample?: number;
  systemName?: string;
  atom?: string;
  property?: string;
  alf?: number[];
  nAtoms?: number;
  /** Extra `#` metadata lines (e.g. `method = B3LYP`). */
  notes?: string[];
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainProgress {
  phase: 'restart' | 'refine';
  start: number;
  starts: number;
  iteration: number;
  logLikelihood: number;
}

export interface TrainResult {
  model: GpModel;
  logLikelihood: number;
  likelihood: LikelihoodKind;
  theta: Float64Array;
  noise: number;
  jitter: number;
  evaluations: number;
  wallTimeS: number;
  prior: string;
  /** Best value reached from each start (on the subset when subsampled). */
  startValues: number[];
}

interface KernelSetup {
  specs: KernelSpec[];
  composition: Composition;
  compositionText: string;
  problemTerms: { dim: Int32Array; kind: Uint8Array };
  prefactor: Float64Array;
  /** For each flat term: [kernel index, position in its theta]. */
  owner: Array<[number, number]>;
}

function setupKernel(choice: KernelChoice, nFeatures: number, pf: PeriodicPrefactor): KernelSetup {
  let leaves: Array<{ name: string; type: KernelType; activeDims: number[] }>;
  let compositionText: string;
  if (typeof choice === 'string') {
    if (!KERNEL_TYPES.includes(choice)) {
      throw new AtomgpError(`unknown kernel '${choice}' (expected ${KERNEL_TYPES.join(', ')} or a composition)`);
    }
    leaves = [{ name: 'k1', type: choice, activeDims: Array.from({ length: nFeatures }, (_, i) => i + 1) }];
    compositionText = 'k1';
  } else {
    leaves = choice.kernels;
    compositionText = choice.composition;
  }
  const composition = parseComposition(compositionText);
  if (/\+/.test(compositionText)) {
    throw new AtomgpError(`kernel composition '${compositionText}': the trainer supports products of kernels only (no '+')`);
  }
  const names = compositionNames(composition);
  const byName = new Map(leaves.map((l) => [l.name, l]));
  const specs: KernelSpec[] = [];
  const dims: number[] = [];
  const kinds: number[] = [];
  const pre: number[] = [];
  const owner: Array<[number, number]> = [];
  for (const name of names) {
    const leaf = byName.get(name);
    if (!leaf) throw new AtomgpError(`kernel composition names '${name}', which is not defined`);
    if (!KERNEL_TYPES.includes(leaf.type)) throw new AtomgpError(`kernel ${name}: unknown type '${leaf.type}' (expected ${KERNEL_TYPES.join(', ')})`);
    const spec: KernelSpec = { name, type: leaf.type, activeDims: [...leaf.activeDims], theta: leaf.activeDims.map(() => 1), extra: [] };
    const t = compileLeaf(spec, nFeatures, pf);
    for (let i = 0; i < t.dim.length; i++) {
      dims.push(t.dim[i]!);
      kinds.push(t.kind[i]!);
      pre.push(t.kind[i] === TERM_PERIODIC ? pf : 1);
      owner.push([specs.length, i]);
    }
    specs.push(spec);
  }
  // Count occurrences: a leaf used twice (k1*k1) would share θ; not supported.
  const countUses = (c: Composition): number => (c.op === 'kernel' ? 1 : countUses(c.left) + countUses(c.right));
  if (countUses(composition) !== names.length) {
    throw new AtomgpError(`kernel composition '${compositionText}': each kernel may appear only once`);
  }
  return {
    specs,
    composition,
    compositionText,
    problemTerms: { dim: Int32Array.from(dims), kind: Uint8Array.from(kinds) },
    prefactor: Float64Array.from(pre),
    owner,
  };
}

/** Units of ALF features: f1, f2 bohr; f3 radians; then (R bohr, θ radians, φ radians) per atom. */
export function alfFeatureUnits(nFeatures: number): string[] {
  const u: string[] = [];
  for (let i = 0; i < nFeatures; i++) u.push(i < 2 ? 'bohr' : i === 2 ? 'radians' : (i - 3) % 3 === 0 ? 'bohr' : 'radians');
  return u;
}

function subset(x: Float64Array, y: Float64Array, K: number, idx: Int32Array): { x: Float64Array; y: Float64Array } {
  const xs = new Float64Array(idx.length * K);
  const ys = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    xs.set(x.subarray(idx[i]! * K, idx[i]! * K + K), i * K);
    ys[i] = y[idx[i]!]!;
  }
  return { x: xs, y: ys };
}

/** Trains one atomic GP. Deterministic for a given input and seed. */
export function trainAtomModel(input: TrainInput): TrainResult {
  const t0 = performance.now();
  const K = input.nFeatures;
  const n = input.y.length;
  if (input.x.length !== n * K) throw new AtomgpError(`training data: ${input.x.length} feature values for ${n} points × ${K} features`);
  if (n < K) throw new AtomgpError(`training data: ${n} points for ${K} features (a GP needs at least as many points as features)`);
  if (n < 2) throw new AtomgpError('training data: at least 2 points are needed');
  const pf = input.periodicPrefactor ?? 4;
  const kind = input.likelihood ?? 'marginal';
  const prior = typeof input.prior === 'string' ? parsePrior(input.prior) : (input.prior ?? parsePrior('max'));
  const gls = input.glsConstantMean ?? false;
  if (gls && (kind !== 'concentrated' || prior.kind !== 'mean')) {
    throw new AtomgpError('the GLS constant mean (FEREBUS concentrated) needs likelihood concentrated and prior mean');
  }
  const noise = input.noise ?? 1e-10;
  const optimiseNoise = input.optimiseNoise ?? false;
  const ks = setupKernel(input.kernel ?? 'rbf-cyclic', K, pf);
  const fitted = fitPrior(prior, input.x, input.y, n, K);
  const nt = ks.problemTerms.dim.length;
  const nParams = nt + (optimiseNoise ? 1 : 0);
  const [thMin, thMax] = input.thetaBounds ?? [1e-6, 1e3];
  const [nzMin, nzMax] = input.noiseBounds ?? [1e-12, 1e-4];
  const lower = new Float64Array(nParams).fill(Math.log(thMin));
  const upper = new Float64Array(nParams).fill(Math.log(thMax));
  if (optimiseNoise) {
    lower[nt] = Math.log(nzMin);
    upper[nt] = Math.log(nzMax);
  }

  const makeProblem = (x: Float64Array, y: Float64Array): LikelihoodProblem => ({
    x,
    y,
    n: y.length,
    nFeatures: K,
    terms: ks.problemTerms,
    prefactor: ks.prefactor,
    kind,
    meanValues: evaluateMeanRows(fitted.mean, x, y.length, K),
    glsConstantMean: gls,
    noise,
    optimiseNoise,
  });

  // Data-based first guess: Σ_d θ_d E[Δ_d²] ≈ 1, i.e. θ_d = 1 / (2 · nTerms · var_d).
  const guess = new Float64Array(nParams);
  for (let t = 0; t < nt; t++) {
    const d = ks.problemTerms.dim[t]!;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = input.x[i * K + d]!;
      s += v;
      s2 += v * v;
    }
    const variance = Math.max(s2 / n - (s / n) ** 2, 1e-12);
    guess[t] = clampLog(Math.log(1 / (2 * nt * variance)), lower[t]!, upper[t]!);
  }
  if (optimiseNoise) guess[nt] = clampLog(Math.log(Math.max(noise, nzMin)), lower[nt]!, upper[nt]!);

  const rng = new Rng(input.seed ?? 1);
  const starts = Math.max(1, input.restarts ?? 4);
  const subsampleSize = input.subsample ?? 700;
  const useSubset = subsampleSize > 0 && n > subsampleSize;
  let restartEval: LikelihoodEvaluator;
  if (useSubset) {
    const idx = rng.permutation(n).slice(0, subsampleSize).sort();
    const s = subset(input.x, input.y, K, idx);
    restartEval = new LikelihoodEvaluator(makeProblem(s.x, s.y));
  } else {
    restartEval = new LikelihoodEvaluator(makeProblem(input.x, input.y));
  }
  const objective = (ev: LikelihoodEvaluator) => (p: Float64Array, g: Float64Array): number => {
    try {
      const r = ev.evaluate(p, g);
      for (let i = 0; i < g.length; i++) g[i] = -g[i]!;
      return -r.value;
    } catch (err) {
      if (err instanceof AtomgpError) return Number.POSITIVE_INFINITY;
      throw err;
    }
  };
  const maxIter = input.maxIterations ?? 200;
  let best: { x: Float64Array; f: number } | null = null;
  const startValues: number[] = [];
  for (let s = 0; s < starts; s++) {
    const x0 = guess.slice();
    if (s > 0) {
      // Random starts: the guess scaled by 10^U(−1.5, 1.5) per parameter.
      for (let i = 0; i < nt; i++) x0[i] = clampLog(guess[i]! + Math.LN10 * rng.uniformIn(-1.5, 1.5), lower[i]!, upper[i]!);
    }
    // Wrapped and periodic kernels with long lengthscales need not be positive definite: if the
    // start cannot be factorised, shorten every lengthscale (θ × 10) until it can.
    const probe = new Float64Array(nParams);
    for (let tries = 0; tries < 8 && !Number.isFinite(objective(restartEval)(x0, probe)); tries++) {
      for (let i = 0; i < nt; i++) x0[i] = clampLog(x0[i]! + Math.LN10, lower[i]!, upper[i]!);
    }
    const r = minimizeBounded(objective(restartEval), x0, lower, upper, {
      ftol: input.ftol ?? 1e-9,
      maxIterations: maxIter,
      onIteration: (it, f) => {
        input.onProgress?.({ phase: 'restart', start: s + 1, starts, iteration: it, logLikelihood: -f });
        return false;
      },
    });
    startValues.push(-r.f);
    if (Number.isFinite(r.f) && (!best || r.f < best.f)) best = { x: r.x, f: r.f };
  }
  if (!best) throw new AtomgpError('training failed: the likelihood could not be evaluated from any start (kernel matrix singular?)');
  let evaluations = restartEval.evaluations;
  let params = best.x;
  const full = useSubset ? new LikelihoodEvaluator(makeProblem(input.x, input.y)) : restartEval;
  if (useSubset) {
    const r = minimizeBounded(objective(full), params, lower, upper, {
      maxIterations: Math.min(maxIter, 25),
      onIteration: (it, f) => {
        input.onProgress?.({ phase: 'refine', start: starts, starts, iteration: it, logLikelihood: -f });
        return false;
      },
    });
    if (Number.isFinite(r.f)) params = r.x;
    evaluations += full.evaluations;
  }
  const final = full.evaluate(params);
  const weights = full.alpha.slice();
  const sigma2 = full.noiseOf(params);
  const theta = new Float64Array(nt);
  for (let t = 0; t < nt; t++) theta[t] = Math.exp(params[t]!);
  const specs = ks.specs.map((k) => ({ ...k, theta: [...k.theta] }));
  ks.owner.forEach(([ki, pos], t) => {
    specs[ki]!.theta[pos] = theta[t]!;
  });
  let mean: MeanSpec = fitted.mean;
  if (gls) mean = { type: 'constant', value: final.glsMean };
  const wallTimeS = (performance.now() - t0) / 1000;
  const optimiserLine = `optimiser lbfgsb starts=${starts} seed=${input.seed ?? 1}${useSubset ? ` subsample=${subsampleSize}` : ''} evaluations=${evaluations}`;
  const metadata = [
    'program atomgp',
    `version ${VERSION}`,
    `nugget ${sigma2 + final.jitter}`,
    `noise ${sigma2}`,
    `likelihood ${final.value}`,
    `likelihood_type ${kind}${gls ? ' gls_mean' : ''}`,
    ...fitted.metadata,
    optimiserLine,
    `wall_time_s ${wallTimeS.toFixed(3)}`,
    ...(input.notes ?? []),
  ];
  const model: GpModel = {
    metadata,
    systemName: input.systemName ?? 'SYSTEM',
    atom: input.atom ?? 'X1',
    property: input.property ?? 'iqa',
    alf: input.alf ?? [],
    nAtoms: input.nAtoms ?? 0,
    nFeatures: K,
    nTrain: n,
    mean,
    kernels: specs,
    compositionText: ks.compositionText,
    composition: ks.composition,
    trainingDataInfo: [
      ['units.x', alfFeatureUnits(K).join(' ')],
      ['units.y', (input.property ?? 'iqa') === 'iqa' ? 'Ha' : 'au'],
      ['scaling.x', 'none'],
      ['scaling.y', 'none'],
    ],
    trainX: input.x.slice(),
    trainY: input.y.slice(),
    weights,
    extraSections: [],
  };
  return {
    model,
    logLikelihood: final.value,
    likelihood: kind,
    theta,
    noise: sigma2,
    jitter: final.jitter,
    evaluations,
    wallTimeS,
    prior: formatPrior(prior),
    startValues,
  };
}

function clampLog(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
