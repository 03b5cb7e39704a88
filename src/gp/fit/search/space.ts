/**
 * The space the trainer searches: log θ per kernel term (and log σ² when optimised), bounded per
 * term in units of 1/var_t (var_t: the term's feature variance over the training points, since the
 * kernel sees θ_t·Δ²) unless the caller gives absolute bounds; the data-based first guess; the
 * offset coordinates of refinements; the objectives the minimisers see; and the cost model that
 * budgets optional work.
 */
import { AtomgpError } from '../../../errors.js';
import type { LikelihoodEvaluator } from '../likelihood.js';
import { SEARCH_KINDS, type SearchKind, type TrainInput } from '../train-options.js';

/** Bounds, first guesses and scales of one fit's search. */
export interface SearchSpace {
  /** Kernel terms, and parameters (terms plus log σ² when optimised). */
  nt: number;
  nParams: number;
  /** Feature variance per term (bohr² or rad²). */
  variances: Float64Array;
  /** Bounds in log θ (and log σ²). */
  lower: Float64Array;
  upper: Float64Array;
  /** Lowest θ per term. */
  floorTheta: Float64Array;
  /** Whether θ is scaled by 1/var_t (no absolute bounds given). */
  scaled: boolean;
  /** The data-based guess, and the first start (the guess, or the caller's initial θ). */
  guess: Float64Array;
  first: Float64Array;
  /** A per-term value: `thetaVar`/var_t when scaled, else `absolute`. */
  perTerm(absolute: number, thetaVar: number): Float64Array;
}

/** The search space of `input` for the flat terms on feature dimensions `dims`. */
export function searchSpace(input: TrainInput, dims: Int32Array, noise: number, optimiseNoise: boolean): SearchSpace {
  const K = input.nFeatures;
  const n = input.y.length;
  const nt = dims.length;
  const nParams = nt + (optimiseNoise ? 1 : 0);
  const [nzMin, nzMax] = input.noiseBounds ?? [1e-12, 1e-4];
  const variances = termVariances(input.x, n, K, dims);
  // θ in units of 1/var_t unless the caller gives bounds: the kernel sees θ_t·Δ², so what makes a
  // feature negligible or dominant is θ_t·var_t, whatever its units (bohr⁻², rad⁻²) and spread.
  // A (nearly) constant feature is scaled as if it varied by 1e-3 bohr or rad.
  const scaled = !input.thetaBounds;
  const perTerm = (absolute: number, thetaVar: number): Float64Array =>
    Float64Array.from(variances, (v) => (scaled ? thetaVar / Math.max(v, SCALE_VARIANCE_MIN) : absolute));
  const [thMin, thMax] = input.thetaBounds ?? [0, 0];
  const [varMin, varMax] = input.thetaVarBounds ?? [FLOOR_THETA_VAR, CEILING_THETA_VAR];
  if (!(varMin > 0 && varMax >= varMin && Number.isFinite(varMax))) throw new AtomgpError(`θ·var bounds [${varMin}, ${varMax}] must satisfy 0 < min ≤ max < ∞`);
  const floorTheta = perTerm(thMin, varMin);
  const lower = new Float64Array(nParams);
  const upper = new Float64Array(nParams);
  floorTheta.forEach((v, t) => {
    lower[t] = Math.log(v);
  });
  perTerm(thMax, varMax).forEach((v, t) => {
    upper[t] = Math.log(v);
  });
  if (optimiseNoise) {
    lower[nt] = Math.log(nzMin);
    upper[nt] = Math.log(nzMax);
  }
  const guess = dataGuess(variances, lower, upper);
  if (optimiseNoise) guess[nt] = clampLog(Math.log(Math.max(noise, nzMin)), lower[nt]!, upper[nt]!);
  const first = guess.slice();
  if (input.initialTheta) {
    if (input.initialTheta.length !== nt) throw new AtomgpError(`initial θ: ${input.initialTheta.length} values for ${nt} kernel terms`);
    for (let t = 0; t < nt; t++) {
      const v = input.initialTheta[t]!;
      if (v > 0 && Number.isFinite(v)) first[t] = clampLog(Math.log(v), lower[t]!, upper[t]!);
    }
  }
  return { nt, nParams, variances, lower, upper, floorTheta, scaled, guess, first, perTerm };
}

