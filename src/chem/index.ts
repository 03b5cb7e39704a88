export * from './units.js';
export * from './elements.js';
