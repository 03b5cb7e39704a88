/** Assessment: validation errors and S-curves, leave-one-out residuals, the self-consistency check. */
export { assertConsistent, CONSISTENCY_THRESHOLD, type ConsistencyReport, type ConventionResidual, checkConsistency } from './consistency.js';
export { leaveOneOutResiduals } from './loo.js';
export { errorReport, formatReport, type ValidationReport, validateModel } from './validate.js';
