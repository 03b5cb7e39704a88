/**
 * Gaussian-process atomic energies, in layers: model (record, composition, mean) ← kernel (the
 * compiled kernel) ← predict ← assess ← fit. Reading and writing model files is io/'s.
 */
export * from './assess/index.js';
export * from './fit/index.js';
export * from './kernel/index.js';
export * from './model/index.js';
export * from './predict/index.js';
