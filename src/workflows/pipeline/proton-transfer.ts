/**
 * Whether the MD will make a labile hydrogen change partner, decided on the reference before any
 * sampling (`--proton-transfer auto`, the default). For every O/N-bonded hydrogen with another O/N
 * within 2.5 Å at the minimum (analysis/observables.ts protonSites):
 *
 * 1. the transferred form: the hydrogen put on the acceptor, at its bond length to the donor, on
 *    the acceptor's side of the hydrogen bond, then optimised on the reference (L-BFGS). It is a
 *    tautomer when the hydrogen ends nearer the acceptor than the donor.
 * 2. a barrier E‡ that is an upper bound of the reference's: the highest energy above the minimum
 *    on the straight line (Cartesian, after superposing) from the minimum to the tautomer.
 * 3. crossable when transition-state theory's rate (k_B T / h) e^(−E‡ / k_B T) at the highest MD
 *    temperature gives at least one crossing within `horizonS` (default 1 ns, the study's longest
 *    runs): E‡ ≤ k_B T ln((k_B T / h) · horizon), 19.8 kcal/mol at 1000 K, 9.2 at 500 K.
 *
 * E‡ from the straight line is never below the true barrier, so a hydrogen is judged crossable only
 * when even the bound is. Malondialdehyde's enol proton on GFN2-xTB (tautomers degenerate, straight
 * line about 8 kcal/mol) is; an amide N–H next to a carbonyl O, whose transfer breaks the amide, is
 * not. Units: Å, kcal/mol, K, s.
 */

import { alignTo } from '../../analysis/kabsch.js';
import { protonSites } from '../../analysis/observables.js';
import { findBonds } from '../../chem/connectivity.js';
import { BOLTZMANN_KCAL_PER_MOL_PER_K, KCAL_PER_MOL_PER_HARTREE } from '../../chem/units.js';
import { lbfgs } from '../../optimize/lbfgs.js';
import { createResult, type Potential } from '../../potentials/potential.js';

/** Boltzmann constant over Planck's, 1/(s·K). */
const KB_OVER_H_PER_S_PER_K = 1.380649e-23 / 6.62607015e-34;

/** The default horizon: one crossing expected within 1 ns. */
export const TRANSFER_HORIZON_S = 1e-9;

/** Points on the straight line from the minimum to the tautomer (both ends included). */
const PATH_POINTS = 21;

export interface ProtonTransferCheck {
  /** 0-based atoms. */
  donor: number;
  hydrogen: number;
  acceptor: number;
  /** Whether the optimised transferred form keeps the hydrogen on the acceptor. */
  tautomer: boolean;
  /** The tautomer's energy above the minimum, kcal/mol (when it is one). */
  tautomerKcalPerMol?: number;
  /** Highest energy above the minimum on the straight line to the tautomer, kcal/mol (an upper bound of the barrier). */
  barrierBoundKcalPerMol?: number;
  /** The largest barrier crossable within the horizon at the temperature, kcal/mol. */
  crossableKcalPerMol: number;
  crossable: boolean;
}

/** E‡ below which transition-state theory expects a crossing within `horizonS` at `temperatureK`, kcal/mol. */
export function crossableBarrierKcalPerMol(temperatureK: number, horizonS = TRANSFER_HORIZON_S): number {
  const kT = BOLTZMANN_KCAL_PER_MOL_PER_K * temperatureK;
  return kT * Math.log(KB_OVER_H_PER_S_PER_K * temperatureK * horizonS);
}

function distance(x: Float64Array, a: number, b: number): number {
  return Math.hypot(x[3 * a]! - x[3 * b]!, x[3 * a + 1]! - x[3 * b + 1]!, x[3 * a + 2]! - x[3 * b + 2]!);
}

/**
 * Each labile hydrogen of the molecule at its minimum `minimumA` (Å) on `reference`, checked as
 * above at `temperatureK`.
 */
export function checkProtonTransfers(reference: Potential, symbols: readonly string[], minimumA: Float64Array, temperatureK: number, horizonS = TRANSFER_HORIZON_S): ProtonTransferCheck[] {
  const sites = protonSites(symbols, minimumA, findBonds(symbols, minimumA));
  const res = createResult(symbols.length);
  const energy = (x: Float64Array): number => {
    reference.compute(x, res, false);
    return res.energyHa * KCAL_PER_MOL_PER_HARTREE;
  };
  const eMin = energy(minimumA);
  const limit = crossableBarrierKcalPerMol(temperatureK, horizonS);
  return sites.map(({ hydrogen: h, sites: [d, a] }) => {
    const donor = d!;
    const acceptor = a!;
    const guess = Float64Array.from(minimumA);
    const rDH = distance(minimumA, donor, h);
    const rAH = distance(minimumA, acceptor, h);
    // On the acceptor, at the donor bond's length, along the acceptor → hydrogen direction.
    for (let k = 0; k < 3; k++) guess[3 * h + k] = minimumA[3 * acceptor + k]! + ((minimumA[3 * h + k]! - minimumA[3 * acceptor + k]!) * rDH) / rAH;
    const opt = lbfgs(reference, guess, { fmaxKcalPerMolPerA: 0.5, maxSteps: 500 });
    const x = opt.positionsA;
    const base = { donor, hydrogen: h, acceptor, crossableKcalPerMol: limit };
    if (!(distance(x, acceptor, h) < distance(x, donor, h))) return { ...base, tautomer: false, crossable: false };
    const end = alignTo(minimumA, x);
    const point = new Float64Array(minimumA.length);
    let top = 0;
    for (let i = 1; i < PATH_POINTS; i++) {
      const t = i / (PATH_POINTS - 1);
      for (let k = 0; k < point.length; k++) point[k] = (1 - t) * minimumA[k]! + t * end[k]!;
      top = Math.max(top, energy(point) - eMin);
    }
    return { ...base, tautomer: true, tautomerKcalPerMol: opt.energyKcalPerMol - eMin, barrierBoundKcalPerMol: top, crossable: top <= limit };
  });
}
