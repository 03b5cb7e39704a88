/**
 * What the trainer takes and returns: the input of one atomic fit (data, kernel, prior, and the
 * settings of each search stage, all optional with the defaults stated per field), progress
 * reports and the result.
 */
import { AtomgpError } from '../../errors.js';
import type { PsoOptions } from '../../math/pso.js';
import { CEILING_THETA_VAR } from './search/space.js';
import type { KernelChoice } from '../kernel/setup.js';
import type { GpModel, MeanSpec, PeriodicPrefactor } from '../model/model.js';
import type { LikelihoodKind } from './likelihood.js';
import type { PriorSpec } from './priors.js';

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
  /**
   * Number of optimiser starts (the first is a data-based guess, the rest seeded random). Default
   * 4 on the full set of a set ≤ 700 points, 1 on the full set of a larger one, 8 on the subset
   * of a staged search (where they are cheap).
   */
  restarts?: number;
  seed?: number;
  /**
   * How L-BFGS-B searches: `full` (starts on the full set), `staged` (starts on a subset of
   * `subsample` points, refined on larger subsets, then on all), `both` (one full-set start and the
   * staged search; the higher full-set likelihood wins). Default by size: full up to 700 points,
   * both up to 1500, full up to 3000, staged above.
   */
  search?: SearchKind;
  /**
   * Absolute bounds on θ (bohr⁻² or rad⁻², every term). Default per term t: θ_t·var_t in
   * [2.5e-8, 25], var_t the feature's variance over the training points.
   */
  thetaBounds?: [number, number];
  /**
   * Bounds on θ_t·var_t per term (dimensionless: the kernel's decay across the data's own spread
   * along that feature); default [2.5e-8, 25]. Ignored when `thetaBounds` is given. A floor set
   * here is held like absolute bounds: no polish below it, no switch-off trials.
   */
  thetaVarBounds?: [number, number];
  /** Bounds on σ² when optimised. Default [1e-12, 1e-4]. */
  noiseBounds?: [number, number];
  /** FEREBUS concentrated likelihood: constant mean re-estimated by GLS (only with prior `mean`). */
  glsConstantMean?: boolean;
  /** Periodic kernel prefactor (4: DL_FFLUX/ichor). */
  periodicPrefactor?: PeriodicPrefactor;
  maxIterations?: number;
  /** Relative change of the likelihood per iteration below which a start stops (default 1e-9). */
  ftol?: number;
  /**
   * Subset size for the restarts on large sets (0: never subsample). Default 600: the restarts
   * only have to find the basin, and at 600 points one costs a small fraction of a full-set one.
   */
  subsample?: number;
  /** L-BFGS-B iterations per restart on the subset of a large set (default 100). */
  restartIterations?: number;
  /** With `subsample` given and no `search`: sets larger than this search staged (default `subsample`). */
  subsampleAbove?: number;
  /**
   * Growth factor of the intermediate refinement stages between the restart subset and the full
   * set (default 2: 300 → 600 → 1200 → all for 2130 points; 0 or 1: refine on the full set directly).
   */
  stageGrowth?: number;
  /** L-BFGS-B iterations per intermediate stage (default 40). */
  stageIterations?: number;
  /**
   * θ₀ of the refinements of large sets and the polish, which search log(θ + θ₀) instead of
   * log θ so that features near the θ floor keep a usable gradient (0: plain log θ). Default per
   * term θ₀·var_t = 2.5e-6, or 1e-4 with `thetaBounds`.
   */
  thetaOffset?: number;
  /** L-BFGS-B iterations on the full set after subset restarts (default 100; stops earlier when converged). */
  refineIterations?: number;
  /**
   * Lower θ bound of the polish: when the optimisation converged with features at the θ floor,
   * it continues (offset coordinates, at most `polishIterations`, default 40) with the floor
   * lowered to this. Default per term θ·var_t = 2.5e-14; none when `thetaBounds` is given, so
   * that a chosen floor holds.
   */
  polishThetaMin?: number;
  /**
   * Switch-off trials after the polish: this many features, those whose removal alone costs
   * least (under 3 log-L units), are each switched off (θ at the polish floor) and the search
   * refined (≤ 40 evaluations each); a higher optimum replaces the chosen one. Default: up to 3,
   * as long as the work stays within `budgetMs`; given explicitly, exactly this many. None with
   * `thetaBounds`.
   */
  switchOffTrials?: number;
  /**
   * Budget for the switch-off trials, in estimated ms on the 2-core reference machine (a cost
   * model of each evaluation, 3.5 N³ + 22 N² ms with N = n/1000, so that results do not depend on
   * the machine's speed or load): a trial starts only if the work so far plus its own fits.
   * Default 22000.
   */
  budgetMs?: number;
  /** L-BFGS-B iterations of the polish (default 40; 0: no polish). */
  polishIterations?: number;
  /**
   * Start the full-set refinement from the stage optima extrapolated along log n when that start
   * has the higher full-set likelihood (default true; costs two value-only evaluations).
   */
  extrapolateStages?: boolean;
  systemName?: string;
  atom?: string;
  property?: string;
  alf?: number[];
  nAtoms?: number;
  /** Extra `#` metadata lines (e.g. `method = B3LYP`). */
  notes?: string[];
  onProgress?: (p: TrainProgress) => void;
  /** `lbfgsb` (default) or `pso` (gradient-free swarm, FEREBUS's optimiser). */
  optimiser?: OptimiserKind;
  /** Swarm settings for `optimiser: 'pso'` (FEREBUS-like defaults, see pso.ts); its seed is `seed`. */
  pso?: Omit<PsoOptions, 'seed' | 'onIteration'>;
  /** Use this mean as it is instead of fitting `prior` (refits that keep a model's mean). */
  meanSpec?: MeanSpec;
  /** `#` lines describing `meanSpec` (default `prior_mean kept`). */
  meanMetadata?: string[];
  /** θ per flat kernel term (composition order) for the first start instead of the data-based guess. */
  initialTheta?: ArrayLike<number>;
  /** Skip the optimisation: use these θ (per flat term) and σ² as they are (one Cholesky). */
  fixedHyperparameters?: { theta: ArrayLike<number>; noise: number };
}

