/**
 * Analytic test potentials with exact forces: explicit harmonic bonds, Morse bonds, harmonic
 * angles, and isotropic 3D harmonic wells (independent oscillators tied to fixed centres). Used to
 * test dynamics and optimisers against known answers; they implement `Potential` like the GP models.
 *
 * Parameters are in kcal/mol and Å (radians for angles); results in Ha and Ha/bohr as the
 * `Potential` contract requires. Atomic energies: every term's energy is split equally among the
 * atoms it involves (½ each for a bond, ⅓ each for an angle, all of it for a well).
 *
 *   harmonic bond  E = ½ k (r − r0)²
 *   Morse bond     E = D (1 − exp(−a (r − r0)))²
 *   angle i-j-k    E = ½ k (θ − θ0)², θ at the central atom j
 *   well           E = ½ k |r_i − c|²  (or ½ Σ_axes k_a (x_a − c_a)² when anisotropic)
 */
import { AtomgpError } from '../errors.js';
import { findElement } from '../chem/elements.js';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import type { Potential, PotentialResult } from './potential.js';

export interface HarmonicBondTerm {
  /** 0-based atom indices. */
  i: number;
  j: number;
  kKcalPerMolPerA2: number;
  r0A: number;
}

export interface MorseBondTerm {
  i: number;
  j: number;
  depthKcalPerMol: number;
  alphaPerA: number;
  r0A: number;
}

export interface HarmonicAngleTerm {
  /** Angle i-j-k with j the central atom. */
  i: number;
  j: number;
  k: number;
  kKcalPerMolPerRad2: number;
  theta0Rad: number;
}

export interface HarmonicWellTerm {
  i: number;
  /** Force constant; a triple gives an anisotropic well with one constant per Cartesian axis. */
  kKcalPerMolPerA2: number | [number, number, number];
  centreA: [number, number, number];
}

/** Serialisable description of an analytic potential (also used in potential specs for workers). */
export interface AnalyticSpec {
  symbols: string[];
  harmonicBonds?: HarmonicBondTerm[];
  morseBonds?: MorseBondTerm[];
  harmonicAngles?: HarmonicAngleTerm[];
  harmonicWells?: HarmonicWellTerm[];
}

const HA_PER_KCAL = 1 / KCAL_PER_MOL_PER_HARTREE;
const HA_PER_BOHR_PER_KCAL_PER_A = 1 / KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;

function checkIndex(what: string, n: number, ...idx: number[]): void {
  for (const i of idx) {
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new AtomgpError(`analytic potential: ${what} refers to atom index ${i}, expected 0..${n - 1}`);
    }
  }
}

function checkFinite(what: string, ...values: number[]): void {
  for (const v of values) {
    if (!Number.isFinite(v)) throw new AtomgpError(`analytic potential: ${what} has a non-finite parameter`);
  }
}

/** Sum of analytic terms. Validates the spec on construction; `compute` does not allocate. */
export class AnalyticPotential implements Potential {
  readonly nAtoms: number;
  readonly symbols: readonly string[];
  readonly description: string;
  readonly spec: AnalyticSpec;
  /** Forces in kcal/mol/Å, accumulated here then converted (no allocation per call). */
  private readonly forcesKcal: Float64Array;
  private readonly atomicKcal: Float64Array;

