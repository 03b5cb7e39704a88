/**
 * Prediction of one atomic GP model: E(x*) = m(x*) + Σ_j w_j k(x*, x_j) and its gradient ∂E/∂x*.
 *
 * Hot path (kernel = product of exponential leaves, i.e. `k1`, `k1*k2`, …): the training inputs are
 * repacked per term kind into contiguous matrices, centred on their mean. One fused pass over the
 * training set computes each exponent — the plain squared terms by expansion, Σ c (x − X_j)² =
 * Σ c x² − 2 (c x)·X_j + Σ c X_j², a dot product — and the gradient of those terms comes from a
 * transposed mat-vec accumulated in the same pass: ∂E/∂x_d = −2 c_d (x_d Σ_j a_j − Σ_j a_j x_jd), a_j = w_j k_j. Wrapped (cyclic) and
 * periodic terms keep their per-point derivative. Kernels with sums use the general tree.
 * No allocation per call.
 */
import { AtomgpError } from '../errors.js';
import { CompiledKernel, TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED, wrapAngle } from './kernel.js';
import { addMeanGradient, evaluateMean } from './mean.js';
import type { GpModel, MeanSpec, PeriodicPrefactor } from './model.js';

const TWO_PI = 2 * Math.PI;

interface PackedTerms {
  /** Feature index of each packed column. */
  dim: Int32Array;
  coef: Float64Array;
  /** n × m row-major copy of the training inputs of these columns. */
  X: Float64Array;
}

function pack(model: GpModel, kernel: CompiledKernel, kind: number): PackedTerms {
  const flat = kernel.flat!;
  // Merge terms of the same kind on the same feature: c_d = Σ c_i.
  const coefByDim = new Map<number, number>();
  for (let i = 0; i < flat.dim.length; i++) {
    if (flat.kind[i] !== kind) continue;
    const d = flat.dim[i]!;
    coefByDim.set(d, (coefByDim.get(d) ?? 0) + flat.coef[i]!);
  }
  const dims = [...coefByDim.keys()].sort((a, b) => a - b);
  const m = dims.length;
  const n = model.nTrain;
  const K = model.nFeatures;
  const X = new Float64Array(n * m);
  for (let j = 0; j < n; j++) for (let i = 0; i < m; i++) X[j * m + i] = model.trainX[j * K + dims[i]!]!;
  return { dim: Int32Array.from(dims), coef: Float64Array.from(dims, (d) => coefByDim.get(d)!), X };
}

export class AtomGp {
  readonly model: GpModel;
  readonly nFeatures: number;
  readonly nTrain: number;
  readonly periodicPrefactor: PeriodicPrefactor;
  readonly kernel: CompiledKernel;
  private readonly mean: MeanSpec;
  private readonly weights: Float64Array;
  private readonly sq: PackedTerms | null;
  private readonly wr: PackedTerms | null;
  private readonly pe: PackedTerms | null;
  // Scratch, sized once.
  private readonly xSq: Float64Array;
  private readonly cxSq: Float64Array;
  /** Per-column mean of the squared-term training inputs (centring keeps the expansion exact to ~1e-15). */
  private readonly centreSq: Float64Array;
  /** ‖X_j − centre‖² weighted by c, per training point. */
  private readonly normsSq: Float64Array;
  private readonly xWr: Float64Array;
  private readonly xPe: Float64Array;
  private readonly accSq: Float64Array;
  private readonly dWr: Float64Array;
  private readonly accWr: Float64Array;
  private readonly dPe: Float64Array;
  private readonly accPe: Float64Array;

