/**
 * Numerical infrastructure that knows nothing about Gaussian processes or files: dense linear
 * algebra behind one back-end choice (native OpenBLAS, wasm SIMD, TypeScript; a worker-thread
 * team), the bounded optimisers (L-BFGS-B, particle swarm), error statistics and small 3 × 3
 * helpers.
 */
export { type BackendSettings, backendSettings, configureBackend, defaultThreads, MAX_THREADS, resetBackendSettings, settingsFromEnvironment } from './backend.js';
export { bindDense, type DenseBackend, type DenseOptions, type DensePlan, planDense } from './dense.js';
export { type LbfgsbOptions, type LbfgsbResult, minimizeBounded, type Objective } from './lbfgsb.js';
export {
  choleskyInPlace,
  choleskySolve,
  choleskyWithJitter,
  inverseFromCholesky,
  inverseLowerFromCholesky,
  invertLowerTransposed,
  type JitterOptions,
  logDetFromCholesky,
  matVec,
  solveLower,
  solveLowerTransposed,
} from './linalg.js';
export { closeLinalgTeam, type Crew, LinalgTeam, linalgTeam, registerJob, soloCrew, type TeamJob } from './linalg-team.js';
export { allocateMatrices, kernelFor, sharedWasmAvailable, wasmAvailable } from './linalg-wasm.js';
export { type NativeLapack, nativeLapack, nativeLapackStatus } from './native-lapack.js';
export { minimizePso, PSO_DEFAULTS, type PsoOptions, type PsoResult } from './pso.js';
export { type ErrorStatistics, errorStatistics, nearestRankPercentiles, S_CURVE_PERCENTILES, sortedAbsoluteErrors } from './stats.js';
export { inverse3, jacobiEigenSymmetric } from './small.js';
