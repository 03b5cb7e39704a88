/**
 * Optional native LAPACK for the trainer's two O(n³) steps, the Cholesky factorisation (dpotrf)
 * and the inverse from it (dpotri), called through koffi (the FFI already used for libxtb).
 *
 * Why: on the 2-core AVX-512 machine of docs/benchmarks.md, OpenBLAS factorises glycine's
 * 2130 × 2130 kernel matrix in 40 ms and inverts it in 70 ms on two threads, against 299 and
 * 239 ms for atomgp's own blocked wasm-SIMD kernels (linalg.ts), which stay as the fallback and as
 * the reference the native path is tested against.
 *
 * Layout: atomgp's matrices are row-major with the lower triangle meaningful. Read column-major,
 * that is the upper triangle of the transpose, so `uplo = 'U'` on the same buffer computes
 * A = UᵀU with U = Lᵀ: the row-major lower triangle receives exactly L (resp. the lower triangle
 * of A⁻¹). No copy, no transpose; the other triangle is neither read nor written.
 *
 * Selection (environment variable ATOMGP_LAPACK):
 *   unset or `auto`  use libopenblas.so.0 when it loads (Debian: libopenblas0-pthread), else the
 *                    built-in kernels, silently;
 *   `off`            always the built-in kernels;
 *   a path or soname load that library (any LAPACK with the Fortran symbols dpotrf_/dpotri_);
 *                    failing to load it is an error, not a silent fallback.
 * Threads: `openblas_set_num_threads` (when the library has it) is set before every call to the
 * caller's thread count, so training workers (1 thread each) and the main thread (2) coexist.
 * Results agree with the built-in kernels to rounding (tested), not bit for bit.
 */
import { createRequire } from 'node:module';
import { AtomgpError } from '../errors.js';

export interface NativeLapack {
  /** What was loaded, for model metadata and reports: e.g. `OpenBLAS 0.3.21 SkylakeX (libopenblas.so.0)`. */
  readonly description: string;
  /**
   * In-place Cholesky A = L Lᵀ of the lower triangle of the row-major n × n `a` on `threads`
   * threads; returns LAPACK's info (0, or the 1-based order of the leading minor that is not
   * positive definite).
   */
  choleskyLower(a: Float64Array, n: number, threads: number): number;
  /** Lower triangle of A⁻¹ in place of the lower Cholesky factor in `l` (row-major); LAPACK's info. */
  inverseLowerFromFactor(l: Float64Array, n: number, threads: number): number;
}

interface KoffiLib {
  func(definition: string): (...args: unknown[]) => unknown;
}
interface Koffi {
  load(path: string): KoffiLib;
}

type Potrf = (uplo: string, n: Int32Array, a: Float64Array, lda: Int32Array, info: Int32Array) => void;

let cached: { lapack?: NativeLapack; reason: string } | undefined;

/** The native LAPACK selected by ATOMGP_LAPACK, or undefined with the reason (see the module comment). */
export function nativeLapackStatus(): { lapack?: NativeLapack; reason: string } {
  if (cached) return cached;
  cached = load();
  return cached;
}

/** The native LAPACK, or undefined when it is switched off or not installed. */
export function nativeLapack(): NativeLapack | undefined {
  return nativeLapackStatus().lapack;
}

function load(): { lapack?: NativeLapack; reason: string } {
  const setting = (process.env.ATOMGP_LAPACK ?? 'auto').trim();
  if (setting === 'off' || setting === 'none' || setting === '0') return { reason: 'switched off (ATOMGP_LAPACK=off)' };
  const explicit = setting !== 'auto' && setting !== '';
  const fail = (reason: string): { reason: string } => {
    if (explicit) throw new AtomgpError(`ATOMGP_LAPACK=${setting}: ${reason} (use ATOMGP_LAPACK=off for the built-in kernels)`);
    return { reason };
  };
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    return fail(`the npm package 'koffi' (FFI) cannot be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
  const soname = explicit ? setting : 'libopenblas.so.0';
  let lib: KoffiLib;
  try {
    lib = koffi.load(soname);
  } catch (e) {
    return fail(`${soname} cannot be loaded (${(e as Error).message.split('\n')[0]}); on Debian install libopenblas0-pthread`);
  }
  let potrf: Potrf;
  let potri: Potrf;
  try {
    potrf = lib.func('void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, _Out_ int *info)') as Potrf;
    potri = lib.func('void dpotri_(const char *uplo, const int *n, double *a, const int *lda, _Out_ int *info)') as Potrf;
  } catch (e) {
    return fail(`${soname} has no dpotrf_/dpotri_ (${(e as Error).message.split('\n')[0]})`);
  }
  const optional = (definition: string): ((...args: unknown[]) => unknown) | undefined => {
    try {
      return lib.func(definition);
    } catch {
      return undefined;
    }
  };
  const setThreads = optional('void openblas_set_num_threads(int n)');
  const config = optional('const char *openblas_get_config()');
  const core = optional('const char *openblas_get_corename()');
  let description = soname;
  if (config) {
    const words = String(config()).split(/\s+/);
    description = `${words.slice(0, 2).join(' ')}${core ? ` ${String(core())}` : ''} (${soname})`;
  }
  const nBox = new Int32Array(1);
  const info = new Int32Array(1);
  const call = (f: Potrf, a: Float64Array, n: number, threads: number): number => {
    if (a.length < n * n) throw new AtomgpError(`native LAPACK: buffer of ${a.length} values for a ${n} × ${n} matrix`);
    if (n === 0) return 0;
    setThreads?.(Math.max(1, threads));
    nBox[0] = n;
    info[0] = 0;
    f('U', nBox, a, nBox, info);
    if (info[0]! < 0) throw new AtomgpError(`native LAPACK (${description}): illegal argument ${-info[0]!}`);
    return info[0]!;
  };
  return {
    reason: `using ${description}`,
    lapack: {
      description,
      choleskyLower: (a, n, threads) => call(potrf, a, n, threads),
      inverseLowerFromFactor: (l, n, threads) => call(potri, l, n, threads),
    },
  };
}

/** Forget the loaded library (tests switch ATOMGP_LAPACK). */
export function resetNativeLapackForTests(): void {
  cached = undefined;
}