/** Variance of each term's feature over the training points (bohr² or rad²). */
export function termVariances(x: Float64Array, n: number, K: number, dims: Int32Array): Float64Array {
  return Float64Array.from(dims, (d) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * K + d]!;
    const mean = s / n;
    let s2 = 0;
    for (let i = 0; i < n; i++) s2 += (x[i * K + d]! - mean) ** 2;
    return s2 / n;
  });
}

/**
 * Data-based first guess: Σ_d θ_d E[Δ_d²] ≈ 1, i.e. θ_d = 1 / (2 · nTerms · var_d). A feature
 * constant over the training points carries no information on its lengthscale (the likelihood
 * does not depend on its θ): it starts, and so stays, switched off at the lower bound, so that
 * the model ignores it rather than treating any change in it as a move far from the data.
 */
export function dataGuess(variances: Float64Array, lower: Float64Array, upper: Float64Array): Float64Array {
  const nt = variances.length;
  const guess = new Float64Array(lower.length);
  for (let t = 0; t < nt; t++) {
    const v = variances[t]!;
    guess[t] = v > CONSTANT_VARIANCE ? clampLog(Math.log(1 / (2 * nt * v)), lower[t]!, upper[t]!) : lower[t]!;
  }
  return guess;
}

/** −log L and its gradient for the minimisers; a failed factorisation is +∞ (the line search backs off). */
export function gradientObjective(ev: LikelihoodEvaluator) {
  return (p: Float64Array, g: Float64Array): number => {
    try {
      const r = ev.evaluate(p, g);
      for (let i = 0; i < g.length; i++) g[i] = -g[i]!;
      return -r.value;
    } catch (err) {
      if (err instanceof AtomgpError) return Number.POSITIVE_INFINITY;
      throw err;
    }
  };
}

/** −log L without the gradient (no inverse needed: the swarm only compares values). */
export function valueObjective(ev: LikelihoodEvaluator) {
  return (p: Float64Array): number => {
    try {
      return -ev.evaluate(p).value;
    } catch (err) {
      if (err instanceof AtomgpError) return Number.POSITIVE_INFINITY;
      throw err;
    }
  };
}

/**
 * Default θ scales, as θ_t·var_t (dimensionless; var_t is the term's feature variance over the
 * training points): what makes a feature negligible or dominant is θ_t·var_t, whatever its units
 * and spread, so one absolute floor cannot suit near and far atoms alike (docs/benchmarks.md,
 * session 7).
 */
export const FLOOR_THETA_VAR = 2.5e-8;
/** Smallest variance used for the θ scales (bohr² or rad²): a feature's sd of 1e-3. */
export const SCALE_VARIANCE_MIN = 1e-6;
/** A feature with a variance at most this (bohr² or rad²) is constant over the training points. */
export const CONSTANT_VARIANCE = 1e-20;
export const CEILING_THETA_VAR = 25;
/** θ₀·var of the refinement's log(θ + θ₀) coordinates (OffsetLog). */
export const OFFSET_THETA_VAR = 2.5e-6;
/** Floor θ·var of the polish. */
export const POLISH_THETA_VAR = 2.5e-14;
/** θ₀ of the offset coordinates when the caller gives absolute θ bounds (bohr⁻² or rad⁻²). */
export const DEFAULT_THETA_OFFSET = 1e-4;
/**
 * Sets above this many points are "large": a full-set start costs ~100 O(n³) evaluations, so they
 * get one start from the data guess (or the staged subset search), and stop on the gain over
 * five iterations.
 */
export const LARGE_SET = 700;
/** Sets up to this size search both from the full set and by subset stages (auto). */
const BOTH_UP_TO = 1500;
/** Sets above this size search by subset stages only (auto): a full-set start is too dear. */
const STAGED_ABOVE = 3000;
/** Switch-off trials: candidates are features whose removal alone costs less than this (log L). */
export const SWITCH_OFF_LOSS = 3;
/** L-BFGS-B iterations and evaluations of one switch-off trial. */
export const SWITCH_OFF_ITERATIONS = 40;
export const SWITCH_OFF_EVALUATIONS = 40;
/**
 * Estimated time of one likelihood evaluation with gradient on `points` points, in ms on the
 * 2-core reference machine with OpenBLAS: 3.5 N³ + 22 N², N = points / 1000 (the Cholesky and
 * inverse, and the O(n²) kernel and gradient passes), fitted to measurements in docs/benchmarks.md.
 */
