/**
 * Training atomic GPs from molecular total energies (science.md §6): the additive model
 * E(R) = Σ_A E_A(f_A(R)), one GP per atom on its own ALF features, so that the covariance of two
 * totals is the sum of the atoms' kernels. The result is one ordinary `.model` per atom, which the
 * predictor, GpPotential, the model-set loader (with its self-consistency check) and MD use as is.
 *
 * Model. K_tot = σ_f² C,  C = Σ_A R_A(θ_A) + λ I, with R_A_ab = k_A(x_A,a, x_A,b) the atom's kernel
 * over its own features (the trainer's kernel family and term kinds, kernel.ts; default rbf-cyclic).
 *
 * Signal variance: ONE global σ_f², shared by all atoms, removed by the concentrated likelihood
 * (the trainer's `concentrated` convention, likelihood.ts):
 *     σ_f² = rᵀC⁻¹r / n,   ℓ = −(n/2) log σ_f² − ½ log|C|,   r = y_tot − Σ_A m_A.
 * Why not a free log s_A per atom: totals only identify the sum Σ_A s_A R_A; how the energy splits
 * between atoms is not in the data, and per-atom amplitudes would add N nearly-flat directions to
 * an already large search (N·K lengthscales). An equal prior variance per atom is the neutral
 * choice, and concentrating it out makes the fit independent of the energy unit. λ (the `noise`)
 * is relative to σ_f², as in the trainer's concentrated likelihood.
 *
 * Gradient (O(n²) per term after one inverse): with β = C⁻¹r and W = ββᵀ/σ_f² − C⁻¹,
 *     ∂ℓ/∂log θ_{A,t} = ½ tr(W ∂C/∂log θ_{A,t}) = −c_{A,t} Σ_{a>b} W_ab R_A,ab h_t(Δ_A,ab),
 *     ∂ℓ/∂log λ = ½ λ tr(W).
 * The pair loop works on one row per training point holding every atom's features side by side
 * (n × N·K), so each pair reads two contiguous rows; R_A is recomputed there, not stored
 * (memory stays 4 n² doubles whatever N is).
 *
 * Prior mean: the trainer's constant family (priors.ts: zero, mean, min, max, shift:…) is fitted
 * to the totals, giving m_tot; it is split per atom as m_A = ref_A + (m_tot − Σ_B ref_B)/N, with
 * ref_A the optional per-atom reference energies (0 by default: the equal split m_tot/N). Only
 * Σ_A m_A enters a predicted total; the split decides the atomic energies far from the data.
 * Linear and quadratic priors are refused (they would need per-atom features of the totals).
 *
 * What is stored per atom. The posterior mean of atom A is E_A(x*) = m_A + k_A(x*, X_A) β
 * (σ_f² cancels), so every atom stores the same weights w_A = β with its own θ_A. The stored
 * training targets are y_A = m_A + R_A β + (λ/N) β and the stored noise λ/N, so the loader's check
 * (R_A + (λ/N) I) w_A = y_A − m_A holds exactly, and Σ_A y_A = y_tot: the stored atomic "labels"
 * are the model's own decomposition of each training total.
 */
import { VERSION } from '../../version.js';
import { indexFromAtomLabel } from '../../chem/elements.js';
import { AtomgpError } from '../../errors.js';
import { featureCount } from '../../features/alf.js';
import { featurizeFrames } from '../../features/frames.js';
import { Rng } from '../../util/rng.js';
import { predictRows } from '../predict/rows.js';
import { minimizeBounded } from '../../math/lbfgsb.js';
import type { GpModel, PeriodicPrefactor } from '../model/model.js';
import { fitPrior, formatPrior, DEFAULT_PRIOR, parsePrior, type PriorSpec } from './priors.js';
import { alfFeatureUnits, type KernelChoice, setupKernel } from '../kernel/setup.js';
import { AdditiveLikelihood, type AdditiveProblem, interleaveAtoms } from './additive-likelihood.js';

export { AdditiveLikelihood, type AdditiveProblem, interleaveAtoms } from './additive-likelihood.js';

/** When a start has stopped gaining: less than `logL` over `iterations` iterations (AdditiveTrainInput.stall). */
export const DEFAULT_STALL = { iterations: 10, logL: 0.05 } as const;

