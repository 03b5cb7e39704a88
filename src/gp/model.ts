/** Compatibility path for src/study, src/pipeline and their tests (moved on another branch): delete at merge. */
export * from './model/model.js';
