/**
 * GP log-likelihoods and their analytic gradients with respect to log-hyperparameters, for
 * kernels that are products of exponential leaves (rbf, rbf-cyclic, periodic; see kernel.ts):
 *   R_ab = exp(−Σ_t c_t h_t(x_a − x_b)),  c_t = p_t θ_t  (p = 1, or the periodic prefactor).
 * Parameters φ_t = log θ_t (one per term of the flat product), then optionally φ_σ = log σ².
 *
 * Conventions (checked against FEREBUS-v7's `# likelihood` lines and its "best cost" = −value;
 * see test/gp/likelihood.test.ts):
 * - marginal:      K = R + σ² I (signal variance fixed to 1, as in FEREBUS files), r = y − m(X),
 *                  log p = −½ rᵀK⁻¹r − ½ log|K| − (n/2) log 2π.
 * - concentrated:  K = σ_f² (R + σ² I) with σ_f² = rᵀ(R + σ²I)⁻¹r / n substituted back and the
 *                  constant terms dropped: ℓ = −(n/2) log σ_f² − ½ log|R + σ²I|.
 *                  FEREBUS also re-estimates a constant mean by generalised least squares,
 *                  μ = 1ᵀR⁻¹y / 1ᵀR⁻¹1, at every evaluation (`glsConstantMean`); atomgp's own
 *                  priors keep the mean fixed.
 * Gradient: ∂ℓ/∂φ_t = ½ tr((α αᵀ/s − K⁻¹) ∂K/∂φ_t) with ∂R_ab/∂φ_t = −c_t h_t(Δ_ab) R_ab, where
 * α = K⁻¹r and s = 1 (marginal) or σ_f² (concentrated). With W = ααᵀ/s − K⁻¹ the trace is a sum
 * over pairs a > b of W_ab R_ab h_t(Δ_ab): O(n²) per term after one O(n³) inverse. The h_t values
 * are recomputed from X in the pair loop (a subtraction and a square are cheaper than streaming a
 * stored n(n−1)/2 tensor per dimension, which for a 2000-point set would be ~0.9 GB). For the GLS mean the
 * gradient needs no extra term: μ maximises ℓ, so ∂ℓ/∂μ = 0.
 *
 * With the native LAPACK (native-lapack.ts) the square (rbf) terms go through level-3 BLAS as well:
 * with the inputs of the square terms centred (X̃, column means removed: differences unchanged,
 * much less cancellation) and scaled, S = X̃ C X̃ᵀ (dsyrk) gives Σ_t c_t (x_at − x_bt)² =
 * S_aa + S_bb − 2 S_ab, clamped at ≥ 0; the wrapped and periodic terms keep their pair loops in the
 * same accumulator before the exp. For the gradient, with M = W ∘ R (zero diagonal) and m = M·1,
 * Σ_{a>b} M_ab (x_a − x_b)² = Σ_a x_a (x_a m_a − (M x)_a), so one dsymm of M with [X̃ | 1]
 * gives every square term at once. The kernel matrix is built straight into the factor's buffer
 * (no copy before dpotrf), the inverse overwrites the factor (dpotri in place) and the solves use
 * dpotrs. Results agree with the built-in path to rounding (test/gp/native-lapack.test.ts).
 *
 * A wrapped term whose inputs span at most π (max − min over the problem's points) never wraps, so
 * it is evaluated as a square term (`evaluatedKinds`): the same function, but through BLAS instead
 * of a pair loop. In ALF features the wrapped ones are azimuths of neighbours that seldom cross ±π,
 * so most of them qualify (docs/benchmarks.md, session 6).
 */
