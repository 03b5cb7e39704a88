/**
 * One fit's search in progress: the full-set evaluator, the seeded random stream, the subset
 * evaluators made so far (all counted, for the work budget and the `evaluations` reported), and
 * the two moves every strategy is made of: `multiStart` (L-BFGS-B in log θ from the first guess
 * and seeded random starts) and `refine` (L-BFGS-B from one point in the offset coordinates
 * log(θ + θ₀), where features near the θ floor keep a usable gradient).
 */
import { minimizeBounded } from '../../../math/lbfgsb.js';
import type { Rng } from '../../../util/rng.js';
import { LikelihoodEvaluator, type LikelihoodProblem } from '../likelihood.js';
import type { TrainProgress } from '../train-options.js';
import { CONSTANT_VARIANCE, clampLog, type Found, gradientObjective, MAX_STEP, OffsetLog, type SearchSpace, workOf } from './space.js';

export interface SearchSettings {
  /** Relative change of −log L below which a start stops, and the window of iterations it is measured over. */
  ftol: number;
  window: number;
  /** θ₀ of the offset coordinates (one, or one per term). */
  thetaOffset: number | ArrayLike<number>;
  onProgress?: ((p: TrainProgress) => void) | undefined;
}

export class SearchRun {
  /** Every evaluator used (the full set first), for counting work. */
  readonly counted: LikelihoodEvaluator[];
  /** Best value reached from each start, in order. */
  readonly startValues: number[] = [];
  readonly offset: OffsetLog;
  readonly lowerU: Float64Array;
  readonly upperU: Float64Array;
  readonly n: number;

  constructor(
    readonly space: SearchSpace,
    readonly full: LikelihoodEvaluator,
    readonly rng: Rng,
    readonly settings: SearchSettings,
    /** The likelihood problem of a subset of the training points (x row-major, y). */
    private readonly problemOf: (x: Float64Array, y: Float64Array) => LikelihoodProblem,
  ) {
    this.counted = [full];
    this.n = full.problem.n;
    // Refinements search log(θ + θ₀) rather than log θ (see OffsetLog): a feature switched off near
    // the θ floor keeps a usable gradient, so the search does not stall on plateaus until it creeps back.
    this.offset = new OffsetLog(space.nt, settings.thetaOffset);
    this.lowerU = this.offset.toU(space.lower);
    this.upperU = this.offset.toU(space.upper);
  }

  /** Work so far, in estimated ms (workOf). */
  spent(): number {
    return this.counted.reduce((w, ev) => w + ev.evaluations * workOf(ev.problem.n), 0);
  }

  /** Likelihood evaluations so far, over all evaluators. */
  evaluations(): number {
    return this.counted.reduce((e, ev) => e + ev.evaluations, 0);
  }

  /** A counted evaluator on the points `idx` (sorted) of the training set. */
  subsetEvaluator(x: Float64Array, y: Float64Array, nFeatures: number, idx: Int32Array): LikelihoodEvaluator {
    const s = subset(x, y, nFeatures, idx);
    const ev = new LikelihoodEvaluator(this.problemOf(s.x, s.y));
    this.counted.push(ev);
    return ev;
  }

  /** L-BFGS-B from `x` on `ev` in the offset coordinates, within `lo` (default the θ bounds). */
  refine(ev: LikelihoodEvaluator, x: Float64Array, iterations: number, lo = this.lowerU, maxEvaluations = 1000): Found {
    const points = ev.problem.n;
    const { ftol, window, onProgress } = this.settings;
    const r = minimizeBounded(this.offset.objective(gradientObjective(ev), this.space.nParams), this.offset.toU(x), lo, this.upperU, {
      ftol,
      window,
      maxStep: MAX_STEP,
      maxIterations: iterations,
      maxEvaluations,
      onIteration: (it, f) => {
        onProgress?.({ phase: 'refine', start: 1, starts: 1, iteration: it, logLikelihood: -f, maxIterations: iterations, points });
        return false;
      },
    });
    return Number.isFinite(r.f) ? { x: this.offset.fromU(r.x), f: r.f, converged: r.converged } : { x, f: Number.POSITIVE_INFINITY, converged: false };
  }

  /**
   * L-BFGS-B in log θ on `ev` from the first start and `starts − 1` seeded random starts (the
   * guess scaled by 10^U(−1.5, 1.5) per parameter); the best, or null if none could be evaluated.
   */
  multiStart(ev: LikelihoodEvaluator, starts: number, iterations: number, startFtol: number): Found | null {
    const { nt, nParams, variances, lower, upper, guess, first } = this.space;
    const points = ev.problem.n < this.n ? { points: ev.problem.n } : {};
    const { window, onProgress } = this.settings;
    let best: Found | null = null;
    for (let s = 0; s < starts; s++) {
      const x0 = s === 0 ? first.slice() : guess.slice();
      if (s > 0) {
        for (let i = 0; i < nt; i++) {
          const step = Math.LN10 * this.rng.uniformIn(-1.5, 1.5);
          if (variances[i]! > CONSTANT_VARIANCE) x0[i] = clampLog(guess[i]! + step, lower[i]!, upper[i]!);
        }
      }
      // Wrapped and periodic kernels with long lengthscales need not be positive definite: if the
      // start cannot be factorised, shorten every lengthscale (θ × 10) until it can.
      const probe = new Float64Array(nParams);
      for (let tries = 0; tries < 8 && !Number.isFinite(gradientObjective(ev)(x0, probe)); tries++) {
        for (let i = 0; i < nt; i++) x0[i] = clampLog(x0[i]! + Math.LN10, lower[i]!, upper[i]!);
      }
      const r = minimizeBounded(gradientObjective(ev), x0, lower, upper, {
        ftol: startFtol,
        window,
        maxStep: MAX_STEP,
        maxIterations: iterations,
        onIteration: (it, f) => {
          onProgress?.({ phase: 'restart', start: s + 1, starts, iteration: it, logLikelihood: -f, maxIterations: iterations, ...points });
          return false;
        },
      });
      this.startValues.push(-r.f);
      if (Number.isFinite(r.f) && (!best || r.f < best.f)) best = { x: r.x, f: r.f, converged: r.converged };
    }
    return best;
  }
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
