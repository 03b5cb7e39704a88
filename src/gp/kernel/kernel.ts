/**
 * Kernels of the FFLUX model format, compiled for fast evaluation with gradients.
 *
 * Every leaf kernel is an exponential of a sum of per-dimension terms, k = exp(−Σ_i c_i h_i(Δ_i)),
 * with Δ = a_d − b_d on its active dimension d and
 *   rbf         h(Δ) = Δ²                           c = θ
 *   rbf-cyclic  h(Δ) = wrap(Δ)² on every third active dimension (positions 3, 6, 9, … of its
 *               active list, the ALF azimuths φ), Δ² elsewhere;  wrap(Δ) = ((Δ + π) mod 2π) − π
 *   periodic    h(Δ) = sin²(Δ/2), c = p·θ with p = 4 (DL_FFLUX, ichor) or 2 (GPyTorch files)
 * Compositions combine leaves with + and *. A product of leaves is again one exponential, so the
 * common compositions (`k1`, `k1*k2`) collapse into a single flat term list (`flat`), which the
 * predictor's hot loop uses; sums go through the general tree evaluator.
 */
import { AtomgpError } from '../../errors.js';
import type { Composition, GpModel, KernelSpec, PeriodicPrefactor } from '../model/model.js';

const TWO_PI = 2 * Math.PI;

/** ((d + π) mod 2π) − π with a floored modulo, as numpy's % does: result in [−π, π). */
export function wrapAngle(d: number): number {
  const t = d + Math.PI;
  return t - TWO_PI * Math.floor(t / TWO_PI) - Math.PI;
}

/** Term kinds: squared difference, squared wrapped difference, sin²(Δ/2). */
export const TERM_SQUARE = 0;
export const TERM_WRAPPED = 1;
export const TERM_PERIODIC = 2;

/** One exponential kernel as flat arrays: k = exp(−Σ_i coef[i] h_kind[i](a[dim[i]] − b[dim[i]])). */
export interface ExpTerms {
  dim: Int32Array;
  coef: Float64Array;
  kind: Uint8Array;
}

/** Compile one `[kernel.kN]` section into flat terms (dims 0-based). */
export function compileLeaf(spec: KernelSpec, nFeatures: number, periodicPrefactor: PeriodicPrefactor): ExpTerms {
  const n = spec.activeDims.length;
  if (spec.theta.length !== n) {
    throw new AtomgpError(
      `kernel ${spec.name}: ${spec.theta.length} theta values for ${n} active dimensions (expected one per dimension)`,
    );
  }
  const dim = new Int32Array(n);
  const coef = new Float64Array(n);
  const kind = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const d = spec.activeDims[i]! - 1;
    if (!Number.isInteger(d) || d < 0 || d >= nFeatures) {
      throw new AtomgpError(
        `kernel ${spec.name}: active dimension ${spec.activeDims[i]} is outside 1..${nFeatures}`,
      );
    }
    const theta = spec.theta[i]!;
    if (!Number.isFinite(theta) || theta < 0) {
      throw new AtomgpError(`kernel ${spec.name}: theta ${theta} must be a finite number ≥ 0`);
    }
    dim[i] = d;
    switch (spec.type) {
      case 'rbf':
        kind[i] = TERM_SQUARE;
        coef[i] = theta;
        break;
      case 'rbf-cyclic':
        kind[i] = (i + 1) % 3 === 0 ? TERM_WRAPPED : TERM_SQUARE;
        coef[i] = theta;
        break;
      case 'periodic':
        kind[i] = TERM_PERIODIC;
        coef[i] = periodicPrefactor * theta;
        break;
      default:
        throw new AtomgpError(`kernel ${spec.name}: unknown type '${(spec as KernelSpec).type}'`);
    }
  }
  return { dim, coef, kind };
}

function concatTerms(parts: ExpTerms[]): ExpTerms {
  let n = 0;
  for (const p of parts) n += p.dim.length;
  const out: ExpTerms = { dim: new Int32Array(n), coef: new Float64Array(n), kind: new Uint8Array(n) };
  let o = 0;
  for (const p of parts) {
    out.dim.set(p.dim, o);
    out.coef.set(p.coef, o);
    out.kind.set(p.kind, o);
    o += p.dim.length;
  }
  return out;
}

/** Exponent s = Σ c h(Δ) of one exponential kernel between rows a[aOff..] and b[bOff..]. */
export function exponent(t: ExpTerms, a: Float64Array, aOff: number, b: Float64Array, bOff: number): number {
  const { dim, coef, kind } = t;
  let s = 0;
  for (let i = 0; i < dim.length; i++) {
    const d = dim[i]!;
    let delta = a[aOff + d]! - b[bOff + d]!;
    const k = kind[i];
    if (k === TERM_SQUARE) {
      s += coef[i]! * delta * delta;
    } else if (k === TERM_WRAPPED) {
      delta = wrapAngle(delta);
      s += coef[i]! * delta * delta;
    } else {
      const sn = Math.sin(0.5 * delta);
      s += coef[i]! * sn * sn;
    }
  }
  return s;
}

