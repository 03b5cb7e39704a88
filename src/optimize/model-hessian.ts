/**
 * Lindh's model Hessian (R. Lindh, A. Bernhardsson, G. Karlström, P.-Å. Malmqvist, Chem. Phys.
 * Lett. 241, 423 (1995)): a positive semi-definite guess of a molecule's Cartesian Hessian from
 * its geometry alone,
 *
 *   H = Σ_pairs k_r ρ_ij b bᵀ + Σ_bends k_φ ρ_ij ρ_jk b bᵀ + Σ_torsions k_τ ρ_ij ρ_jk ρ_kl b bᵀ,
 *
 * where b is the Cartesian gradient (Wilson B row) of the distance, bend angle or torsion, and
 * ρ_ij = exp(α_ij (r_ref,ij² − r_ij²)) decays with distance (α, r_ref by the periods of i and j),
 * so every pair, bend and torsion counts by how bonded it is — no bond list needed. Used as the
 * preconditioner of L-BFGS (optimize/lbfgs.ts): stiff bonds, softer bends and soft torsions get
 * steps of their own size instead of one scalar curvature for all.
 *
 * Parameters in atomic units (bohr, Ha, rad), as published; the result in kcal/mol/Å².
 */

import { element } from '../chem/elements.js';
import { angleWithGradient, dihedralWithGradient, distanceWithGradient } from '../chem/internal-coordinates.js';
import { ANGSTROM_PER_BOHR, BOHR_PER_ANGSTROM, KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { choleskyInPlace, choleskySolve } from '../math/linalg.js';

/** α_ij, bohr⁻², by period (1: H, He; 2: Li–Ne; 3: the rest). */
const ALPHA = [
  [1.0, 0.3949, 0.3949],
  [0.3949, 0.28, 0.28],
  [0.3949, 0.28, 0.28],
];
/** r_ref,ij, bohr, by period. */
const R_REF = [
  [1.35, 2.1, 2.53],
  [2.1, 2.87, 3.4],
  [2.53, 3.4, 3.4],
];
/** Force constants: stretch Ha/bohr², bend and torsion Ha/rad². */
const K_STRETCH = 0.45;
const K_BEND = 0.15;
const K_TORSION = 0.005;
/** Terms whose ρ product is below this are left out (their weight is < 1e-4 of a bonded one). */
const RHO_CUTOFF = 1e-4;
/** Bends closer than this to linear (sin θ) carry no bend or torsion term: their b is singular. */
const SIN_LINEAR = 0.1;

const KCAL_PER_MOL_PER_A2_PER_HA_PER_BOHR2 = KCAL_PER_MOL_PER_HARTREE / (ANGSTROM_PER_BOHR * ANGSTROM_PER_BOHR);

function period(symbol: string): number {
  const z = element(symbol).z;
  return z <= 2 ? 0 : z <= 10 ? 1 : 2;
}

/** ρ_ij for every pair (n × n, row-major), positions in bohr. */
function rhoMatrix(periods: readonly number[], xBohr: Float64Array): Float64Array {
  const n = periods.length;
  const rho = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = xBohr[3 * i]! - xBohr[3 * j]!;
      const dy = xBohr[3 * i + 1]! - xBohr[3 * j + 1]!;
      const dz = xBohr[3 * i + 2]! - xBohr[3 * j + 2]!;
      const r2 = dx * dx + dy * dy + dz * dz;
      const pi = periods[i]!;
      const pj = periods[j]!;
      const rr = R_REF[pi]![pj]!;
      const v = Math.exp(ALPHA[pi]![pj]! * (rr * rr - r2));
      rho[i * n + j] = v;
      rho[j * n + i] = v;
    }
  }
  return rho;
}