export interface AdditiveAtomInput {
  /** Atom label, element and 1-based atom number (`O1`, `H2`): the model set is keyed on it. */
  label: string;
  /** ALF (central, x-axis, xy-plane), 1-based within the molecule; alf[0] is the atom itself. */
  alf: number[];
  /** This atom's features of every training geometry, row-major n × nFeatures (bohr, radians). */
  x: Float64Array;
}

export interface AdditiveProgress {
  phase: 'restart' | 'refine';
  start: number;
  starts: number;
  iteration: number;
  logLikelihood: number;
}

export interface AdditiveTrainInput {
  /** One entry per atom, in atom order. */
  atoms: AdditiveAtomInput[];
  nFeatures: number;
  /** Total energy of every training geometry, Ha. */
  yTotalHa: Float64Array;
  /** Kernel of every atom (default rbf-cyclic over all features). Products only. */
  kernel?: KernelChoice;
  /** Constant prior of the totals (default `max`): zero | mean | min | max | shift:<Ha> | shift:<k>sd. */
  prior?: PriorSpec | string;
  /** Per-atom reference energies (Ha) the prior is split by; default all 0 (equal split). */
  atomReferenceHa?: ArrayLike<number>;
  /** λ: noise on the diagonal of Σ_A R_A, relative to σ_f² (default 1e-10, the trainer's nugget). */
  noise?: number;
  optimiseNoise?: boolean;
  /** Optimiser starts: the first from a data-based guess, the rest seeded random (default 3). */
  restarts?: number;
  /**
   * Models of the same atoms and kernel (e.g. the previous active-learning round's) whose θ is the
   * first start instead of the data-based guess (clamped to this fit's bounds); the random starts
   * stay spread around the data-based guess.
   */
  warmStart?: GpModel[];
  seed?: number;
  maxIterations?: number;
  /** Relative change of ℓ per iteration below which a start stops (default 1e-9). */
  ftol?: number;
  /**
   * A start also stops when ℓ gained less than `logL` (log-likelihood units) over its last
   * `iterations` iterations (default 0.05 over 10; `logL: 0` switches it off). Why: on large sets a
   * start can creep along a ridge at gains far below any that matter but above the relative
   * `ftol`, and a likelihood ratio of e^0.05 does not tell hyperparameters apart
   * (docs/benchmarks.md, "Additive training: stop a start that has stopped gaining").
   */
  stall?: { iterations: number; logL: number };
  /** Bounds on θ (default [1e-6, 1e3]) and on λ when optimised (default [1e-12, 1e-4]). */
  thetaBounds?: [number, number];
  /**
   * Bounds on θ·var_d per atom and feature (var_d: that atom's feature variance over the training
   * geometries), applied within `thetaBounds`: the kernel's reach along each feature measured in the
   * data's own spread. `kernelReachBounds(c, K)` gives the pipeline's floor Σ_d θ_d·var_d ≥ c.
   */
  thetaVarBounds?: [number, number];
  noiseBounds?: [number, number];
  /** Restarts run on a seeded subset of this many totals, the best is refined on all (0: never). Default 500. */
  subsample?: number;
  periodicPrefactor?: PeriodicPrefactor;
  systemName: string;
  /** Property written in the model files (default `iqa`, which the model-set loader reads). */
  property?: string;
  notes?: string[];
  onProgress?: (p: AdditiveProgress) => void;
}

export interface AdditiveTrainResult {
  /** One model per atom, in atom order, ready for writeModel / GpPotential. */
  models: GpModel[];
  /** Concentrated log-likelihood on all totals. */
  logLikelihood: number;
  /** λ actually on the diagonal (noise plus any Cholesky jitter), relative to σ_f². */
  noise: number;
  jitter: number;
  /** σ_f² (Ha²): prior variance of each atomic energy. */
  signalVariance: number;
  /** θ of each atom, per flat term (the order of the kernel's active dimensions). */
  theta: Float64Array[];
  /** Prior of the totals, Σ_A m_A (Ha), and its split m_A. */
  priorTotalHa: number;
  atomMeansHa: Float64Array;
  evaluations: number;
  wallTimeS: number;
  prior: string;
  startValues: number[];
}