export type OptimiserKind = 'lbfgsb' | 'pso';

export interface TrainProgress {
  phase: 'restart' | 'refine' | 'pso' | 'fixed';
  start: number;
  starts: number;
  iteration: number;
  logLikelihood: number;
  /** Iteration limit of the current phase (for ETA estimates). */
  maxIterations?: number;
  /** Training points used in this phase (subset stages of large sets). */
  points?: number;
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

export const SEARCH_KINDS = ['full', 'staged', 'both'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

/**
 * θ·var bounds of a kernel reach `reach` over `nFeatures` features: every feature's floor is
 * reach/K, so that at the floors Σ_d θ_d·var_d = reach whatever the molecule's size. Two training
 * points a typical distance apart (Δ_d² ≈ 2 var_d along every feature) then correlate at most
 * e^(−2·reach) through the floors alone. One absolute floor per feature (θ ≥ 0.3) grows with K
 * instead: on capped serine (63 features) it gave Σ θ·var ≈ 9.5 per atom against ≈ 1.3 on
 * malondialdehyde (21 features), kernels of ~1e-8 between training points, and a prior mean
 * that decided every prediction (docs/study.md).
 */
export function kernelReachBounds(reach: number, nFeatures: number): [number, number] {
  if (!(reach > 0) || !Number.isFinite(reach)) throw new AtomgpError(`kernel reach must be a number > 0, got ${reach}`);
  if (!(Number.isInteger(nFeatures) && nFeatures >= 1)) throw new AtomgpError(`kernel reach: ${nFeatures} features`);
  return [reach / nFeatures, CEILING_THETA_VAR];
}