import { AtomgpError } from '../../errors.js';
import { type ExpTerms, TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED } from '../kernel/kernel.js';
import { bindDense, type DenseBackend, planDense } from '../../math/dense.js';
import { type LinalgTeam, soloCrew } from '../../math/linalg-team.js';
import { allocateMatrices } from '../../math/linalg-wasm.js';
import { choleskySolve, choleskyWithJitter, inverseLowerFromCholesky, logDetFromCholesky } from '../../math/linalg.js';
import type { NativeLapack } from '../../math/native-lapack.js';
import { gradientRowsCrew, JOB_GRADIENT_ROWS, JOB_GRADIENT_WEIGHTS, JOB_KERNEL_EXP, JOB_KERNEL_ROWS, kernelExpRowsCrew, kernelRowsCrew } from './likelihood-rows.js';

export type LikelihoodKind = 'marginal' | 'concentrated';

const LOG_2PI = Math.log(2 * Math.PI);
const PI = Math.PI;

export interface LikelihoodProblem {
  /** Training inputs, row-major n × nFeatures. */
  x: Float64Array;
  y: Float64Array;
  n: number;
  nFeatures: number;
  /** Flat product of exponential terms; only `dim` and `kind` are read (coefficients come from φ). */
  terms: Pick<ExpTerms, 'dim' | 'kind'>;
  /** p_t with c_t = p_t θ_t: 1 for rbf terms, the periodic prefactor (2 or 4) for periodic ones. */
  prefactor: Float64Array;
  kind: LikelihoodKind;
  /** Prior mean at the training points, m(X) (ignored when glsConstantMean). */
  meanValues: Float64Array;
  /** FEREBUS's concentrated likelihood: constant mean re-estimated by GLS at each evaluation. */
  glsConstantMean?: boolean;
  /** σ² added to the diagonal when the noise is not a parameter (FEREBUS's nugget, default 1e-10). */
  noise: number;
  /** When true the last parameter is log σ². */
  optimiseNoise: boolean;
}

export interface LikelihoodResult {
  /** Log-likelihood in the convention above (maximised). */
  value: number;
  /** Extra diagonal jitter that the Cholesky needed beyond σ² (0 normally). */
  jitter: number;
  /** Constant mean used (GLS) when glsConstantMean, otherwise NaN. */
  glsMean: number;
  /** σ_f² for the concentrated likelihood, 1 for marginal. */
  signalVariance: number;
}

/** Number of parameters: one per term, plus one for the noise when optimised. */
export function parameterCount(p: Pick<LikelihoodProblem, 'terms' | 'optimiseNoise'>): number {
  return p.terms.dim.length + (p.optimiseNoise ? 1 : 0);
}

/**
 * Smallest n for which an evaluation is shared between threads: below it the synchronisation
 * (about 3 n/64 barriers per Cholesky) eats the gain (bench/likelihood.ts; docs/benchmarks.md);
 * 300 leaves a margin for load.
 */
export const MIN_THREADED_N = 300;

export interface EvaluatorOptions {
  /**
   * Threads per evaluation (default ATOMGP_THREADS, else 2 on the main thread of a multi-core
   * machine and 1 in worker threads). Results are bit-identical for any number of threads.
   */
  threads?: number;
  /** Smallest n that uses the threads (default MIN_THREADED_N). */
  minThreadedN?: number;
  /**
   * Native LAPACK for the Cholesky and the inverse (default: `nativeLapack()`, i.e. OpenBLAS when
   * installed unless ATOMGP_LAPACK=off); false: always the built-in kernels.
   */
  lapack?: NativeLapack | false;
}

/**
 * Reusable evaluator of one problem: preallocates the n × n buffers (four of them: R, its factor,
 * the inverse and a work matrix; two, R and the factor, on the native path, which inverts and
 * forms the gradient weights in the factor's place) so repeated evaluations during optimisation
 * do not allocate.
 * For large n the buffers live in a shared wasm memory and each evaluation is shared with the
 * worker threads of linalg-team.ts (bit-identical results).
 */
