/** The pipeline (`atomgp pipeline`, `atomgp demo`): stages, their fingerprints and the runner. */
export { type DataSets, dataSettings, selectStage } from './data.js';
export { mdStage } from './md.js';
export { buildMolecule, formulaOf, type RelaxedMolecule, referenceSpec, relaxStage, torsionCvs } from './molecule.js';
export { formatDemoSummary, jsonSummary } from './report.js';
export { RECORD_FILES, type StageContext } from './resume.js';
export { runPipeline } from './run.js';
export { type SamplingResult, sampleStage } from './sample.js';
export * from './settings.js';
export { type PriorModels, type TrainingResult, trainStage } from './train.js';
export { validateStage } from './validate.js';
