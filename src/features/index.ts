export * from './alf.js';
