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
 *
 * Where WebAssembly SIMD is available the same fused pass runs in a hand-written f64x2 kernel
 * (wasm/kernel.wat), four training points at a time, with the training data laid out once in the
 * kernel's linear memory: row j = [centred squared-term inputs | cos X, sin X of the periodic
 * terms | wrapped-term inputs]. Periodic terms become linear too there, c sin²((x−X)/2) =
 * c/2 − (c/2)(cos x cos X + sin x sin X), so only the wrapped terms need per-element work. The
 * TypeScript pass stays as the reference and fallback (`backend: 'ts'` or ATOMGP_PREDICT_BACKEND=ts).
 */
import { AtomgpError } from '../../errors.js';
import { CompiledKernel, TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED, wrapAngle } from '../kernel/kernel.js';
import { choleskyWithJitter, solveLower } from '../../math/linalg.js';
import { addMeanGradient, evaluateMean, evaluateMeanRows } from '../model/mean.js';
import { type GpModel, type MeanSpec, metadataValue, type PeriodicPrefactor } from '../model/model.js';
import { parseReal } from '../../util/numbers.js';
import { backendFromEnv, instantiateKernel, type KernelPredict } from '../../math/wasm/predict-kernel.js';

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

/** Which implementation predicts: the SIMD kernel, the fused TypeScript pass, or the general tree (kernels with sums). */
export type PredictBackend = 'wasm' | 'ts' | 'tree';

export interface AtomGpOptions {
  /**
   * 'auto' (default): the WebAssembly SIMD kernel where it applies and the runtime has it;
   * 'ts': the TypeScript pass (also forced by ATOMGP_PREDICT_BACKEND=ts).
   */
  backend?: 'auto' | 'ts';
  /**
   * Noise σ² on the diagonal of K + σ²I for the predictive variance, in kernel units (the units of
   * the consistency check's fitted noise). Default: the model's `# noise` or `# nugget` metadata,
   * else 1e-10 (FEREBUS' nugget).
   */
  noiseVariance?: number;
  /**
   * Signal variance σ_f² (property units², Ha² for iqa) scaling the kernel in the predictive
   * variance. Default: the profiled value (y − m)ᵀ w / n, the maximum-likelihood σ_f² for the
   * stored kernel (FEREBUS' concentrated likelihood), since model files do not store one.
   */
  signalVariance?: number;
}

/** Training data and scratch of one model in the kernel's linear memory (offsets in bytes). */
interface WasmPlan {
  predict: KernelPredict;
  mem: Float64Array;
  nBlocks: number;
  endYBytes: number;
  endWBytes: number;
  pNorm: number;
  pW: number;
  pV: number;
  pC: number;
  pAcc: number;
  /** Offsets (in doubles) into `mem` of V and Acc, and of the wrapped segment within a row. */
  oV: number;
  oAcc: number;
  oWr: number;
  /** Σ c/2 of the periodic terms: the constant of their cos/sin expansion. */
  s0Pe: number;
}

/**
 * Lays a model's packed training data out for the SIMD kernel, or returns null when the kernel
 * cannot reproduce the TypeScript pass exactly (wrapped inputs outside [−π, π]) or is unavailable.
 */
