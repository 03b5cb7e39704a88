/**
 * Dense symmetric positive-definite linear algebra on row-major Float64Array, for GP training.
 * Matrices are n × n row-major; factors are lower triangular and stored in place (the strict
 * upper triangle is left as it was and never read). Loops are register-blocked over 4 rows so
 * that every row loaded from memory feeds several dot products: the Cholesky factorisation of
 * a training set of a few thousand points is the hot path of the trainer.
 */
import { AtomgpError } from '../errors.js';
import { type Crew, type LinalgTeam, registerJob, soloCrew } from './linalg-team.js';
import { type Dot42Kernel, kernelFor } from './linalg-wasm.js';
import type { NativeLapack } from './native-lapack.js';

/** Team jobs of this module (linalg-team-worker.ts imports it, so every worker has them). */
const JOB_CHOLESKY = 1;
const JOB_INVERSE_LOWER = 2;

const acc = new Float64Array(8);

/**
 * The 4 × 2 block of dot products over k ∈ [k0, k1): s_rc = Σ_k P[p_r + k] Q[q_c + k], returned
 * as s00 s01 s10 s11 s20 s21 s30 s31 (valid until the next call). With a wasm kernel (arrays
 * allocated by linalg-wasm.ts) the SIMD module does the work, otherwise this loop.
 */
function block42(
  kern: Dot42Kernel | undefined,
  P: Float64Array,
  p0: number,
  p1: number,
  p2: number,
  p3: number,
  Q: Float64Array,
  q0: number,
  q1: number,
  k0: number,
  k1: number,
): Float64Array {
  if (kern !== undefined) {
    const len = k1 - k0;
    const pb = P.byteOffset + 8 * k0;
    const qb = Q.byteOffset + 8 * k0;
    kern.run(pb + 8 * p0, pb + 8 * p1, pb + 8 * p2, pb + 8 * p3, qb + 8 * q0, qb + 8 * q1, len >> 1, kern.outOffset);
    const o = kern.out;
    if (len & 1) {
      const k = k1 - 1;
      const v0 = Q[q0 + k]!;
      const v1 = Q[q1 + k]!;
      const x0 = P[p0 + k]!;
      const x1 = P[p1 + k]!;
      const x2 = P[p2 + k]!;
      const x3 = P[p3 + k]!;
      o[0] = o[0]! + x0 * v0; o[1] = o[1]! + x0 * v1;
      o[2] = o[2]! + x1 * v0; o[3] = o[3]! + x1 * v1;
      o[4] = o[4]! + x2 * v0; o[5] = o[5]! + x2 * v1;
      o[6] = o[6]! + x3 * v0; o[7] = o[7]! + x3 * v1;
    }
    return o;
  }
  let s00 = 0, s10 = 0, s20 = 0, s30 = 0;
  let s01 = 0, s11 = 0, s21 = 0, s31 = 0;
  for (let k = k0; k < k1; k++) {
    const v0 = Q[q0 + k]!;
    const v1 = Q[q1 + k]!;
    const x0 = P[p0 + k]!;
    const x1 = P[p1 + k]!;
    const x2 = P[p2 + k]!;
    const x3 = P[p3 + k]!;
    s00 += x0 * v0; s10 += x1 * v0; s20 += x2 * v0; s30 += x3 * v0;
    s01 += x0 * v1; s11 += x1 * v1; s21 += x2 * v1; s31 += x3 * v1;
  }
  acc[0] = s00; acc[1] = s01; acc[2] = s10; acc[3] = s11;
  acc[4] = s20; acc[5] = s21; acc[6] = s30; acc[7] = s31;
  return acc;
}

/** Block size of the blocked Cholesky (columns per panel) and of its trailing-update tiles. */
const NB = 64;
const JB = 48;
/** Rows per work unit when copying and when solving the panel below a diagonal block. */
const COPY_ROWS = 32;
const PANEL_ROWS = 8;

/**
 * In-place Cholesky A = L Lᵀ of the lower triangle of `a`. Returns 0 on success, or the 1-based
 * row at which a non-positive pivot was met (like LAPACK's info). Rows before it hold valid L.
 *
 * Blocked right-looking form (LAPACK's dpotrf idea): factor a 64-column panel, then subtract its
 * contribution from the trailing lower triangle in tiles of 48 rows, so that the rows being dotted
 * stay in cache (the unblocked form streams all previous rows from memory for every row: gigabytes of
 * traffic per factorisation at n ≈ 2000).
 *
 * With a `team` (linalg-team.ts) and `a` in a shared wasm memory, the panel rows and the trailing
 * tiles are shared between its threads; the result is bit-identical.
 */