function clampLog(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

function validateInput(input: AdditiveTrainInput): void {
  const N = input.atoms.length;
  if (N === 0) throw new AtomgpError('additive training: no atoms given');
  const K = input.nFeatures;
  if (N < 2) throw new AtomgpError(`additive training: ${N} atom; an ALF needs a molecule of at least 2 atoms`);
  if (K !== featureCount(N)) {
    throw new AtomgpError(`additive training: ${K} features per atom, but the ALF features of a ${N}-atom molecule number ${featureCount(N)}`);
  }
  const n = input.yTotalHa.length;
  if (n < 2) throw new AtomgpError(`additive training: ${n} total energies; at least 2 are needed`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(input.yTotalHa[i]!)) throw new AtomgpError(`additive training: total energy ${i + 1} is not finite (${input.yTotalHa[i]})`);
  }
  const seen = new Set<string>();
  input.atoms.forEach((atom, A) => {
    const where = `additive training: atom ${A + 1} (${atom.label})`;
    if (atom.x.length !== n * K) {
      throw new AtomgpError(`${where}: ${atom.x.length} feature values, expected ${n} geometries × ${K} features = ${n * K} (one row per total energy)`);
    }
    for (let i = 0; i < atom.x.length; i++) {
      if (!Number.isFinite(atom.x[i]!)) throw new AtomgpError(`${where}: feature ${(i % K) + 1} of geometry ${Math.floor(i / K) + 1} is not finite`);
    }
    if (indexFromAtomLabel(atom.label) !== A + 1) {
      throw new AtomgpError(`${where}: the label must be an element symbol followed by the atom number ${A + 1} (e.g. ${atom.label.replace(/\d+$/, '') || 'C'}${A + 1})`);
    }
    if (seen.has(atom.label)) throw new AtomgpError(`${where}: label used twice`);
    seen.add(atom.label);
    const need = N === 2 ? 2 : 3;
    if (atom.alf.length !== need || atom.alf[0] !== A + 1 || atom.alf.some((k) => !Number.isInteger(k) || k < 1 || k > N) || new Set(atom.alf).size !== need) {
      throw new AtomgpError(`${where}: ALF ${atom.alf.join(' ')} must be ${need} distinct 1-based atoms starting with ${A + 1}`);
    }
  });
  if (input.atomReferenceHa !== undefined) {
    if (input.atomReferenceHa.length !== N) throw new AtomgpError(`additive training: ${input.atomReferenceHa.length} atom reference energies for ${N} atoms`);
    for (let A = 0; A < N; A++) {
      if (!Number.isFinite(input.atomReferenceHa[A]!)) throw new AtomgpError(`additive training: reference energy of atom ${A + 1} is not finite`);
    }
  }
}

