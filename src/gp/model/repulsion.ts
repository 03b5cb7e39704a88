/**
 * A repulsive prior-mean term that starts where the training data stop: for every interatomic
 * distance an atom's features hold (r_AX, r_AY and each other atom's R), the part of the
 * Ziegler-Biersack-Littmark universal screened nuclear repulsion (ZBL; "The Stopping and Range of
 * Ions in Solids", 1985) that its tangent at the pair's closest approach in the training set does
 * not carry:
 *
 *   W(r) = V(r) − V(r_lo) − V'(r_lo)(r − r_lo)   for r < r_lo,   0 otherwise,
 *   V(r) = Z_A Z_B / r · φ(r/a),   a = 0.8854 bohr / (Z_A^0.23 + Z_B^0.23),
 *   φ(x) = 0.18175 e^(−3.19980x) + 0.50986 e^(−0.94229x) + 0.28022 e^(−0.40290x) + 0.02817 e^(−0.20162x)
 *
 * (atomic units: r in bohr, V in Ha). V is convex, so W ≥ 0, W(r_lo) = W'(r_lo) = 0 and W grows as
 * the pair comes closer than any training geometry brought it. Each atom carries half of every pair
 * its features see, so a molecule pays W once per pair. W is zero at every training point, so the
 * weights w = (K + σ²I)⁻¹ (y − m(X)) of a model with the constant prior are exactly those of a model
 * with the prior m(x) + Σ ½W: the term adds to any trained model without refitting and changes no
 * prediction where every distance lies inside its training range. What it changes: a geometry near
 * the data in every feature but one short contact (aspirin's O···O at 1000 K, docs/study.md) is
 * uphill, as it is physically, instead of interpolated from farther away.
 */

import { element } from '../../chem/elements.js';
import { AtomgpError } from '../../errors.js';
import type { GpModel } from './model.js';

/** ZBL screening length numerator, 0.46850 Å in bohr. */
const ZBL_A0_BOHR = 0.4685 / 0.529177210903;
const ZBL_C = [0.18175, 0.50986, 0.28022, 0.02817] as const;
const ZBL_B = [3.1998, 0.94229, 0.4029, 0.20162] as const;

/** ZBL screening length a (bohr) of a pair. */
function screeningBohr(zA: number, zB: number): number {
  return ZBL_A0_BOHR / (zA ** 0.23 + zB ** 0.23);
}

/** V and dV/dr of Z_A Z_B = zz with screening length a at r (bohr) into out[0] (Ha), out[1] (Ha/bohr). */
function zblAt(zz: number, a: number, r: number, out: Float64Array): void {
  const x = r / a;
  let phi = 0;
  let dphi = 0;
  for (let i = 0; i < 4; i++) {
    const t = ZBL_C[i]! * Math.exp(-ZBL_B[i]! * x);
    phi += t;
    dphi -= ZBL_B[i]! * t;
  }
  out[0] = (zz / r) * phi;
  out[1] = zz * (dphi / (a * r) - phi / (r * r));
}

/** ZBL pair energy (Ha) and its derivative (Ha/bohr) at r (bohr) into out[0], out[1]. */
export function zblPair(zA: number, zB: number, rBohr: number, out: Float64Array): void {
  zblAt(zA * zB, screeningBohr(zA, zB), rBohr, out);
}

/** The repulsive term of one atom's model: its distance features, their partners and closest approaches. */
export class ContactRepulsion {
  /** Feature index of each distance the atom's features hold. */
  readonly features: Int32Array;
  /** Partner atom (0-based, molecule order) of each of those distances. */
  readonly partners: Int32Array;
  /** Closest approach of each pair over the training points (bohr). */
  readonly loBohr: Float64Array;
  private readonly a: Float64Array;
  private readonly zz: Float64Array;
  /** V(r_lo) and V'(r_lo) of each pair (Ha, Ha/bohr). */
  private readonly vLo: Float64Array;
  private readonly dvLo: Float64Array;
  /** Workspace of evaluate(): V and V′ of one pair. */
  private readonly pair = new Float64Array(2);

