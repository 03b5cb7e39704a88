/**
 * Weights of an additive model set from energies AND forces (science.md §6; docs/force-fit.md).
 * Also for per-atom models on atomic labels (IQA, the built-in reference's partition): then every
 * atom's energy is an observation (`energyLabels: 'atomic'`) and each atom has its own σ_f².
 *
 * An additive GP trained on totals (additive.ts) stores one weight per training geometry, shared by
 * every atom: 1000 numbers fitted to 1000 totals. A reference such as GFN2-xTB also gives forces,
 * 3N numbers per geometry that the total-energy fit never sees; measured on capped serine the
 * energy-only models predicted forces 10.6 kcal/mol/Å off and had a 55 kcal/mol/Å force at the
 * reference's own minimum.
 *
 * This refit keeps every atom's kernel, θ and training inputs (so the files stay FFLUX `.model`s:
 * E_A(x) = m_A + k_A(x, X_A) w_A) and chooses each atom's own weights w_A from the energies and the
 * forces together: the GP with inducing points at each atom's training inputs (the "deterministic
 * training conditional"). The inducing values u_A = (R_A + νI) w_A carry a small white nugget ν
 * per atom (relative to σ_f²; it keeps the prior proper where R_A is numerically singular), and
 * the weights minimise
 *     Σ_i (y_i − Σ_A (R_A + νI)[i,:] w_A)² / λ_E + Σ_g,c (∂E/∂r_c(g) − Σ_A D_A[gc,:] w_A)² / λ_F
 *       + Σ_A w_Aᵀ (R_A + νI) w_A
 * with y_i = E_i − Σ_A m_A, D_A[gc, j] = ∂k_A(f_A(r_g), X_A,j)/∂r_c (through the ALF's chain rule),
 * R_A the atom's kernel matrix and λ_E = σ_E²/σ_f², λ_F = σ_F²/σ_f² (σ_f² the energy fit's signal
 * variance; σ_E and σ_F the stated noise of energies and force components). The last term is the
 * prior u_A ~ N(0, σ_f² (R_A + νI)).
 *
 * Exactness: with no forces every w_A equals the same w with (Σ_A R_A + (Nν + λ_E) I) w = y
 * (stationarity gives w_A = (y − Σ_B (R_B + νI) w_B)/λ_E for every A), which is the total-energy GP
 * with noise λ = Nν + λ_E: the refit reproduces it (tested); with forces, a function that lies in
 * the span of the atoms' kernels is recovered from its energies and forces (tested against such a
 * "teacher").
 *
 * Normal equations: (Φᵀ Λ⁻¹ Φ + blockdiag R_A + εI) w = Φᵀ Λ⁻¹ t, of order N·n (23 000 for serine
 * with 1000 geometries: 4.2 GB), built by rank updates over chunks of rows (dsyrk) and solved by
 * Cholesky after Jacobi equilibration (unit diagonal); OpenBLAS when it loads
 * (math/native-lapack.ts), the built-in kernels otherwise. Should rounding leave it indefinite, a
 * numerical jitter (1e-14 of each diagonal entry, growing tenfold) is added and recorded.
 *
 * Each model states ν as its noise and stores the atomic targets y_A = m_A + (R_A + νI) w_A (its
 * inducing values), so the model-set loader's self-consistency check holds exactly.
 */
import { BOHR_PER_ANGSTROM } from '../../chem/units.js';
import { AtomgpError } from '../../errors.js';
import { AlfFeaturizer } from '../../features/alf.js';
import { choleskyInPlace, choleskySolve } from '../../math/linalg.js';
import { type NativeLapack, nativeLapack } from '../../math/native-lapack.js';
import { addExponentGradient, compileModelKernel, exponent, type ExpTerms } from '../kernel/kernel.js';
import { type GpModel, metadataValue, type PeriodicPrefactor } from '../model/model.js';

/** Largest number of weights (atoms × geometries) the force fit takes: its dense matrix is (order)² doubles. */
export const FORCE_FIT_MAX_ORDER = 30000;

function forceFitTooLarge(nAtoms: number, nGeometries: number, maxOrder: number): string {
  const order = nAtoms * nGeometries;
  return `${nAtoms} atoms × ${nGeometries} geometries = ${order} weights exceed the limit of ${maxOrder} (a ${((order * order * 8) / 1e9).toFixed(1)} GB matrix)`;
}