/** Trains the additive model on total energies. Deterministic for a given input and seed. */
export function trainAdditive(input: AdditiveTrainInput): AdditiveTrainResult {
  const t0 = performance.now();
  validateInput(input);
  const N = input.atoms.length;
  const K = input.nFeatures;
  const n = input.yTotalHa.length;
  const pf = input.periodicPrefactor ?? 4;
  const prior = typeof input.prior === 'string' ? parsePrior(input.prior) : (input.prior ?? parsePrior(DEFAULT_PRIOR));
  if (prior.kind === 'linear' || prior.kind === 'quadratic') {
    throw new AtomgpError(`prior mean '${prior.kind}' is not supported for additive training (use zero, mean, min, max or shift:…)`);
  }
  const noise = input.noise ?? 1e-10;
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new AtomgpError(`additive training: noise ${noise} must be a finite number ≥ 0`);
  const optimiseNoise = input.optimiseNoise ?? false;
  const ks = setupKernel(input.kernel ?? 'rbf-cyclic', K, pf);
  const nt = ks.problemTerms.dim.length;

  // Prior of the totals (the trainer's family), split per atom. A shift is per atom, as in
  // atomic-label training: each atomic prior sits `shift` above its share of the highest total,
  // so fitPrior gets the total shift N·v Ha, or k·√N·sd(totals) = N·k·(sd/√N) for `shift:<k>sd`.
  // (One total shift split N ways gives each atom a wall N times lower than the same prior name
  // with atomic labels: on malondialdehyde from xtb totals, shift:0.05 read that way let every
  // 1000 K run break a bond within 0.25 ps.)
  const totalSpec: PriorSpec = prior.kind === 'shift' ? { ...prior, amount: prior.amount * (prior.unit === 'sd' ? Math.sqrt(N) : N) } : prior;
  const fitted = fitPrior(totalSpec, new Float64Array(0), input.yTotalHa, n, 0);
  const priorTotal = fitted.mean.type === 'constant' ? fitted.mean.value : 0;
  if (prior.kind === 'shift') {
    const totalOffset = priorTotal - input.yTotalHa.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY);
    const sdLine = fitted.metadata[2]!.replace('prior_mean_sd_Ha', 'prior_mean_sd_of_totals_Ha');
    fitted.metadata.splice(0, 3, `prior_mean ${formatPrior(prior)}`, `prior_mean_offset_Ha ${totalOffset / N} per atom (total ${totalOffset})`, sdLine);
  }
  const ref = Float64Array.from({ length: N }, (_, A) => Number(input.atomReferenceHa?.[A] ?? 0));
  let refSum = 0;
  for (let A = 0; A < N; A++) refSum += ref[A]!;
  const atomMeans = Float64Array.from(ref, (r) => r + (priorTotal - refSum) / N);
  let meanSum = 0;
  for (let A = 0; A < N; A++) meanSum += atomMeans[A]!;
  const residAll = Float64Array.from(input.yTotalHa, (y) => y - meanSum);

  const rowsAll = interleaveAtoms(
    input.atoms.map((a) => a.x),
    n,
    K,
  );
  const nParams = N * nt + (optimiseNoise ? 1 : 0);
  const [thMin, thMax] = input.thetaBounds ?? [1e-6, 1e3];
  const [nzMin, nzMax] = input.noiseBounds ?? [1e-12, 1e-4];
  const lower = new Float64Array(nParams).fill(Math.log(thMin));
  const upper = new Float64Array(nParams).fill(Math.log(thMax));
  if (optimiseNoise) {
    lower[N * nt] = Math.log(nzMin);
    upper[N * nt] = Math.log(nzMax);
  }
  // Data-based first guess per atom, as the trainer: θ_d = 1 / (2 · nTerms · var_d).
  const guess = new Float64Array(nParams);
  input.atoms.forEach((atom, A) => {
    for (let t = 0; t < nt; t++) {
      const d = ks.problemTerms.dim[t]!;
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const v = atom.x[i * K + d]!;
        s += v;
        s2 += v * v;
      }
      const variance = Math.max(s2 / n - (s / n) ** 2, 1e-12);
      if (input.thetaVarBounds) {
        const i = A * nt + t;
        lower[i] = Math.max(lower[i]!, Math.log(input.thetaVarBounds[0] / variance));
        upper[i] = Math.max(lower[i]!, Math.min(upper[i]!, Math.log(input.thetaVarBounds[1] / variance)));
      }
      guess[A * nt + t] = clampLog(Math.log(1 / (2 * nt * variance)), lower[A * nt + t]!, upper[A * nt + t]!);
    }
  });
  if (optimiseNoise) guess[N * nt] = clampLog(Math.log(Math.max(noise, nzMin)), lower[N * nt]!, upper[N * nt]!);
  let warm: Float64Array | undefined;
  if (input.warmStart) {
    if (input.warmStart.length !== N) throw new AtomgpError(`additive training: ${input.warmStart.length} warm-start models for ${N} atoms`);
    warm = guess.slice();
    input.warmStart.forEach((wm, A) => {
      const where = `additive training: warm start for atom ${input.atoms[A]!.label} (${wm.atom})`;
      if (wm.atom !== input.atoms[A]!.label || wm.nFeatures !== K) throw new AtomgpError(`${where}: expected atom ${input.atoms[A]!.label} with ${K} features, got ${wm.atom} with ${wm.nFeatures}`);
      ks.owner.forEach(([ki, pos], t) => {
        const spec = wm.kernels[ki];
        const v = spec?.theta[pos];
        if (spec === undefined || spec.name !== ks.specs[ki]!.name || spec.type !== ks.specs[ki]!.type || !(v !== undefined && v > 0)) {
          throw new AtomgpError(`${where}: its kernels are not this fit's (${ks.compositionText})`);
        }
        warm![A * nt + t] = clampLog(Math.log(v), lower[A * nt + t]!, upper[A * nt + t]!);
      });
    });
  }

  const makeProblem = (rows: Float64Array, resid: Float64Array): AdditiveProblem => ({
    rows,
    n: resid.length,
    nAtoms: N,
    nFeatures: K,
    dim: ks.problemTerms.dim,
    kind: ks.problemTerms.kind,
    prefactor: ks.prefactor,
    resid,
    noise,
    optimiseNoise,
  });
  const seed = input.seed ?? 1;
  const rng = new Rng(seed);
  const starts = Math.max(1, input.restarts ?? 3);
  const subsampleSize = input.subsample ?? 500;
  const useSubset = subsampleSize > 0 && n > subsampleSize;
  let restartEval: AdditiveLikelihood;
  if (useSubset) {
    const idx = rng.permutation(n).slice(0, subsampleSize).sort();
    const stride = N * K;
    const rows = new Float64Array(idx.length * stride);
    const resid = new Float64Array(idx.length);
    idx.forEach((j, i) => {
      rows.set(rowsAll.subarray(j * stride, (j + 1) * stride), i * stride);
      resid[i] = residAll[j]!;
    });
    restartEval = new AdditiveLikelihood(makeProblem(rows, resid));
  } else {
    restartEval = new AdditiveLikelihood(makeProblem(rowsAll, residAll));
  }
  const objective = (ev: AdditiveLikelihood) => (x: Float64Array, g: Float64Array): number => {
    try {
      const r = ev.evaluate(x, g);
      for (let i = 0; i < g.length; i++) g[i] = -g[i]!;
      return -r.value;
    } catch (err) {
      if (err instanceof AtomgpError) return Number.POSITIVE_INFINITY;
      throw err;
    }
  };
  // Long lengthscales (and wrapped/periodic terms) may leave C indefinite: shorten every lengthscale
  // tenfold until it factorises. The refine on all totals needs the same: a point that factorises
  // on the restarts' subset need not factorise on the full set (near-duplicate geometries).
  const shortenUntilFactorisable = (ev: AdditiveLikelihood, x0: Float64Array): void => {
    const probe = new Float64Array(nParams);
    for (let tries = 0; tries < 8 && !Number.isFinite(objective(ev)(x0, probe)); tries++) {
      for (let i = 0; i < N * nt; i++) x0[i] = clampLog(x0[i]! + Math.LN10, lower[i]!, upper[i]!);
    }
  };
  const maxIter = input.maxIterations ?? 200;
  const stall = input.stall ?? DEFAULT_STALL;
  if (!(Number.isInteger(stall.iterations) && stall.iterations >= 1 && stall.logL >= 0)) {
    throw new AtomgpError(`additive training: stall needs iterations ≥ 1 and logL ≥ 0, got ${stall.iterations} and ${stall.logL}`);
  }
  let best: { x: Float64Array; f: number } | null = null;
  const startValues: number[] = [];
  const startIterations: number[] = [];
  for (let s = 0; s < starts; s++) {
    const x0 = s === 0 && warm ? warm.slice() : guess.slice();
    if (s > 0) for (let i = 0; i < N * nt; i++) x0[i] = clampLog(guess[i]! + Math.LN10 * rng.uniformIn(-1.5, 1.5), lower[i]!, upper[i]!);
    shortenUntilFactorisable(restartEval, x0);
    const history: number[] = [];
    const r = minimizeBounded(objective(restartEval), x0, lower, upper, {
      ftol: input.ftol ?? 1e-9,
      maxIterations: maxIter,
      onIteration: (it, f) => {
        input.onProgress?.({ phase: 'restart', start: s + 1, starts, iteration: it, logLikelihood: -f });
        history.push(-f);
        const k = history.length - 1 - stall.iterations;
        return stall.logL > 0 && k >= 0 && history[history.length - 1]! - history[k]! < stall.logL;
      },
    });
    startValues.push(-r.f);
    startIterations.push(r.iterations);
    if (Number.isFinite(r.f) && (!best || r.f < best.f)) best = { x: r.x, f: r.f };
  }
  if (!best) throw new AtomgpError('additive training failed: the likelihood could not be evaluated from any start (kernel matrix singular?)');
  let evaluations = restartEval.evaluations;
  let params = best.x;
  const full = useSubset ? new AdditiveLikelihood(makeProblem(rowsAll, residAll)) : restartEval;
  if (useSubset) {
    params = params.slice();
    shortenUntilFactorisable(full, params);
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
  const beta = full.beta.slice();
  const lambda = final.noise; // noise + jitter actually on the diagonal
  const rBeta = full.kernelTimesBeta();
  const wallTimeS = (performance.now() - t0) / 1000;

  const theta: Float64Array[] = [];
  const property = input.property ?? 'iqa';
  const models: GpModel[] = input.atoms.map((atom, A) => {
    const th = new Float64Array(nt);
    for (let t = 0; t < nt; t++) th[t] = Math.exp(params[A * nt + t]!);
    theta.push(th);
    const specs = ks.specs.map((k) => ({ ...k, theta: [...k.theta], extra: [] as Array<[string, string]> }));
    ks.owner.forEach(([ki, pos], t) => {
      specs[ki]!.theta[pos] = th[t]!;
    });
    const y = new Float64Array(n);
    const rb = rBeta[A]!;
    for (let i = 0; i < n; i++) y[i] = atomMeans[A]! + rb[i]! + (lambda / N) * beta[i]!;
    return {
      metadata: [
        'program atomgp',
        `version ${VERSION}`,
        'training additive-total-energy',
        `nugget ${lambda / N}`,
        `noise ${lambda / N}`,
        `likelihood ${final.value}`,
        'likelihood_type concentrated additive',
        `signal_variance ${final.signalVariance}`,
        `additive_atoms ${N}`,
        `additive_noise ${lambda}`,
        ...fitted.metadata,
        `prior_mean_total_Ha ${priorTotal}`,
        `prior_mean_split ${input.atomReferenceHa ? 'reference+equal' : 'equal'}`,
        `optimiser lbfgsb starts=${starts} seed=${seed}${useSubset ? ` subsample=${subsampleSize}` : ''}${warm ? ' warm-start' : ''}${stall.logL > 0 ? ` stall=${stall.logL}/${stall.iterations}` : ''} iterations=${startIterations.join(',')} evaluations=${evaluations}`,
        `wall_time_s ${wallTimeS.toFixed(3)}`,
        ...(input.notes ?? []),
      ],
      systemName: input.systemName,
      atom: atom.label,
      property,
      alf: [...atom.alf],
      nAtoms: N,
      nFeatures: K,
      nTrain: n,
      mean: { type: 'constant', value: atomMeans[A]! },
      kernels: specs,
      compositionText: ks.compositionText,
      composition: ks.composition,
      trainingDataInfo: [
        ['units.x', alfFeatureUnits(K).join(' ')],
        ['units.y', property === 'iqa' ? 'Ha' : 'au'],
        ['scaling.x', 'none'],
        ['scaling.y', 'none'],
      ],
      trainX: atom.x.slice(),
      trainY: y,
      weights: beta.slice(),
      extraSections: [],
    };
  });
  return {
    models,
    logLikelihood: final.value,
    noise: lambda,
    jitter: final.jitter,
    signalVariance: final.signalVariance,
    theta,
    priorTotalHa: meanSum,
    atomMeansHa: atomMeans,
    evaluations,
    wallTimeS,
    prior: formatPrior(prior),
    startValues,
  };
}

