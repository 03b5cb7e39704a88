/**
 * The built-in reference force field: UFF (Rappé et al., J. Am. Chem. Soc. 1992, 114, 10024) with
 * Morse bonds, split exactly into atomic energies. `atomgp demo` uses it as the "quantum stand-in"
 * and tests use it when xtb is absent. Functional form, typing rules and limits: docs/builtin-ff.md.
 *
 *   bond       E = D (1 − e^{−α (r − r0)})²,  D = 70 kcal/mol × bond order,  α = √(k / 2D)
 *   angle      E = K (C0 + C1 cos θ + C2 cos 2θ)   (θ0 < 175°),   E = K (1 + cos θ)   (linear)
 *   torsion    E = ½ V [1 − cos(n φ0) cos(n φ)]
 *   inversion  E = K (1 − cos ω)   at sp2 C, N, O with three neighbours (ω: out-of-plane angle)
 *   vdW        E = D_IJ [(x_IJ / r)¹² − 2 (x_IJ / r)⁶]   for pairs beyond 1-3
 *
 * Atomic energies: every term's energy is shared equally among the atoms it involves (½ per atom of
 * a bond or vdW pair, ⅓ of an angle, ¼ of a torsion or inversion), so Σ_A E_A = E exactly; a
 * stand-in for IQA labels. No electrostatics and no per-element offsets: energies are relative
 * (0 when every bonded term is at its minimum and all non-bonded pairs are far apart).
 *
 * Internally kcal/mol and Å (the units of the parameters); results in Ha and Ha/bohr, with the
 * force conversion 1/(Ha→kcal/mol · bohr/Å) so forces are the exact gradient of `energyHa`.
 */
