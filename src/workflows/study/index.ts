/** `atomgp study`: the pipeline on a list of molecules, the NVT matrix, fidelity against the reference. */
export { studyHtml } from './html.js';
export { runStudy, type StudyCell, type StudyMolecule, type StudyRun, type StudyRunFidelity, type StudySummary, studyTable } from './run.js';
export { moleculeSettings, readStudyConfig, STUDY_DEFAULTS, type StudyPipelineSettings, type StudySettings, validateStudySettings } from './settings.js';
export { type DistortionResult, type DistortionRow, distortionRows, distortionsStage } from './distortions.js';
export { type MoleculeObservables, observablesStage, type RunObservables } from './observables.js';
export { CONFORMER_STARTS, type OptimisationEntry, type OptimisationResult, optimisationStage } from './optimisation.js';
export { moleculeRamachandran, type RamachandranMap } from './ramachandran.js';
export { type RefinementRound, type RefinementSettings, refinementStage } from './refine.js';
