/**
 * Observables of MD trajectories compared between a model and its reference, after Fu et al.,
 * "Forces are not enough" (TMLR 2023): h(r), the distribution of interatomic distances (all pairs,
 * all frames), its MAE ∫|h(r) − ĥ(r)| dr between two runs, and their stability criterion (a bond
 * more than 0.5 Å from its equilibrium length).
 */
import { distanceA } from '../chem/molecule.js';
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

/**
 * A hydrogen that can sit on more than one heavy atom: its donor (the O or N it is bonded to in the
 * reference) and its acceptors (every other O or N within `maxAcceptorDistanceA` of it at the
 * reference geometry: an intramolecular hydrogen bond, e.g. malondialdehyde's enol H between its
 * two oxygens). Atom indices are 0-based; `sites[0]` is the donor.
 */
export interface ProtonSites {
  hydrogen: number;
  sites: number[];
}

/** Acceptor distance cut-off for `protonSites`, Å: an H···O/N hydrogen bond at the reference geometry. */
export const PROTON_ACCEPTOR_CUTOFF_A = 2.5;

/** Every hydrogen bonded to O or N that has at least one O/N acceptor within the cut-off (see ProtonSites). */
export function protonSites(
  symbols: readonly string[],
  positionsA: Float64Array,
  bonds: ReadonlyArray<readonly [number, number]>,
  maxAcceptorDistanceA = PROTON_ACCEPTOR_CUTOFF_A,
): ProtonSites[] {
  const polar = (i: number): boolean => symbols[i] === 'O' || symbols[i] === 'N';
  const out: ProtonSites[] = [];
  symbols.forEach((sym, h) => {
    if (sym !== 'H') return;
    const donors = bonds.filter(([a, b]) => a === h || b === h).map(([a, b]) => (a === h ? b : a));
    if (donors.length !== 1 || !polar(donors[0]!)) return;
    const acceptors: Array<[number, number]> = [];
    symbols.forEach((_, k) => {
      if (k === donors[0] || !polar(k)) return;
      const r = distanceA(positionsA, h, k);
      if (r <= maxAcceptorDistanceA) acceptors.push([k, r]);
    });
    if (acceptors.length > 0) out.push({ hydrogen: h, sites: [donors[0]!, ...acceptors.sort((a, b) => a[1] - b[1]).map(([k]) => k)] });
  });
  return out;
}

export interface SitePopulation extends ProtonSites {
  frames: number;
  /** Fraction of the frames with the hydrogen nearest to each site (same order as `sites`). */
  fractions: number[];
  /**
   * Standard error of each fraction from `blocks` consecutive blocks of frames: the standard
   * deviation of the block fractions over √blocks. Correlated frames make the naive binomial error
   * far too small; blocks longer than the time between site changes make it honest.
   */
  standardErrors: number[];
  blocks: number;
  /** Changes of site between consecutive frames. */
  switches: number;
}

/** Populations of the sites of one hydrogen over a trajectory (frames in time order, Å). */
export function sitePopulation(frames: ReadonlyArray<Float64Array>, sites: ProtonSites, blocks = 10): SitePopulation {
  if (sites.sites.length < 2) throw new AtomgpError(`proton sites: hydrogen ${sites.hydrogen + 1} has ${sites.sites.length} site(s), at least 2 needed`);
  if (!(Number.isInteger(blocks) && blocks >= 2)) throw new AtomgpError(`proton sites: ${blocks} blocks, at least 2 needed`);
  if (frames.length < blocks) throw new AtomgpError(`proton sites: ${frames.length} frames for ${blocks} blocks`);
  const m = sites.sites.length;
  const h = sites.hydrogen;
  const counts = new Float64Array(m);
  const blockCounts = Array.from({ length: blocks }, () => new Float64Array(m));
  const blockSizes = new Float64Array(blocks);
  let previous = -1;
  let switches = 0;
  frames.forEach((x, f) => {
    let best = 0;
    let bestR = Number.POSITIVE_INFINITY;
    sites.sites.forEach((k, s) => {
      const r = distanceA(x, h, k);
      if (r < bestR) {
        bestR = r;
        best = s;
      }
    });
    if (previous >= 0 && best !== previous) switches++;
    previous = best;
    counts[best]! += 1;
    const b = Math.min(blocks - 1, Math.floor((f * blocks) / frames.length));
    blockCounts[b]![best]! += 1;
    blockSizes[b]! += 1;
  });
  const fractions = Array.from(counts, (c) => c / frames.length);
  const standardErrors = fractions.map((_, s) => {
    const p = blockCounts.map((bc, b) => bc[s]! / blockSizes[b]!);
    const mean = p.reduce((a, v) => a + v, 0) / blocks;
    const variance = p.reduce((a, v) => a + (v - mean) ** 2, 0) / (blocks - 1);
    return Math.sqrt(variance / blocks);
  });
  return { hydrogen: h, sites: [...sites.sites], frames: frames.length, fractions, standardErrors, blocks, switches };
}