/** Adds scale · ∂s/∂a_d to grad[d] for every term (s = exponent above). */
export function addExponentGradient(
  t: ExpTerms,
  a: Float64Array,
  aOff: number,
  b: Float64Array,
  bOff: number,
  scale: number,
  grad: Float64Array,
): void {
  const { dim, coef, kind } = t;
  for (let i = 0; i < dim.length; i++) {
    const d = dim[i]!;
    const delta = a[aOff + d]! - b[bOff + d]!;
    const k = kind[i];
    let h1: number;
    if (k === TERM_SQUARE) h1 = 2 * delta;
    else if (k === TERM_WRAPPED) h1 = 2 * wrapAngle(delta);
    else h1 = 0.5 * Math.sin(delta);
    grad[d] = grad[d]! + scale * coef[i]! * h1;
  }
}

// Tree program: nodes in post-order. op 0 = leaf (arg = leaf index), 1 = sum, 2 = product.
interface Program {
  op: Uint8Array;
  arg: Int32Array;
  left: Int32Array;
  right: Int32Array;
}

/**
 * A compiled kernel: k(a, b) and ∂k/∂a for rows of feature matrices. When the composition is a
 * pure product, `flat` holds the single exponential it collapses to.
 */
export class CompiledKernel {
  readonly nFeatures: number;
  readonly leaves: ExpTerms[];
  /** Non-null when the composition is a product of leaves: k = exp(−s_flat). */
  readonly flat: ExpTerms | null;
  private readonly program: Program;
  private readonly vals: Float64Array;
  private readonly grads: Float64Array;

  constructor(kernels: KernelSpec[], composition: Composition, nFeatures: number, periodicPrefactor: PeriodicPrefactor) {
    this.nFeatures = nFeatures;
    const index = new Map<string, number>();
    this.leaves = [];
    for (const k of kernels) {
      if (index.has(k.name)) throw new AtomgpError(`kernel '${k.name}' is defined twice`);
      index.set(k.name, this.leaves.length);
      this.leaves.push(compileLeaf(k, nFeatures, periodicPrefactor));
    }
    const ops: number[] = [];
    const args: number[] = [];
    const lefts: number[] = [];
    const rights: number[] = [];
    let pureProduct = true;
    const used: number[] = [];
    const emit = (c: Composition): number => {
      if (c.op === 'kernel') {
        const li = index.get(c.name);
        if (li === undefined) {
          throw new AtomgpError(
            `composition names kernel '${c.name}', but only ${[...index.keys()].join(', ') || 'none'} are defined`,
          );
        }
        used.push(li);
        ops.push(0);
        args.push(li);
        lefts.push(-1);
        rights.push(-1);
        return ops.length - 1;
      }
      if (c.op === '+') pureProduct = false;
      const l = emit(c.left);
      const r = emit(c.right);
      ops.push(c.op === '+' ? 1 : 2);
      args.push(-1);
      lefts.push(l);
      rights.push(r);
      return ops.length - 1;
    };
    emit(composition);
    this.program = {
      op: Uint8Array.from(ops),
      arg: Int32Array.from(args),
      left: Int32Array.from(lefts),
      right: Int32Array.from(rights),
    };
    this.flat = pureProduct ? concatTerms(used.map((i) => this.leaves[i]!)) : null;
    this.vals = new Float64Array(ops.length);
    this.grads = new Float64Array(ops.length * nFeatures);
  }

  /** k(a[aOff..], b[bOff..]). */
  value(a: Float64Array, aOff: number, b: Float64Array, bOff: number): number {
    if (this.flat) return Math.exp(-exponent(this.flat, a, aOff, b, bOff));
    const { op, arg, left, right } = this.program;
    const v = this.vals;
    for (let n = 0; n < op.length; n++) {
      const o = op[n];
      if (o === 0) v[n] = Math.exp(-exponent(this.leaves[arg[n]!]!, a, aOff, b, bOff));
      else if (o === 1) v[n] = v[left[n]!]! + v[right[n]!]!;
      else v[n] = v[left[n]!]! * v[right[n]!]!;
    }
    return v[op.length - 1]!;
  }