import { findBonds } from '../chem/connectivity.js';
import { BOHR_PER_ANGSTROM, KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { checkBonds, elementOf, markAromaticSixRings, neighbourLists, perceiveBondOrdersFromBonds, uffAtomTypes } from './builtin-ff-types.js';
import type { Potential, PotentialResult } from './potential.js';
import {
  UFF_ATOM_TYPES,
  UFF_GROUP16_SP3_TORSION_KCAL_PER_MOL,
  UFF_INVERSION_CARBONYL_KCAL_PER_MOL,
  UFF_INVERSION_KCAL_PER_MOL,
  type UffAtomType,
  uffAngleForceConstant,
  uffBondForceConstant,
  uffBondLengthA,
} from './uff-params.js';

/** Serialisable description (worker threads rebuild the potential from it). */
export interface BuiltinForceFieldSpec {
  symbols: string[];
  /** 0-based atom index pairs. */
  bonds: Array<[number, number]>;
  /** One per bond: 1, 1.5 (aromatic), 2, 3 (other positive values are used as given). Perceived when absent. */
  bondOrders?: number[];
}

/** Morse well depth per unit bond order, kcal/mol (UFF's Morse option). */
export const MORSE_DEPTH_PER_BOND_ORDER_KCAL_PER_MOL = 70;
/** UFF's amide C–N bond order. */
export const AMIDE_BOND_ORDER = 1.41;

const HA_PER_KCAL = 1 / KCAL_PER_MOL_PER_HARTREE;
const HA_PER_BOHR_PER_KCAL_PER_A = 1 / (KCAL_PER_MOL_PER_HARTREE * BOHR_PER_ANGSTROM);
const GROUP16 = new Set(['O', 'S']);

function prefix(): string {
  return 'builtin force field';
}

/**
 * A spec for `symbols` at `positionsA` (Å): bonds perceived from the geometry (covalent-radius rule
 * of src/chem/connectivity.ts) when not given, bond orders perceived from the bonds when not given.
 */
export function builtinForceFieldSpec(
  symbols: string[],
  positionsA: Float64Array,
  bonds?: Array<[number, number]>,
  bondOrders?: number[],
): BuiltinForceFieldSpec {
  for (let i = 0; i < symbols.length; i++) elementOf(symbols, i);
  const b: Array<[number, number]> = bonds ? bonds.map(([i, j]) => [i, j]) : findBonds(symbols, positionsA).map(([i, j]) => [i, j]);
  const orders = bondOrders ? [...bondOrders] : perceiveBondOrdersFromBonds(symbols, b);
  checkBonds(symbols.length, b, orders);
  return { symbols: [...symbols], bonds: b, bondOrders: orders };
}

/** Hybridisation class of a type for the torsion rules: 1 linear, 2 trigonal/resonant, 3 tetrahedral, 0 terminal-only. */
function hybridOf(type: string): 0 | 1 | 2 | 3 {
  const h = type[2];
  if (h === '1') return 1;
  if (h === '2' || h === 'R') return 2;
  if (h === '3') return 3;
  return 0;
}

/** UFF force field with Morse bonds; see the file header. `compute` does not allocate. */
export class BuiltinForceField implements Potential {
  readonly nAtoms: number;
  readonly symbols: readonly string[];
  readonly description: string;
  readonly spec: BuiltinForceFieldSpec;
  /** UFF type of every atom (e.g. `C_3`, `O_2`). */
  readonly atomTypes: readonly string[];
  /** Bond orders in effect: perceived if the spec had none, alternating 6-rings set to 1.5, amide C–N 1.41. */
  readonly bondOrders: readonly number[];
  /** Morse equilibrium length r0 of every bond, Å. */
  readonly bondRestLengthsA: Float64Array;

  // Morse bonds: i, j, r0 (Å), D (kcal/mol), α (1/Å)
  private readonly bondAtoms: Int32Array;
  private readonly bondParams: Float64Array;
  // Angles i-j-k (j centre): K (kcal/mol/rad²), C0, C1, C2; linear when C2 is NaN-free flag below
  private readonly angleAtoms: Int32Array;
  private readonly angleParams: Float64Array;
  // Torsions i-j-k-l: ½V (kcal/mol), n, cos(n φ0)
  private readonly torsionAtoms: Int32Array;
  private readonly torsionParams: Float64Array;
  private readonly torsionN: Int32Array;
  // Inversions: centre, j, k, l (l out of the centre-j-k plane): K (kcal/mol)
  private readonly inversionAtoms: Int32Array;
  private readonly inversionK: Float64Array;
  // vdW pairs: i, j; D_ij (kcal/mol), x_ij² (Å²)
  private readonly pairAtoms: Int32Array;
  private readonly pairParams: Float64Array;
  /** Gradient ∂E/∂r (kcal/mol/Å) and atomic energies (kcal/mol), reused across calls. */
  private readonly gradKcal: Float64Array;
  private readonly atomicKcal: Float64Array;

  constructor(spec: BuiltinForceFieldSpec) {
    if (!spec || !Array.isArray(spec.symbols) || !Array.isArray(spec.bonds)) {
      throw new AtomgpError(`${prefix()}: spec needs "symbols" (element list) and "bonds" (index pairs)`);
    }
    const n = spec.symbols.length;
    if (n === 0) throw new AtomgpError(`${prefix()}: no atoms`);
    const elements = spec.symbols.map((_, i) => elementOf(spec.symbols, i));
    const bonds = spec.bonds.map(([i, j]) => [i, j] as [number, number]);
    checkBonds(n, bonds, spec.bondOrders);
    const { atoms: nbr, bondIdx } = neighbourLists(n, bonds);
    const orders = spec.bondOrders ? [...spec.bondOrders] : perceiveBondOrdersFromBonds(spec.symbols, bonds);
    // Kekulé benzene-like rings given as 1/2 (e.g. from SMILES) are aromatic for UFF.
    if (spec.bondOrders) markAromaticSixRings(elements, nbr, bonds, orders);
    const types = uffAtomTypes(spec.symbols, bonds, orders);
    const otherEnd = (k: number, i: number): number => (bonds[k]![0] === i ? bonds[k]![1] : bonds[k]![0]);

    // UFF amide rule: C(=O)–N single bonds get order 1.41.
    bonds.forEach(([i, j], k) => {
      if (orders[k] !== 1) return;
      const c = elements[i] === 'C' && elements[j] === 'N' ? i : elements[j] === 'C' && elements[i] === 'N' ? j : -1;
      if (c < 0) return;
      const carbonyl = bondIdx[c]!.some((kk) => elements[otherEnd(kk, c)] === 'O' && orders[kk] === 2);
      if (carbonyl) orders[k] = AMIDE_BOND_ORDER;
    });

    this.spec = { symbols: [...spec.symbols], bonds, ...(spec.bondOrders ? { bondOrders: [...spec.bondOrders] } : {}) };
    this.nAtoms = n;
    this.symbols = [...spec.symbols];
    this.atomTypes = types;
    this.bondOrders = orders;
    const p: UffAtomType[] = types.map((t) => UFF_ATOM_TYPES.get(t)!);
    const orderOf = new Map<number, number>();
    bonds.forEach(([i, j], k) => {
      orderOf.set(Math.min(i, j) * n + Math.max(i, j), orders[k]!);
    });
    const restLength = (i: number, j: number): number => uffBondLengthA(p[i]!, p[j]!, orderOf.get(Math.min(i, j) * n + Math.max(i, j))!);

    // Bonds
    this.bondAtoms = new Int32Array(2 * bonds.length);
    this.bondParams = new Float64Array(3 * bonds.length);
    this.bondRestLengthsA = new Float64Array(bonds.length);
    bonds.forEach(([i, j], k) => {
      const r0 = restLength(i, j);
      const kb = uffBondForceConstant(p[i]!, p[j]!, r0);
      const depth = MORSE_DEPTH_PER_BOND_ORDER_KCAL_PER_MOL * orders[k]!;
      this.bondAtoms[2 * k] = i;
      this.bondAtoms[2 * k + 1] = j;
      this.bondParams[3 * k] = r0;
      this.bondParams[3 * k + 1] = depth;
      this.bondParams[3 * k + 2] = Math.sqrt(kb / (2 * depth));
      this.bondRestLengthsA[k] = r0;
    });

    // Angles: general Fourier form for every non-linear centre (see docs/builtin-ff.md for why the
    // trigonal centres do not use UFF's 3-fold form), K (1 + cos θ) for linear ones.
    const angles: number[] = [];
    const angleParams: number[] = [];
    for (let j = 0; j < n; j++) {
      const nb = nbr[j]!;
      const theta0 = (p[j]!.theta0Deg * Math.PI) / 180;
      const c0 = Math.cos(theta0);
      for (let a = 0; a < nb.length; a++) {
        for (let b = a + 1; b < nb.length; b++) {
          const i = nb[a]!;
          const k = nb[b]!;
          const K = uffAngleForceConstant(p[i]!.effectiveCharge, p[k]!.effectiveCharge, restLength(i, j), restLength(j, k), theta0);
          angles.push(i, j, k);
          if (p[j]!.theta0Deg >= 175) {
            angleParams.push(K, 1, 1, 0); // K (1 + cos θ): C0 = 1, C1 = 1, C2 = 0
          } else {
            const C2 = 1 / (4 * (1 - c0 * c0));
            angleParams.push(K, C2 * (2 * c0 * c0 + 1), -4 * C2 * c0, C2);
          }
        }
      }
    }
    this.angleAtoms = Int32Array.from(angles);
    this.angleParams = Float64Array.from(angleParams);

    // Torsions about every bond j-k between non-terminal, non-linear centres.
    const torsions: number[] = [];
    const torsionParams: number[] = [];
    const torsionN: number[] = [];
    bonds.forEach(([j, k], b) => {
      const hj = hybridOf(types[j]!);
      const hk = hybridOf(types[k]!);
      if (hj < 2 || hk < 2) return; // terminal atoms and sp centres have no torsion
      const list: number[] = [];
      for (const i of nbr[j]!) {
        if (i === k) continue;
        for (const l of nbr[k]!) {
          if (l === j || l === i) continue;
          list.push(i, j, k, l);
        }
      }
      const count = list.length / 4;
      if (count === 0) return;
      const order = orders[b]!;
      const sp2Barrier = (): number => 5 * Math.sqrt(p[j]!.torsionSp2KcalPerMol * p[k]!.torsionSp2KcalPerMol) * (1 + 4.18 * Math.log(order));
      let V: number;
      let nFold: number;
      let cosNPhi0: number;
      if (hj === 3 && hk === 3) {
        if (GROUP16.has(elements[j]!) && GROUP16.has(elements[k]!)) {
          V = Math.sqrt(UFF_GROUP16_SP3_TORSION_KCAL_PER_MOL[elements[j]!]! * UFF_GROUP16_SP3_TORSION_KCAL_PER_MOL[elements[k]!]!);
          nFold = 2;
          cosNPhi0 = -1; // φ0 = 90°
        } else {
          V = Math.sqrt(p[j]!.torsionSp3KcalPerMol * p[k]!.torsionSp3KcalPerMol);
          nFold = 3;
          cosNPhi0 = -1; // φ0 = 60° (staggered)
        }
      } else if (hj === 2 && hk === 2) {
        V = sp2Barrier();
        nFold = 2;
        cosNPhi0 = 1; // φ0 = 180° (planar)
      } else {
        const sp2 = hj === 2 ? j : k;
        const sp3 = hj === 2 ? k : j;
        if (GROUP16.has(elements[sp3]!) && !GROUP16.has(elements[sp2]!)) {
          V = sp2Barrier();
          nFold = 2;
          cosNPhi0 = -1; // φ0 = 90°
        } else if (nbr[sp2]!.some((x) => x !== sp3 && hybridOf(types[x]!) === 2)) {
          V = 2;
          nFold = 3;
          cosNPhi0 = -1; // propene-like: φ0 = 180°
        } else {
          V = 1;
          nFold = 6;
          cosNPhi0 = 1; // φ0 = 0°
        }
      }
      if (V === 0) return;
      for (let t = 0; t < list.length; t += 4) {
        torsions.push(list[t]!, list[t + 1]!, list[t + 2]!, list[t + 3]!);
        torsionParams.push((0.5 * V) / count, cosNPhi0);
        torsionN.push(nFold);
      }
    });
    this.torsionAtoms = Int32Array.from(torsions);
    this.torsionParams = Float64Array.from(torsionParams);
    this.torsionN = Int32Array.from(torsionN);

    // Inversions at trigonal C, N, O with three neighbours: three terms of K/3 each.
    const inversions: number[] = [];
    const inversionK: number[] = [];
    for (let c = 0; c < n; c++) {
      const nb = nbr[c]!;
      if (nb.length !== 3 || hybridOf(types[c]!) !== 2 || !['C', 'N', 'O'].includes(elements[c]!)) continue;
      const carbonyl = elements[c] === 'C' && nb.some((x) => types[x] === 'O_2');
      const K = (carbonyl ? UFF_INVERSION_CARBONYL_KCAL_PER_MOL : UFF_INVERSION_KCAL_PER_MOL) / 3;
      for (let t = 0; t < 3; t++) {
        inversions.push(c, nb[(t + 1) % 3]!, nb[(t + 2) % 3]!, nb[t]!);
        inversionK.push(K);
      }
    }
    this.inversionAtoms = Int32Array.from(inversions);
    this.inversionK = Float64Array.from(inversionK);

    // van der Waals pairs beyond 1-3.
    const excluded = new Set<number>();
    for (const [i, j] of bonds) excluded.add(Math.min(i, j) * n + Math.max(i, j));
    for (let j = 0; j < n; j++) {
      const nb = nbr[j]!;
      for (let a = 0; a < nb.length; a++) for (let b = a + 1; b < nb.length; b++) excluded.add(Math.min(nb[a]!, nb[b]!) * n + Math.max(nb[a]!, nb[b]!));
    }
    const pairs: number[] = [];
    const pairParams: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        if (excluded.has(i * n + j)) continue;
        pairs.push(i, j);
        pairParams.push(Math.sqrt(p[i]!.vdwDepthKcalPerMol * p[j]!.vdwDepthKcalPerMol), p[i]!.vdwDistanceA * p[j]!.vdwDistanceA);
      }
    }
    this.pairAtoms = Int32Array.from(pairs);
    this.pairParams = Float64Array.from(pairParams);

    this.gradKcal = new Float64Array(3 * n);
    this.atomicKcal = new Float64Array(n);
    const counts = new Map<string, number>();
    for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
    const typeList = [...counts].map(([t, c]) => `${t}×${c}`).join(' ');
    this.description =
      `builtin UFF force field with Morse bonds (${n} atoms: ${bonds.length} bonds, ${angles.length / 3} angles, ` +
      `${torsionN.length} torsions, ${inversionK.length} inversions, ${pairs.length / 2} vdW pairs; types ${typeList})`;
  }

  compute(positionsA: Float64Array, out: PotentialResult, withForces = true): void {
    const n = this.nAtoms;
    if (positionsA.length !== 3 * n) throw new AtomgpError(`${prefix()}: expected ${3 * n} coordinates for ${n} atoms, got ${positionsA.length}`);
    const x = positionsA;
    const g = this.gradKcal;
    const ea = this.atomicKcal;
    g.fill(0);
    ea.fill(0);
    let e = 0;

    // Morse bonds
    {
      const at = this.bondAtoms;
      const pr = this.bondParams;
      for (let t = 0, nt = at.length / 2; t < nt; t++) {
        const ai = at[2 * t]!;
        const i = 3 * ai;
        const aj = at[2 * t + 1]!;
        const j = 3 * aj;
        const r0 = pr[3 * t]!;
        const depth = pr[3 * t + 1]!;
        const alpha = pr[3 * t + 2]!;
        const dx = x[i]! - x[j]!;
        const dy = x[i + 1]! - x[j + 1]!;
        const dz = x[i + 2]! - x[j + 2]!;
        const r = Math.sqrt(dx * dx + dy * dy + dz * dz);
        const ex = Math.exp(-alpha * (r - r0));
        const om = 1 - ex;
        const et = depth * om * om;
        e += et;
        ea[ai]! += 0.5 * et;
        ea[aj]! += 0.5 * et;
        // dE/dr = 2 D α e (1 − e); gradient on i = dE/dr · (r_i − r_j)/r
        const s = r > 0 ? (2 * depth * alpha * ex * om) / r : 0;
        g[i]! += s * dx;
        g[i + 1]! += s * dy;
        g[i + 2]! += s * dz;
        g[j]! -= s * dx;
        g[j + 1]! -= s * dy;
        g[j + 2]! -= s * dz;
      }
    }

    // Angles: E is a polynomial in c = cos θ, so no 1/sin θ appears.
    {
      const at = this.angleAtoms;
      const pr = this.angleParams;
      for (let t = 0, nt = at.length / 3; t < nt; t++) {
        const ai = at[3 * t]!;
        const i = 3 * ai;
        const aj = at[3 * t + 1]!;
        const j = 3 * aj;
        const ak = at[3 * t + 2]!;
        const k = 3 * ak;
        const K = pr[4 * t]!;
        const C0 = pr[4 * t + 1]!;
        const C1 = pr[4 * t + 2]!;
        const C2 = pr[4 * t + 3]!;
        const ux = x[i]! - x[j]!;
        const uy = x[i + 1]! - x[j + 1]!;
        const uz = x[i + 2]! - x[j + 2]!;
        const vx = x[k]! - x[j]!;
        const vy = x[k + 1]! - x[j + 1]!;
        const vz = x[k + 2]! - x[j + 2]!;
        const uu = ux * ux + uy * uy + uz * uz;
        const vv = vx * vx + vy * vy + vz * vz;
        const inv = 1 / Math.sqrt(uu * vv);
        const c = (ux * vx + uy * vy + uz * vz) * inv;
        // cos 2θ = 2c² − 1
        const et = K * (C0 + C1 * c + C2 * (2 * c * c - 1));
        e += et;
        const third = et / 3;
        ea[ai]! += third;
        ea[aj]! += third;
        ea[ak]! += third;
        const dEdc = K * (C1 + 4 * C2 * c);
        // ∂c/∂u = v/(|u||v|) − c u/|u|², likewise for v
        const au = dEdc * inv;
        const bu = (dEdc * c) / uu;
        const bv = (dEdc * c) / vv;
        const gix = au * vx - bu * ux;
        const giy = au * vy - bu * uy;
        const giz = au * vz - bu * uz;
        const gkx = au * ux - bv * vx;
        const gky = au * uy - bv * vy;
        const gkz = au * uz - bv * vz;
        g[i]! += gix;
        g[i + 1]! += giy;
        g[i + 2]! += giz;
        g[k]! += gkx;
        g[k + 1]! += gky;
        g[k + 2]! += gkz;
        g[j]! -= gix + gkx;
        g[j + 1]! -= giy + gky;
        g[j + 2]! -= giz + gkz;
      }
    }

    // Torsions: φ from b1 = r_j − r_i, b2 = r_k − r_j, b3 = r_l − r_k; cos nφ, sin nφ by recurrence;
    // ∂φ/∂r from Blondel & Karplus, J. Comput. Chem. 1996, 17, 1132.
    {
      const at = this.torsionAtoms;
      const pr = this.torsionParams;
      const nf = this.torsionN;
      for (let t = 0, nt = nf.length; t < nt; t++) {
        const ai = at[4 * t]!;
        const i = 3 * ai;
        const aj = at[4 * t + 1]!;
        const j = 3 * aj;
        const ak = at[4 * t + 2]!;
        const k = 3 * ak;
        const al = at[4 * t + 3]!;
        const l = 3 * al;
        const halfV = pr[2 * t]!;
        const cosNPhi0 = pr[2 * t + 1]!;
        const nFold = nf[t]!;
        const b1x = x[j]! - x[i]!;
        const b1y = x[j + 1]! - x[i + 1]!;
        const b1z = x[j + 2]! - x[i + 2]!;
        const b2x = x[k]! - x[j]!;
        const b2y = x[k + 1]! - x[j + 1]!;
        const b2z = x[k + 2]! - x[j + 2]!;
        const b3x = x[l]! - x[k]!;
        const b3y = x[l + 1]! - x[k + 1]!;
        const b3z = x[l + 2]! - x[k + 2]!;
        // m = b1 × b2, q = b2 × b3
        const mx = b1y * b2z - b1z * b2y;
        const my = b1z * b2x - b1x * b2z;
        const mz = b1x * b2y - b1y * b2x;
        const qx = b2y * b3z - b2z * b3y;
        const qy = b2z * b3x - b2x * b3z;
        const qz = b2x * b3y - b2y * b3x;
        const mm = mx * mx + my * my + mz * mz;
        const qq = qx * qx + qy * qy + qz * qz;
        const b2b2 = b2x * b2x + b2y * b2y + b2z * b2z;
        const len2 = Math.sqrt(b2b2);
        const cosTerm = mx * qx + my * qy + mz * qz;
        const sinTerm = len2 * (b1x * qx + b1y * qy + b1z * qz);
        const h = Math.sqrt(cosTerm * cosTerm + sinTerm * sinTerm);
        // Collinear i-j-k or j-k-l: φ undefined; take φ = 0 (energy stays bounded, force term dropped).
        const c1 = h > 0 ? cosTerm / h : 1;
        const s1 = h > 0 ? sinTerm / h : 0;
        let cn = c1;
        let sn = s1;
        for (let m = 1; m < nFold; m++) {
          const cNext = cn * c1 - sn * s1;
          sn = sn * c1 + cn * s1;
          cn = cNext;
        }
        const et = halfV * (1 - cosNPhi0 * cn);
        e += et;
        const quarter = 0.25 * et;
        ea[ai]! += quarter;
        ea[aj]! += quarter;
        ea[ak]! += quarter;
        ea[al]! += quarter;
        if (mm < 1e-20 || qq < 1e-20 || b2b2 === 0) continue;
        const dEdphi = halfV * cosNPhi0 * nFold * sn;
        // ∂φ/∂r_i = −|b2|/|m|² m, ∂φ/∂r_l = |b2|/|q|² q
        const fi = (-dEdphi * len2) / mm;
        const fl = (dEdphi * len2) / qq;
        const gix = fi * mx;
        const giy = fi * my;
        const giz = fi * mz;
        const glx = fl * qx;
        const gly = fl * qy;
        const glz = fl * qz;
        // ∂φ/∂r_j = −(1 + b1·b2/|b2|²) ∂φ/∂r_i + (b3·b2/|b2|²) ∂φ/∂r_l ... written via projections
        const p1 = (b1x * b2x + b1y * b2y + b1z * b2z) / b2b2;
        const p3 = (b3x * b2x + b3y * b2y + b3z * b2z) / b2b2;
        const gjx = -(1 + p1) * gix + p3 * glx;
        const gjy = -(1 + p1) * giy + p3 * gly;
        const gjz = -(1 + p1) * giz + p3 * glz;
        g[i]! += gix;
        g[i + 1]! += giy;
        g[i + 2]! += giz;
        g[l]! += glx;
        g[l + 1]! += gly;
        g[l + 2]! += glz;
        g[j]! += gjx;
        g[j + 1]! += gjy;
        g[j + 2]! += gjz;
        g[k]! -= gix + glx + gjx;
        g[k + 1]! -= giy + gly + gjy;
        g[k + 2]! -= giz + glz + gjz;
      }
    }

    // Inversions: s = sin ω = n̂ · ŵ with n = a × b (a = r_j − r_c, b = r_k − r_c), w = r_l − r_c.
    {
      const at = this.inversionAtoms;
      const kk = this.inversionK;
      for (let t = 0, nt = kk.length; t < nt; t++) {
        const ac = at[4 * t]!;
        const c = 3 * ac;
        const aj = at[4 * t + 1]!;
        const j = 3 * aj;
        const ak = at[4 * t + 2]!;
        const k = 3 * ak;
        const al = at[4 * t + 3]!;
        const l = 3 * al;
        const K = kk[t]!;
        const ax = x[j]! - x[c]!;
        const ay = x[j + 1]! - x[c + 1]!;
        const az = x[j + 2]! - x[c + 2]!;
        const bx = x[k]! - x[c]!;
        const by = x[k + 1]! - x[c + 1]!;
        const bz = x[k + 2]! - x[c + 2]!;
        const wx = x[l]! - x[c]!;
        const wy = x[l + 1]! - x[c + 1]!;
        const wz = x[l + 2]! - x[c + 2]!;
        const nx = ay * bz - az * by;
        const ny = az * bx - ax * bz;
        const nz = ax * by - ay * bx;
        const nLen = Math.sqrt(nx * nx + ny * ny + nz * nz);
        const wLen = Math.sqrt(wx * wx + wy * wy + wz * wz);
        if (nLen === 0 || wLen === 0) continue;
        const s = (nx * wx + ny * wy + nz * wz) / (nLen * wLen);
        const cosOmega = Math.sqrt(Math.max(0, 1 - s * s));
        const et = K * (1 - cosOmega);
        e += et;
        const quarter = 0.25 * et;
        ea[ac]! += quarter;
        ea[aj]! += quarter;
        ea[ak]! += quarter;
        ea[al]! += quarter;
        // dE/ds = K s / cos ω (bounded: ∂s/∂r vanishes like cos ω where cos ω → 0)
        const dEds = (K * s) / Math.max(cosOmega, 1e-12);
        // ∂s/∂w = (n̂ − s ŵ)/|w|; ∂s/∂n = (ŵ − s n̂)/|n| =: q; ∂s/∂a = b × q; ∂s/∂b = q × a
        const iw = 1 / wLen;
        const inl = 1 / nLen;
        const gwx = dEds * (nx * inl - s * wx * iw) * iw;
        const gwy = dEds * (ny * inl - s * wy * iw) * iw;
        const gwz = dEds * (nz * inl - s * wz * iw) * iw;
        const qx = dEds * (wx * iw - s * nx * inl) * inl;
        const qy = dEds * (wy * iw - s * ny * inl) * inl;
        const qz = dEds * (wz * iw - s * nz * inl) * inl;
        const gax = by * qz - bz * qy;
        const gay = bz * qx - bx * qz;
        const gaz = bx * qy - by * qx;
        const gbx = qy * az - qz * ay;
        const gby = qz * ax - qx * az;
        const gbz = qx * ay - qy * ax;
        g[j]! += gax;
        g[j + 1]! += gay;
        g[j + 2]! += gaz;
        g[k]! += gbx;
        g[k + 1]! += gby;
        g[k + 2]! += gbz;
        g[l]! += gwx;
        g[l + 1]! += gwy;
        g[l + 2]! += gwz;
        g[c]! -= gax + gbx + gwx;
        g[c + 1]! -= gay + gby + gwy;
        g[c + 2]! -= gaz + gbz + gwz;
      }
    }

    // van der Waals (LJ 12-6 in UFF's x, D form), in r² to avoid square roots.
    {
      const at = this.pairAtoms;
      const pr = this.pairParams;
      for (let t = 0, nt = at.length / 2; t < nt; t++) {
        const ai = at[2 * t]!;
        const i = 3 * ai;
        const aj = at[2 * t + 1]!;
        const j = 3 * aj;
        const depth = pr[2 * t]!;
        const x2 = pr[2 * t + 1]!;
        const dx = x[i]! - x[j]!;
        const dy = x[i + 1]! - x[j + 1]!;
        const dz = x[i + 2]! - x[j + 2]!;
        const r2 = dx * dx + dy * dy + dz * dz;
        const u = x2 / r2;
        const u3 = u * u * u;
        const u6 = u3 * u3;
        const et = depth * (u6 - 2 * u3);
        e += et;
        ea[ai]! += 0.5 * et;
        ea[aj]! += 0.5 * et;
        // dE/d(r²) = 6 D (u³ − u⁶)/r²; gradient on i = 2 dE/d(r²) (r_i − r_j)
        const s = (12 * depth * (u3 - u6)) / r2;
        g[i]! += s * dx;
        g[i + 1]! += s * dy;
        g[i + 2]! += s * dz;
        g[j]! -= s * dx;
        g[j + 1]! -= s * dy;
        g[j + 2]! -= s * dz;
      }
    }

    out.energyHa = e * HA_PER_KCAL;
    const oa = out.atomicEnergiesHa;
    for (let a = 0; a < n; a++) oa[a] = ea[a]! * HA_PER_KCAL;
    if (withForces) {
      const f = out.forcesHaPerBohr;
      for (let a = 0; a < 3 * n; a++) f[a] = -g[a]! * HA_PER_BOHR_PER_KCAL_PER_A;
    }
  }
}