export class LikelihoodEvaluator {
  readonly problem: LikelihoodProblem;
  readonly nParams: number;
  /** R (kernel matrix without noise), lower triangle filled, diagonal 1. */
  readonly r: Float64Array;
  /**
   * Cholesky factor of K of the last evaluation; with the native LAPACK, after an evaluation with
   * gradient, scratch (K⁻¹ and then the gradient weights are formed in its place).
   */
  readonly factor: Float64Array;
  /** α = K⁻¹ r of the last evaluation (weights for E = m + k*ᵀα). */
  readonly alpha: Float64Array;
  private readonly inv: Float64Array;
  private readonly work: Float64Array;
  private readonly coef: Float64Array;
  private readonly resid: Float64Array;
  private readonly tmp: Float64Array;
  /** Inputs of each term, transposed: xt[t·n + a] = x[a·K + dim[t]] (contiguous per term). */
  private readonly xt: Float64Array;
  /** Term kinds as doubles, α (copy) and per-row gradient sums rowSums[a·nt + t], next to the matrices. */
  private readonly kinds: Float64Array;
  private readonly alphaShared: Float64Array;
  private readonly rowSums: Float64Array;
  private readonly acc: Float64Array;
  /** Native path: S_aa of the square terms (see the module comment), next to the matrices. */
  private readonly q: Float64Array;
  /**
   * Native path, stored by columns (row-major (nSq+1) × n): the square terms' indices, their centred
   * inputs X̃ with a column of ones, the scaled copy X̃ C^½ (nSq columns) and M·[X̃ | 1].
   */
  private readonly sqTerms: Int32Array;
  private readonly xc: Float64Array;
  private readonly xs: Float64Array;
  private readonly mx: Float64Array;
  private readonly sqAcc: Float64Array;
  /** Threads sharing each evaluation (undefined: this thread alone). */
  /** The dense linear-algebra back end (math/dense.ts). */
  readonly backend: DenseBackend;
  readonly team: LinalgTeam | undefined;
  /** Native LAPACK doing the Cholesky and the inverse, with its thread count (undefined: built-in kernels). */
  readonly native: { lapack: NativeLapack; threads: number } | undefined;
  /** Number of evaluations so far (for reports). */
  evaluations = 0;
  /**
   * Wall time (ms) spent so far in: building R, the Cholesky, the inverse, the gradient rows, and
   * the rest of an evaluation (log det, the solves for α and the GLS mean).
   */
  readonly phaseMs = new Float64Array(5);

