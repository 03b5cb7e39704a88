/**
 * The O(n²) row passes of the likelihood (likelihood.ts): the strict lower triangle of the kernel
 * matrix R, its exp after the BLAS square terms (native path), and the gradient's pair sums. Each
 * is a job of the linear-algebra team (math/linalg-team.ts), registered here with this module's
 * URL so that the team's workers import it; with one thread the same functions run on a solo crew.
 */
import { AtomgpError } from '../../errors.js';
import { type Crew, registerJob } from '../../math/linalg-team.js';
import { type Dot42Kernel, kernelFor } from '../../math/linalg-wasm.js';
import { TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED } from '../kernel/kernel.js';

/** Jobs of the linear-algebra team registered by this module (math/ owns 1-15). */
export const JOB_KERNEL_ROWS = 16;
export const JOB_GRADIENT_ROWS = 17;
export const JOB_KERNEL_EXP = 18;
export const JOB_GRADIENT_WEIGHTS = 19;

const PI = Math.PI;
const TWO_PI = 2 * Math.PI;

/** Rows per work unit of the row loops below (cost ∝ a: units handed out from the last rows). */
const ROWS_PER_UNIT = 16;

/**
 * Strict lower triangle of R, rows handed out in units from the bottom. Row a is accumulated term
 * by term over contiguous columns of the transposed inputs (one tight loop per term kind), which
 * is several times faster than gathering x[b·K + dim[t]] per pair; the arithmetic per pair is the
 * same as `coef[t] · termValue(…)` summed in term order.
 */
export function kernelRowsCrew(crew: Crew, r: Float64Array, xt: Float64Array, coef: Float64Array, kind: Float64Array, n: number, nt: number): void {
  const kern = kernelFor(r, xt);
  for (let u = crew.next(); n - u * ROWS_PER_UNIT > 1; u = crew.next()) {
    const aEnd = n - u * ROWS_PER_UNIT;
    const aStart = Math.max(1, aEnd - ROWS_PER_UNIT);
    for (let a = aStart; a < aEnd; a++) kernelRow(r, xt, coef, kind, n, nt, a, kern);
  }
}

registerJob(JOB_KERNEL_ROWS, (crew, p, buffer) => {
  const n = p[0]!;
  const nt = p[1]!;
  kernelRowsCrew(
    crew,
    new Float64Array(buffer, p[2]!, n * n),
    new Float64Array(buffer, p[3]!, nt * n),
    new Float64Array(buffer, p[4]!, nt),
    new Float64Array(buffer, p[5]!, nt),
    n,
    nt,
  );
}, import.meta.url);

function kernelRow(r: Float64Array, xt: Float64Array, coef: Float64Array, kind: Float64Array, n: number, nt: number, a: number, kern: Dot42Kernel | undefined): void {
  const ra = a * n;
  r.fill(0, ra, ra + a);
  for (let t = 0; t < nt; t++) {
    const c = coef[t]!;
    const col = t * n;
    const xa = xt[col + a]!;
    const k = kind[t]!;
    if (k === TERM_SQUARE) {
      let b = 0;
      if (kern) {
        // Same arithmetic per element, two lanes at a time.
        const pairs = a >> 1;
        kern.sqAccumulate(r.byteOffset + 8 * ra, xt.byteOffset + 8 * col, pairs, xa, c);
        b = 2 * pairs;
      }
      for (; b < a; b++) {
        const d = xa - xt[col + b]!;
        r[ra + b] = r[ra + b]! + c * d * d;
      }
    } else {
      accumulateAngularTerm(r, ra, xt, col, xa, c, k, a);
    }
  }
  for (let b = 0; b < a; b++) r[ra + b] = Math.exp(-r[ra + b]!);
}

