/**
 * Biasing a potential for sampling: `BiasedPotential` (any potential plus a metadynamics bias on
 * its CVs, and optional upper walls on bond lengths) and the bond walls themselves. The bias lives
 * in kcal/mol like the MD engine's internals; `BiasedPotential` converts to the Potential
 * contract's Ha and Ha/bohr at its boundary. Used by `runWtmetad` (wtmetad.ts).
 */
import { findBonds } from '../chem/connectivity.js';
import { distanceA } from '../chem/molecule.js';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { createResult, type Potential, type PotentialResult } from '../potentials/potential.js';
import { cvName, evaluateCv, validateCvs } from './cv.js';
import type { MetadynamicsBias } from './wtmetad.js';

const HA_PER_KCAL = 1 / KCAL_PER_MOL_PER_HARTREE;
const HA_PER_BOHR_PER_KCAL_PER_A = 1 / KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;

/**
 * Flat-bottomed upper walls on bond lengths, as PLUMED's UPPER_WALLS: for each bond (i, j) with
 * start length d0, E = k (d − f·d0)² when d > f·d0, else 0 (kcal/mol, d in Å). They keep the
 * sampler on the start molecule's topology: without them a biased reference can react — in
 * malondialdehyde on GFN2-xTB the enol proton hops to the other oxygen within a few ps at
 * 500 K — and frames of another tautomer or of fragments are not what a fixed-ALF GP is trained
 * on. Geometries up to and around the wall (e.g. near the proton-transfer saddle) are still
 * sampled; the wall enters the dynamics only, never the labels.
 *
 * A labile hydrogen h shared by a donor a and an acceptor b (`labile`: a proton-transfer CV
 * samples its hop) has no wall on a–h; instead E = k (d(a,h) + d(h,b) − f·s0)² beyond f times the
 * start sum s0: h may sit on either side or between them, but not leave the pair.
 */
export interface BondWalls {
  /** Atom pairs (0-based), 2 per bond. */
  pairs: Int32Array;
  /** Wall position per bond, Å. */
  maxA: Float64Array;
  /** Force constant k, kcal/mol/Å². */
  kKcalPerMolPerA2: number;
  /** Walls on d(a,h) + d(h,b) for labile hydrogens: atoms (0-based) a, h, b per wall. */
  sumTriples?: Int32Array;
  /** Wall position of each sum, Å. */
  sumMaxA?: Float64Array;
}

/** Default wall: 1.3 × the start length, k = 200 kcal/mol/Å². */
export const DEFAULT_BOND_WALL = { factor: 1.3, kKcalPerMolPerA2: 200 } as const;

/**
 * Walls on every bond of the start geometry's connectivity at `factor` × its start length; for
 * each labile hydrogen [a, h, b] (donor, hydrogen, acceptor; 0-based) the a–h wall is replaced by
 * a wall on d(a,h) + d(h,b) at `factor` × its start value.
 */
export function bondWallsFromStart(
  symbols: readonly string[],
  positionsA: Float64Array,
  factor: number = DEFAULT_BOND_WALL.factor,
  kKcalPerMolPerA2: number = DEFAULT_BOND_WALL.kKcalPerMolPerA2,
  labile: ReadonlyArray<readonly [number, number, number]> = [],
): BondWalls {
  if (!(factor > 1) || !Number.isFinite(factor)) throw new AtomgpError(`bond wall factor must be > 1, got ${factor}`);
  if (!(kKcalPerMolPerA2 > 0) || !Number.isFinite(kKcalPerMolPerA2)) throw new AtomgpError(`bond wall force constant must be > 0 kcal/mol/Å², got ${kKcalPerMolPerA2}`);
  const sameBond = (p: readonly [number, number], a: number, h: number): boolean => (p[0] === a && p[1] === h) || (p[0] === h && p[1] === a);
  for (const [a, h] of labile) {
    if (!findBonds(symbols, positionsA).some((p) => sameBond(p, a, h))) throw new AtomgpError(`labile hydrogen ${h + 1}: it is not bonded to atom ${a + 1} at the start`);
  }
  const bonds = findBonds(symbols, positionsA).filter((p) => !labile.some(([a, h]) => sameBond(p, a, h)));
  const pairs = new Int32Array(2 * bonds.length);
  const maxA = new Float64Array(bonds.length);
  bonds.forEach(([i, j], b) => {
    pairs[2 * b] = i;
    pairs[2 * b + 1] = j;
    const dx = positionsA[3 * i]! - positionsA[3 * j]!;
    const dy = positionsA[3 * i + 1]! - positionsA[3 * j + 1]!;
    const dz = positionsA[3 * i + 2]! - positionsA[3 * j + 2]!;
    maxA[b] = factor * Math.sqrt(dx * dx + dy * dy + dz * dz);
  });
  if (labile.length === 0) return { pairs, maxA, kKcalPerMolPerA2 };
  const sumTriples = Int32Array.from(labile.flat());
  const sumMaxA = Float64Array.from(labile, ([a, h, b]) => factor * (distanceA(positionsA, a, h) + distanceA(positionsA, h, b)));
  return { pairs, maxA, kKcalPerMolPerA2, sumTriples, sumMaxA };
}