export function workOf(points: number): number {
  const N = points / 1000;
  return 3.5 * N ** 3 + 22 * N ** 2;
}
/**
 * Default budget of the optional switch-off trials, in estimated ms (workOf): sets of ~2000
 * points have spent it on their search already, sets of ~900 use about half.
 */
export const DEFAULT_BUDGET_MS = 22_000;
/** Largest first trial step of a line search in log θ (a factor e² in θ). */
export const MAX_STEP = 2;

/** An optimum found by one search: log-hyperparameters, −log L, converged. */
export interface Found {
  x: Float64Array;
  f: number;
  converged: boolean;
}

/**
 * The search for a set of n points: the caller's `search`; else `full` when `subsample` is 0 or
 * the set is not above the subset size (`subsampleAbove`, which defaults to `subsample` when only
 * that is given); else by size: `full` up to LARGE_SET, `both` up to BOTH_UP_TO, `full` up to
 * STAGED_ABOVE, `staged` above.
 */
export function resolveSearch(input: TrainInput, n: number, subsampleSize: number): SearchKind {
  if (input.search) {
    if (!SEARCH_KINDS.includes(input.search)) throw new AtomgpError(`unknown search '${input.search as string}' (expected full, staged or both)`);
    if (input.search !== 'full' && !(subsampleSize > 0 && n > subsampleSize)) {
      throw new AtomgpError(`search ${input.search} needs more points (${n}) than the subset size (${subsampleSize})`);
    }
    return input.search;
  }
  if (!(subsampleSize > 0) || n <= subsampleSize) return 'full';
  if (input.subsample !== undefined || input.subsampleAbove !== undefined) {
    return n > (input.subsampleAbove ?? subsampleSize) ? 'staged' : 'full';
  }
  if (n <= LARGE_SET) return 'full';
  if (n <= BOTH_UP_TO) return 'both';
  return n <= STAGED_ABOVE ? 'full' : 'staged';
}

/**
 * Optimiser coordinates u = log(θ + θ₀) for the first `nt` parameters (the rest, e.g. log σ²,
 * unchanged), from and to the evaluator's φ = log θ. With u = log θ the gradient of a feature
 * near the θ floor is θ ∂L/∂θ, which vanishes as θ → 0 however strongly the likelihood wants that
 * feature back; with the offset it is (θ + θ₀) ∂L/∂θ. Where θ ≫ θ₀ both coordinates agree.
 */
export class OffsetLog {
  private readonly theta0: Float64Array;

  /** `theta0`: one θ₀ for every term, or one per term. */
  constructor(
    private readonly nt: number,
    theta0: number | ArrayLike<number>,
  ) {
    this.theta0 = typeof theta0 === 'number' ? new Float64Array(nt).fill(theta0) : Float64Array.from(theta0);
    if (this.theta0.length !== nt) throw new AtomgpError(`θ offset: ${this.theta0.length} values for ${nt} kernel terms`);
    for (const v of this.theta0) if (!(v >= 0) || !Number.isFinite(v)) throw new AtomgpError(`θ offset must be a number ≥ 0, got ${v}`);
  }

  toU(phi: Float64Array): Float64Array {
    return phi.map((v, i) => (i < this.nt ? Math.log(Math.exp(v) + this.theta0[i]!) : v));
  }

  fromU(u: Float64Array, out: Float64Array = new Float64Array(u.length)): Float64Array {
    for (let i = 0; i < u.length; i++) out[i] = i < this.nt ? Math.log(Math.max(Math.exp(u[i]!) - this.theta0[i]!, Number.MIN_VALUE)) : u[i]!;
    return out;
  }

  /** f(φ) with its gradient in φ → the same f of u, with ∂f/∂u = ∂f/∂φ · e^u / (e^u − θ₀). */
  objective(f: (phi: Float64Array, g: Float64Array) => number, size: number): (u: Float64Array, g: Float64Array) => number {
    const phi = new Float64Array(size);
    const gPhi = new Float64Array(size);
    return (u, g) => {
      const value = f(this.fromU(u, phi), gPhi);
      for (let i = 0; i < size; i++) {
        const e = Math.exp(u[i]!);
        g[i] = i < this.nt ? (gPhi[i]! * e) / (e - this.theta0[i]!) : gPhi[i]!;
      }
      return value;
    };
  }
}

export function clampLog(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
