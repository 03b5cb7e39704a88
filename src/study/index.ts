/** Studies built from the other domains: the prior-mean robustness study (`atomgp robustness`). */
export * from './robustness.js';
