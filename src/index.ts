/**
 * atomgp as a library. The names a user needs most are exported here by name; every domain is also
 * a namespace (`import { dynamics } from 'atomgp'`) and a subpath (`import { … } from
 * 'atomgp/dynamics'`). Units are in the names: positions Å, features bohr and radians, energies
 * Ha (kcal/mol where the name says so), forces Ha/bohr, time fs, temperature K. See docs/api.md.
 */
export { VERSION } from './version.js';
export { AtomgpError } from './errors.js';

// Units and molecules
export {
  ANGSTROM_PER_BOHR,
  BOHR_PER_ANGSTROM,
  BOLTZMANN_KCAL_PER_MOL_PER_K,
  KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR,
  KCAL_PER_MOL_PER_HARTREE,
  KJ_PER_MOL_PER_HARTREE,
} from './chem/units.js';
export { massesAmu } from './chem/molecule.js';
export { PRESET_NAMES, type PresetMolecule, presetMolecule } from './chem/presets.js';
export { type BuiltMolecule, moleculeFromSmiles } from './chem/smiles.js';
export { moleculeFromXyz } from './io/molecule.js';

// Files
export { type Frame, formatExtxyz, parseXyz, readXyz, writeXyz } from './io/xyz.js';
export { type DlpolyConfig, parseConfig, readConfig } from './io/dlpoly.js';
export { formatModel, parseModel, readModel, writeModel } from './io/model.js';
export { loadModelSet, type ModelSet, readModelSet } from './io/modelset.js';
export { type PropertySet, readPropertyCsv } from './io/csv.js';

// Features
export { AlfFeaturizer, computeFeatures, featureCount } from './features/alf.js';
export { featurizeFrames } from './features/frames.js';

// Gaussian processes
export type { GpModel, KernelSpec, MeanSpec } from './gp/model/model.js';
export { AtomGp } from './gp/predict/predictor.js';
export { trainAtomModel } from './gp/fit/train.js';
export type { TrainInput, TrainResult } from './gp/fit/train-options.js';
export { trainAdditive } from './gp/fit/additive.js';
export { DEFAULT_PRIOR, parsePrior, type PriorSpec } from './gp/fit/priors.js';
export { checkConsistency } from './gp/assess/consistency.js';
export { leaveOneOutResiduals } from './gp/assess/loo.js';
export { type ValidationReport, validateModel } from './gp/assess/validate.js';

// Potentials
export { createResult, type Potential, type PotentialResult } from './potentials/potential.js';
export { GpPotential } from './potentials/gp.js';
export { BuiltinForceField, builtinForceFieldSpec } from './potentials/builtin-ff.js';
export { XtbPotential } from './potentials/xtb.js';
export { IpiDriverPotential, type IpiDriverSpec, openIpiDriver } from './potentials/ipi-driver.js';
export { type IpiClientOptions, runIpiClient } from './potentials/ipi-client.js';
export { AnalyticPotential } from './potentials/analytic.js';
export { createPotential, type PotentialSpec } from './potentials/factory.js';

// Dynamics and optimisation
export { MolecularDynamics } from './dynamics/md.js';
export { type IntegratorSettings, DEFAULT_INTEGRATOR_SETTINGS } from './dynamics/integrators.js';
export { type MdRunOptions, type MdSummary, runMd } from './dynamics/run.js';
export { runEnsemble } from './dynamics/ensemble.js';
export { DEFAULT_MONITOR_OPTIONS, type MonitorOptions, StabilityMonitor } from './dynamics/monitor.js';
export { DEFAULT_EQUILIBRATION } from './dynamics/equilibrate.js';
export { modelGlobalMinimum } from './dynamics/minimum.js';
export { fire, lbfgs, type OptimizeResult } from './optimize/index.js';

// Sampling and workflows
export { runWtmetad } from './sampling/wtmetad.js';
export { selectTrainingSets } from './sampling/select.js';
export { DEMO_DEFAULTS, type PipelineSettings, runPipeline } from './workflows/pipeline/index.js';
export { runRobustnessStudy } from './workflows/robustness/index.js';

// Every domain as a namespace
export * as analysis from './analysis/index.js';
export * as chem from './chem/index.js';
export * as dynamics from './dynamics/index.js';
export * as exec from './exec/index.js';
export * as features from './features/index.js';
export * as gp from './gp/index.js';
export * as io from './io/index.js';
export * as math from './math/index.js';
export * as optimize from './optimize/index.js';
export * as potentials from './potentials/index.js';
export * as report from './report/index.js';
export * as sampling from './sampling/index.js';
export * as workflows from './workflows/index.js';