/**
 * Throws before any work when a force fit of `nGeometries` geometries of an `nAtoms`-atom molecule
 * would exceed FORCE_FIT_MAX_ORDER (the pipeline checks its --n-train right after the relaxation,
 * not after a θ search of half an hour).
 */
export function checkForceFitSize(nAtoms: number, nGeometries: number): void {
  if (nAtoms * nGeometries <= FORCE_FIT_MAX_ORDER) return;
  throw new AtomgpError(
    `--n-train ${nGeometries} with forces in the fit: ${forceFitTooLarge(nAtoms, nGeometries, FORCE_FIT_MAX_ORDER)}; take --n-train ≤ ${Math.floor(FORCE_FIT_MAX_ORDER / nAtoms)} or --force-sigma-Ha-per-bohr 0 (energies only)`,
  );
}

export interface ForceFitFrame {
  /** Positions, Å, flat 3N: the geometry of the training input of the same index. */
  positionsA: Float64Array;
  /** Reference total energy, Ha. */
  energyHa: number;
  /** Reference forces, Ha/bohr, flat 3N (frames without them contribute their energy only). */
  forcesHaPerBohr?: Float64Array;
  /** Atomic energies, Ha, length N: the energy labels when `energyLabels` is `atomic`. */
  atomicEnergiesHa?: Float64Array;
}

export interface ForceFitOptions {
  /**
   * σ_f², Ha²: of the total-energy fit (AdditiveTrainResult.signalVariance), or one per atom for
   * per-atom models (`signalVarianceOf`).
   */
  signalVarianceHa2: number | readonly number[];
  /**
   * `total` (default): each frame's total energy is observed (the additive GP's labels); `atomic`:
   * each atom's energy is (per-atom models trained on atomic labels, e.g. IQA), with noise σ_E each.
   */
  energyLabels?: 'total' | 'atomic';
  /** Noise of the energies, Ha (default 1e-4 Ha = 0.063 kcal/mol). */
  sigmaEnergyHa?: number;
  /** Noise of each force component, Ha/bohr (default 1e-3 Ha/bohr = 1.19 kcal/mol/Å). */
  sigmaForceHaPerBohr?: number;
  /**
   * Total labels only: σ_S, Ha, of a weak observation of how each frame's total is split among the
   * atoms — atom A's energy at frame i is m_A + (E_i − Σ_B m_B)/N ± σ_S, an equal share of the
   * frame's deviation from the total prior mean. Totals and forces leave the split among atoms
   * undetermined; the GP alone puts a shifted prior's offset on the atoms whose kernels represent
   * a constant cheaply and leaves other atoms *above* their own prior (capped serine on GFN2-xTB:
   * 7 of 23 atoms, one 24 kcal/mol above), so pulling such an atom out of the data lowers the
   * energy. With the split observed, every atom sits about (shift + spread share) below its prior.
   * Off when undefined.
   */
  splitSigmaHa?: number;
  /** Largest order N·n accepted (default 30 000: 7.2 GB for the matrix). */
  maxOrder?: number;
  periodicPrefactor?: PeriodicPrefactor;
  /** ν: white nugget of each atom's inducing values, relative to σ_f² (default 1e-8). */
  nugget?: number;
  /** The native LAPACK to use, or false for the built-in kernels (default: native when it loads). */
  lapack?: NativeLapack | false;
  /** Threads for the native BLAS/LAPACK calls (default 2). */
  threads?: number;
  onProgress?: (framesDone: number, frames: number) => void;
}

export interface ForceFitResult {
  models: GpModel[];
  /** Frames whose forces entered. */
  forceFrames: number;
  /** ν of every atom (relative to σ_f²). */
  nugget: number;
  /** Numerical jitter added to the equilibrated normal equations' unit diagonal (0 when it factorised as built). */
  jitter: number;
  wallTimeS: number;
}

export const DEFAULT_SIGMA_ENERGY_HA = 1e-4;
export const DEFAULT_SIGMA_FORCE_HA_PER_BOHR = 1e-3;

/**
 * σ_f² of a model, Ha²: its `# signal_variance`, else 1 for the marginal likelihood (signal variance
 * fixed to 1, as in FEREBUS files); a model that states neither is refused.
 */