  constructor(problem: LikelihoodProblem, opts: EvaluatorOptions = {}) {
    const { n, x, y, nFeatures, terms, prefactor } = problem;
    if (x.length !== n * nFeatures) throw new AtomgpError(`likelihood: x has ${x.length} values, expected ${n} × ${nFeatures}`);
    if (y.length !== n) throw new AtomgpError(`likelihood: y has ${y.length} values, expected ${n}`);
    if (prefactor.length !== terms.dim.length) throw new AtomgpError('likelihood: one prefactor per kernel term expected');
    if (!problem.glsConstantMean && problem.meanValues.length !== n) {
      throw new AtomgpError(`likelihood: ${problem.meanValues.length} mean values for ${n} training points`);
    }
    for (const k of terms.kind) {
      if (k !== TERM_SQUARE && k !== TERM_WRAPPED && k !== TERM_PERIODIC) throw new AtomgpError(`likelihood: unknown kernel term kind ${k}`);
    }
    this.problem = problem;
    this.nParams = parameterCount(problem);
    const nt = terms.dim.length;
    const plan = planDense(n, { ...opts, minThreadedN: opts.minThreadedN ?? MIN_THREADED_N });
    const lapack = plan.lapack;
    // The buffers live in one wasm memory so the linear algebra takes the SIMD path (shared with
    // the team's workers when threaded). The native path inverts and forms M in place of the
    // factor: no third and fourth n × n matrix.
    const [r, factor, inv, work, xt, kinds, coef, alphaShared, rowSums, q] = allocateMatrices(
      [n * n, n * n, lapack ? 0 : n * n, lapack ? 0 : n * n, nt * n, nt, nt, n, n * nt, n],
      { shared: plan.shared },
    );
    this.r = r!;
    this.factor = factor!;
    this.inv = inv!;
    this.work = work!;
    this.xt = xt!;
    this.kinds = kinds!;
    this.coef = coef!;
    this.alphaShared = alphaShared!;
    this.rowSums = rowSums!;
    this.q = q!;
    this.backend = bindDense(plan, r!);
    this.team = this.backend.team;
    this.native = lapack ? { lapack, threads: this.backend.threads } : undefined;
    this.alpha = new Float64Array(n);
    this.acc = new Float64Array(nt);
    this.resid = new Float64Array(n);
    this.tmp = new Float64Array(n);
    for (let t = 0; t < nt; t++) {
      const d = terms.dim[t]!;
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let a = 0; a < n; a++) {
        const v = x[a * nFeatures + d]!;
        this.xt[t * n + a] = v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      // A wrapped term whose inputs span at most π never wraps (|x_a − x_b| ≤ π for every pair):
      // it is a square term, computed as one (exactly the same function, and on the native path
      // through BLAS instead of a pair loop).
      this.kinds[t] = terms.kind[t] === TERM_WRAPPED && hi - lo <= PI ? TERM_SQUARE : terms.kind[t]!;
    }
    const sq: number[] = [];
    if (lapack) for (let t = 0; t < nt; t++) if (this.kinds[t] === TERM_SQUARE) sq.push(t);
    this.sqTerms = Int32Array.from(sq);
    const nSq = sq.length;
    this.xc = new Float64Array(lapack ? n * (nSq + 1) : 0);
    this.xs = new Float64Array(lapack ? n * nSq : 0);
    this.mx = new Float64Array(lapack ? n * (nSq + 1) : 0);
    this.sqAcc = new Float64Array(nSq);
    for (let j = 0; j < nSq; j++) {
      const col = sq[j]! * n;
      let mean = 0;
      for (let a = 0; a < n; a++) mean += this.xt[col + a]!;
      mean /= n;
      for (let a = 0; a < n; a++) this.xc[j * n + a] = this.xt[col + a]! - mean;
    }
    if (lapack) this.xc.fill(1, nSq * n);
  }

  /**
   * Which kernels do the linear algebra, for model metadata: `native OpenBLAS_… threads=2` (LAPACK
   * for the factor, inverse and solves, BLAS for the square terms of R and the gradient) or
   * `builtin-wasm-simd threads=2`.
   */
  get linalgDescription(): string {
    return this.backend.description;
  }

  /**
   * The term kinds as evaluated: a wrapped term whose inputs span at most π is computed as a square
   * term (it never wraps), otherwise as given.
   */
  get evaluatedKinds(): number[] {
    return Array.from(this.kinds);
  }

  /** σ² implied by the parameters. */
  noiseOf(params: Float64Array): number {
    return this.problem.optimiseNoise ? Math.exp(params[this.nParams - 1]!) : this.problem.noise;
  }

  /**
   * Log-likelihood at φ = `params`; when `grad` is given it receives ∂ℓ/∂φ. Throws an AtomgpError
   * when the kernel matrix cannot be factorised even with jitter.
   */
  evaluate(params: Float64Array, grad?: Float64Array): LikelihoodResult {
    const { terms, prefactor } = this.problem;
    const nt = terms.dim.length;
    if (params.length !== this.nParams) throw new AtomgpError(`likelihood: ${params.length} parameters, expected ${this.nParams}`);
    for (let t = 0; t < nt; t++) this.coef[t] = prefactor[t]! * Math.exp(params[t]!);
    return this.run(this.noiseOf(params), grad);
  }

  /**
   * Log-likelihood (no gradient) at θ given directly, c_t = p_t θ_t, and σ² = `noise` (default
   * the problem's). Reproduces a stored model bit for bit: no exp(log θ) round trip.
   */
  evaluateTheta(theta: ArrayLike<number>, noise: number = this.problem.noise): LikelihoodResult {
    const { terms, prefactor } = this.problem;
    const nt = terms.dim.length;
    if (theta.length !== nt) throw new AtomgpError(`likelihood: ${theta.length} θ values, expected ${nt}`);
    for (let t = 0; t < nt; t++) this.coef[t] = prefactor[t]! * theta[t]!;
    return this.run(noise);
  }

