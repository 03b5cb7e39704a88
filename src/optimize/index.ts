/** Geometry optimisation: L-BFGS (optionally preconditioned by Lindh's model Hessian) and FIRE on any Potential. */
export * from './common.js';
export * from './lbfgs.js';
export * from './fire.js';
export * from './model-hessian.js';
