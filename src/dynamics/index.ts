/** Molecular dynamics: state, integrators, the driver with observers, monitor, reporters, checkpoints, runs and ensembles. */
export * from './state.js';
export * from './integrators.js';
export * from './md.js';
export * from './monitor.js';
export * from './reporters.js';
export * from './checkpoint.js';
export * from './run.js';
export * from './ensemble.js';
export * from './output-strides.js';