  /** Returns k(a, b) and adds scale · ∂k/∂a to grad (length nFeatures). */
  valueAddGradient(a: Float64Array, aOff: number, b: Float64Array, bOff: number, scale: number, grad: Float64Array): number {
    if (this.flat) {
      const k = Math.exp(-exponent(this.flat, a, aOff, b, bOff));
      addExponentGradient(this.flat, a, aOff, b, bOff, -scale * k, grad);
      return k;
    }
    const { op, arg, left, right } = this.program;
    const K = this.nFeatures;
    const v = this.vals;
    const g = this.grads;
    for (let n = 0; n < op.length; n++) {
      const o = op[n];
      const gn = n * K;
      if (o === 0) {
        const k = Math.exp(-exponent(this.leaves[arg[n]!]!, a, aOff, b, bOff));
        v[n] = k;
        g.fill(0, gn, gn + K);
        const sub = g.subarray(gn, gn + K);
        addExponentGradient(this.leaves[arg[n]!]!, a, aOff, b, bOff, -k, sub);
      } else {
        const l = left[n]!;
        const r = right[n]!;
        const gl = l * K;
        const gr = r * K;
        if (o === 1) {
          v[n] = v[l]! + v[r]!;
          for (let d = 0; d < K; d++) g[gn + d] = g[gl + d]! + g[gr + d]!;
        } else {
          const vl = v[l]!;
          const vr = v[r]!;
          v[n] = vl * vr;
          for (let d = 0; d < K; d++) g[gn + d] = g[gl + d]! * vr + vl * g[gr + d]!;
        }
      }
    }
    const root = op.length - 1;
    const gr = root * K;
    for (let d = 0; d < K; d++) grad[d] = grad[d]! + scale * g[gr + d]!;
    return v[root]!;
  }

  /** k(x, x): 1 for products of exponentials, the number of summed products otherwise. */
  selfValue(x: Float64Array, off: number): number {
    return this.value(x, off, x, off);
  }

  /**
   * start + Σ_j w_j k(x[xOff..], X_j) over the n rows of X, summed in j order: the GP mean
   * E = m + Σ w k with `start` = m (prediction, validation, additive totals).
   */
  weightedSum(x: Float64Array, xOff: number, X: Float64Array, w: ArrayLike<number>, n: number, start = 0): number {
    const K = this.nFeatures;
    let e = start;
    for (let j = 0; j < n; j++) e += w[j]! * this.value(x, xOff, X, j * K);
    return e;
  }

  /** k(x[xOff..], X_j) for the n rows of X, into `out`. */
  row(x: Float64Array, xOff: number, X: Float64Array, n: number, out: Float64Array): Float64Array {
    const K = this.nFeatures;
    for (let j = 0; j < n; j++) out[j] = this.value(x, xOff, X, j * K);
    return out;
  }

  /**
   * The n × n kernel matrix of the rows of X plus `noise` on the diagonal, both triangles
   * (row-major, into `out` or a new array); each pair evaluated once.
   */
  matrix(X: Float64Array, n: number, noise = 0, out: Float64Array = new Float64Array(n * n)): Float64Array {
    const K = this.nFeatures;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        const v = this.value(X, i * K, X, j * K);
        out[i * n + j] = v;
        out[j * n + i] = v;
      }
      out[i * n + i] = out[i * n + i]! + noise;
    }
    return out;
  }

  /**
   * K w (without noise) for the n rows of X: each pair (i, j < i) evaluated once and used for
   * both rows; products of kernels go straight to their single exponential.
   */
  timesVector(X: Float64Array, n: number, w: ArrayLike<number>, out: Float64Array = new Float64Array(n)): Float64Array {
    const K = this.nFeatures;
    const flat = this.flat;
    out.fill(0);
    for (let i = 0; i < n; i++) {
      const xi = i * K;
      const wi = w[i]!;
      let acc = this.selfValue(X, xi) * wi;
      if (flat) {
        for (let j = 0; j < i; j++) {
          const v = Math.exp(-exponent(flat, X, xi, X, j * K));
          acc += v * w[j]!;
          out[j] = out[j]! + v * wi;
        }
      } else {
        for (let j = 0; j < i; j++) {
          const v = this.value(X, xi, X, j * K);
          acc += v * w[j]!;
          out[j] = out[j]! + v * wi;
        }
      }
      out[i] = out[i]! + acc;
    }
    return out;
  }
}

/** Compile the kernel of a model. */
export function compileModelKernel(model: GpModel, periodicPrefactor: PeriodicPrefactor): CompiledKernel {
  return new CompiledKernel(model.kernels, model.composition, model.nFeatures, periodicPrefactor);
}

/** Whether any kernel of the model is periodic (so the prefactor convention matters). */
export function hasPeriodicKernel(model: Pick<GpModel, 'kernels'>): boolean {
  return model.kernels.some((k) => k.type === 'periodic');
}

/**
 * Symmetric kernel matrix K_ij = k(x_i, x_j) of rows of X (n × K row-major), into `out`
 * (n × n row-major, allocated if not given).
 */
export function kernelMatrix(kernel: CompiledKernel, X: Float64Array, n: number, out?: Float64Array): Float64Array {
  return kernel.matrix(X, n, 0, out);
}