/** Add w · b bᵀ to H for a term on `atoms`, b read from the full-length gradient `g` at those atoms. */
function addOuter(h: Float64Array, n3: number, atoms: readonly number[], g: Float64Array, w: number): void {
  for (const p of atoms) {
    for (let a = 0; a < 3; a++) {
      const wa = w * g[3 * p + a]!;
      const row = (3 * p + a) * n3;
      for (const q of atoms) {
        h[row + 3 * q] += wa * g[3 * q]!;
        h[row + 3 * q + 1] += wa * g[3 * q + 1]!;
        h[row + 3 * q + 2] += wa * g[3 * q + 2]!;
      }
    }
  }
}

const nearLinear = (theta: number): boolean => Math.sin(theta) < SIN_LINEAR;

/** Lindh's model Hessian at `positionsA`, kcal/mol/Å², 3N × 3N row-major. */
export function lindhHessian(symbols: readonly string[], positionsA: Float64Array): Float64Array {
  const n = symbols.length;
  const n3 = 3 * n;
  const periods = symbols.map(period);
  const x = new Float64Array(n3);
  for (let i = 0; i < n3; i++) x[i] = positionsA[i]! * BOHR_PER_ANGSTROM;
  const rho = rhoMatrix(periods, x);
  const h = new Float64Array(n3 * n3);
  const g = new Float64Array(n3); // gradients of one term, read at its own atoms only
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const w = rho[i * n + j]!;
      if (w < RHO_CUTOFF) continue;
      distanceWithGradient(x, i, j, g);
      addOuter(h, n3, [i, j], g, K_STRETCH * w);
    }
  }
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      if (i === j) continue;
      const wij = rho[i * n + j]!;
      if (wij < RHO_CUTOFF) continue;
      for (let k = i + 1; k < n; k++) {
        if (k === j) continue;
        const w = wij * rho[j * n + k]!;
        if (w < RHO_CUTOFF) continue;
        if (nearLinear(angleWithGradient(x, i, j, k, g))) continue;
        addOuter(h, n3, [i, j, k], g, K_BEND * w);
      }
    }
  }
  // torsions i–j–k–l, each once: j < k for the central pair, any i on j's side and l on k's
  for (let j = 0; j < n; j++) {
    for (let k = j + 1; k < n; k++) {
      const wjk = rho[j * n + k]!;
      if (wjk < RHO_CUTOFF) continue;
      for (let i = 0; i < n; i++) {
        if (i === j || i === k) continue;
        const wi = rho[i * n + j]! * wjk;
        if (wi < RHO_CUTOFF || nearLinear(angleWithGradient(x, i, j, k, undefined))) continue;
        for (let l = 0; l < n; l++) {
          if (l === i || l === j || l === k) continue;
          const w = wi * rho[k * n + l]!;
          if (w < RHO_CUTOFF || nearLinear(angleWithGradient(x, j, k, l, undefined))) continue;
          dihedralWithGradient(x, i, j, k, l, g);
          addOuter(h, n3, [i, j, k, l], g, K_TORSION * w);
        }
      }
    }
  }
  for (let p = 0; p < h.length; p++) h[p] *= KCAL_PER_MOL_PER_A2_PER_HA_PER_BOHR2;
  return h;
}

/**
 * The six rigid-body directions at `positionsA` (three translations, three rotations about the
 * centroid), orthonormalised; fewer for a linear molecule or a single atom. Each is a 3N vector.
 */