function buildWasmPlan(
  n: number,
  sq: PackedTerms,
  normsSq: Float64Array,
  wr: PackedTerms,
  pe: PackedTerms,
  weights: Float64Array,
): WasmPlan | null {
  const mSq = sq.dim.length;
  const mWr = wr.dim.length;
  const mPe = pe.dim.length;
  for (let k = 0; k < wr.X.length; k++) if (!(Math.abs(wr.X[k]!) <= Math.PI)) return null;
  const mY = mSq + 2 * mPe;
  // Linear segment padded to whole pairs of f64x2 vectors (the kernel takes two per iteration).
  const yD = 4 * Math.ceil(mY / 4);
  const wD = mWr + (mWr & 1);
  const row = yD + wD;
  if (row === 0) return null;
  const nPad = 4 * Math.ceil(n / 4);
  // Element i of row j, rows interleaved by vector within blocks of four (see kernel.wat).
  const at = (j: number, i: number) => (j >> 2) * 4 * row + 8 * (i >> 1) + 2 * (j & 3) + (i & 1);
  const oNorm = nPad * row;
  const oW = oNorm + nPad;
  const oV = oW + nPad;
  const oC = oV + row;
  const oAcc = oC + row;
  const total = oAcc + row;
  const inst = instantiateKernel(8 * total);
  if (!inst) return null;
  const mem = new Float64Array(inst.buffer, 0, total);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < mSq; i++) mem[at(j, i)] = sq.X[j * mSq + i]!;
    for (let i = 0; i < mPe; i++) {
      const v = pe.X[j * mPe + i]!;
      mem[at(j, mSq + i)] = Math.cos(v);
      mem[at(j, mSq + mPe + i)] = Math.sin(v);
    }
    for (let i = 0; i < mWr; i++) mem[at(j, yD + i)] = wr.X[j * mWr + i]!;
    mem[oNorm + j] = normsSq[j]!;
    mem[oW + j] = weights[j]!;
  }
  for (let i = 0; i < mWr; i++) mem[oC + yD + i] = wr.coef[i]!;
  let s0Pe = 0;
  for (let i = 0; i < mPe; i++) s0Pe += 0.5 * pe.coef[i]!;
  return {
    predict: inst.predict,
    mem,
    nBlocks: nPad / 4,
    endYBytes: 8 * yD,
    endWBytes: 8 * row,
    pNorm: 8 * oNorm,
    pW: 8 * oW,
    pV: 8 * oV,
    pC: 8 * oC,
    pAcc: 8 * oAcc,
    oV,
    oAcc,
    oWr: yD,
    s0Pe,
  };
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

  /** σ² on the diagonal of K + σ²I for `variance` (property units²). */
  readonly noiseVariance: number;
  /** Lower Cholesky factor of K + σ²I, computed on the first `variance` call. */
  private chol: Float64Array | null = null;
  private signalVar: number | undefined;
  private kStar: Float64Array | null = null;
  /** The implementation `predict` uses (see AtomGpOptions.backend). */
  readonly backend: PredictBackend;
  private readonly wasm: WasmPlan | null;

  constructor(model: GpModel, periodicPrefactor: PeriodicPrefactor, options: AtomGpOptions = {}) {
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
    const wantWasm = (options.backend ?? 'auto') === 'auto' && backendFromEnv() === 'auto';
    this.wasm =
      wantWasm && this.sq && this.wr && this.pe
        ? buildWasmPlan(model.nTrain, this.sq, this.normsSq, this.wr, this.pe, this.weights)
        : null;
    this.backend = this.wasm ? 'wasm' : this.sq ? 'ts' : 'tree';
    this.noiseVariance = options.noiseVariance ?? defaultNoiseVariance(model);
    this.signalVar = options.signalVariance;
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
    if (this.wasm) {
      const s = this.wasmSum(this.wasm, x, grad);
      if (!Number.isNaN(s)) return e + s;
    }
    return e + (this.sq ? this.flatSum(x, grad) : this.treeSum(x, grad));
  }

  /** The TypeScript reference of `predict` (the fused pass, or the tree for kernels with sums). */
  predictTs(x: Float64Array, grad?: Float64Array): number {
    if (grad) {
      grad.fill(0);
      addMeanGradient(this.mean, x, 0, 1, grad);
    }
    return evaluateMean(this.mean, x, 0) + (this.sq ? this.flatSum(x, grad) : this.treeSum(x, grad));
  }

  /**
   * Σ_j w_j k(x, x_j) through the SIMD kernel, adding its gradient to `grad`. Returns NaN (and
   * leaves `grad` alone) for inputs it does not take — non-finite, or a wrapped feature outside
   * [−2π, 2π] — which then go through the TypeScript pass.
   */
  private wasmSum(p: WasmPlan, x: Float64Array, grad?: Float64Array): number {
    const sq = this.sq!;
    const wr = this.wr!;
    const pe = this.pe!;
    const mSq = sq.dim.length;
    const mWr = wr.dim.length;
    const mPe = pe.dim.length;
    const mem = p.mem;
    const oV = p.oV;
    const cSq = sq.coef;
    const centre = this.centreSq;
    const xSq = this.xSq;
    let q = 0;
    for (let i = 0; i < mSq; i++) {
      const v = x[sq.dim[i]!]! - centre[i]!;
      xSq[i] = v;
      const cv = cSq[i]! * v;
      mem[oV + i] = -2 * cv;
      q += cv * v;
    }
    const cPe = pe.coef;
    const xPe = this.xPe;
    for (let i = 0; i < mPe; i++) {
      const v = x[pe.dim[i]!]!;
      xPe[i] = v;
      mem[oV + mSq + i] = -0.5 * cPe[i]! * Math.cos(v);
      mem[oV + mSq + mPe + i] = -0.5 * cPe[i]! * Math.sin(v);
    }
    const xWr = this.xWr;
    let inRange = Number.isFinite(q);
    for (let i = 0; i < mWr; i++) {
      const v = x[wr.dim[i]!]!;
      xWr[i] = v;
      mem[oV + p.oWr + i] = v;
      if (!(Math.abs(v) <= TWO_PI)) inRange = false;
    }
    for (let i = 0; i < mPe; i++) if (!Number.isFinite(xPe[i]!)) inRange = false;
    if (!inRange) return Number.NaN;
    const oAcc = p.oAcc;
    if (grad) mem.fill(0, oAcc, oAcc + p.endWBytes / 8);
    const sumA = p.predict(
      0,
      p.nBlocks,
      p.endYBytes,
      p.endWBytes,
      p.pNorm,
      p.pW,
      p.pV,
      p.pC,
      p.pAcc,
      q + p.s0Pe,
      grad ? 1 : 0,
    );
    if (grad) {
      const g = grad;
      for (let i = 0; i < mSq; i++) {
        const d = sq.dim[i]!;
        g[d] = g[d]! - 2 * cSq[i]! * (xSq[i]! * sumA - mem[oAcc + i]!);
      }
      // Σ_j a_j sin(x − X_j) = sin x Σ a cos X − cos x Σ a sin X
      for (let i = 0; i < mPe; i++) {
        const d = pe.dim[i]!;
        const v = xPe[i]!;
        const accSin = Math.sin(v) * mem[oAcc + mSq + i]! - Math.cos(v) * mem[oAcc + mSq + mPe + i]!;
        g[d] = g[d]! - 0.5 * cPe[i]! * accSin;
      }
      const cWr = wr.coef;
      for (let i = 0; i < mWr; i++) {
        const d = wr.dim[i]!;
        g[d] = g[d]! - 2 * cWr[i]! * mem[oAcc + p.oWr + i]!;
      }
    }
    return sumA;
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
      e = kernel.weightedSum(x, 0, X, w, this.nTrain);
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

  /** σ_f² of the predictive variance (option, or the profiled (y − m)ᵀ w / n). */
  get signalVariance(): number {
    if (this.signalVar === undefined) {
      const n = this.nTrain;
      const m = evaluateMeanRows(this.mean, this.model.trainX, n, this.nFeatures);
      let s = 0;
      for (let j = 0; j < n; j++) s += (this.model.trainY[j]! - m[j]!) * this.weights[j]!;
      this.signalVar = n > 0 && s > 0 ? s / n : 1;
    }
    return this.signalVar;
  }

  /**
   * Predictive variance s²(x) = σ_f² [k(x, x) − k*ᵀ (K + σ²I)⁻¹ k*] (property units², Ha² for
   * iqa), σ_f² = `signalVariance`, σ² = `noiseVariance`. The first call factorises K + σ²I
   * (O(n³): ≈0.3 s for n = 1000, n² doubles kept); later calls cost one kernel row and one
   * triangular solve, O(n·K + n²).
   */
  variance(x: Float64Array): number {
    return this.signalVariance * this.kernelVariance(x);
  }

  /** k(x, x) − k*ᵀ (K + σ²I)⁻¹ k*: the posterior variance in kernel units (1 far from the data for products). */
  kernelVariance(x: Float64Array): number {
    const n = this.nTrain;
    const L = this.chol ?? this.factorise();
    const k = this.kStar!;
    this.kernel.row(x, 0, this.model.trainX, n, k);
    solveLower(L, n, k);
    let s = 0;
    for (let j = 0; j < n; j++) s += k[j]! * k[j]!;
    // Rounding can take the difference slightly below zero at a training input.
    return Math.max(0, this.kernel.selfValue(x, 0) - s);
  }

  /** Predictive standard deviation √s²(x) (property units, Ha for iqa). */
  std(x: Float64Array): number {
    return Math.sqrt(this.variance(x));
  }

  private factorise(): Float64Array {
    const n = this.nTrain;
    const A = this.kernel.matrix(this.model.trainX, n, this.noiseVariance);
    const L = new Float64Array(n * n);
    choleskyWithJitter(A, n, L, { what: `kernel matrix of ${this.model.source ?? this.model.atom}` });
    this.chol = L;
    this.kStar = new Float64Array(n);
    return L;
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

/** σ² for the predictive variance: the model's `# noise`, else `# nugget`, else FEREBUS' 1e-10. */
export function defaultNoiseVariance(model: Pick<GpModel, 'metadata'>): number {
  for (const key of ['noise', 'nugget']) {
    const text = metadataValue(model, key);
    const v = text === undefined ? undefined : parseReal(text.split(/\s+/)[0] ?? '');
    if (v !== undefined && Number.isFinite(v) && v >= 0) return v;
  }
  return 1e-10;
}

/** Checks a feature vector's length against a model, with a clear message. */
export function checkFeatureCount(model: GpModel, nFeatures: number, what: string): void {
  if (model.nFeatures !== nFeatures) {
    throw new AtomgpError(
      `${model.source ?? model.atom}: model has ${model.nFeatures} features but ${what} gives ${nFeatures}`,
    );
  }
}