  private run(noise: number, grad?: Float64Array): LikelihoodResult {
    const p = this.problem;
    const { n, kind } = p;
    this.evaluations++;
    const phase = this.phaseMs;
    let t0 = performance.now();
    const native = this.native;
    if (native) this.buildRNative(native.lapack, native.threads);
    else this.buildR();
    const t1 = performance.now();
    phase[0] = phase[0]! + (t1 - t0);
    const r = this.r;
    const f = this.factor;
    const jitterOptions = { what: 'kernel matrix', initial: Math.max(1e-10, noise * 10) };
    let jitter = 0;
    // The native path has R in the factor's buffer already: factorise it there, and only if
    // that fails (or on the built-in path: undefined !== 0) go through the jitter loop (which copies from R).
    if (native?.lapack.choleskyLower(this.factorDiagonal(noise), n, native.threads) !== 0) {
      for (let a = 0; a < n; a++) r[a * n + a] = 1 + noise;
      jitter = choleskyWithJitter(r, n, f, {
        ...jitterOptions,
        ...(native ? { lapack: native.lapack, threads: native.threads } : this.team ? { team: this.team } : {}),
      });
      for (let a = 0; a < n; a++) r[a * n + a] = 1;
    }
    t0 = performance.now();
    phase[1] = phase[1]! + (t0 - t1);
    const logDet = logDetFromCholesky(f, n);
    const solve = native ? (b: Float64Array) => native.lapack.solveFromFactor(f, n, b, native.threads) : (b: Float64Array) => choleskySolve(f, n, b);

    // Residual r = y − m, with FEREBUS's GLS constant mean when asked.
    const resid = this.resid;
    let glsMean = Number.NaN;
    if (p.glsConstantMean) {
      const t1 = this.tmp;
      t1.fill(1);
      solve(t1);
      let num = 0;
      let den = 0;
      for (let a = 0; a < n; a++) {
        num += t1[a]! * p.y[a]!;
        den += t1[a]!;
      }
      glsMean = num / den;
      for (let a = 0; a < n; a++) resid[a] = p.y[a]! - glsMean;
    } else {
      for (let a = 0; a < n; a++) resid[a] = p.y[a]! - p.meanValues[a]!;
    }
    const alpha = this.alpha;
    alpha.set(resid);
    solve(alpha);
    let quad = 0;
    for (let a = 0; a < n; a++) quad += resid[a]! * alpha[a]!;

    let value: number;
    let s: number;
    if (kind === 'marginal') {
      s = 1;
      value = -0.5 * quad - 0.5 * logDet - 0.5 * n * LOG_2PI;
    } else {
      s = quad / n;
      value = -0.5 * n * Math.log(s) - 0.5 * logDet;
    }
    phase[4] = phase[4]! + (performance.now() - t0);
    if (grad) {
      if (native) this.gradientNative(native.lapack, native.threads, s, noise, grad);
      else this.gradient(s, noise, grad);
    }
    return { value, jitter, glsMean, signalVariance: s };
  }

  /** R_ab for a > b (lower triangle) from the current coefficients (see `kernelRows`). */
  private buildR(): void {
    const { n } = this.problem;
    const nt = this.kinds.length;
    if (this.team) {
      const p = this.team.params;
      p[0] = n;
      p[1] = nt;
      p[2] = this.r.byteOffset;
      p[3] = this.xt.byteOffset;
      p[4] = this.coef.byteOffset;
      p[5] = this.kinds.byteOffset;
      this.team.run(JOB_KERNEL_ROWS, this.r.buffer);
      return;
    }
    kernelRowsCrew(soloCrew(), this.r, this.xt, this.coef, this.kinds, n, nt);
  }

