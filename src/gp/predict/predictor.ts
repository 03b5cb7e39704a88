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
 *
 * Wrapped terms cost per-element work, so a wrapped feature whose training values span ≤ π joins
 * the squared terms (the "fast" plan) whenever the query keeps every difference to those values in
 * [−π, π], where wrap(Δ) = Δ: one comparison per feature against the stored training min/max
 * (`wrapFree`). Any query outside a window takes the "general" plan (every wrapped term wrapped,
 * built on first need), so both give the same kernel to rounding.
 *
 * The kernel runs over the training set in two halves with separate accumulators, always, so that
 * gp/predict/team.ts can hand the halves to two threads with results bit-identical to one thread.
 * Training inputs stay float64: float32 storage (even centred per feature) moves energies by
 * 1e-6 to 6e-4 Ha on real FEREBUS/ichor models (bench/predict.ts measures it).
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

/** Packs the terms `take(kind, dim)` accepts, merging terms on the same feature: c_d = Σ c_i. */
function pack(model: GpModel, kernel: CompiledKernel, take: (kind: number, dim: number) => boolean): PackedTerms {
  const flat = kernel.flat!;
  const coefByDim = new Map<number, number>();
  for (let i = 0; i < flat.dim.length; i++) {
    const d = flat.dim[i]!;
    if (!take(flat.kind[i]!, d)) continue;
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

/**
 * Wrapped features whose training values all lie in [−π, π] and span at most π: for a query x_d in
 * [max − π, min + π] every difference x_d − X_jd lies in [−π, π], where wrap(Δ) = Δ, so the term
 * is a plain square there (the trainer's rule for training pairs, applied per call).
 */
function squareableWrapped(model: GpModel, kernel: CompiledKernel): { dim: Int32Array; lo: Float64Array; hi: Float64Array } {
  const flat = kernel.flat!;
  const dims = new Set<number>();
  for (let i = 0; i < flat.dim.length; i++) if (flat.kind[i] === TERM_WRAPPED) dims.add(flat.dim[i]!);
  const out: number[] = [];
  const los: number[] = [];
  const his: number[] = [];
  const K = model.nFeatures;
  for (const d of [...dims].sort((a, b) => a - b)) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < model.nTrain; j++) {
      const v = model.trainX[j * K + d]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (model.nTrain > 0 && lo >= -Math.PI && hi <= Math.PI && hi - lo <= Math.PI) {
      out.push(d);
      los.push(lo);
      his.push(hi);
    }
  }
  return { dim: Int32Array.from(out), lo: Float64Array.from(los), hi: Float64Array.from(his) };
}

/** Which implementation predicts: the SIMD kernel, the fused TypeScript pass, or the general tree (kernels with sums). */
export type PredictBackend = 'native' | 'wasm' | 'ts' | 'tree';

export interface AtomGpOptions {
  /**
   * 'auto' (default): the WebAssembly SIMD kernel where it applies and the runtime has it;
   * 'ts': the TypeScript pass (also forced by ATOMGP_PREDICT_BACKEND=ts).
   */
  backend?: 'auto' | 'ts';
  /**
   * Evaluate a wrapped (cyclic) term as a plain square whenever the query allows it exactly (see
   * `wrapFree`). Default true; false keeps every wrapped term on the wrapped path (tests, benchmarks).
   */
  squareWrapped?: boolean;
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

/** Doubles of a wasm memory and the kernel bound to that memory, for one plan's data. */
export interface KernelArena {
  /** View into the kernel's linear memory (its byteOffset is where the plan starts). */
  mem: Float64Array;
  predict: KernelPredict;
  kind: 'native' | 'wasm';
}

/** Training data and scratch of one model in the kernel's linear memory (byte offsets are absolute). */
export interface WasmPlan {
  predict: KernelPredict;
  /** The kernel `predict` runs: native (native/predict-kernel.c) or WebAssembly (same layout). */
  kind: 'native' | 'wasm';
  /** The plan's doubles (indices below are relative to this view). */
  mem: Float64Array;
  endYBytes: number;
  endWBytes: number;
  pV: number;
  pC: number;
  /**
   * The training set in two halves (blocks of four rows [0, nBlocks0) and the rest), each a kernel
   * call with its own accumulators: two threads can share one model, and one thread makes the same
   * two calls, so the sums are the same whichever runs them.
   */
  nBlocks0: number;
  pY0: number;
  pNorm0: number;
  pW0: number;
  pAcc0: number;
  nBlocks1: number;
  pY1: number;
  pNorm1: number;
  pW1: number;
  pAcc1: number;
  /** Offsets (in doubles, within `mem`) of V, the two accumulators, and the wrapped segment within a row. */
  oV: number;
  oAcc0: number;
  oAcc1: number;
  oWr: number;
  /** Σ c/2 of the periodic terms: the constant of their cos/sin expansion. */
  s0Pe: number;
  /** s0 of the call being prepared (`beginWasm`): q + s0Pe. */
  s0: number;
}

/** Size of a plan's layout, in doubles (0: no kernel layout possible for these terms). */
function wasmLayout(n: number, mSq: number, mWr: number, mPe: number): { yD: number; wD: number; row: number; nPad: number; total: number } {
  const mY = mSq + 2 * mPe;
  // Linear segment padded to whole pairs of f64x2 vectors (the kernel takes two per iteration).
  const yD = 4 * Math.ceil(mY / 4);
  const wD = mWr + (mWr & 1);
  const row = yD + wD;
  const nPad = 4 * Math.ceil(n / 4);
  const total = row === 0 ? 0 : nPad * row + 2 * nPad + 4 * row;
  return { yD, wD, row, nPad, total };
}

/**
 * Lays a model's packed training data out for the SIMD kernel, in `arena` or a fresh memory of its
 * own, or returns null when the kernel cannot reproduce the TypeScript pass exactly (wrapped
 * inputs outside [−π, π]) or is unavailable.
 */
function buildWasmPlan(
  n: number,
  sq: PackedTerms,
  normsSq: Float64Array,
  wr: PackedTerms,
  pe: PackedTerms,
  weights: Float64Array,
  arena?: KernelArena,
): WasmPlan | null {
  const mSq = sq.dim.length;
  const mWr = wr.dim.length;
  const mPe = pe.dim.length;
  for (let k = 0; k < wr.X.length; k++) if (!(Math.abs(wr.X[k]!) <= Math.PI)) return null;
  const { yD, row, nPad, total } = wasmLayout(n, mSq, mWr, mPe);
  if (total === 0) return null;
  let mem: Float64Array;
  let predict: KernelPredict;
  let kind: 'native' | 'wasm';
  if (arena) {
    if (arena.mem.length < total) throw new Error(`predictor: kernel arena of ${arena.mem.length} doubles for a plan of ${total}`);
    mem = arena.mem;
    predict = arena.predict;
    kind = arena.kind;
  } else {
    const inst = instantiateKernel(8 * total);
    if (!inst) return null;
    mem = new Float64Array(inst.buffer, 0, total);
    predict = inst.predict;
    kind = inst.kind;
  }
  mem.fill(0, 0, total);
  // Element i of row j, rows interleaved by vector within blocks of four (see kernel.wat).
  const at = (j: number, i: number) => (j >> 2) * 4 * row + 8 * (i >> 1) + 2 * (j & 3) + (i & 1);
  const oNorm = nPad * row;
  const oW = oNorm + nPad;
  const oV = oW + nPad;
  const oC = oV + row;
  const oAcc0 = oC + row;
  const oAcc1 = oAcc0 + row;
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
  const base = mem.byteOffset;
  const nBlocks = nPad / 4;
  const nBlocks0 = Math.ceil(nBlocks / 2);
  return {
    predict,
    kind,
    mem,
    endYBytes: 8 * yD,
    endWBytes: 8 * row,
    pV: base + 8 * oV,
    pC: base + 8 * oC,
    nBlocks0,
    pY0: base,
    pNorm0: base + 8 * oNorm,
    pW0: base + 8 * oW,
    pAcc0: base + 8 * oAcc0,
    nBlocks1: nBlocks - nBlocks0,
    pY1: base + 8 * (nBlocks0 * 4 * row),
    pNorm1: base + 8 * (oNorm + 4 * nBlocks0),
    pW1: base + 8 * (oW + 4 * nBlocks0),
    pAcc1: base + 8 * oAcc1,
    oV,
    oAcc0,
    oAcc1,
    oWr: yD,
    s0Pe,
    s0: 0,
  };
}

/**
 * One packing of a product kernel's terms for the fused pass: squared terms (expanded on centred
 * data), wrapped terms and periodic terms, with the scratch of a call and, where it applies, the
 * same data laid out for the SIMD kernel.
 */
interface FlatPlan {
  sq: PackedTerms;
  wr: PackedTerms;
  pe: PackedTerms;
  /** Per-column mean of the squared-term training inputs (centring keeps the expansion exact to ~1e-15). */
  centreSq: Float64Array;
  /** ‖X_j − centre‖² weighted by c, per training point. */
  normsSq: Float64Array;
  wasm: WasmPlan | null;
  xSq: Float64Array;
  cxSq: Float64Array;
  accSq: Float64Array;
  xWr: Float64Array;
  dWr: Float64Array;
  accWr: Float64Array;
  xPe: Float64Array;
  dPe: Float64Array;
  accPe: Float64Array;
}

function flatPlan(model: GpModel, kernel: CompiledKernel, squareDims: ReadonlySet<number>, withWasm: boolean): FlatPlan {
  const sq = pack(model, kernel, (k, d) => k === TERM_SQUARE || (k === TERM_WRAPPED && squareDims.has(d)));
  const wr = pack(model, kernel, (k, d) => k === TERM_WRAPPED && !squareDims.has(d));
  const pe = pack(model, kernel, (k) => k === TERM_PERIODIC);
  const mSq = sq.dim.length;
  const mWr = wr.dim.length;
  const mPe = pe.dim.length;
  const n = model.nTrain;
  const centreSq = new Float64Array(mSq);
  const normsSq = new Float64Array(n);
  const X = sq.X;
  if (mSq > 0) {
    for (let j = 0; j < n; j++) for (let i = 0; i < mSq; i++) centreSq[i] += X[j * mSq + i]! / n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < mSq; i++) {
        const v = X[j * mSq + i]! - centreSq[i]!;
        X[j * mSq + i] = v;
        s += sq.coef[i]! * v * v;
      }
      normsSq[j] = s;
    }
  }
  return {
    sq,
    wr,
    pe,
    centreSq,
    normsSq,
    wasm: withWasm ? buildWasmPlan(n, sq, normsSq, wr, pe, model.weights) : null,
    xSq: new Float64Array(mSq),
    cxSq: new Float64Array(mSq),
    accSq: new Float64Array(mSq),
    xWr: new Float64Array(mWr),
    dWr: new Float64Array(mWr),
    accWr: new Float64Array(mWr),
    xPe: new Float64Array(mPe),
    dPe: new Float64Array(mPe),
    accPe: new Float64Array(mPe),
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
  /**
   * The plan for queries inside the window of every squareable wrapped feature (those features as
   * square terms), or the only plan when there are none. Null for kernels with sums (tree).
   */
  private readonly fast: FlatPlan | null;
  /** Every wrapped term wrapped: the fallback outside a window (built on first need). */
  private general: FlatPlan | null;
  /** Squareable wrapped features and their training min/max (empty when squareWrapped is off). */
  private readonly sqWr: { dim: Int32Array; lo: Float64Array; hi: Float64Array };
  private readonly wantWasm: boolean;

  /** σ² on the diagonal of K + σ²I for `variance` (property units²). */
  readonly noiseVariance: number;
  /** Lower Cholesky factor of K + σ²I, computed on the first `variance` call. */
  private chol: Float64Array | null = null;
  private signalVar: number | undefined;
  private kStar: Float64Array | null = null;
  /** The implementation `predict` uses (see AtomGpOptions.backend). */
  readonly backend: PredictBackend;

  constructor(model: GpModel, periodicPrefactor: PeriodicPrefactor, options: AtomGpOptions = {}) {
    this.model = model;
    this.nFeatures = model.nFeatures;
    this.nTrain = model.nTrain;
    this.periodicPrefactor = periodicPrefactor;
    this.kernel = new CompiledKernel(model.kernels, model.composition, model.nFeatures, periodicPrefactor);
    this.mean = model.mean;
    this.weights = model.weights;
    this.wantWasm = (options.backend ?? 'auto') === 'auto' && backendFromEnv() !== 'ts';
    const none = { dim: new Int32Array(0), lo: new Float64Array(0), hi: new Float64Array(0) };
    if (this.kernel.flat) {
      this.sqWr = options.squareWrapped === false ? none : squareableWrapped(model, this.kernel);
      this.fast = flatPlan(model, this.kernel, new Set(this.sqWr.dim), this.wantWasm);
      this.general = this.sqWr.dim.length === 0 ? this.fast : null;
    } else {
      this.sqWr = none;
      this.fast = this.general = null;
    }
    this.backend = this.fast?.wasm ? this.fast.wasm.kind : this.fast ? 'ts' : 'tree';
    this.noiseVariance = options.noiseVariance ?? defaultNoiseVariance(model);
    this.signalVar = options.signalVariance;
  }

  /**
   * Whether every squareable wrapped feature of x (training values in [−π, π] spanning ≤ π) lies in
   * [max_train − π, min_train + π], so that all its differences to the training values lie in
   * [−π, π] and `predict` evaluates it as a plain square term; otherwise (or for NaN) the whole call
   * takes the wrapped path. True when the model has no such feature.
   */
  wrapFree(x: Float64Array): boolean {
    const { dim, lo, hi } = this.sqWr;
    for (let i = 0; i < dim.length; i++) {
      const v = x[dim[i]!]!;
      // The rounded differences are monotone in X, so checking the extremes checks them all.
      if (!(v - lo[i]! <= Math.PI && v - hi[i]! >= -Math.PI)) return false;
    }
    return true;
  }

  private planFor(x: Float64Array): FlatPlan {
    if (this.wrapFree(x)) return this.fast!;
    if (!this.general) this.general = flatPlan(this.model, this.kernel, new Set(), this.wantWasm);
    return this.general;
  }

  /**
   * E(x) (property units, Ha for iqa). If `grad` is given (length nFeatures) it is overwritten
   * with ∂E/∂x (Ha per bohr or radian).
   */
  predict(x: Float64Array, grad?: Float64Array): number {
    if (!this.fast) return this.predictGeneric(x, grad);
    const plan = this.planFor(x);
    const p = plan.wasm ? this.prepareWasm(plan, plan.wasm, x, grad !== undefined) : null;
    if (p) {
      const g = grad ? 1 : 0;
      const sum0 = p.predict(p.pY0, p.nBlocks0, p.endYBytes, p.endWBytes, p.pNorm0, p.pW0, p.pV, p.pC, p.pAcc0, p.s0, g);
      const sum1 = p.predict(p.pY1, p.nBlocks1, p.endYBytes, p.endWBytes, p.pNorm1, p.pW1, p.pV, p.pC, p.pAcc1, p.s0, g);
      return this.finishWasm(plan, p, x, sum0 + sum1, grad);
    }
    if (grad) {
      grad.fill(0);
      addMeanGradient(this.mean, x, 0, 1, grad);
    }
    return evaluateMean(this.mean, x, 0) + this.flatSum(plan, x, grad);
  }

  /** The TypeScript reference of `predict` (the fused pass, or the tree for kernels with sums). */
  predictTs(x: Float64Array, grad?: Float64Array): number {
    if (!this.fast) return this.predictGeneric(x, grad);
    if (grad) {
      grad.fill(0);
      addMeanGradient(this.mean, x, 0, 1, grad);
    }
    return evaluateMean(this.mean, x, 0) + this.flatSum(this.planFor(x), x, grad);
  }

  /**
   * First half of a kernel call, for callers that run the kernel elsewhere (potentials/gp-team.ts):
   * if `predict(x)` would use the SIMD kernel on the fast plan, writes the query into its memory
   * and returns that plan (its `s0` set); otherwise null. `finishKernelCall` completes it.
   */
  beginKernelCall(x: Float64Array, withGrad: boolean): WasmPlan | null {
    const plan = this.fast;
    if (!plan?.wasm || !this.wrapFree(x)) return null;
    return this.prepareWasm(plan, plan.wasm, x, withGrad);
  }

  /** E(x) and ∂E/∂x from the two halves' Σ_j a_j (and accumulators) after `beginKernelCall`. */
  finishKernelCall(x: Float64Array, sum0: number, sum1: number, grad?: Float64Array): number {
    return this.finishWasm(this.fast!, this.fast!.wasm!, x, sum0 + sum1, grad);
  }

  /** Doubles the fast plan's kernel layout needs (0 when it has none). */
  get kernelDoubles(): number {
    const f = this.fast;
    if (!f?.wasm) return 0;
    return wasmLayout(this.nTrain, f.sq.dim.length, f.wr.dim.length, f.pe.dim.length).total;
  }

  /** Moves the fast plan's kernel data into `arena` (a shared memory, for potentials/gp-team.ts). */
  moveKernelData(arena: KernelArena): WasmPlan {
    const f = this.fast;
    if (!f?.wasm) throw new Error('predictor: no kernel plan to move');
    f.wasm = buildWasmPlan(this.nTrain, f.sq, f.normsSq, f.wr, f.pe, this.weights, arena)!;
    return f.wasm;
  }

  /**
   * Writes V (and clears the accumulators) for Σ_j w_j k(x, x_j) through the SIMD kernel and sets
   * p.s0. Returns null for inputs the kernel does not take — non-finite, or a wrapped feature
   * outside [−2π, 2π] — which then go through the TypeScript pass.
   */
  private prepareWasm(plan: FlatPlan, p: WasmPlan, x: Float64Array, withGrad: boolean): WasmPlan | null {
    const sq = plan.sq;
    const wr = plan.wr;
    const pe = plan.pe;
    const mSq = sq.dim.length;
    const mWr = wr.dim.length;
    const mPe = pe.dim.length;
    const mem = p.mem;
    const oV = p.oV;
    const cSq = sq.coef;
    const centre = plan.centreSq;
    const xSq = plan.xSq;
    let q = 0;
    for (let i = 0; i < mSq; i++) {
      const v = x[sq.dim[i]!]! - centre[i]!;
      xSq[i] = v;
      const cv = cSq[i]! * v;
      mem[oV + i] = -2 * cv;
      q += cv * v;
    }
    const cPe = pe.coef;
    const xPe = plan.xPe;
    for (let i = 0; i < mPe; i++) {
      const v = x[pe.dim[i]!]!;
      xPe[i] = v;
      mem[oV + mSq + i] = -0.5 * cPe[i]! * Math.cos(v);
      mem[oV + mSq + mPe + i] = -0.5 * cPe[i]! * Math.sin(v);
    }
    const xWr = plan.xWr;
    let inRange = Number.isFinite(q);
    for (let i = 0; i < mWr; i++) {
      const v = x[wr.dim[i]!]!;
      xWr[i] = v;
      mem[oV + p.oWr + i] = v;
      if (!(Math.abs(v) <= TWO_PI)) inRange = false;
    }
    for (let i = 0; i < mPe; i++) if (!Number.isFinite(xPe[i]!)) inRange = false;
    if (!inRange) return null;
    // The two accumulators are adjacent.
    if (withGrad) mem.fill(0, p.oAcc0, p.oAcc0 + p.endWBytes / 4);
    p.s0 = q + p.s0Pe;
    return p;
  }

  /** Mean plus the kernel's sum, and the gradient from its accumulators. */
  private finishWasm(plan: FlatPlan, p: WasmPlan, x: Float64Array, sumA: number, grad?: Float64Array): number {
    if (grad) {
      grad.fill(0);
      addMeanGradient(this.mean, x, 0, 1, grad);
      const sq = plan.sq;
      const wr = plan.wr;
      const pe = plan.pe;
      const mSq = sq.dim.length;
      const mWr = wr.dim.length;
      const mPe = pe.dim.length;
      const mem = p.mem;
      const o0 = p.oAcc0;
      const o1 = p.oAcc1;
      const cSq = sq.coef;
      const xSq = plan.xSq;
      const xPe = plan.xPe;
      const cPe = pe.coef;
      const g = grad;
      for (let i = 0; i < mSq; i++) {
        const d = sq.dim[i]!;
        g[d] = g[d]! - 2 * cSq[i]! * (xSq[i]! * sumA - (mem[o0 + i]! + mem[o1 + i]!));
      }
      // Σ_j a_j sin(x − X_j) = sin x Σ a cos X − cos x Σ a sin X
      for (let i = 0; i < mPe; i++) {
        const d = pe.dim[i]!;
        const v = xPe[i]!;
        const accCos = mem[o0 + mSq + i]! + mem[o1 + mSq + i]!;
        const accSin = mem[o0 + mSq + mPe + i]! + mem[o1 + mSq + mPe + i]!;
        const aSin = Math.sin(v) * accCos - Math.cos(v) * accSin;
        g[d] = g[d]! - 0.5 * cPe[i]! * aSin;
      }
      const cWr = wr.coef;
      for (let i = 0; i < mWr; i++) {
        const d = wr.dim[i]!;
        g[d] = g[d]! - 2 * cWr[i]! * (mem[o0 + p.oWr + i]! + mem[o1 + p.oWr + i]!);
      }
    }
    return evaluateMean(this.mean, x, 0) + sumA;
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

  private flatSum(plan: FlatPlan, x: Float64Array, grad?: Float64Array): number {
    const sq = plan.sq;
    const wr = plan.wr;
    const pe = plan.pe;
    const mSq = sq.dim.length;
    const mWr = wr.dim.length;
    const mPe = pe.dim.length;
    // Squared terms by expansion on centred data: Σ c (x − X_j)² = q − 2 Σ (c x)·X_j + ‖X_j‖²_c.
    const xSq = plan.xSq;
    const cx = plan.cxSq;
    const cSq = sq.coef;
    const centre = plan.centreSq;
    let q = 0;
    for (let i = 0; i < mSq; i++) {
      const v = x[sq.dim[i]!]! - centre[i]!;
      xSq[i] = v;
      cx[i] = cSq[i]! * v;
      q += cx[i]! * v;
    }
    const XSq = sq.X;
    const norms = plan.normsSq;
    const cWr = wr.coef;
    const XWr = wr.X;
    const cPe = pe.coef;
    const XPe = pe.X;
    const dWr = plan.dWr;
    const dPe = plan.dPe;
    const xWr = plan.xWr;
    const xPe = plan.xPe;
    for (let i = 0; i < mWr; i++) xWr[i] = x[wr.dim[i]!]!;
    for (let i = 0; i < mPe; i++) xPe[i] = x[pe.dim[i]!]!;
    const w = this.weights;
    const n = this.nTrain;
    const withGrad = grad !== undefined;
    const accSq = plan.accSq;
    const accWr = plan.accWr;
    const accPe = plan.accPe;
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
