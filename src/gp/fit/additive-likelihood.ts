/**
 * The concentrated likelihood of the additive model (additive.ts): C = Σ_A R_A(θ_A) + λ I over
 * every atom's kernel, σ_f² = rᵀC⁻¹r / n profiled out, and its gradient in log θ (and log λ)
 * from one pair loop over rows that hold every atom's features side by side. See additive.ts for
 * the model and the formulas.
 */
import { AtomgpError } from '../../errors.js';
import { choleskySolve, choleskyWithJitter, inverseFromCholesky, logDetFromCholesky } from '../../math/linalg.js';
import { TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED } from '../kernel/kernel.js';

const PI = Math.PI;
const TWO_PI = 2 * Math.PI;

/** The additive likelihood problem: every atom's features side by side, one row per total. */
export interface AdditiveProblem {
  /** Row-major n × (nAtoms·nFeatures): row a holds atom 0's features of geometry a, then atom 1's, … */
  rows: Float64Array;
  n: number;
  nAtoms: number;
  nFeatures: number;
  /** One atom's flat kernel terms (0-based feature index, kind, prefactor p with c = p θ). */
  dim: Int32Array;
  kind: Uint8Array;
  prefactor: Float64Array;
  /** r = y_tot − Σ_A m_A. */
  resid: Float64Array;
  noise: number;
  optimiseNoise: boolean;
}

/** Interleave per-atom feature matrices (each n × K) into the problem's rows (n × N·K). */
export function interleaveAtoms(xs: Float64Array[], n: number, nFeatures: number): Float64Array {
  const N = xs.length;
  const stride = N * nFeatures;
  const rows = new Float64Array(n * stride);
  for (let A = 0; A < N; A++) {
    const x = xs[A]!;
    for (let a = 0; a < n; a++) rows.set(x.subarray(a * nFeatures, (a + 1) * nFeatures), a * stride + A * nFeatures);
  }
  return rows;
}

/**
 * Concentrated log-likelihood of the additive model and its gradient. Parameters: log θ of every
 * term of atom 0, then atom 1, …, then (optionally) log λ. Buffers are allocated once. Inside, each
 * atom's terms are sorted by kind (squared, wrapped, periodic) so the pair loops have no branches
 * on the kind; `param[u]` maps a sorted term back to its parameter.
 */
export class AdditiveLikelihood {
  readonly problem: AdditiveProblem;
  readonly nParams: number;
  /** C = Σ_A R_A + λ I (lower triangle) of the last evaluation. */
  readonly c: Float64Array;
  readonly factor: Float64Array;
  /** β = C⁻¹ r: every atom's weights. */
  readonly beta: Float64Array;
  private readonly inv: Float64Array;
  private readonly work: Float64Array;
  /** Sorted terms: column in a row (A·K + d), coefficient c = p θ, parameter index. */
  private readonly col: Int32Array;
  private readonly coef: Float64Array;
  private readonly param: Int32Array;
  /** Per atom A: squared terms [b0[A], b1[A]), wrapped [b1[A], b2[A]), periodic [b2[A], b0[A+1]). */
  private readonly b0: Int32Array;
  private readonly b1: Int32Array;
  private readonly b2: Int32Array;
  private readonly hBuf: Float64Array;
  private readonly acc: Float64Array;
  evaluations = 0;

  constructor(problem: AdditiveProblem) {
    const { n, nAtoms: N, nFeatures: K, rows, dim, kind, prefactor, resid } = problem;
    if (rows.length !== n * N * K) throw new AtomgpError(`additive likelihood: ${rows.length} feature values, expected ${n} × ${N} atoms × ${K}`);
    if (resid.length !== n) throw new AtomgpError(`additive likelihood: ${resid.length} residuals for ${n} totals`);
    if (dim.length !== kind.length || dim.length !== prefactor.length) throw new AtomgpError('additive likelihood: term arrays differ in length');
    this.problem = problem;
    const nt = dim.length;
    this.nParams = N * nt + (problem.optimiseNoise ? 1 : 0);
    this.c = new Float64Array(n * n);
    this.factor = new Float64Array(n * n);
    this.inv = new Float64Array(n * n);
    this.work = new Float64Array(n * n);
    this.beta = new Float64Array(n);
    const total = N * nt;
    this.col = new Int32Array(total);
    this.coef = new Float64Array(total);
    this.param = new Int32Array(total);
    this.b0 = new Int32Array(N + 1);
    this.b1 = new Int32Array(N);
    this.b2 = new Int32Array(N);
    let u = 0;
    for (let A = 0; A < N; A++) {
      this.b0[A] = u;
      for (const want of [TERM_SQUARE, TERM_WRAPPED, TERM_PERIODIC]) {
        if (want === TERM_WRAPPED) this.b1[A] = u;
        if (want === TERM_PERIODIC) this.b2[A] = u;
        for (let t = 0; t < nt; t++) {
          if (kind[t] !== want) continue;
          this.col[u] = A * K + dim[t]!;
          this.param[u] = A * nt + t;
          u++;
        }
      }
    }
    if (u !== total) throw new AtomgpError('additive likelihood: unknown kernel term kind');
    this.b0[N] = u;
    this.hBuf = new Float64Array(total);
    this.acc = new Float64Array(total);
  }

  noiseOf(params: Float64Array): number {
    return this.problem.optimiseNoise ? Math.exp(params[this.nParams - 1]!) : this.problem.noise;
  }