export function choleskyInPlace(a: Float64Array, n: number, team?: LinalgTeam): number {
  if (team) return choleskyTeam(team, a, n, a, 0);
  return choleskyCrew(soloCrew(), a, n, null, 0);
}

function choleskyTeam(team: LinalgTeam, a: Float64Array, n: number, source: Float64Array, jitter: number): number {
  if (source.buffer !== a.buffer) {
    copyLower(source, a, n);
    source = a;
  }
  const p = team.params;
  p[0] = n;
  p[1] = a.byteOffset;
  p[2] = source === a ? -1 : source.byteOffset;
  p[3] = jitter;
  return team.run(JOB_CHOLESKY, a.buffer);
}

registerJob(JOB_CHOLESKY, (crew, p, buffer) => {
  const n = p[0]!;
  const a = new Float64Array(buffer, p[1]!, n * n);
  const source = p[2]! >= 0 ? new Float64Array(buffer, p[2]!, n * n) : null;
  const info = choleskyCrew(crew, a, n, source, p[3]!);
  if (crew.tid === 0) crew.setResult(info);
});

/**
 * The blocked Cholesky as run by each thread of a crew: the diagonal blocks by thread 0, the rest
 * in work units. First, when `source` is given, its lower triangle is copied into `a` with
 * `jitter` added to the diagonal (only when jitter > 0, as choleskyWithJitter does).
 */
function choleskyCrew(crew: Crew, a: Float64Array, n: number, source: Float64Array | null, jitter: number): number {
  const kern = kernelFor(a);
  if (source || jitter > 0) {
    for (let u = crew.next(); u * COPY_ROWS < n; u = crew.next()) {
      const i1 = Math.min(n, (u + 1) * COPY_ROWS);
      for (let i = u * COPY_ROWS; i < i1; i++) {
        const r = i * n;
        if (source) a.set(source.subarray(r, r + i + 1), r);
        if (jitter > 0) a[r + i] = a[r + i]! + jitter;
      }
    }
    crew.sync();
  }
  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(k0 + NB, n);
    if (crew.tid === 0) crew.setResult(choleskyDiagonalBlock(a, n, k0, k1));
    crew.sync();
    const info = crew.result();
    if (info !== 0) return info;
    if (k1 >= n) break;
    // Panel below the diagonal block: L21 = A21 L11⁻ᵀ, row by row (rows are independent).
    for (let u = crew.next(); k1 + u * PANEL_ROWS < n; u = crew.next()) {
      const i0 = k1 + u * PANEL_ROWS;
      choleskyPanelRows(a, n, k0, k1, i0, Math.min(n, i0 + PANEL_ROWS));
    }
    crew.sync();
    // Trailing update, one 48-column tile per unit (tiles write disjoint columns).
    for (let u = crew.next(); k1 + u * JB < n; u = crew.next()) syrkLowerTile(a, n, k1 + u * JB, k0, k1, kern);
    crew.sync();
  }
  return 0;
}

/** Unblocked Cholesky of the diagonal block (columns < k0 already subtracted); info or 0. */
function choleskyDiagonalBlock(a: Float64Array, n: number, k0: number, k1: number): number {
  for (let i = k0; i < k1; i++) {
    const ri = i * n;
    for (let j = k0; j < i; j++) {
      const rj = j * n;
      let s = a[ri + j]!;
      for (let k = k0; k < j; k++) s -= a[ri + k]! * a[rj + k]!;
      a[ri + j] = s / a[rj + j]!;
    }
    let d = a[ri + i]!;
    for (let k = k0; k < i; k++) d -= a[ri + k]! * a[ri + k]!;
    if (!(d > 0) || !Number.isFinite(d)) return i + 1;
    a[ri + i] = Math.sqrt(d);
  }
  return 0;
}

function choleskyPanelRows(a: Float64Array, n: number, k0: number, k1: number, i0: number, i1: number): void {
  for (let i = i0; i < i1; i++) {
    const ri = i * n;
    for (let j = k0; j < k1; j++) {
      const rj = j * n;
      let s = a[ri + j]!;
      for (let k = k0; k < j; k++) s -= a[ri + k]! * a[rj + k]!;
      a[ri + j] = s / a[rj + j]!;
    }
  }
}