  /**
   * Native path: −2 X̃ C X̃ᵀ of the square terms by dsyrk into the factor's buffer, then (job
   * `kernelExpRowsCrew`) the pair loops of the other terms and the exp, written to both R and the
   * factor's buffer; R's diagonal is 1.
   */
  private buildRNative(lapack: NativeLapack, threads: number): void {
    const { n } = this.problem;
    const nt = this.kinds.length;
    const nSq = this.sqTerms.length;
    const e = this.factor;
    const q = this.q;
    if (nSq > 0) {
      const xs = this.xs;
      const xc = this.xc;
      for (let j = 0; j < nSq; j++) {
        const sc = Math.sqrt(this.coef[this.sqTerms[j]!]!);
        for (let i = j * n; i < (j + 1) * n; i++) xs[i] = sc * xc[i]!;
      }
      lapack.syrkLower(n, nSq, -2, xs, 0, e, threads);
      for (let a = 0; a < n; a++) q[a] = -0.5 * e[a * n + a]!;
    } else {
      q.fill(0);
    }
    const hasSquares = nSq > 0 ? 1 : 0;
    if (this.team) {
      const p = this.team.params;
      p[0] = n;
      p[1] = nt;
      p[2] = e.byteOffset;
      p[3] = this.r.byteOffset;
      p[4] = this.xt.byteOffset;
      p[5] = this.coef.byteOffset;
      p[6] = this.kinds.byteOffset;
      p[7] = q.byteOffset;
      p[8] = hasSquares;
      this.team.run(JOB_KERNEL_EXP, this.r.buffer);
    } else {
      kernelExpRowsCrew(soloCrew(), e, this.r, this.xt, this.coef, this.kinds, q, n, nt, hasSquares);
    }
    for (let a = 0; a < n; a++) this.r[a * n + a] = 1;
  }

  /** The factor's buffer (holding R from `buildRNative`) with 1 + σ² on the diagonal. */
  private factorDiagonal(noise: number): Float64Array {
    const { n } = this.problem;
    const f = this.factor;
    for (let a = 0; a < n; a++) f[a * n + a] = 1 + noise;
    return f;
  }

  /**
   * Native path of `gradient`: K⁻¹ in place of the factor (dpotri), then in its place M = W ∘ R with
   * a zero diagonal and the pair sums of the non-square terms (job `gradientRowsCrew` with squaresByBlas), then M·[X̃ | 1] (dsymm)
   * and grad_t = −c_t Σ_a x̃_at (x̃_at m_a − (M x̃_t)_a) for the square terms.
   */
  private gradientNative(lapack: NativeLapack, threads: number, s: number, noise: number, grad: Float64Array): void {
    const p = this.problem;
    const { n } = p;
    const nt = this.kinds.length;
    const nSq = this.sqTerms.length;
    const inv = this.factor;
    const t0 = performance.now();
    const info = lapack.inverseLowerFromFactor(inv, n, threads);
    if (info !== 0) throw new AtomgpError(`inverse from the Cholesky factor (${n} × ${n}): zero diagonal element ${info} in the factor`);
    const t1 = performance.now();
    this.phaseMs[2] = this.phaseMs[2]! + (t1 - t0);
    const alpha = this.alphaShared;
    alpha.set(this.alpha);
    const invS = 1 / s;
    // tr(W) before M overwrites K⁻¹'s diagonal.
    let traceW = 0;
    for (let a = 0; a < n; a++) traceW += alpha[a]! * invS * alpha[a]! - inv[a * n + a]!;
    const m = inv;
    if (n > 0) m[0] = 0;
    if (this.team) {
      const q = this.team.params;
      q[0] = n;
      q[1] = nt;
      q[2] = m.byteOffset;
      q[3] = inv.byteOffset;
      q[4] = this.r.byteOffset;
      q[5] = alpha.byteOffset;
      q[6] = this.xt.byteOffset;
      q[7] = this.kinds.byteOffset;
      q[8] = this.rowSums.byteOffset;
      q[9] = invS;
      this.team.run(JOB_GRADIENT_WEIGHTS, this.r.buffer);
    } else {
      gradientRowsCrew(soloCrew(), m, inv, this.r, alpha, invS, this.xt, this.kinds, this.rowSums, n, nt, true);
    }
    const sqAcc = this.sqAcc;
    sqAcc.fill(0);
    if (nSq > 0) {
      const xc = this.xc;
      const mx = this.mx;
      lapack.symmLower(n, nSq + 1, 1, m, xc, 0, mx, threads);
      const rowSum = nSq * n;
      for (let j = 0; j < nSq; j++) {
        const col = j * n;
        let sum = 0;
        for (let a = 0; a < n; a++) {
          const xa = xc[col + a]!;
          sum += xa * (xa * mx[rowSum + a]! - mx[col + a]!);
        }
        sqAcc[j] = sum;
      }
    }
    this.phaseMs[3] = this.phaseMs[3]! + (performance.now() - t1);
    const acc = this.acc;
    const rowSums = this.rowSums;
    acc.fill(0);
    for (let a = 1; a < n; a++) for (let t = 0; t < nt; t++) acc[t] = acc[t]! + rowSums[a * nt + t]!;
    for (let j = 0; j < nSq; j++) acc[this.sqTerms[j]!] = sqAcc[j]!;
    grad.fill(0);
    for (let t = 0; t < nt; t++) grad[t] = -this.coef[t]! * acc[t]!;
    if (p.optimiseNoise) grad[nt] = 0.5 * noise * traceW;
  }

