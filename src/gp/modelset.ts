/** Compatibility path for src/study and its tests (moved on another branch): delete at merge. */
export * from '../io/modelset.js';
