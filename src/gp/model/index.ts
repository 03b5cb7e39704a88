/** The GP model record (the `.model` file's content), kernel compositions and prior means. */
export { compositionNames, formatComposition, parseComposition, sameComposition } from './composition.js';
export { addMeanGradient, evaluateMean, evaluateMeanRows } from './mean.js';
export { type Composition, type GpModel, KERNEL_TYPES, type KernelSpec, type KernelType, type MeanSpec, metadataValue, type PeriodicPrefactor, statedNoise } from './model.js';
export { ContactRepulsion, parseRepulsion, REPULSION_KINDS, type RepulsionKind, zblPair } from './repulsion.js';
export { type SyntheticKernel, type SyntheticMean, type SyntheticMolecule, type SyntheticOptions, seededUniform, syntheticMolecule } from './synthetic.js';