/**
 * a_ij −= Σ_{k0 ≤ k < k1} a_ik a_jk for j0 ≤ j < j0 + 48, j ≤ i < n (lower triangle only): one tile
 * of the trailing update, whose 48 rows j stay in cache while every row i below streams past;
 * 4 × 2 register block.
 */
function syrkLowerTile(a: Float64Array, n: number, j0: number, k0: number, k1: number, kern: Dot42Kernel | undefined): void {
  {
    const j1 = Math.min(j0 + JB, n);
    let i = j0;
    for (; i + 4 <= n; i += 4) {
      const r0 = i * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      const jEnd = Math.min(j1, i + 4);
      let j = j0;
      for (; j + 2 <= jEnd; j += 2) {
        const q0 = j * n;
        const s = block42(kern, a, r0, r1, r2, r3, a, q0, q0 + n, k0, k1);
        const s00 = s[0]!, s01 = s[1]!, s10 = s[2]!, s11 = s[3]!;
        const s20 = s[4]!, s21 = s[5]!, s30 = s[6]!, s31 = s[7]!;
        // Row i + m owns columns j ≤ i + m only (the diagonal tile is triangular).
        if (j <= i) a[r0 + j] = a[r0 + j]! - s00;
        if (j + 1 <= i) a[r0 + j + 1] = a[r0 + j + 1]! - s01;
        if (j <= i + 1) a[r1 + j] = a[r1 + j]! - s10;
        if (j + 1 <= i + 1) a[r1 + j + 1] = a[r1 + j + 1]! - s11;
        if (j <= i + 2) a[r2 + j] = a[r2 + j]! - s20;
        if (j + 1 <= i + 2) a[r2 + j + 1] = a[r2 + j + 1]! - s21;
        a[r3 + j] = a[r3 + j]! - s30;
        a[r3 + j + 1] = a[r3 + j + 1]! - s31;
      }
      for (; j < jEnd; j++) {
        const q = j * n;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let k = k0; k < k1; k++) {
          const v = a[q + k]!;
          s0 += a[r0 + k]! * v; s1 += a[r1 + k]! * v; s2 += a[r2 + k]! * v; s3 += a[r3 + k]! * v;
        }
        if (j <= i) a[r0 + j] = a[r0 + j]! - s0;
        if (j <= i + 1) a[r1 + j] = a[r1 + j]! - s1;
        if (j <= i + 2) a[r2 + j] = a[r2 + j]! - s2;
        a[r3 + j] = a[r3 + j]! - s3;
      }
    }
    for (; i < n; i++) {
      const ri = i * n;
      const jEnd = Math.min(j1, i + 1);
      for (let j = j0; j < jEnd; j++) {
        const q = j * n;
        let s = 0;
        for (let k = k0; k < k1; k++) s += a[ri + k]! * a[q + k]!;
        a[ri + j] = a[ri + j]! - s;
      }
    }
  }
}

export interface JitterOptions {
  /** First jitter added to the diagonal when the plain factorisation fails (default 1e-10 · mean diagonal). */
  initial?: number;
  /** Largest jitter tried before giving up (default 1e-4 · mean diagonal). */
  max?: number;
  /** What is being factorised, for the error message (e.g. `kernel matrix of O1`). */
  what?: string;
  /** Threads to share the work (bit-identical result); see choleskyInPlace. */
  team?: LinalgTeam;
  /** Factorise with this native LAPACK (dpotrf) instead of the built-in kernels (native-lapack.ts). */
  lapack?: NativeLapack;
  /** Threads for the native LAPACK (default 1). */
  threads?: number;
}

/**
 * Cholesky of the symmetric matrix `source` (only its lower triangle is read) into `factor`,
 * adding jitter·I when the matrix is numerically not positive definite: first none, then
 * `initial`, ×10 until `max`. Returns the jitter that was added (0 if none). Throws an
 * AtomgpError saying what was tried when even the largest jitter fails.
 */
