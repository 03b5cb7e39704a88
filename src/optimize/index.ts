/** Geometry optimisation: L-BFGS and FIRE on any Potential. */
export * from './common.js';
export * from './lbfgs.js';
export * from './fire.js';