export function signalVarianceOf(model: GpModel): number {
  const v = metadataValue(model, 'signal_variance');
  if (v !== undefined && Number(v) > 0) return Number(v);
  if ((metadataValue(model, 'likelihood_type') ?? '').startsWith('marginal')) return 1;
  throw new AtomgpError(`force fit: atom ${model.atom}: the model states neither a signal variance nor the marginal likelihood`);
}

function flatKernel(model: GpModel, pf: PeriodicPrefactor): ExpTerms {
  const k = compileModelKernel(model, pf);
  if (!k.flat) throw new AtomgpError(`force fit: atom ${model.atom}: the kernel is not a product of exponentials (sums are not supported)`);
  return k.flat;
}

/** Dense lower triangle of C += alpha · Xᵀ X for `rows` rows of length `order` (row-major x). */
function syrkFallback(order: number, rows: number, alpha: number, x: Float64Array, c: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const off = r * order;
    for (let a = 0; a < order; a++) {
      const va = alpha * x[off + a]!;
      if (va === 0) continue;
      const ca = a * order;
      for (let b = 0; b <= a; b++) c[ca + b] = c[ca + b]! + va * x[off + b]!;
    }
  }
}

/**
 * Refit the weights of an additive model set (one model per atom, in atom order, all trained on the
 * same `frames.length` geometries in the order of `frames`) from the frames' energies and forces.
 * Returns new models; the inputs are not changed.
 */