export function rigidBodyModes(positionsA: Float64Array): Float64Array[] {
  const n3 = positionsA.length;
  const n = n3 / 3;
  const c = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) c[a]! += positionsA[3 * i + a]! / n;
  const raw: Float64Array[] = [];
  for (let a = 0; a < 3; a++) {
    const t = new Float64Array(n3);
    for (let i = 0; i < n; i++) t[3 * i + a] = 1;
    raw.push(t);
  }
  for (let a = 0; a < 3; a++) {
    // rotation about axis a: ω × (r − c)
    const t = new Float64Array(n3);
    for (let i = 0; i < n; i++) {
      const r = [positionsA[3 * i]! - c[0]!, positionsA[3 * i + 1]! - c[1]!, positionsA[3 * i + 2]! - c[2]!];
      const w = [0, 0, 0];
      w[a] = 1;
      t[3 * i] = w[1]! * r[2]! - w[2]! * r[1]!;
      t[3 * i + 1] = w[2]! * r[0]! - w[0]! * r[2]!;
      t[3 * i + 2] = w[0]! * r[1]! - w[1]! * r[0]!;
    }
    raw.push(t);
  }
  const modes: Float64Array[] = [];
  for (const t of raw) {
    for (const m of modes) {
      let s = 0;
      for (let p = 0; p < n3; p++) s += t[p]! * m[p]!;
      for (let p = 0; p < n3; p++) t[p]! -= s * m[p]!;
    }
    let norm = 0;
    for (let p = 0; p < n3; p++) norm += t[p]! * t[p]!;
    norm = Math.sqrt(norm);
    if (norm < 1e-8) continue;
    for (let p = 0; p < n3; p++) t[p]! /= norm;
    modes.push(t);
  }
  return modes;
}

/** Stiffness given to the rigid-body directions in the preconditioner, kcal/mol/Å². */
const RIGID_BODY_KCAL_PER_MOL_PER_A2 = 1000;
/** Added to the diagonal so that the preconditioner is positive definite, kcal/mol/Å². */
const DIAGONAL_FLOOR_KCAL_PER_MOL_PER_A2 = 0.1;
/** The preconditioner is rebuilt once any atom has moved this far since it was built, Å. */
const REBUILD_DISPLACEMENT_A = 0.25;

/**
 * P = H_Lindh + λ Σ t tᵀ (rigid-body directions t) + ε I, factorised; `solve` applies P⁻¹. Rebuilt
 * when the geometry has moved enough that its bends and torsions have changed.
 */
export class LindhPreconditioner {
  private readonly n3: number;
  private readonly factor: Float64Array;
  private readonly builtAtA: Float64Array;
  private built = false;
  builds = 0;

  constructor(private readonly symbols: readonly string[]) {
    this.n3 = 3 * symbols.length;
    this.factor = new Float64Array(this.n3 * this.n3);
    this.builtAtA = new Float64Array(this.n3);
  }

  /** Rebuild at `positionsA` if it is the first call or an atom moved beyond the rebuild distance. */
  update(positionsA: Float64Array): void {
    if (this.built && maxAtomDisplacement(positionsA, this.builtAtA) < REBUILD_DISPLACEMENT_A) return;
    const n3 = this.n3;
    const p = lindhHessian(this.symbols, positionsA);
    for (const t of rigidBodyModes(positionsA)) {
      for (let a = 0; a < n3; a++) {
        const ta = RIGID_BODY_KCAL_PER_MOL_PER_A2 * t[a]!;
        for (let b = 0; b < n3; b++) p[a * n3 + b] += ta * t[b]!;
      }
    }
    for (let a = 0; a < n3; a++) p[a * n3 + a] += DIAGONAL_FLOOR_KCAL_PER_MOL_PER_A2;
    const info = choleskyInPlace(p, n3);
    if (info !== 0) throw new AtomgpError(`the model Hessian preconditioner is not positive definite (pivot ${info}); use the unpreconditioned optimiser`);
    this.factor.set(p);
    this.builtAtA.set(positionsA);
    this.built = true;
    this.builds++;
  }

  /** v ← P⁻¹ v (Å per kcal/mol/Å applied to a gradient gives a step in Å). */
  solve(v: Float64Array): void {
    choleskySolve(this.factor, this.n3, v);
  }
}

function maxAtomDisplacement(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i += 3) {
    const dx = a[i]! - b[i]!;
    const dy = a[i + 1]! - b[i + 1]!;
    const dz = a[i + 2]! - b[i + 2]!;
    m = Math.max(m, dx * dx + dy * dy + dz * dz);
  }
  return Math.sqrt(m);
}