  constructor(spec: AnalyticSpec) {
    this.spec = spec;
    this.nAtoms = spec.symbols.length;
    if (this.nAtoms === 0) throw new AtomgpError('analytic potential: no atoms');
    for (const s of spec.symbols) {
      if (!findElement(s)) throw new AtomgpError(`analytic potential: unknown element '${s}'`);
    }
    const n = this.nAtoms;
    for (const b of spec.harmonicBonds ?? []) {
      checkIndex('harmonic bond', n, b.i, b.j);
      checkFinite('harmonic bond', b.kKcalPerMolPerA2, b.r0A);
    }
    for (const b of spec.morseBonds ?? []) {
      checkIndex('Morse bond', n, b.i, b.j);
      checkFinite('Morse bond', b.depthKcalPerMol, b.alphaPerA, b.r0A);
    }
    for (const a of spec.harmonicAngles ?? []) {
      checkIndex('angle', n, a.i, a.j, a.k);
      checkFinite('angle', a.kKcalPerMolPerRad2, a.theta0Rad);
    }
    for (const w of spec.harmonicWells ?? []) {
      checkIndex('harmonic well', n, w.i);
      const k = w.kKcalPerMolPerA2;
      checkFinite('harmonic well', ...(typeof k === 'number' ? [k] : k), ...w.centreA);
    }
    this.symbols = [...spec.symbols];
    const counts = [
      `${spec.harmonicBonds?.length ?? 0} harmonic bonds`,
      `${spec.morseBonds?.length ?? 0} Morse bonds`,
      `${spec.harmonicAngles?.length ?? 0} angles`,
      `${spec.harmonicWells?.length ?? 0} wells`,
    ];
    this.description = `analytic potential (${n} atoms: ${counts.join(', ')})`;
    this.forcesKcal = new Float64Array(3 * n);
    this.atomicKcal = new Float64Array(n);
  }

  compute(positionsA: Float64Array, out: PotentialResult, withForces = true): void {
    const x = positionsA;
    const f = this.forcesKcal;
    const ea = this.atomicKcal;
    f.fill(0);
    ea.fill(0);
    let e = 0;
    for (const b of this.spec.harmonicBonds ?? []) {
      const dx = x[3 * b.i]! - x[3 * b.j]!;
      const dy = x[3 * b.i + 1]! - x[3 * b.j + 1]!;
      const dz = x[3 * b.i + 2]! - x[3 * b.j + 2]!;
      const r = Math.sqrt(dx * dx + dy * dy + dz * dz);
      const dr = r - b.r0A;
      const eb = 0.5 * b.kKcalPerMolPerA2 * dr * dr;
      e += eb;
      ea[b.i]! += 0.5 * eb;
      ea[b.j]! += 0.5 * eb;
      // dE/dr = k dr; force on i = −dE/dr · (r_i − r_j)/r
      const s = r > 0 ? (-b.kKcalPerMolPerA2 * dr) / r : 0;
      addPair(f, b.i, b.j, s * dx, s * dy, s * dz);
    }
    for (const b of this.spec.morseBonds ?? []) {
      const dx = x[3 * b.i]! - x[3 * b.j]!;
      const dy = x[3 * b.i + 1]! - x[3 * b.j + 1]!;
      const dz = x[3 * b.i + 2]! - x[3 * b.j + 2]!;
      const r = Math.sqrt(dx * dx + dy * dy + dz * dz);
      const ex = Math.exp(-b.alphaPerA * (r - b.r0A));
      const eb = b.depthKcalPerMol * (1 - ex) * (1 - ex);
      e += eb;
      ea[b.i]! += 0.5 * eb;
      ea[b.j]! += 0.5 * eb;
      const dEdr = 2 * b.depthKcalPerMol * b.alphaPerA * (1 - ex) * ex;
      const s = r > 0 ? -dEdr / r : 0;
      addPair(f, b.i, b.j, s * dx, s * dy, s * dz);
    }
    for (const a of this.spec.harmonicAngles ?? []) {
      const ux = x[3 * a.i]! - x[3 * a.j]!;
      const uy = x[3 * a.i + 1]! - x[3 * a.j + 1]!;
      const uz = x[3 * a.i + 2]! - x[3 * a.j + 2]!;
      const vx = x[3 * a.k]! - x[3 * a.j]!;
      const vy = x[3 * a.k + 1]! - x[3 * a.j + 1]!;
      const vz = x[3 * a.k + 2]! - x[3 * a.j + 2]!;
      const ru = Math.sqrt(ux * ux + uy * uy + uz * uz);
      const rv = Math.sqrt(vx * vx + vy * vy + vz * vz);
      let c = (ux * vx + uy * vy + uz * vz) / (ru * rv);
      c = Math.min(1, Math.max(-1, c));
      const theta = Math.acos(c);
      const d = theta - a.theta0Rad;
      const eAngle = 0.5 * a.kKcalPerMolPerRad2 * d * d;
      e += eAngle;
      ea[a.i]! += eAngle / 3;
      ea[a.j]! += eAngle / 3;
      ea[a.k]! += eAngle / 3;
      // dθ/du = −(v̂ − c û)/(ru sinθ); at sinθ → 0 the gradient is singular: use a tiny floor.
      const sinT = Math.max(Math.sqrt(1 - c * c), 1e-12);
      const pre = (a.kKcalPerMolPerRad2 * d) / sinT; // −dE/dθ · (−1/sinθ) applied below
      // F_i = −dE/dθ · dθ/dr_i = k d /sinθ · (v̂ − c û)/ru
      const fix = (pre * (vx / rv - (c * ux) / ru)) / ru;
      const fiy = (pre * (vy / rv - (c * uy) / ru)) / ru;
      const fiz = (pre * (vz / rv - (c * uz) / ru)) / ru;
      const fkx = (pre * (ux / ru - (c * vx) / rv)) / rv;
      const fky = (pre * (uy / ru - (c * vy) / rv)) / rv;
      const fkz = (pre * (uz / ru - (c * vz) / rv)) / rv;
      f[3 * a.i]! += fix;
      f[3 * a.i + 1]! += fiy;
      f[3 * a.i + 2]! += fiz;
      f[3 * a.k]! += fkx;
      f[3 * a.k + 1]! += fky;
      f[3 * a.k + 2]! += fkz;
      f[3 * a.j]! -= fix + fkx;
      f[3 * a.j + 1]! -= fiy + fky;
      f[3 * a.j + 2]! -= fiz + fkz;
    }
    for (const w of this.spec.harmonicWells ?? []) {
      const dx = x[3 * w.i]! - w.centreA[0];
      const dy = x[3 * w.i + 1]! - w.centreA[1];
      const dz = x[3 * w.i + 2]! - w.centreA[2];
      const k = w.kKcalPerMolPerA2;
      const kx = typeof k === 'number' ? k : k[0];
      const ky = typeof k === 'number' ? k : k[1];
      const kz = typeof k === 'number' ? k : k[2];
      const ew = 0.5 * (kx * dx * dx + ky * dy * dy + kz * dz * dz);
      e += ew;
      ea[w.i]! += ew;
      f[3 * w.i]! -= kx * dx;
      f[3 * w.i + 1]! -= ky * dy;
      f[3 * w.i + 2]! -= kz * dz;
    }
    out.energyHa = e * HA_PER_KCAL;
    for (let i = 0; i < this.nAtoms; i++) out.atomicEnergiesHa[i] = ea[i]! * HA_PER_KCAL;
    if (withForces) {
      for (let i = 0; i < 3 * this.nAtoms; i++) out.forcesHaPerBohr[i] = f[i]! * HA_PER_BOHR_PER_KCAL_PER_A;
    }
  }
}