export function refitAdditiveWithForces(models: GpModel[], frames: ForceFitFrame[], opts: ForceFitOptions): ForceFitResult {
  const t0 = performance.now();
  const N = models.length;
  const n = frames.length;
  if (N < 2) throw new AtomgpError(`force fit: ${N} model(s); an additive model set has one per atom of a molecule of ≥ 2 atoms`);
  const K = models[0]!.nFeatures;
  const pf = opts.periodicPrefactor ?? 4;
  const sigmaE = opts.sigmaEnergyHa ?? DEFAULT_SIGMA_ENERGY_HA;
  const sigmaF = opts.sigmaForceHaPerBohr ?? DEFAULT_SIGMA_FORCE_HA_PER_BOHR;
  const sf2s = typeof opts.signalVarianceHa2 === 'number' ? new Array<number>(N).fill(opts.signalVarianceHa2) : [...opts.signalVarianceHa2];
  const atomic = (opts.energyLabels ?? 'total') === 'atomic';
  const sigmaS = opts.splitSigmaHa;
  const split = sigmaS !== undefined;
  if (split && atomic) throw new AtomgpError('force fit: the split observation is for total labels; atomic labels fix the split themselves');
  if (split && !(sigmaS > 0 && Number.isFinite(sigmaS))) throw new AtomgpError(`force fit: split noise ${sigmaS} Ha must be a positive number`);
  if (!(sigmaE > 0) || !Number.isFinite(sigmaE)) throw new AtomgpError(`force fit: energy noise ${sigmaE} Ha must be a positive number`);
  if (!(sigmaF > 0) || !Number.isFinite(sigmaF)) throw new AtomgpError(`force fit: force noise ${sigmaF} Ha/bohr must be a positive number`);
  if (sf2s.length !== N) throw new AtomgpError(`force fit: ${sf2s.length} signal variances for ${N} atoms`);
  for (const v of sf2s) if (!(v > 0) || !Number.isFinite(v)) throw new AtomgpError(`force fit: signal variance ${v} Ha² must be a positive number`);
  // Everything below is in units of the mean σ_f² (for one shared σ_f² exactly the total-energy GP's).
  const sf2 = sf2s.reduce((a, b) => a + b, 0) / N;
  const priorWeight = sf2s.map((v) => sf2 / v);
  const order = N * n;
  const maxOrder = opts.maxOrder ?? FORCE_FIT_MAX_ORDER;
  if (order > maxOrder) throw new AtomgpError(`force fit: ${forceFitTooLarge(N, n, maxOrder)}; fit on energies only`);
  models.forEach((m, A) => {
    if (m.nTrain !== n) throw new AtomgpError(`force fit: atom ${m.atom} was trained on ${m.nTrain} geometries, ${n} frames given`);
    if (m.nFeatures !== K || m.nAtoms !== N) throw new AtomgpError(`force fit: atom ${m.atom} has ${m.nFeatures} features for ${m.nAtoms} atoms, the set ${K} for ${N}`);
    if (m.mean.type !== 'constant') throw new AtomgpError(`force fit: atom ${m.atom} has a ${m.mean.type} prior mean; only constant priors (additive training) are supported`);
    if (m.alf[0] !== A + 1) throw new AtomgpError(`force fit: model ${A + 1} is atom ${m.atom} (ALF ${m.alf.join(' ')}); models must be in atom order`);
  });
  frames.forEach((f, i) => {
    if (f.positionsA.length !== 3 * N) throw new AtomgpError(`force fit: frame ${i + 1} has ${f.positionsA.length / 3} atoms, the models ${N}`);
    if (!Number.isFinite(f.energyHa)) throw new AtomgpError(`force fit: frame ${i + 1} has no finite energy`);
    if (atomic && !(f.atomicEnergiesHa && f.atomicEnergiesHa.length === N && f.atomicEnergiesHa.every(Number.isFinite))) {
      throw new AtomgpError(`force fit: frame ${i + 1} has no ${N} finite atomic energies (atomic energy labels)`);
    }
    if (f.forcesHaPerBohr && (f.forcesHaPerBohr.length !== 3 * N || f.forcesHaPerBohr.some((v) => !Number.isFinite(v)))) {
      throw new AtomgpError(`force fit: frame ${i + 1}: forces must be ${3 * N} finite values (Ha/bohr)`);
    }
  });
  const idx = Int32Array.from({ length: N }, (_, i) => i);
  const feats = models.map((m) => new AlfFeaturizer(idx, m.alf.map((k) => k - 1), `atom ${m.atom}`));
  const kernels = models.map((m) => flatKernel(m, pf));
  const nu = opts.nugget ?? 1e-8;
  if (!(nu > 0) || !Number.isFinite(nu)) throw new AtomgpError(`force fit: nugget ${nu} must be a positive number`);
  const lamE = (sigmaE * sigmaE) / sf2;
  const lamF = (sigmaF * sigmaF) / sf2;
  const lamS = split ? (sigmaS * sigmaS) / sf2 : 0;
  const lap = opts.lapack === false ? undefined : (opts.lapack ?? nativeLapack());
  const threads = opts.threads ?? 2;
  const syrk = (rows: number, alpha: number, x: Float64Array, c: Float64Array): void => {
    if (lap) lap.syrkLower(order, rows, alpha, x, 1, c, threads);
    else syrkFallback(order, rows, alpha, x, c);
  };

  // Each frame's features must be the models' training inputs (same geometries, same order).
  const f = new Float64Array(K);
  const posBohr = new Float64Array(3 * N);
  const toBohr = (p: Float64Array): void => {
    for (let a = 0; a < 3 * N; a++) posBohr[a] = p[a]! * BOHR_PER_ANGSTROM;
  };
  for (let i = 0; i < n; i++) {
    toBohr(frames[i]!.positionsA);
    for (let A = 0; A < N; A++) {
      feats[A]!.compute(posBohr, f);
      const X = models[A]!.trainX;
      for (let d = 0; d < K; d++) {
        if (Math.abs(f[d]! - X[i * K + d]!) > 1e-8 * Math.max(1, Math.abs(X[i * K + d]!))) {
          throw new AtomgpError(`force fit: frame ${i + 1} is not training geometry ${i + 1} of atom ${models[A]!.atom} (feature ${d + 1}: ${f[d]} vs ${X[i * K + d]})`);
        }
      }
    }
  }

  const M = new Float64Array(order * order);
  const rhs = new Float64Array(order);
  let meanSum = 0;
  for (const m of models) meanSum += (m.mean as { value: number }).value;

  // Energy rows. Totals: Φ_E[i, A·n + j] = (R_A + νI)[i, j]. Atomic energies (labels, or the split
  // observation): one row per atom and frame with block A only, so their normal-equation term is
  // blockdiag((R_A + νI)² / λ).
  const chunkE = Math.max(1, Math.min(n, Math.floor(2e7 / order)));
  let buf = new Float64Array(Math.max(atomic || split ? n * n : 0, atomic ? 0 : chunkE * order));
  if (atomic || split) {
    const sq = new Float64Array(n * n);
    const lamA = atomic ? lamE : lamS;
    for (let A = 0; A < N; A++) {
      const X = models[A]!.trainX;
      const fl = kernels[A]!;
      const mA = (models[A]!.mean as { value: number }).value;
      for (let i = 0; i < n; i++) {
        const t = (atomic ? frames[i]!.atomicEnergiesHa![A]! - mA : (frames[i]!.energyHa - meanSum) / N) / lamA;
        for (let j = 0; j < n; j++) {
          const v = Math.exp(-exponent(fl, X, i * K, X, j * K)) + (j === i ? nu : 0);
          buf[i * n + j] = v;
          rhs[A * n + j] = rhs[A * n + j]! + v * t;
        }
      }
      sq.fill(0);
      if (lap) lap.syrkLower(n, n, 1 / lamA, buf, 0, sq, threads);
      else {
        for (let r = 0; r < n; r++) {
          for (let a = 0; a < n; a++) {
            const va = buf[r * n + a]! / lamA;
            for (let b = 0; b <= a; b++) sq[a * n + b] = sq[a * n + b]! + va * buf[r * n + b]!;
          }
        }
      }
      for (let a = 0; a < n; a++) {
        const row = (A * n + a) * order + A * n;
        for (let b = 0; b <= a; b++) M[row + b] = M[row + b]! + sq[a * n + b]!;
      }
    }
  }
  for (let i0 = 0; !atomic && i0 < n; i0 += chunkE) {
    const c = Math.min(chunkE, n - i0);
    buf.fill(0, 0, c * order);
    for (let r = 0; r < c; r++) {
      const i = i0 + r;
      const t = (frames[i]!.energyHa - meanSum) / lamE;
      for (let A = 0; A < N; A++) {
        const X = models[A]!.trainX;
        const fl = kernels[A]!;
        const row = r * order + A * n;
        for (let j = 0; j < n; j++) {
          const v = Math.exp(-exponent(fl, X, i * K, X, j * K)) + (j === i ? nu : 0);
          buf[row + j] = v;
          rhs[A * n + j] = rhs[A * n + j]! + v * t;
        }
      }
    }
    syrk(c, 1 / lamE, buf, M);
  }

  // Force rows: Φ_F[(g, c), A·n + j] = ∂k_A(f_A(r_g), X_A,j)/∂r_c (Ha/bohr per unit weight).
  const G = 3 * N;
  const forceIdx = frames.map((fr, i) => (fr.forcesHaPerBohr ? i : -1)).filter((i) => i >= 0);
  const chunkG = Math.max(1, Math.min(forceIdx.length, Math.floor(2e7 / (G * order))));
  if (forceIdx.length > 0 && buf.length < chunkG * G * order) buf = new Float64Array(chunkG * G * order);
  const gf = new Float64Array(K);
  const gr = new Float64Array(G);
  for (let q0 = 0; q0 < forceIdx.length; q0 += chunkG) {
    const c = Math.min(chunkG, forceIdx.length - q0);
    buf.fill(0, 0, c * G * order);
    for (let q = 0; q < c; q++) {
      const fr = frames[forceIdx[q0 + q]!]!;
      toBohr(fr.positionsA);
      const F = fr.forcesHaPerBohr!;
      for (let A = 0; A < N; A++) {
        feats[A]!.compute(posBohr, f);
        const X = models[A]!.trainX;
        const fl = kernels[A]!;
        for (let j = 0; j < n; j++) {
          const kv = Math.exp(-exponent(fl, f, 0, X, j * K));
          gf.fill(0);
          addExponentGradient(fl, f, 0, X, j * K, -kv, gf);
          gr.fill(0);
          feats[A]!.backprop(posBohr, gf, gr);
          const col = A * n + j;
          let s = 0;
          for (let a = 0; a < G; a++) {
            const v = gr[a]!;
            buf[(q * G + a) * order + col] = v;
            s -= v * F[a]!; // target ∂E/∂r = −F
          }
          rhs[col] = rhs[col]! + s / lamF;
        }
      }
    }
    syrk(c * G, 1 / lamF, buf, M);
    opts.onProgress?.(q0 + c, forceIdx.length);
  }
  buf = new Float64Array(0);

  // The prior: blockdiag (R_A + νI) · σ̄_f²/σ_f,A², lower triangles.
  for (let A = 0; A < N; A++) {
    const X = models[A]!.trainX;
    const fl = kernels[A]!;
    const pw = priorWeight[A]!;
    for (let i = 0; i < n; i++) {
      const row = (A * n + i) * order + A * n;
      for (let j = 0; j <= i; j++) M[row + j] = M[row + j]! + pw * Math.exp(-exponent(fl, X, i * K, X, j * K));
      M[row + i] = M[row + i]! + pw * nu;
    }
  }
  // Jacobi equilibration: D M D with D = diag(M)^(-1/2) has a unit diagonal. The data rows put
  // entries of order 1/λ on the diagonal where the prior's are of order 1; unscaled, Cholesky failed
  // on well-posed systems (a per-atom water set needed jitter that dominated the prior).
  const scale = new Float64Array(order);
  for (let a = 0; a < order; a++) scale[a] = 1 / Math.sqrt(M[a * order + a]!);
  // dpotrf (and the built-in kernel) read and write only the lower triangle, so the upper one keeps
  // a copy for a retry with jitter: no second matrix of 4 GB.
  for (let a = 0; a < order; a++) {
    const sa = scale[a]!;
    for (let b = 0; b < a; b++) {
      const v = M[a * order + b]! * sa * scale[b]!;
      M[a * order + b] = v;
      M[b * order + a] = v;
    }
    M[a * order + a] = 1;
  }
  let added = 0;
  let factorised = false;
  for (let tries = 0; tries < 6 && !factorised; tries++) {
    const jitter = tries === 0 ? 0 : 10 ** (tries - 15);
    if (tries > 0) {
      for (let a = 0; a < order; a++) {
        for (let b = 0; b < a; b++) M[a * order + b] = M[b * order + a]!;
        M[a * order + a] = 1 + jitter;
      }
    }
    const info = lap ? lap.choleskyLower(M, order, threads) : choleskyInPlace(M, order);
    if (info === 0) {
      factorised = true;
      added = jitter;
    }
  }
  if (!factorised) throw new AtomgpError(`force fit: the normal equations do not factorise even with 1e-10 of each diagonal entry added (σ_E ${sigmaE} Ha, σ_F ${sigmaF} Ha/bohr)`);
  const L = M;
  const w = rhs;
  for (let a = 0; a < order; a++) w[a] = w[a]! * scale[a]!;
  if (lap) lap.solveFromFactor(L, order, w, threads);
  else choleskySolve(L, order, w);
  for (let a = 0; a < order; a++) w[a] = w[a]! * scale[a]!;
  for (let a = 0; a < order; a++) {
    if (!Number.isFinite(w[a]!)) throw new AtomgpError('force fit: the weights are not finite (normal equations singular)');
  }

  const wallTimeS = (performance.now() - t0) / 1000;
  const out = models.map((m, A) => {
    const wA = Float64Array.from(w.subarray(A * n, (A + 1) * n));
    const X = m.trainX;
    const fl = kernels[A]!;
    const y = new Float64Array(n);
    const m0 = (m.mean as { value: number }).value;
    for (let i = 0; i < n; i++) {
      let s = m0 + nu * wA[i]!;
      for (let j = 0; j < n; j++) s += Math.exp(-exponent(fl, X, i * K, X, j * K)) * wA[j]!;
      y[i] = s;
    }
    const metadata = [
      ...m.metadata.map((l) => (l.startsWith('noise ') ? `noise ${nu}` : l.startsWith('nugget ') ? `nugget ${nu}` : l)),
      `force_fit energies+forces sigma_energy_Ha=${sigmaE} sigma_force_Ha_per_bohr=${sigmaF} force_frames=${forceIdx.length} nugget=${nu} jitter=${added}${split ? ` split_sigma_Ha=${sigmaS}` : ''}`,
      `force_fit_wall_time_s ${wallTimeS.toFixed(3)}`,
    ];
    return { ...m, metadata, weights: wA, trainY: y, trainX: m.trainX.slice() };
  });
  return { models: out, forceFrames: forceIdx.length, nugget: nu, jitter: added, wallTimeS };
}