  /** grad_t = −c_t Σ_{a>b} W_ab R_ab h_t(Δ_ab), W = ααᵀ/s − K⁻¹; noise: ½ σ² tr(W) (scaled for K). */
  private gradient(s: number, noise: number, grad: Float64Array): void {
    const p = this.problem;
    const { n } = p;
    const nt = this.kinds.length;
    const inv = this.inv;
    const t0 = performance.now();
    inverseLowerFromCholesky(this.factor, n, inv, this.work, this.team, this.native);
    const t1 = performance.now();
    this.phaseMs[2] = this.phaseMs[2]! + (t1 - t0);
    const alpha = this.alphaShared;
    alpha.set(this.alpha);
    const invS = 1 / s;
    // Per row a: M_ab = W_ab R_ab (a > b) into the work buffer, then Σ_b M_ab h_t(Δ_ab) per term.
    if (this.team) {
      const q = this.team.params;
      q[0] = n;
      q[1] = nt;
      q[2] = this.work.byteOffset;
      q[3] = inv.byteOffset;
      q[4] = this.r.byteOffset;
      q[5] = alpha.byteOffset;
      q[6] = this.xt.byteOffset;
      q[7] = this.kinds.byteOffset;
      q[8] = this.rowSums.byteOffset;
      q[9] = invS;
      this.team.run(JOB_GRADIENT_ROWS, this.r.buffer);
    } else {
      gradientRowsCrew(soloCrew(), this.work, inv, this.r, alpha, invS, this.xt, this.kinds, this.rowSums, n, nt, false);
    }
    let traceW = 0;
    for (let a = 0; a < n; a++) {
      const aa = alpha[a]! * invS;
      traceW += aa * alpha[a]! - inv[a * n + a]!;
    }
    this.phaseMs[3] = this.phaseMs[3]! + (performance.now() - t1);
    // Row sums added in row order: the same sums for any number of threads.
    const acc = this.acc;
    const rowSums = this.rowSums;
    acc.fill(0);
    for (let a = 1; a < n; a++) for (let t = 0; t < nt; t++) acc[t] = acc[t]! + rowSums[a * nt + t]!;
    grad.fill(0);
    for (let t = 0; t < nt; t++) grad[t] = -this.coef[t]! * acc[t]!;
    // ∂K/∂log σ² = σ² I (a Cholesky jitter, if one was needed, is held fixed).
    if (p.optimiseNoise) grad[nt] = 0.5 * noise * traceW;
  }
}
