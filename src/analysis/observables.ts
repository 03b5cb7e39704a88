/**
 * Observables of MD trajectories compared between a model and its reference, after Fu et al.,
 * "Forces are not enough" (TMLR 2023): h(r), the distribution of interatomic distances (all pairs,
 * all frames), its MAE ∫|h(r) − ĥ(r)| dr between two runs, and their stability criterion (a bond
 * more than 0.5 Å from its equilibrium length).
 */
import { AtomgpError } from '../errors.js';

export interface DistanceDensity {
  /** Bin width, Å, and upper end of the last bin, Å. */
  binA: number;
  rMaxA: number;
  /** Density per bin (Å⁻¹): Σ density·binA = 1 over the pairs counted. */
  density: Float64Array;
  /** Pairs beyond rMaxA (not in the density), as a fraction of all pairs. */
  beyondFraction: number;
}

/** h(r) over the frames (flat positions in Å, 3N each): every pair i < j of every frame. */
export function distanceDensity(frames: ReadonlyArray<Float64Array>, rMaxA = 12, binA = 0.05): DistanceDensity {
  if (frames.length === 0) throw new AtomgpError('h(r): no frames');
  if (!(binA > 0 && rMaxA > binA)) throw new AtomgpError(`h(r): bin ${binA} Å and range ${rMaxA} Å must satisfy 0 < bin < range`);
  const nBins = Math.ceil(rMaxA / binA);
  const counts = new Float64Array(nBins);
  let total = 0;
  let beyond = 0;
  for (const x of frames) {
    const n = x.length / 3;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = x[3 * i]! - x[3 * j]!;
        const dy = x[3 * i + 1]! - x[3 * j + 1]!;
        const dz = x[3 * i + 2]! - x[3 * j + 2]!;
        const r = Math.sqrt(dx * dx + dy * dy + dz * dz);
        total++;
        const b = Math.floor(r / binA);
        if (b < nBins) counts[b] = counts[b]! + 1;
        else beyond++;
      }
    }
  }
  const inside = total - beyond;
  const density = counts.map((c) => (inside > 0 ? c / (inside * binA) : 0));
  return { binA, rMaxA: nBins * binA, density, beyondFraction: total > 0 ? beyond / total : 0 };
}

/** MAE between two h(r) of the same binning: ∫|a − b| dr, between 0 (equal) and 2 (disjoint). */
export function densityMae(a: DistanceDensity, b: DistanceDensity): number {
  if (a.binA !== b.binA || a.density.length !== b.density.length) throw new AtomgpError('h(r) MAE: the two distributions have different bins');
  let s = 0;
  for (let k = 0; k < a.density.length; k++) s += Math.abs(a.density[k]! - b.density[k]!);
  return s * a.binA;
}

/** Largest |r_ij − r_eq| (Å) over the frames and bonds: Fu et al. call a run unstable beyond 0.5 Å. */
export function maxBondDeviationA(frames: ReadonlyArray<Float64Array>, bonds: ReadonlyArray<readonly [number, number]>, equilibriumA: ArrayLike<number>): number {
  if (bonds.length !== equilibriumA.length) throw new AtomgpError(`bond deviation: ${bonds.length} bonds, ${equilibriumA.length} equilibrium lengths`);
  let max = 0;
  for (const x of frames) {
    bonds.forEach(([i, j], k) => {
      const r = Math.hypot(x[3 * i]! - x[3 * j]!, x[3 * i + 1]! - x[3 * j + 1]!, x[3 * i + 2]! - x[3 * j + 2]!);
      const d = Math.abs(r - equilibriumA[k]!);
      if (d > max) max = d;
    });
  }
  return max;
}

/** Fu et al.'s stability threshold: a bond more than this far from its equilibrium length, Å. */
export const FU_BOND_DEVIATION_A = 0.5;