function addPair(f: Float64Array, i: number, j: number, fx: number, fy: number, fz: number): void {
  f[3 * i]! += fx;
  f[3 * i + 1]! += fy;
  f[3 * i + 2]! += fz;
  f[3 * j]! -= fx;
  f[3 * j + 1]! -= fy;
  f[3 * j + 2]! -= fz;
}

/**
 * `n` independent 3D harmonic oscillators (one atom each, tied to its own centre on a line 10 Å
 * apart): the simplest system with a known canonical distribution (N_dof = 3n). With `spread` > 0
 * the wells are anisotropic with force constants spread over k·[1, 1 + spread] — isotropic wells
 * conserve the ratios of the atoms' angular momenta under a global thermostat (Nosé–Hoover
 * scales every velocity alike), which makes such a thermostat non-ergodic on them.
 */
export function harmonicOscillatorSet(n: number, kKcalPerMolPerA2: number, symbol = 'H', spread = 0): AnalyticSpec {
  const wells: HarmonicWellTerm[] = [];
  for (let i = 0; i < n; i++) {
    // deterministic, incommensurate spread of constants (golden-ratio sequence)
    const axis = (a: number) => kKcalPerMolPerA2 * (1 + spread * ((((3 * i + a) * 0.6180339887498949) % 1) as number));
    const k: number | [number, number, number] = spread > 0 ? [axis(0), axis(1), axis(2)] : kKcalPerMolPerA2;
    wells.push({ i, kKcalPerMolPerA2: k, centreA: [10 * i, 0, 0] });
  }
  return { symbols: Array.from({ length: n }, () => symbol), harmonicWells: wells };
}

