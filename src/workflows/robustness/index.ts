/** The prior-mean robustness study (`atomgp robustness`): refits, start, restoring forces, errors, the MD matrix. */

export { leaveOneOutResiduals } from '../../gp/assess/loo.js';
export { type ErrorEntry, leaveOneOutErrors, validationErrors } from './errors.js';
export { bondLabel, type MatrixEntry, type MatrixOptions, type MatrixProgress, runStabilityMatrix, type StudyRow } from './matrix.js';
export { type RefitOptions, refitStage } from './refit.js';
export { type RestoringEntry, restoringEntry } from './restoring.js';
export { runRobustnessStudy } from './run.js';
export * from './settings.js';
export { lowestTrainingGeometry, modelSetMinimum, type StartGeometry, studyStart, type TrainingStart } from './start.js';
export { formatRelaxationTable, formatStabilityTable, formatStudyText, type SummaryCell, studyJsonOutput, summariseTable } from './tables.js';