/** row[ra + b] += c · h(x_a − x_b) for b < a and a wrapped or periodic term (column `col` of xt). */
function accumulateAngularTerm(r: Float64Array, ra: number, xt: Float64Array, col: number, xa: number, c: number, k: number, a: number): void {
  if (k === TERM_WRAPPED) {
    for (let b = 0; b < a; b++) {
      let d = xa - xt[col + b]!;
      if (d > PI || d < -PI) {
        const w = d + PI;
        d = w - TWO_PI * Math.floor(w / TWO_PI) - PI;
      }
      r[ra + b] = r[ra + b]! + c * (d * d);
    }
  } else if (k === TERM_PERIODIC) {
    for (let b = 0; b < a; b++) {
      const sn = Math.sin(0.5 * (xa - xt[col + b]!));
      r[ra + b] = r[ra + b]! + c * (sn * sn);
    }
  } else {
    throw new AtomgpError(`likelihood: unknown kernel term kind ${k}`);
  }
}

/**
 * Native path of `kernelRowsCrew`: row a of `e` holds −2 S_ab from dsyrk (when `hasSquares`);
 * adds S_aa + S_bb (`q`), the wrapped and periodic terms, then writes exp(−max(0, ·)) to both
 * `e` and `r` (strict lower triangle).
 */
export function kernelExpRowsCrew(crew: Crew, e: Float64Array, r: Float64Array, xt: Float64Array, coef: Float64Array, kind: Float64Array, q: Float64Array, n: number, nt: number, hasSquares: number): void {
  let angular = false;
  for (let t = 0; t < nt; t++) if (kind[t] !== TERM_SQUARE) angular = true;
  for (let u = crew.next(); n - u * ROWS_PER_UNIT > 1; u = crew.next()) {
    const aEnd = n - u * ROWS_PER_UNIT;
    const aStart = Math.max(1, aEnd - ROWS_PER_UNIT);
    for (let a = aStart; a < aEnd; a++) {
      const ra = a * n;
      const qa = q[a]!;
      if (!angular) {
        // Square terms only: one pass.
        for (let b = 0; b < a; b++) {
          const v = e[ra + b]! + (qa + q[b]!);
          const rv = v > 0 ? Math.exp(-v) : 1;
          e[ra + b] = rv;
          r[ra + b] = rv;
        }
        continue;
      }
      if (hasSquares) for (let b = 0; b < a; b++) e[ra + b] = e[ra + b]! + (qa + q[b]!);
      else e.fill(0, ra, ra + a);
      for (let t = 0; t < nt; t++) {
        const k = kind[t]!;
        if (k !== TERM_SQUARE) accumulateAngularTerm(e, ra, xt, t * n, xt[t * n + a]!, coef[t]!, k, a);
      }
      for (let b = 0; b < a; b++) {
        const v = e[ra + b]!;
        const rv = v > 0 ? Math.exp(-v) : 1;
        e[ra + b] = rv;
        r[ra + b] = rv;
      }
    }
  }
}

registerJob(JOB_KERNEL_EXP, (crew, p, buffer) => {
  const n = p[0]!;
  const nt = p[1]!;
  const view = (offset: number, length: number) => new Float64Array(buffer, offset, length);
  kernelExpRowsCrew(crew, view(p[2]!, n * n), view(p[3]!, n * n), view(p[4]!, nt * n), view(p[5]!, nt), view(p[6]!, nt), view(p[7]!, n), n, nt, p[8]!);
}, import.meta.url);

/**
 * Gradient rows, handed out in units from the bottom: M_ab = (α_a α_b / s − K⁻¹_ab) R_ab into row a
 * of `m`, then rowSums[a·nt + t] = Σ_{b<a} M_ab h_t(Δ_ab) against column t of the transposed inputs.
 * With `squaresByBlas` (native path) the square terms are left to one dsymm of M: their sums are 0
 * here and M_aa = 0 (dsymm reads the diagonal). `m` may be `inv` (elementwise in place).
 */