  constructor(model: GpModel, periodicPrefactor: PeriodicPrefactor) {
    this.model = model;
    this.nFeatures = model.nFeatures;
    this.nTrain = model.nTrain;
    this.periodicPrefactor = periodicPrefactor;
    this.kernel = new CompiledKernel(model.kernels, model.composition, model.nFeatures, periodicPrefactor);
    this.mean = model.mean;
    this.weights = model.weights;
    if (this.kernel.flat) {
      this.sq = pack(model, this.kernel, TERM_SQUARE);
      this.wr = pack(model, this.kernel, TERM_WRAPPED);
      this.pe = pack(model, this.kernel, TERM_PERIODIC);
    } else {
      this.sq = this.wr = this.pe = null;
    }
    const mSq = this.sq?.dim.length ?? 0;
    const mWr = this.wr?.dim.length ?? 0;
    const mPe = this.pe?.dim.length ?? 0;
    this.xSq = new Float64Array(mSq);
    this.cxSq = new Float64Array(mSq);
    this.centreSq = new Float64Array(mSq);
    this.normsSq = new Float64Array(model.nTrain);
    this.xWr = new Float64Array(mWr);
    this.xPe = new Float64Array(mPe);
    if (this.sq && mSq > 0) {
      const n = model.nTrain;
      const X = this.sq.X;
      for (let j = 0; j < n; j++) for (let i = 0; i < mSq; i++) this.centreSq[i] += X[j * mSq + i]! / n;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < mSq; i++) {
          const v = X[j * mSq + i]! - this.centreSq[i]!;
          X[j * mSq + i] = v;
          s += this.sq.coef[i]! * v * v;
        }
        this.normsSq[j] = s;
      }
    }
    this.accSq = new Float64Array(mSq);
    this.dWr = new Float64Array(mWr);
    this.accWr = new Float64Array(mWr);
    this.dPe = new Float64Array(mPe);
    this.accPe = new Float64Array(mPe);
  }

  /**
   * E(x) (property units, Ha for iqa). If `grad` is given (length nFeatures) it is overwritten
   * with ∂E/∂x (Ha per bohr or radian).
   */
  predict(x: Float64Array, grad?: Float64Array): number {
    if (grad) {
      grad.fill(0);
      addMeanGradient(this.mean, x, 0, 1, grad);
    }
    const e = evaluateMean(this.mean, x, 0);
    return e + (this.sq ? this.flatSum(x, grad) : this.treeSum(x, grad));
  }

  private treeSum(x: Float64Array, grad?: Float64Array): number {
    const K = this.nFeatures;
    const X = this.model.trainX;
    const w = this.weights;
    const kernel = this.kernel;
    let e = 0;
    if (grad) {
      for (let j = 0; j < this.nTrain; j++) e += w[j]! * kernel.valueAddGradient(x, 0, X, j * K, w[j]!, grad);
    } else {
      for (let j = 0; j < this.nTrain; j++) e += w[j]! * kernel.value(x, 0, X, j * K);
    }
    return e;
  }

  private flatSum(x: Float64Array, grad?: Float64Array): number {
    const sq = this.sq!;
    const wr = this.wr!;
    const pe = this.pe!;
    const mSq = sq.dim.length;
    const mWr = wr.dim.length;
    const mPe = pe.dim.length;
    // Squared terms by expansion on centred data: Σ c (x − X_j)² = q − 2 Σ (c x)·X_j + ‖X_j‖²_c.
    const xSq = this.xSq;
    const cx = this.cxSq;
    const cSq = sq.coef;
    const centre = this.centreSq;
    let q = 0;
    for (let i = 0; i < mSq; i++) {
      const v = x[sq.dim[i]!]! - centre[i]!;
      xSq[i] = v;
      cx[i] = cSq[i]! * v;
      q += cx[i]! * v;
    }
    const XSq = sq.X;
    const norms = this.normsSq;
    const cWr = wr.coef;
    const XWr = wr.X;
    const cPe = pe.coef;
    const XPe = pe.X;
    const dWr = this.dWr;
    const dPe = this.dPe;
    const xWr = this.xWr;
    const xPe = this.xPe;
    for (let i = 0; i < mWr; i++) xWr[i] = x[wr.dim[i]!]!;
    for (let i = 0; i < mPe; i++) xPe[i] = x[pe.dim[i]!]!;
    const w = this.weights;
    const n = this.nTrain;
    const withGrad = grad !== undefined;
    const accSq = this.accSq;
    const accWr = this.accWr;
    const accPe = this.accPe;
    if (withGrad) {
      accSq.fill(0);
      accWr.fill(0);
      accPe.fill(0);
    }
    let e = 0;
    let sumA = 0;
    for (let j = 0; j < n; j++) {
      const oSq = j * mSq;
      let dot = 0;
      for (let i = 0; i < mSq; i++) dot += cx[i]! * XSq[oSq + i]!;
      let s = q - 2 * dot + norms[j]!;
      if (mWr > 0) {
        const oWr = j * mWr;
        for (let i = 0; i < mWr; i++) {
          let d = xWr[i]! - XWr[oWr + i]!;
          // Inputs are azimuths in (−π, π], so one shift by 2π suffices; anything else takes the general wrap.
          if (d > Math.PI) d = d > 3 * Math.PI ? wrapAngle(d) : d - TWO_PI;
          else if (d < -Math.PI) d = d < -3 * Math.PI ? wrapAngle(d) : d + TWO_PI;
          dWr[i] = d;
          s += cWr[i]! * d * d;
        }
      }
      if (mPe > 0) {
        const oPe = j * mPe;
        for (let i = 0; i < mPe; i++) {
          const d = xPe[i]! - XPe[oPe + i]!;
          dPe[i] = d;
          const h = Math.sin(0.5 * d);
          s += cPe[i]! * h * h;
        }
      }
      const a = w[j]! * Math.exp(-s);
      e += a;
      if (withGrad) {
        sumA += a;
        for (let i = 0; i < mSq; i++) accSq[i] += a * XSq[oSq + i]!;
        for (let i = 0; i < mWr; i++) accWr[i] += a * dWr[i]!;
        for (let i = 0; i < mPe; i++) accPe[i] += a * Math.sin(dPe[i]!);
      }
    }
    if (withGrad) {
      const g = grad!;
      for (let i = 0; i < mSq; i++) {
        const d = sq.dim[i]!;
        g[d] = g[d]! - 2 * cSq[i]! * (xSq[i]! * sumA - accSq[i]!);
      }
      for (let i = 0; i < mWr; i++) {
        const d = wr.dim[i]!;
        g[d] = g[d]! - 2 * cWr[i]! * accWr[i]!;
      }
      for (let i = 0; i < mPe; i++) {
        const d = pe.dim[i]!;
        g[d] = g[d]! - 0.5 * cPe[i]! * accPe[i]!;
      }
    }
    return e;
  }

  /** Reference implementation through the general kernel tree (tests, benchmarks). */
  predictGeneric(x: Float64Array, grad?: Float64Array): number {
    if (grad) {
      grad.fill(0);
      addMeanGradient(this.mean, x, 0, 1, grad);
    }
    return evaluateMean(this.mean, x, 0) + this.treeSum(x, grad);
  }
}

/** Checks a feature vector's length against a model, with a clear message. */
export function checkFeatureCount(model: GpModel, nFeatures: number, what: string): void {
  if (model.nFeatures !== nFeatures) {
    throw new AtomgpError(
      `${model.source ?? model.atom}: model has ${model.nFeatures} features but ${what} gives ${nFeatures}`,
    );
  }
}
