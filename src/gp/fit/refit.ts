/**
 * Refitting a model from the training data it carries (a model file holds its training x and y),
 * with another prior mean, kernel or likelihood. Default: the hyperparameters are re-optimised for
 * the new prior (warm-started from the model's θ), because the prior changes the residual y − m
 * and hence the likelihood-optimal θ: the result is what training from the same data with that
 * prior gives. `keepHyperparameters` keeps θ and σ² and only recomputes the mean and the weights
 * (one Cholesky): the controlled comparison of priors with identical lengthscales.
 */
import { AtomgpError } from '../../errors.js';
import { checkConsistency } from '../assess/consistency.js';
import { hasPeriodicKernel } from '../kernel/kernel.js';
import type { KernelChoice } from '../kernel/setup.js';
import { compositionNames, parseComposition } from '../model/composition.js';
import { type GpModel, metadataValue, type PeriodicPrefactor, statedNoise } from '../model/model.js';

export { statedNoise } from '../model/model.js';
import type { LikelihoodKind } from './likelihood.js';
import type { PriorSpec } from './priors.js';
import { trainAtomModel } from './train.js';
import type { OptimiserKind, TrainInput, TrainProgress, TrainResult } from './train-options.js';

export interface RefitOptions {
  /** New prior mean (default: keep the model's stored mean exactly). */
  prior?: PriorSpec | string;
  /** Kernel (default: the model's kernels and composition). Not allowed with keepHyperparameters. */
  kernel?: KernelChoice;
  /** Default: the model's `# likelihood_type`, else marginal. */
  likelihood?: LikelihoodKind;
  restarts?: number;
  seed?: number;
  /**
   * Keep θ and σ² (from `# noise`, else `# nugget`, else 1e-10) and only recompute the mean and the
   * weights. Default false: θ is re-optimised for the new prior, warm-started from the model's θ.
   */
  keepHyperparameters?: boolean;
  /** σ² when re-optimising (default: the model's, as for keepHyperparameters). */
  noise?: number;
  optimiseNoise?: boolean;
  optimiser?: OptimiserKind;
  pso?: TrainInput['pso'];
  maxIterations?: number;
  subsample?: number;
  /**
   * Periodic convention of the input model; default detected by the self-consistency check. The
   * refit is always written in DL_FFLUX's convention (4θ), periodic θ rescaled accordingly.
   */
  periodicPrefactor?: PeriodicPrefactor;
  onProgress?: (p: TrainProgress) => void;
}

function modelLabel(model: GpModel): string {
  return model.source ?? `${model.systemName} ${model.atom} ${model.property} model`;
}

/**
 * Refit `model` from its embedded training x/y with another prior mean (or kernel, likelihood),
 * keeping its system, atom, ALF and property. See the module comment for the two modes.
 */
export function refitFromModel(model: GpModel, opts: RefitOptions = {}): TrainResult {
  const label = modelLabel(model);
  if (!(model.nTrain > 0) || model.trainX.length !== model.nTrain * model.nFeatures || model.trainY.length !== model.nTrain) {
    throw new AtomgpError(`cannot refit: ${label} has no [training_data.x]`);
  }
  if (opts.keepHyperparameters && opts.kernel !== undefined) {
    throw new AtomgpError(`refit of ${label}: keepHyperparameters keeps the model's kernel; do not give another kernel`);
  }
  const kernel: KernelChoice = opts.kernel ?? {
    kernels: model.kernels.map((k) => ({ name: k.name, type: k.type, activeDims: [...k.activeDims] })),
    composition: model.compositionText,
  };
  // The model's periodic convention (GPyTorch files use 2θ); the refit is written in DL_FFLUX's
  // 4θ convention, with periodic θ rescaled by p/4 so that the kernel itself is unchanged.
  const periodicPrefactor =
    opts.periodicPrefactor ?? (hasPeriodicKernel(model) ? checkConsistency(model).periodicPrefactor : 4);
  const stated = metadataValue(model, 'likelihood_type')?.split(/\s+/)[0];
  const likelihood: LikelihoodKind = opts.likelihood ?? (stated === 'concentrated' ? 'concentrated' : 'marginal');
  const noise = opts.noise ?? statedNoise(model);
  // θ of the model per flat term, in the trainer's term order (composition order of the leaves).
  let modelTheta: number[] | undefined;
  if (opts.kernel === undefined) {
    const byName = new Map(model.kernels.map((k) => [k.name, k]));
    modelTheta = [];
    for (const name of compositionNames(parseComposition(model.compositionText))) {
      const leaf = byName.get(name)!;
      const scale = leaf.type === 'periodic' ? periodicPrefactor / 4 : 1;
      modelTheta.push(...leaf.theta.map((t) => t * scale));
    }
  }
  const keptPrior = metadataValue(model, 'prior_mean');
  const input: TrainInput = {
    x: model.trainX,
    y: model.trainY,
    nFeatures: model.nFeatures,
    kernel,
    likelihood,
    noise,
    periodicPrefactor: 4,
    systemName: model.systemName,
    atom: model.atom,
    property: model.property,
    alf: [...model.alf],
    nAtoms: model.nAtoms,
    notes: [`refit_from ${model.source ?? 'model'}${opts.keepHyperparameters ? ' hyperparameters_kept' : ''}`],
    ...(opts.prior !== undefined
      ? { prior: opts.prior }
      : { meanSpec: model.mean, meanMetadata: [`prior_mean ${keptPrior ?? `kept (${model.mean.type})`}`] }),
    ...(opts.restarts !== undefined ? { restarts: opts.restarts } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.optimiseNoise !== undefined ? { optimiseNoise: opts.optimiseNoise } : {}),
    ...(opts.optimiser !== undefined ? { optimiser: opts.optimiser } : {}),
    ...(opts.pso !== undefined ? { pso: opts.pso } : {}),
    ...(opts.maxIterations !== undefined ? { maxIterations: opts.maxIterations } : {}),
    ...(opts.subsample !== undefined ? { subsample: opts.subsample } : {}),
    ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
  };
  if (opts.keepHyperparameters) {
    input.fixedHyperparameters = { theta: modelTheta!, noise };
  } else if (modelTheta) {
    input.initialTheta = modelTheta;
  }
  return trainAtomModel(input);
}