export function choleskyWithJitter(
  source: Float64Array,
  n: number,
  factor: Float64Array,
  opts: JitterOptions = {},
): number {
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += source[i * n + i]!;
  meanDiag = n > 0 ? meanDiag / n : 1;
  if (!(meanDiag > 0) || !Number.isFinite(meanDiag)) meanDiag = 1;
  const first = opts.initial ?? 1e-10 * meanDiag;
  const max = opts.max ?? 1e-4 * meanDiag;
  let jitter = 0;
  for (;;) {
    // The copy (and jitter) is part of the threaded job; the single-thread path does the same.
    const info = opts.lapack
      ? nativeCholesky(opts.lapack, source, n, factor, jitter, opts.threads ?? 1)
      : opts.team
        ? choleskyTeam(opts.team, factor, n, source, jitter) : choleskyCrew(soloCrew(), factor, n, source === factor ? null : source, jitter);
    if (info === 0) return jitter;
    const next = jitter === 0 ? first : jitter * 10;
    if (next > max * (1 + 1e-12)) {
      throw new AtomgpError(
        `${opts.what ?? 'matrix'} (${n} × ${n}) is not positive definite: Cholesky failed at row ${info} ` +
          `even with jitter ${jitter.toExponential(2)} on the diagonal (limit ${max.toExponential(2)}); ` +
          'check for duplicate or near-duplicate training points, or raise the noise',
      );
    }
    jitter = next;
  }
}

/** Copy the lower triangle (+ jitter on the diagonal) and factorise it with the native LAPACK. */
function nativeCholesky(lapack: NativeLapack, source: Float64Array, n: number, factor: Float64Array, jitter: number, threads: number): number {
  if (source === factor && jitter !== 0) throw new AtomgpError('choleskyWithJitter: an in-place factorisation cannot be retried with jitter');
  copyLower(source, factor, n);
  if (jitter !== 0) for (let i = 0; i < n; i++) factor[i * n + i] = factor[i * n + i]! + jitter;
  return lapack.choleskyLower(factor, n, threads);
}

function copyLower(src: Float64Array, dst: Float64Array, n: number): void {
  if (src === dst) return;
  for (let i = 0; i < n; i++) {
    const r = i * n;
    dst.set(src.subarray(r, r + i + 1), r);
  }
}

/** log det A = 2 Σ log L_ii from a Cholesky factor. */
export function logDetFromCholesky(l: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(l[i * n + i]!);
  return 2 * s;
}

/** Solves L z = b in place (b becomes z). */
export function solveLower(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[ri + k]! * b[k]!;
    b[i] = s / l[ri + i]!;
  }
}

/** Solves Lᵀ z = b in place (b becomes z). */
export function solveLowerTransposed(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = n - 1; i >= 0; i--) {
    const zi = b[i]! / l[i * n + i]!;
    b[i] = zi;
    // Row i of L is column i of Lᵀ: remove its contribution from the rows above.
    const ri = i * n;
    for (let k = 0; k < i; k++) b[k] = b[k]! - l[ri + k]! * zi;
  }
}

/** Solves (L Lᵀ) x = b in place. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array): void {
  solveLower(l, n, b);
  solveLowerTransposed(l, n, b);
}

/**
 * Full inverse A⁻¹ = L⁻ᵀ L⁻¹ from the Cholesky factor `l`, written symmetric (both triangles)
 * into `out` (may not alias `l`). `work` (n × n) receives U = L⁻ᵀ; allocated when not given.
 * Both phases are dot products of contiguous rows (U row-major upper triangular), blocked 4 × 2.
 */
export function inverseFromCholesky(l: Float64Array, n: number, out: Float64Array, work?: Float64Array): void {
  const u = work ?? new Float64Array(n * n);
  invertLowerTransposed(l, n, u);
  const kern = kernelFor(u);
  // out_ab = Σ_{k ≥ max(a,b)} U_ak U_bk; U_bk = 0 for k < b, so for b ≥ a the sum starts at k = b.
  let a0 = 0;
  for (; a0 + 4 <= n; a0 += 4) {
    const p0 = a0 * n;
    const p1 = p0 + n;
    const p2 = p1 + n;
    const p3 = p2 + n;
    let b = a0;
    for (; b + 2 <= n; b += 2) {
      const q0 = b * n;
      const s = block42(kern, u, p0, p1, p2, p3, u, q0, q0 + n, b, n);
      out[p0 + b] = s[0]!; out[p0 + b + 1] = s[1]!;
      out[p1 + b] = s[2]!; out[p1 + b + 1] = s[3]!;
      out[p2 + b] = s[4]!; out[p2 + b + 1] = s[5]!;
      out[p3 + b] = s[6]!; out[p3 + b + 1] = s[7]!;
    }
    for (; b < n; b++) {
      for (let a = a0; a < a0 + 4; a++) out[a * n + b] = dotFrom(u, a * n, b * n, b, n);
    }
  }
  for (let a = a0; a < n; a++) for (let b = a; b < n; b++) out[a * n + b] = dotFrom(u, a * n, b * n, b, n);
  // Mirror the upper triangle (b ≥ a block-wise) into the lower one.
  for (let a = 0; a < n; a++) {
    const ra = a * n;
    for (let b = a + 1; b < n; b++) out[b * n + a] = out[ra + b]!;
  }
}