/** Wall energy (kcal/mol); with `forcesHaPerBohr`, adds the wall forces to it. */
export function evaluateBondWalls(w: BondWalls, positionsA: Float64Array, forcesHaPerBohr?: Float64Array): number {
  let e = 0;
  const nb = w.maxA.length;
  for (let b = 0; b < nb; b++) {
    const i = w.pairs[2 * b]!;
    const j = w.pairs[2 * b + 1]!;
    const excess = distanceA(positionsA, i, j) - w.maxA[b]!;
    if (!(excess > 0)) continue;
    e += w.kKcalPerMolPerA2 * excess * excess;
    // F = −2 k excess ∇d, converted to Ha/bohr
    if (forcesHaPerBohr) addPairPull(positionsA, i, j, -2 * w.kKcalPerMolPerA2 * excess * HA_PER_BOHR_PER_KCAL_PER_A, forcesHaPerBohr);
  }
  const triples = w.sumTriples;
  const sumMax = w.sumMaxA;
  if (triples && sumMax) {
    for (let t = 0; t < sumMax.length; t++) {
      const a = triples[3 * t]!;
      const h = triples[3 * t + 1]!;
      const b = triples[3 * t + 2]!;
      const excess = distanceA(positionsA, a, h) + distanceA(positionsA, h, b) - sumMax[t]!;
      if (!(excess > 0)) continue;
      e += w.kKcalPerMolPerA2 * excess * excess;
      if (forcesHaPerBohr) {
        // F = −2 k excess ∇(d_ah + d_hb): each distance pulls its two atoms together
        const s = -2 * w.kKcalPerMolPerA2 * excess * HA_PER_BOHR_PER_KCAL_PER_A;
        addPairPull(positionsA, a, h, s, forcesHaPerBohr);
        addPairPull(positionsA, h, b, s, forcesHaPerBohr);
      }
    }
  }
  return e;
}

/** Adds s · ∇_r d(i, j) to the forces of i and j (s < 0 pulls them together). */
function addPairPull(x: Float64Array, i: number, j: number, s: number, f: Float64Array): void {
  const dx = x[3 * i]! - x[3 * j]!;
  const dy = x[3 * i + 1]! - x[3 * j + 1]!;
  const dz = x[3 * i + 2]! - x[3 * j + 2]!;
  const d = Math.sqrt(dx * dx + dy * dy + dz * dz);
  const c = s / d;
  f[3 * i] = f[3 * i]! + c * dx;
  f[3 * i + 1] = f[3 * i + 1]! + c * dy;
  f[3 * i + 2] = f[3 * i + 2]! + c * dz;
  f[3 * j] = f[3 * j]! - c * dx;
  f[3 * j + 1] = f[3 * j + 1]! - c * dy;
  f[3 * j + 2] = f[3 * j + 2]! - c * dz;
}

/**
 * Any potential plus a metadynamics bias on its CVs. energy = inner + V (Ha), forces = inner
 * forces − ∂V/∂s · ∂s/∂r (Ha/bohr); `atomicEnergiesHa` are the inner potential's (the bias is not
 * a label). The last unbiased result and CV values stay readable (`lastUnbiased`, `lastCvValues`)
 * so harvested frames carry reference labels without a second evaluation.
 */