/**
 * A water-like flexible molecule (O, H, H) with Morse O–H bonds and a harmonic H–O–H angle, and
 * its minimum geometry (bond 0.9572 Å, angle 104.52°). Handy for tests and examples.
 */
export function waterLikeSpec(): { spec: AnalyticSpec; minimumA: Float64Array } {
  const r0 = 0.9572;
  const theta0 = (104.52 * Math.PI) / 180;
  const spec: AnalyticSpec = {
    symbols: ['O', 'H', 'H'],
    morseBonds: [
      { i: 0, j: 1, depthKcalPerMol: 120, alphaPerA: 2.3, r0A: r0 },
      { i: 0, j: 2, depthKcalPerMol: 120, alphaPerA: 2.3, r0A: r0 },
    ],
    harmonicAngles: [{ i: 1, j: 0, k: 2, kKcalPerMolPerRad2: 100, theta0Rad: theta0 }],
  };
  const h = theta0 / 2;
  const minimumA = Float64Array.from([0, 0, 0, r0 * Math.sin(h), r0 * Math.cos(h), 0, -r0 * Math.sin(h), r0 * Math.cos(h), 0]);
  return { spec, minimumA };
}

export type BrokenMode = 'nan' | 'stretch' | 'energy-jump';

export interface BrokenSpec {
  /** How the potential breaks: NaN results; a large force pulling atom `atom` away from the rest; a constant energy jump. */
  mode: BrokenMode;
  /** 0-based index of the first broken `compute` call (MD calls compute once at start, then once per step). */
  fromCall: number;
  /** For 'stretch': the atom pulled along +x, and the force in kcal/mol/Å (default 5000). */
  atom?: number;
  forceKcalPerMolPerA?: number;
  /** For 'energy-jump': the jump in kcal/mol (default 1e4). */
  jumpKcalPerMol?: number;
}

/**
 * Wraps a potential and breaks it deliberately from a given call on — for testing the stability
 * monitor ("flags the right step with the right reason").
 */
export class BrokenPotential implements Potential {
  readonly nAtoms: number;
  readonly symbols: readonly string[];
  readonly description: string;
  /** Number of `compute` calls so far. */
  calls = 0;

  constructor(
    readonly inner: Potential,
    readonly broken: BrokenSpec,
  ) {
    this.nAtoms = inner.nAtoms;
    this.symbols = inner.symbols;
    this.description = `${inner.description}, broken (${broken.mode}) from call ${broken.fromCall}`;
  }

  compute(positionsA: Float64Array, out: PotentialResult, withForces = true): void {
    const call = this.calls++;
    this.inner.compute(positionsA, out, withForces);
    if (call < this.broken.fromCall) return;
    switch (this.broken.mode) {
      case 'nan':
        out.energyHa = Number.NaN;
        out.atomicEnergiesHa.fill(Number.NaN);
        if (withForces) out.forcesHaPerBohr.fill(Number.NaN);
        break;
      case 'stretch': {
        const a = this.broken.atom ?? 0;
        const fHaPerBohr = (this.broken.forceKcalPerMolPerA ?? 5000) * HA_PER_BOHR_PER_KCAL_PER_A;
        if (withForces) out.forcesHaPerBohr[3 * a] = out.forcesHaPerBohr[3 * a]! + fHaPerBohr;
        break;
      }
      case 'energy-jump': {
        const jumpHa = (this.broken.jumpKcalPerMol ?? 1e4) * HA_PER_KCAL;
        out.energyHa += jumpHa;
        for (let i = 0; i < this.nAtoms; i++) out.atomicEnergiesHa[i]! += jumpHa / this.nAtoms;
        break;
      }
    }
  }
}
