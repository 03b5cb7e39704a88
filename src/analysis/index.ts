export * from './distort.js';
export * from './restoring.js';
export * from './scurve.js';
export * from './dihedrals.js';
export * from './kabsch.js';
export * from './traces.js';
export * from './conformers.js';
export * from './stability.js';
