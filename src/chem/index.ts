export * from './units.js';
export * from './elements.js';
export * from './molecule.js';
export * from './connectivity.js';
export * from './smiles.js';
export * from './presets.js';
export * from './alf-assign.js';
