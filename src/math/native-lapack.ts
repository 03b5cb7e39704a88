/**
 * Optional native LAPACK for the trainer's two O(n³) steps, the Cholesky factorisation (dpotrf)
 * and the inverse from it (dpotri), called through koffi (the FFI already used for libxtb); plus
 * the solves from the factor (dpotrs) and two level-3 BLAS products (dsyrk, dsymm) with which
 * likelihood.ts builds the square terms of the kernel matrix and of its gradient.
 *
 * Why: OpenBLAS is several times faster than atomgp's own blocked wasm-SIMD kernels (linalg.ts;
 * docs/benchmarks.md, session 4), which stay as the fallback and as the reference the native path
 * is tested against.
 *
 * Layout: atomgp's matrices are row-major with the lower triangle meaningful. Read column-major,
 * that is the upper triangle of the transpose, so `uplo = 'U'` on the same buffer computes
 * A = UᵀU with U = Lᵀ: the row-major lower triangle receives exactly L (resp. the lower triangle
 * of A⁻¹). No copy, no transpose; the other triangle is neither read nor written. The BLAS
 * products are called through the Fortran symbols (dsyrk_, dsymm_: every BLAS has them, not every
 * one has CBLAS) with the same reading: a row-major p × q matrix is its column-major transpose.
 *
 * Selection (`backendSettings().lapack`, from ATOMGP_LAPACK; backend.ts):
 *   unset or `auto`  use libopenblas.so.0 when it loads (Debian: libopenblas0-pthread), else the
 *                    built-in kernels, silently;
 *   `off`            always the built-in kernels;
 *   a path or soname load that library (any LAPACK with the Fortran symbols dpotrf_, dpotri_,
 *                    dpotrs_ and, directly or from its BLAS, dsyrk_ and dsymm_);
 *                    failing to load it is an error, not a silent fallback.
 * Threads: `openblas_set_num_threads` (when the library has it) is set before every call to the
 * caller's thread count, so training workers (1 thread each) and the main thread (2) coexist.
 * Results agree with the built-in kernels to rounding (tested), not bit for bit.
 */
import { AtomgpError } from '../errors.js';
import { type KoffiLibrary, loadPinnedLibrary, requireKoffi } from '../util/ffi.js';
import { backendSettings, resetBackendSettings } from './backend.js';

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
  /** Solves (L Lᵀ) x = b in place of the n values `b`, from the lower factor `l` (row-major; dpotrs). */
  solveFromFactor(l: Float64Array, n: number, b: Float64Array, threads: number): void;
  /**
   * Lower triangle (with the diagonal) of C ← alpha · X Xᵀ + beta · C (dsyrk) for the n × k matrix X
   * stored by columns, i.e. `x` is row-major k × n with x[j·n + a] = X_aj, and the row-major
   * n × n `c`; the strict upper triangle of `c` is neither read nor written.
   */
  syrkLower(n: number, k: number, alpha: number, x: Float64Array, beta: number, c: Float64Array, threads: number): void;
  /**
   * c_j ← alpha · S b_j + beta · c_j (dsymm) for the m vectors b_j, c_j of length n stored one after
   * the other (`b`, `c` row-major m × n) and the symmetric n × n `s` of which only the lower
   * triangle (with the diagonal, row-major) is read.
   */
  symmLower(n: number, m: number, alpha: number, s: Float64Array, b: Float64Array, beta: number, c: Float64Array, threads: number): void;
}

