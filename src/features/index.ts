export * from './alf.js';
export * from './frames.js';
export * from './geometry.js';