export function gradientRowsCrew(
  crew: Crew,
  m: Float64Array,
  inv: Float64Array,
  r: Float64Array,
  alpha: Float64Array,
  invS: number,
  xt: Float64Array,
  kind: Float64Array,
  rowSums: Float64Array,
  n: number,
  nt: number,
  squaresByBlas: boolean,
): void {
  const kern = kernelFor(m, xt);
  for (let u = crew.next(); n - u * ROWS_PER_UNIT > 1; u = crew.next()) {
    const aEnd = n - u * ROWS_PER_UNIT;
    const aStart = Math.max(1, aEnd - ROWS_PER_UNIT);
    for (let a = aStart; a < aEnd; a++) {
      const ra = a * n;
      const aa = alpha[a]! * invS;
      for (let b = 0; b < a; b++) m[ra + b] = (aa * alpha[b]! - inv[ra + b]!) * r[ra + b]!;
      if (squaresByBlas) m[ra + a] = 0;
      for (let t = 0; t < nt; t++) {
        const k = kind[t]!;
        rowSums[a * nt + t] = squaresByBlas && k === TERM_SQUARE ? 0 : gradientTerm(m, xt, k, n, t, a, kern);
      }
    }
  }
}

registerJob(JOB_GRADIENT_ROWS, (crew, p, buffer) => {
  const n = p[0]!;
  const nt = p[1]!;
  const view = (offset: number, length: number) => new Float64Array(buffer, offset, length);
  gradientRowsCrew(crew, view(p[2]!, n * n), view(p[3]!, n * n), view(p[4]!, n * n), view(p[5]!, n), p[9]!, view(p[6]!, nt * n), view(p[7]!, nt), view(p[8]!, n * nt), n, nt, false);
}, import.meta.url);

registerJob(JOB_GRADIENT_WEIGHTS, (crew, p, buffer) => {
  const n = p[0]!;
  const nt = p[1]!;
  const view = (offset: number, length: number) => new Float64Array(buffer, offset, length);
  gradientRowsCrew(crew, view(p[2]!, n * n), view(p[3]!, n * n), view(p[4]!, n * n), view(p[5]!, n), p[9]!, view(p[6]!, nt * n), view(p[7]!, nt), view(p[8]!, n * nt), n, nt, true);
}, import.meta.url);

/** Σ_{b<a} M_ab h_t(Δ_ab) for row a and term t. */
function gradientTerm(m: Float64Array, xt: Float64Array, k: number, n: number, t: number, a: number, kern: Dot42Kernel | undefined): number {
  const ra = a * n;
  const col = t * n;
  const xa = xt[col + a]!;
  let s = 0;
  if (k === TERM_SQUARE) {
    let b = 0;
    if (kern) {
      const pairs = a >> 1;
      s = kern.weightedSquares(m.byteOffset + 8 * ra, xt.byteOffset + 8 * col, pairs, xa);
      b = 2 * pairs;
    }
    for (; b < a; b++) {
      const d = xa - xt[col + b]!;
      s += m[ra + b]! * d * d;
    }
  } else if (k === TERM_WRAPPED) {
    for (let b = 0; b < a; b++) {
      let d = xa - xt[col + b]!;
      if (d > PI || d < -PI) {
        const w = d + PI;
        d = w - TWO_PI * Math.floor(w / TWO_PI) - PI;
      }
      s += m[ra + b]! * (d * d);
    }
  } else {
    for (let b = 0; b < a; b++) {
      const sn = Math.sin(0.5 * (xa - xt[col + b]!));
      s += m[ra + b]! * (sn * sn);
    }
  }
  return s;
}

/** h(Δ) of one term kind. */
export function termValue(kind: number, delta: number): number {
  if (kind === TERM_SQUARE) return delta * delta;
  if (kind === TERM_WRAPPED) {
    if (delta > PI || delta < -PI) {
      const t = delta + PI;
      delta = t - TWO_PI * Math.floor(t / TWO_PI) - PI;
    }
    return delta * delta;
  }
  if (kind === TERM_PERIODIC) {
    const sn = Math.sin(0.5 * delta);
    return sn * sn;
  }
  throw new AtomgpError(`likelihood: unknown kernel term kind ${kind}`);
}