/**
 * Lower triangle (with the diagonal) of A⁻¹ = L⁻ᵀ L⁻¹ into `out`; its strict upper triangle is
 * not written. Half the stores of `inverseFromCholesky` and no transposing copy: the likelihood
 * gradient reads only the lower triangle. `work` (n × n) receives U = L⁻ᵀ.
 * (A⁻¹)_ab = Σ_{k ≥ a} U_ak U_bk for b ≤ a; rows of U are zero left of the diagonal, so a block of
 * four rows a0..a0+3 can sum from k = a0.
 * With a `team` and all three arrays in one shared wasm memory, the rows of U and the row blocks
 * of the product are shared between its threads; the result is bit-identical.
 * With `native`, LAPACK's dpotri computes it in `out` instead (`work` and `team` unused).
 */
export function inverseLowerFromCholesky(
  l: Float64Array,
  n: number,
  out: Float64Array,
  work?: Float64Array,
  team?: LinalgTeam,
  native?: { lapack: NativeLapack; threads: number },
): void {
  if (native) {
    // dpotri works in place: copy the factor's lower triangle, invert it there.
    copyLower(l, out, n);
    const info = native.lapack.inverseLowerFromFactor(out, n, native.threads);
    if (info !== 0) throw new AtomgpError(`inverse from the Cholesky factor (${n} × ${n}): zero diagonal element ${info} in the factor`);
    return;
  }
  const u = work ?? new Float64Array(n * n);
  if (team && u.buffer === l.buffer && out.buffer === l.buffer) {
    const p = team.params;
    p[0] = n;
    p[1] = l.byteOffset;
    p[2] = u.byteOffset;
    p[3] = out.byteOffset;
    team.run(JOB_INVERSE_LOWER, l.buffer);
    return;
  }
  inverseLowerCrew(soloCrew(), l, n, out, u);
}

registerJob(JOB_INVERSE_LOWER, (crew, p, buffer) => {
  const n = p[0]!;
  const view = (offset: number) => new Float64Array(buffer, offset, n * n);
  inverseLowerCrew(crew, view(p[1]!), n, view(p[3]!), view(p[2]!));
});

function inverseLowerCrew(crew: Crew, l: Float64Array, n: number, out: Float64Array, u: Float64Array): void {
  invertLowerTransposedCrew(crew, l, n, u);
  crew.sync();
  const kern = kernelFor(u);
  // One unit per block of four rows (cost ∝ a0 (n − a0): handed out in order), then the last rows.
  const blocks = n >> 2;
  for (let unit = crew.next(); unit <= blocks; unit = crew.next()) {
    if (unit === blocks) {
      for (let a = 4 * blocks; a < n; a++) for (let b = 0; b <= a; b++) out[a * n + b] = dotFrom(u, a * n, b * n, a, n);
      continue;
    }
    const a0 = 4 * unit;
    const p0 = a0 * n;
    const p1 = p0 + n;
    const p2 = p1 + n;
    const p3 = p2 + n;
    const bEnd = a0 + 4;
    for (let b = 0; b + 2 <= bEnd; b += 2) {
      const q0 = b * n;
      const s = block42(kern, u, p0, p1, p2, p3, u, q0, q0 + n, a0, n);
      const s00 = s[0]!, s01 = s[1]!, s10 = s[2]!, s11 = s[3]!;
      const s20 = s[4]!, s21 = s[5]!, s30 = s[6]!, s31 = s[7]!;
      // Row a0 + m keeps columns b ≤ a0 + m only.
      if (b <= a0) out[p0 + b] = s00;
      if (b + 1 <= a0) out[p0 + b + 1] = s01;
      if (b <= a0 + 1) out[p1 + b] = s10;
      if (b + 1 <= a0 + 1) out[p1 + b + 1] = s11;
      if (b <= a0 + 2) out[p2 + b] = s20;
      if (b + 1 <= a0 + 2) out[p2 + b + 1] = s21;
      out[p3 + b] = s30;
      out[p3 + b + 1] = s31;
    }
  }
}

function dotFrom(v: Float64Array, ra: number, rb: number, k0: number, n: number): number {
  let s = 0;
  for (let k = k0; k < n; k++) s += v[ra + k]! * v[rb + k]!;
  return s;
}