  /** ℓ at `params`; `grad` (if given) receives ∂ℓ/∂params. Throws AtomgpError when C cannot be factorised. */
  evaluate(params: Float64Array, grad?: Float64Array): { value: number; jitter: number; signalVariance: number; noise: number } {
    const p = this.problem;
    const { n, nAtoms: N } = p;
    const nt = p.dim.length;
    if (params.length !== this.nParams) throw new AtomgpError(`additive likelihood: ${params.length} parameters, expected ${this.nParams}`);
    for (let u = 0; u < N * nt; u++) {
      const q = this.param[u]!;
      this.coef[u] = p.prefactor[q % nt]! * Math.exp(params[q]!);
    }
    const noise = this.noiseOf(params);
    this.evaluations++;
    this.buildC();
    const c = this.c;
    for (let a = 0; a < n; a++) c[a * n + a] = N + noise;
    const jitter = choleskyWithJitter(c, n, this.factor, { what: 'additive kernel matrix of the totals', initial: Math.max(1e-10 * N, noise * 10) });
    const logDet = logDetFromCholesky(this.factor, n);
    const beta = this.beta;
    beta.set(p.resid);
    choleskySolve(this.factor, n, beta);
    let quad = 0;
    for (let a = 0; a < n; a++) quad += p.resid[a]! * beta[a]!;
    const s = quad / n;
    const value = -0.5 * n * Math.log(s) - 0.5 * logDet;
    if (grad) this.gradient(s, noise, grad);
    return { value, jitter, signalVariance: s, noise: noise + jitter };
  }

  /** Exponent Σ_t c_t h_t of atom A between rows at ra and rb; h_t stored in hBuf when `store`. */
  private exponentOf(A: number, ra: number, rb: number, store: boolean): number {
    const rows = this.problem.rows;
    const { col, coef, hBuf } = this;
    const u1 = this.b1[A]!;
    const u2 = this.b2[A]!;
    const u3 = this.b0[A + 1]!;
    let e = 0;
    let u = this.b0[A]!;
    for (; u < u1; u++) {
      const d = rows[ra + col[u]!]! - rows[rb + col[u]!]!;
      const h = d * d;
      if (store) hBuf[u] = h;
      e += coef[u]! * h;
    }
    for (; u < u2; u++) {
      let d = rows[ra + col[u]!]! - rows[rb + col[u]!]!;
      if (d > PI || d < -PI) {
        const t = d + PI;
        d = t - TWO_PI * Math.floor(t / TWO_PI) - PI;
      }
      const h = d * d;
      if (store) hBuf[u] = h;
      e += coef[u]! * h;
    }
    for (; u < u3; u++) {
      const sn = Math.sin(0.5 * (rows[ra + col[u]!]! - rows[rb + col[u]!]!));
      const h = sn * sn;
      if (store) hBuf[u] = h;
      e += coef[u]! * h;
    }
    return e;
  }

  /** C_ab = Σ_A exp(−Σ_t c_{A,t} h_t) for a > b. */
  private buildC(): void {
    const { n, nAtoms: N, nFeatures: K } = this.problem;
    const stride = N * K;
    const c = this.c;
    for (let a = 1; a < n; a++) {
      const ra = a * stride;
      const ca = a * n;
      for (let b = 0; b < a; b++) {
        const rb = b * stride;
        let sum = 0;
        for (let A = 0; A < N; A++) sum += Math.exp(-this.exponentOf(A, ra, rb, false));
        c[ca + b] = sum;
      }
    }
  }

  private gradient(s: number, noise: number, grad: Float64Array): void {
    const p = this.problem;
    const { n, nAtoms: N, nFeatures: K } = p;
    const nt = p.dim.length;
    const stride = N * K;
    const inv = this.inv;
    inverseFromCholesky(this.factor, n, inv, this.work);
    const beta = this.beta;
    const invS = 1 / s;
    // W_ab = β_a β_b / s − (C⁻¹)_ab, lower triangle into the work buffer.
    const w = this.work;
    let traceW = 0;
    for (let a = 0; a < n; a++) {
      const ra = a * n;
      const ba = beta[a]! * invS;
      for (let b = 0; b < a; b++) w[ra + b] = ba * beta[b]! - inv[ra + b]!;
      traceW += ba * beta[a]! - inv[ra + a]!;
    }
    const { hBuf, acc, b0 } = this;
    acc.fill(0);
    for (let a = 1; a < n; a++) {
      const ra = a * stride;
      const wa = a * n;
      for (let b = 0; b < a; b++) {
        const rb = b * stride;
        const wab = w[wa + b]!;
        for (let A = 0; A < N; A++) {
          const m = wab * Math.exp(-this.exponentOf(A, ra, rb, true));
          const end = b0[A + 1]!;
          for (let u = b0[A]!; u < end; u++) acc[u] = acc[u]! + m * hBuf[u]!;
        }
      }
    }
    for (let u = 0; u < N * nt; u++) grad[this.param[u]!] = -this.coef[u]! * acc[u]!;
    if (p.optimiseNoise) grad[N * nt] = 0.5 * noise * traceW;
  }

  /** R_A β for every atom (atom A's n values), at the coefficients of the last evaluation. */
  kernelTimesBeta(): Float64Array[] {
    const { n, nAtoms: N, nFeatures: K } = this.problem;
    const stride = N * K;
    const beta = this.beta;
    const out = Array.from({ length: N }, () => Float64Array.from(beta));
    for (let a = 1; a < n; a++) {
      const ra = a * stride;
      for (let b = 0; b < a; b++) {
        const rb = b * stride;
        for (let A = 0; A < N; A++) {
          const r = Math.exp(-this.exponentOf(A, ra, rb, false));
          const o = out[A]!;
          o[a] = o[a]! + r * beta[b]!;
          o[b] = o[b]! + r * beta[a]!;
        }
      }
    }
    return out;
  }
}