export class BiasedPotential implements Potential {
  readonly nAtoms: number;
  readonly symbols: readonly string[];
  readonly description: string;
  /** Unbiased energy (Ha), forces (Ha/bohr) and atomic energies (Ha) of the last `compute`. */
  readonly lastUnbiased: PotentialResult;
  /** CV values at the last `compute` (rad or Å). */
  readonly lastCvValues: Float64Array;
  /** V at the last `compute`, kcal/mol. */
  lastBiasKcalPerMol = 0;
  /** Bond-wall energy at the last `compute`, kcal/mol (0 without walls). */
  lastWallKcalPerMol = 0;
  /** Whether the last `compute` produced forces (and CV gradients). */
  lastWithForces = false;
  private readonly cvGrads: Float64Array[];
  private readonly dVds: Float64Array;

  constructor(
    readonly inner: Potential,
    readonly bias: MetadynamicsBias,
    readonly walls?: BondWalls,
  ) {
    validateCvs(bias.cvs, inner.nAtoms);
    if (walls) {
      for (const a of [...walls.pairs, ...(walls.sumTriples ?? [])]) {
        if (!(a >= 0 && a < inner.nAtoms)) throw new AtomgpError(`bond wall atom index ${a + 1} is outside 1..${inner.nAtoms}`);
      }
    }
    this.nAtoms = inner.nAtoms;
    this.symbols = inner.symbols;
    this.description = `${inner.description} + WTMetaD bias on ${bias.cvs.map(cvName).join(', ')}${walls ? ` + upper walls on ${walls.maxA.length} bonds${walls.sumMaxA?.length ? ` and ${walls.sumMaxA.length} labile-hydrogen pair(s)` : ''}` : ''}`;
    this.lastUnbiased = createResult(inner.nAtoms);
    this.lastCvValues = new Float64Array(bias.nCvs);
    this.cvGrads = bias.cvs.map(() => new Float64Array(3 * inner.nAtoms));
    this.dVds = new Float64Array(bias.nCvs);
  }

  compute(positionsA: Float64Array, out: PotentialResult, withForces = true): void {
    const u = this.lastUnbiased;
    this.inner.compute(positionsA, u, withForces);
    const cvs = this.bias.cvs;
    for (let c = 0; c < cvs.length; c++) this.lastCvValues[c] = evaluateCv(cvs[c]!, positionsA, withForces ? this.cvGrads[c] : undefined);
    const v = this.bias.evaluate(this.lastCvValues, withForces ? this.dVds : undefined);
    this.lastBiasKcalPerMol = v;
    this.lastWithForces = withForces;
    const f = out.forcesHaPerBohr;
    if (withForces) f.set(u.forcesHaPerBohr);
    const wall = this.walls ? evaluateBondWalls(this.walls, positionsA, withForces ? f : undefined) : 0;
    this.lastWallKcalPerMol = wall;
    out.energyHa = u.energyHa + (v + wall) * HA_PER_KCAL;
    out.atomicEnergiesHa.set(u.atomicEnergiesHa);
    if (!withForces) return;
    for (let c = 0; c < cvs.length; c++) {
      const k = this.dVds[c]! * HA_PER_BOHR_PER_KCAL_PER_A;
      if (k === 0) continue;
      const g = this.cvGrads[c]!;
      for (let i = 0; i < f.length; i++) f[i] = f[i]! - k * g[i]!;
    }
  }

  /**
   * The bias's forces −∂V/∂r (kcal/mol/Å) at the last evaluated positions, under the bias as it is
   * now, added into `accumulate` with the factor `sign`; returns V (kcal/mol). Used after a hill
   * is deposited to update the MD forces without re-evaluating the (expensive) inner potential.
   */
  addBiasForcesKcalPerMolPerA(accumulate: Float64Array, sign: number): number {
    if (!this.lastWithForces) throw new AtomgpError('bias forces requested but the last evaluation had no forces');
    const v = this.bias.evaluate(this.lastCvValues, this.dVds);
    for (let c = 0; c < this.bias.nCvs; c++) {
      const k = sign * this.dVds[c]!;
      if (k === 0) continue;
      const g = this.cvGrads[c]!;
      for (let i = 0; i < accumulate.length; i++) accumulate[i] = accumulate[i]! - k * g[i]!;
    }
    return v;
  }
}