/**
 * U = L⁻ᵀ (upper triangular, row-major) into u; the strict lower triangle of u is zeroed.
 * Column i of U is found from U_ji = −(Σ_{k=j}^{i−1} L_ik U_jk) / L_ii, U_ii = 1/L_ii: each term
 * is a dot product of row i of L with row j of U, both contiguous.
 */
export function invertLowerTransposed(l: Float64Array, n: number, u: Float64Array): void {
  invertLowerTransposedCrew(soloCrew(), l, n, u);
}

/**
 * `invertLowerTransposed` for one thread of a crew. Row j of U needs only earlier entries of row j
 * (and L), so the rows are split statically: row pair j/2 belongs to thread (j/2) mod threads,
 * interleaved for balance (row j costs ∝ (n − j)²). Each thread keeps the loop order of one thread
 * (four rows of L in cache against all its rows of U), and no barrier is needed until the end.
 */
function invertLowerTransposedCrew(crew: Crew, l: Float64Array, n: number, u: Float64Array): void {
  const { tid, threads } = crew;
  const mine = (j: number) => (j >> 1) % threads === tid;
  for (let j = 0; j < n; j++) if (mine(j)) u.fill(0, j * n, j * n + j);
  const kern = kernelFor(l, u);
  // First pair of this thread, and the stride between its pairs (in rows).
  const first = 2 * tid;
  const stride = 2 * threads;
  let i0 = 0;
  for (; i0 + 4 <= n; i0 += 4) {
    const r0 = i0 * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    // Rows j < i0 of U: dot products over k < i0 for the four columns i0..i0+3 (k < j terms are 0).
    // i0 is a multiple of 4, so the pairs (j, j + 1) cover every j < i0.
    for (let j = first; j + 2 <= i0; j += stride) {
      const q0 = j * n;
      const q1 = q0 + n;
      const s = block42(kern, l, r0, r1, r2, r3, u, q0, q1, j, i0);
      const s00 = s[0]!, s01 = s[1]!, s10 = s[2]!, s11 = s[3]!;
      const s20 = s[4]!, s21 = s[5]!, s30 = s[6]!, s31 = s[7]!;
      finishU(l, n, u, q0, i0, s00, s10, s20, s30);
      finishU(l, n, u, q1, i0, s01, s11, s21, s31);
    }
    // Rows j = i0..i0+3 (the diagonal block).
    for (let jj = i0; jj < i0 + 4; jj++) {
      if (!mine(jj)) continue;
      const q = jj * n;
      for (let i = jj; i < i0 + 4; i++) {
        const ri = i * n;
        if (i === jj) {
          u[q + i] = 1 / l[ri + i]!;
          continue;
        }
        let s = 0;
        for (let k = jj; k < i; k++) s += l[ri + k]! * u[q + k]!;
        u[q + i] = -s / l[ri + i]!;
      }
    }
  }
  for (let i = i0; i < n; i++) {
    const ri = i * n;
    for (let jj = 0; jj < i; jj++) {
      if (!mine(jj)) continue;
      const q = jj * n;
      let s = 0;
      for (let k = jj; k < i; k++) s += l[ri + k]! * u[q + k]!;
      u[q + i] = -s / l[ri + i]!;
    }
    if (mine(i)) u[ri + i] = 1 / l[ri + i]!;
  }
}

/** Adds the in-block terms k = i0..i−1 to the four partial sums of row q of U and stores U_q,i. */
function finishU(
  l: Float64Array,
  n: number,
  u: Float64Array,
  q: number,
  i0: number,
  s0: number,
  s1: number,
  s2: number,
  s3: number,
): void {
  const r0 = i0 * n;
  const r1 = r0 + n;
  const r2 = r1 + n;
  const r3 = r2 + n;
  const u0 = -s0 / l[r0 + i0]!;
  u[q + i0] = u0;
  const u1 = -(s1 + l[r1 + i0]! * u0) / l[r1 + i0 + 1]!;
  u[q + i0 + 1] = u1;
  const u2 = -(s2 + l[r2 + i0]! * u0 + l[r2 + i0 + 1]! * u1) / l[r2 + i0 + 2]!;
  u[q + i0 + 2] = u2;
  u[q + i0 + 3] = -(s3 + l[r3 + i0]! * u0 + l[r3 + i0 + 1]! * u1 + l[r3 + i0 + 2]! * u2) / l[r3 + i0 + 3]!;
}

/** y = A x for a full (both triangles) row-major n × n matrix. */
export function matVec(a: Float64Array, n: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const r = i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += a[r + j]! * x[j]!;
    y[i] = s;
  }
}