/**
 * Predicted totals Σ_A [m_A + k_A(x*_A, X_A) w_A] for m geometries, from the per-atom models and
 * each atom's features (m × K rows), through predictRows (the compiled kernel, independently of
 * the predictor's packed hot path).
 */
export function predictAdditiveTotals(models: GpModel[], atomsX: Float64Array[], periodicPrefactor: PeriodicPrefactor = 4): Float64Array {
  if (models.length !== atomsX.length) throw new AtomgpError(`additive prediction: ${models.length} models for ${atomsX.length} atoms`);
  const K = models[0]?.nFeatures ?? 0;
  const m = K > 0 ? atomsX[0]!.length / K : 0;
  const out = new Float64Array(m);
  models.forEach((model, A) => {
    const x = atomsX[A]!;
    if (x.length !== m * model.nFeatures) throw new AtomgpError(`additive prediction: atom ${model.atom} has ${x.length} feature values, expected ${m} × ${model.nFeatures}`);
    const e = predictRows(model, x, m, periodicPrefactor);
    for (let i = 0; i < m; i++) out[i] = out[i]! + e[i]!;
  });
  return out;
}

/**
 * Features of every atom of every frame, ready for `trainAdditive`: atom labels `<symbol><number>`,
 * ALFs 1-based (as in model files), positions in Å.
 */
export function additiveFeatures(symbols: string[], framesPositionsA: Float64Array[], alfs: number[][]): AdditiveAtomInput[] {
  const N = symbols.length;
  if (N === 0) throw new AtomgpError('additive features: no atoms');
  if (alfs.length !== N) throw new AtomgpError(`additive features: ${alfs.length} ALFs for ${N} atoms`);
  const labels = symbols.map((s, A) => `${s}${A + 1}`);
  const xs = featurizeFrames(
    framesPositionsA,
    alfs.map((alf) => alf.map((k) => k - 1)),
    { labels: labels.map((l) => `atom ${l}`) },
  );
  return labels.map((label, A) => ({ label, alf: [...alfs[A]!], x: xs[A]! }));
}
