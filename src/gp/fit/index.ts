/** Fitting: likelihoods, prior means, the per-atom trainer and its strategies, refits, the additive GP and the worker pool. */
export { type AdditiveAtomInput, additiveFeatures, type AdditiveProgress, type AdditiveTrainInput, type AdditiveTrainResult, predictAdditiveTotals, trainAdditive } from './additive.js';
export { AdditiveLikelihood, type AdditiveProblem, interleaveAtoms } from './additive-likelihood.js';
export { DEFAULT_SIGMA_ENERGY_HA, DEFAULT_SIGMA_FORCE_HA_PER_BOHR, type ForceFitFrame, type ForceFitOptions, type ForceFitResult, refitAdditiveWithForces } from './additive-forces.js';
export { type EvaluatorOptions, LikelihoodEvaluator, type LikelihoodKind, type LikelihoodProblem, type LikelihoodResult, parameterCount } from './likelihood.js';
export { DEFAULT_PRIOR, type FittedPrior, fitPrior, formatPrior, PRIOR_NAMES, parsePrior, type PriorSpec } from './priors.js';
export { refitFromModel, type RefitOptions } from './refit.js';
export { OffsetLog } from './search/space.js';
export { trainAtomModel } from './train.js';
export { type OptimiserKind, SEARCH_KINDS, type SearchKind, type TrainInput, type TrainProgress, type TrainResult } from './train-options.js';
export { type ParallelOptions, runTrainTask, runTrainTasks, type TrainTask } from './train-parallel.js';