  /**
   * @param model the atom's model (its ALF and training inputs, bohr)
   * @param symbols element symbols of the molecule's atoms, in atom order
   */
  constructor(model: GpModel, symbols: readonly string[]) {
    const n = model.nAtoms;
    if (symbols.length !== n) throw new AtomgpError(`${model.source ?? model.atom}: ${n} atoms, ${symbols.length} symbols`);
    if (model.nTrain === 0) throw new AtomgpError(`${model.source ?? model.atom}: no training points to take closest approaches from`);
    const alf = model.alf.map((k) => k - 1);
    const feats: number[] = [0];
    const partners: number[] = [alf[1]!];
    if (n > 2) {
      feats.push(1);
      partners.push(alf[2]!);
      let k = 0;
      for (let i = 0; i < n; i++) {
        if (i === alf[0] || i === alf[1] || i === alf[2]) continue;
        feats.push(3 + 3 * k);
        partners.push(i);
        k++;
      }
    }
    this.features = Int32Array.from(feats);
    this.partners = Int32Array.from(partners);
    const m = feats.length;
    this.loBohr = new Float64Array(m).fill(Number.POSITIVE_INFINITY);
    const K = model.nFeatures;
    for (let p = 0; p < model.nTrain; p++) {
      for (let j = 0; j < m; j++) {
        const r = model.trainX[p * K + feats[j]!]!;
        if (r < this.loBohr[j]!) this.loBohr[j] = r;
      }
    }
    const zA = element(symbols[alf[0]!]!).z;
    this.a = new Float64Array(m);
    this.zz = new Float64Array(m);
    this.vLo = new Float64Array(m);
    this.dvLo = new Float64Array(m);
    const pair = this.pair;
    for (let j = 0; j < m; j++) {
      const zB = element(symbols[partners[j]!]!).z;
      if (!(this.loBohr[j]! > 0)) throw new AtomgpError(`${model.source ?? model.atom}: feature f${feats[j]! + 1} is a distance but its smallest training value is ${this.loBohr[j]}`);
      this.a[j] = screeningBohr(zA, zB);
      this.zz[j] = zA * zB;
      zblPair(zA, zB, this.loBohr[j]!, pair);
      this.vLo[j] = pair[0]!;
      this.dvLo[j] = pair[1]!;
    }
  }

  /**
   * The atom's share Σ ½W(r) (Ha) at features f (bohr, radians); with `grad`, adds ∂/∂f into it.
   * No allocation: called once per atom per MD step.
   */
  evaluate(f: Float64Array, grad?: Float64Array): number {
    const feats = this.features;
    const lo = this.loBohr;
    let e = 0;
    for (let j = 0; j < feats.length; j++) {
      const d = feats[j]!;
      const r = f[d]!;
      const rLo = lo[j]!;
      if (r >= rLo) continue;
      const pair = this.pair;
      zblAt(this.zz[j]!, this.a[j]!, r, pair);
      const v = pair[0]!;
      const dv = pair[1]!;
      e += 0.5 * (v - this.vLo[j]! - this.dvLo[j]! * (r - rLo));
      if (grad) grad[d] = grad[d]! + 0.5 * (dv - this.dvLo[j]!);
    }
    return e;
  }
}

/** Prior-mean repulsion choices of a GP potential: none, or ZBL beyond the training data's closest approaches. */
export const REPULSION_KINDS = ['none', 'zbl'] as const;
export type RepulsionKind = (typeof REPULSION_KINDS)[number];

/** Parses a repulsion choice (a flag or setting value) or throws a one-line error naming the choices. */
export function parseRepulsion(value: unknown, what = 'repulsion'): RepulsionKind {
  if ((REPULSION_KINDS as readonly unknown[]).includes(value)) return value as RepulsionKind;
  throw new AtomgpError(`${what} must be one of ${REPULSION_KINDS.join(', ')}, got '${String(value)}'`);
}
