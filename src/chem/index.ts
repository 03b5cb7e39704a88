export * from './units.js';
export * from './elements.js';
export * from './molecule.js';
export * from './connectivity.js';
