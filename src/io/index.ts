export * from './atomic-write.js';
export * from './xyz.js';
export * from './dlpoly.js';
export * from './model.js';
export * from './validation-sets.js';
export * from './molecule.js';
export * from './ipi.js';
