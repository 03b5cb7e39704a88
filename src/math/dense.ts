/**
 * The dense linear-algebra back end of one problem, chosen in one place (from backend.ts's
 * settings unless the caller overrides them): `native` (OpenBLAS/LAPACK), `wasm` (atomgp's
 * blocked SIMD kernels, on a team of threads when the problem is large enough) or `js` (the same
 * algorithms in TypeScript). The result plugs straight into linalg.ts (`choleskyWithJitter`,
 * `inverseLowerFromCholesky` take its `team`, `lapack` and `threads`).
 *
 * Choosing is two steps because the wasm kernels and the team need the matrices in a (shared)
 * wasm memory: `planDense` says how to allocate, `bindDense` looks at what was allocated.
 */
import { defaultThreads } from './backend.js';
import { type LinalgTeam, linalgTeam } from './linalg-team.js';
import { kernelFor, sharedWasmAvailable } from './linalg-wasm.js';
import { type NativeLapack, nativeLapack } from './native-lapack.js';

export interface DenseOptions {
  /** Threads (default `defaultThreads()`). Results of the built-in kernels are bit-identical for any number. */
  threads?: number;
  /** Smallest n that uses more than one thread. */
  minThreadedN: number;
  /** Native LAPACK (default `nativeLapack()`, per the settings); false: never. */
  lapack?: NativeLapack | false;
}

export interface DensePlan {
  n: number;
  threads: number;
  /** Allocate the matrices in a shared wasm memory (`allocateMatrices(…, { shared })`). */
  shared: boolean;
  lapack: NativeLapack | undefined;
}

export interface DenseBackend {
  readonly kind: 'native' | 'wasm' | 'js';
  readonly lapack: NativeLapack | undefined;
  /** Threads of the native calls (native) or of the team (wasm). */
  readonly threads: number;
  /** The team sharing the built-in kernels' work, when there is one. */
  readonly team: LinalgTeam | undefined;
  /** For model metadata (`# linalg`): `native OpenBLAS_… threads=2`, `builtin-wasm-simd threads=2`, `builtin-js threads=1`. */
  readonly description: string;
}

/** How to allocate the matrices of an n × n problem. */
export function planDense(n: number, opts: DenseOptions): DensePlan {
  const threads = opts.threads ?? defaultThreads();
  const shared = threads > 1 && n >= opts.minThreadedN && sharedWasmAvailable();
  const lapack = opts.lapack === undefined ? nativeLapack() : opts.lapack || undefined;
  return { n, threads, shared, lapack };
}

/** The back end for matrices allocated per `plan` (`matrix`: one of them). */
export function bindDense(plan: DensePlan, matrix: Float64Array): DenseBackend {
  const kern = kernelFor(matrix);
  const team = plan.shared && kern?.shared ? linalgTeam(plan.threads) : undefined;
  if (plan.lapack) {
    const threads = plan.shared ? plan.threads : 1;
    return { kind: 'native', lapack: plan.lapack, threads, team, description: `native ${plan.lapack.description.replace(/\s+/g, '_')} threads=${threads}` };
  }
  const threads = team ? team.threads : 1;
  return { kind: kern ? 'wasm' : 'js', lapack: undefined, threads, team, description: `builtin${kern ? '-wasm-simd' : '-js'} threads=${threads}` };
}
