/**
 * Workflows: the end-to-end pipeline (`atomgp pipeline`, `demo`) and the robustness study, each a
 * set of stage functions with typed inputs, outputs and files, composed by a short runner; stage
 * fingerprints for honest resume.
 */
export * from './errors.js';
export * from './fingerprint.js';
export * from './md-summary.js';
export * from './refit-set.js';
export * from './train-set.js';
export * from './tasks.js';
export * from './pipeline/index.js';
export * from './robustness/index.js';
export * from './fidelity.js';
export * from './study/index.js';
