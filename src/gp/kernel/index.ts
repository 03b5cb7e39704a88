/** The one compiled-kernel contract: k(a, b), its gradient, Σ w k, rows, matrices and K w. */
export { CompiledKernel, compileLeaf, compileModelKernel, type ExpTerms, hasPeriodicKernel, kernelMatrix, TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED, wrapAngle } from './kernel.js';
export { alfFeatureUnits, type KernelChoice, type KernelSetup, setupKernel } from './setup.js';