type Potrf = (uplo: string, n: Int32Array, a: Float64Array, lda: Int32Array, info: Int32Array) => void;
type Potrs = (uplo: string, n: Int32Array, nrhs: Int32Array, a: Float64Array, lda: Int32Array, b: Float64Array, ldb: Int32Array, info: Int32Array) => void;
type Syrk = (
  uplo: string,
  trans: string,
  n: Int32Array,
  k: Int32Array,
  alpha: Float64Array,
  a: Float64Array,
  lda: Int32Array,
  beta: Float64Array,
  c: Float64Array,
  ldc: Int32Array,
) => void;
type Symm = (
  side: string,
  uplo: string,
  m: Int32Array,
  n: Int32Array,
  alpha: Float64Array,
  a: Float64Array,
  lda: Int32Array,
  b: Float64Array,
  ldb: Int32Array,
  beta: Float64Array,
  c: Float64Array,
  ldc: Int32Array,
) => void;

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
  const setting = backendSettings().lapack;
  if (setting === 'off' || setting === 'none' || setting === '0') return { reason: 'switched off (ATOMGP_LAPACK=off)' };
  const explicit = setting !== 'auto' && setting !== '';
  const fail = (reason: string): { reason: string } => {
    if (explicit) throw new AtomgpError(`ATOMGP_LAPACK=${setting}: ${reason} (use ATOMGP_LAPACK=off for the built-in kernels)`);
    return { reason };
  };
  const { koffi, reason } = requireKoffi();
  if (!koffi) return fail(reason!);
  const soname = explicit ? setting : 'libopenblas.so.0';
  // OpenBLAS's idle worker threads spin for 2^28 cycles (≈0.1 s) after each call, which takes the
  // second core from the JavaScript passes that follow on the linalg team; 2^20 cycles (≈0.4 ms)
  // still bridges the gaps inside dpotrf/dpotri (docs/benchmarks.md). Read when the library
  // initialises, i.e. only if nothing in the process loaded it before; a user's value wins.
  if (process.env.OPENBLAS_THREAD_TIMEOUT === undefined) process.env.OPENBLAS_THREAD_TIMEOUT = '20';
  let lib: KoffiLibrary;
  try {
    lib = loadPinnedLibrary(koffi, soname);
  } catch (e) {
    return fail(`${soname} cannot be loaded (${(e as Error).message.split('\n')[0]}); on Debian install libopenblas0-pthread`);
  }
  let potrf: Potrf;
  let potri: Potrf;
  let potrs: Potrs;
  let syrk: Syrk;
  let symm: Symm;
  try {
    potrf = lib.func('void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, _Out_ int *info)') as Potrf;
    potri = lib.func('void dpotri_(const char *uplo, const int *n, double *a, const int *lda, _Out_ int *info)') as Potrf;
    potrs = lib.func(
      'void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda, double *b, const int *ldb, _Out_ int *info)',
    ) as Potrs;
    syrk = lib.func(
      'void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha, const double *a, const int *lda, const double *beta, double *c, const int *ldc)',
    ) as Syrk;
    symm = lib.func(
      'void dsymm_(const char *side, const char *uplo, const int *m, const int *n, const double *alpha, const double *a, const int *lda, const double *b, const int *ldb, const double *beta, double *c, const int *ldc)',
    ) as Symm;
  } catch (e) {
    return fail(`${soname} lacks one of dpotrf_, dpotri_, dpotrs_, dsyrk_, dsymm_ (${(e as Error).message.split('\n')[0]})`);
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
  const i1 = new Int32Array(1);
  const alphaBox = new Float64Array(1);
  const betaBox = new Float64Array(1);
  const need = (what: string, have: number, want: number): void => {
    if (have < want) throw new AtomgpError(`native BLAS: ${what} has ${have} values, ${want} needed`);
  };
  return {
    reason: `using ${description}`,
    lapack: {
      description,
      choleskyLower: (a, n, threads) => call(potrf, a, n, threads),
      inverseLowerFromFactor: (l, n, threads) => call(potri, l, n, threads),
      solveFromFactor: (l, n, b, threads) => {
        need('factor', l.length, n * n);
        need('right-hand side', b.length, n);
        if (n === 0) return;
        setThreads?.(Math.max(1, threads));
        nBox[0] = n;
        i1[0] = 1;
        info[0] = 0;
        potrs('U', nBox, i1, l, nBox, b, nBox, info);
        if (info[0] !== 0) throw new AtomgpError(`native LAPACK (${description}): dpotrs info ${info[0]}`);
      },
      syrkLower: (n, k, alpha, x, beta, c, threads) => {
        if (n === 0) return;
        need('X', x.length, n * k);
        need('C', c.length, n * n);
        setThreads?.(Math.max(1, threads));
        // `x` is X column-major (leading dimension n); C's column-major upper triangle is the row-major lower one.
        nBox[0] = n;
        i1[0] = k;
        alphaBox[0] = alpha;
        betaBox[0] = beta;
        syrk('U', 'N', nBox, i1, alphaBox, x, nBox, betaBox, c, nBox);
      },
      symmLower: (n, m, alpha, s, b, beta, c, threads) => {
        if (n === 0 || m === 0) return;
        need('S', s.length, n * n);
        need('B', b.length, n * m);
        need('C', c.length, n * m);
        setThreads?.(Math.max(1, threads));
        // Column-major, `b` and `c` are n × m matrices (leading dimension n): C = S B, S's upper triangle.
        i1[0] = m;
        nBox[0] = n;
        alphaBox[0] = alpha;
        betaBox[0] = beta;
        symm('L', 'U', nBox, i1, alphaBox, s, nBox, b, nBox, betaBox, c, nBox);
      },
    },
  };
}

/** Forget the loaded library and the settings (tests switch ATOMGP_LAPACK). */
export function resetNativeLapackForTests(): void {
  cached = undefined;
  resetBackendSettings();
}
