export * from './cv.js';
export * from './wtmetad.js';
export * from './bias.js';
export * from './select.js';
export * from './export.js';
