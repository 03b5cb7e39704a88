/**
 * The model's own global minimum, the baseline of the monitor's hole criterion (monitor.ts): the
 * lowest energy reached by L-BFGS (src/optimize) from a set of start geometries (the run's start,
 * the monitor's reference geometry, training geometries). A minimum counts only when it is still
 * the same molecule: every reference bond within [compress, stretch] × its length and no
 * non-bonded pair closer than the monitor's contact limit (an optimisation that falls into a hole
 * and collapses the molecule is reported, not used as the baseline).
 */
import { type Bond, findBonds } from '../chem/connectivity.js';
import { AtomgpError } from '../errors.js';
import { lbfgs } from '../optimize/lbfgs.js';
import type { Potential } from '../potentials/potential.js';
import { DEFAULT_MONITOR_OPTIONS, newBondDistanceA } from './monitor.js';

export interface MinimumSearchOptions {
  /** Convergence, kcal/mol/Å (default 0.05: the energy is then within ~F²/2k ≪ 0.01 kcal/mol of the minimum). */
  fmaxKcalPerMolPerA?: number;
  maxSteps?: number;
  /** Bonds defining "the same molecule" (default: found in the first start). */
  bonds?: Bond[];
  /** Reference lengths of those bonds, Å (default: measured in the first start). */
  bondLengthsA?: ArrayLike<number>;
}

export interface MinimumSearchResult {
  epotKcalPerMol: number;
  positionsA: Float64Array;
  /** Index of the start geometry that led to the lowest accepted minimum. */
  bestStart: number;
  starts: number;
  converged: number;
  /** Minima rejected because the molecule fell apart or collapsed, with their energies (kcal/mol). */
  rejected: Array<{ start: number; epotKcalPerMol: number; reason: string }>;
}

function dist(x: Float64Array, i: number, j: number): number {
  return Math.hypot(x[3 * i]! - x[3 * j]!, x[3 * i + 1]! - x[3 * j + 1]!, x[3 * i + 2]! - x[3 * j + 2]!);
}

/** Why `x` is no longer the molecule of the reference bonds, or undefined when it still is. */
function brokenReason(symbols: readonly string[], x: Float64Array, bonds: readonly Bond[], lengths: ArrayLike<number>): string | undefined {
  const { bondStretchFactor, bondCompressFactor, minNonBondedA, newBondFactor } = DEFAULT_MONITOR_OPTIONS;
  const n = symbols.length;
  const bonded = new Uint8Array(n * n);
  for (let k = 0; k < bonds.length; k++) {
    const [i, j] = bonds[k]!;
    bonded[i * n + j] = 1;
    bonded[j * n + i] = 1;
    const d = dist(x, i, j);
    if (d > bondStretchFactor * lengths[k]! || d < bondCompressFactor * lengths[k]!) {
      return `bond ${symbols[i]}${i + 1}-${symbols[j]}${j + 1} at ${d.toFixed(3)} Å (reference ${lengths[k]!.toFixed(3)} Å)`;
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (bonded[i * n + j]) continue;
      const d = dist(x, i, j);
      if (d < minNonBondedA) return `atoms ${symbols[i]}${i + 1} and ${symbols[j]}${j + 1} at ${d.toFixed(3)} Å`;
      if (d < newBondDistanceA(symbols[i]!, symbols[j]!, newBondFactor)) {
        return `heavy atoms ${symbols[i]}${i + 1} and ${symbols[j]}${j + 1} bonded at ${d.toFixed(3)} Å (not bonded in the reference)`;
      }
    }
  }
  return undefined;
}

/**
 * Every optimisation on the model left the molecule (bonds broken or squeezed, atoms merged, an
 * undefined frame): the model has no minimum at the intact molecule. A verdict on the model, not
 * an input error; `runMd` records it as the run's failure.
 */
export class MinimumSearchFailure extends AtomgpError {}

/** Optimise from every start; the lowest minimum that is still the molecule. */
export function modelGlobalMinimum(potential: Potential, starts: readonly Float64Array[], o: MinimumSearchOptions = {}): MinimumSearchResult {
  if (starts.length === 0) throw new AtomgpError('minimum search: no start geometries');
  const symbols = potential.symbols;
  for (const x of starts) {
    if (x.length !== 3 * potential.nAtoms) throw new AtomgpError(`the start geometry has ${x.length / 3} atoms but the potential (${potential.description}) is for ${potential.nAtoms}`);
  }
  const bonds = o.bonds ?? findBonds(symbols, starts[0]!);
  const lengths = o.bondLengthsA ?? bonds.map(([i, j]) => dist(starts[0]!, i, j));
  let best: { e: number; x: Float64Array; k: number } | undefined;
  let converged = 0;
  const rejected: MinimumSearchResult['rejected'] = [];
  starts.forEach((x0, k) => {
    let r: ReturnType<typeof lbfgs>;
    try {
      r = lbfgs(potential, x0, { fmaxKcalPerMolPerA: o.fmaxKcalPerMolPerA ?? 0.05, maxSteps: o.maxSteps ?? 2000, energyTolKcalPerMol: 1e-6 });
    } catch (e) {
      if (!(e instanceof AtomgpError)) throw e;
      rejected.push({ start: k, epotKcalPerMol: Number.NaN, reason: e.message });
      return;
    }
    if (r.converged) converged++;
    const why = brokenReason(symbols, r.positionsA, bonds, lengths);
    if (why !== undefined) {
      rejected.push({ start: k, epotKcalPerMol: r.energyKcalPerMol, reason: why });
      return;
    }
    if (best === undefined || r.energyKcalPerMol < best.e) best = { e: r.energyKcalPerMol, x: r.positionsA, k };
  });
  if (best === undefined) {
    throw new MinimumSearchFailure(`minimum search: no optimisation from ${starts.length} start(s) ended at the intact molecule (${rejected.map((r) => r.reason).join('; ')})`);
  }
  return { epotKcalPerMol: best.e, positionsA: best.x, bestStart: best.k, starts: starts.length, converged, rejected };
}

/** The model's minimum energy and how it was found (the `EnergyMinimum` record of `runMd`). */
export interface EnergyMinimumRecord {
  epotKcalPerMol: number;
  /** How it was obtained, e.g. "lowest L-BFGS minimum … from 12 geometries (start, 11 frames of train.xyz)". */
  source: string;
}

export interface EnergyMinimumSearch {
  potential: Potential;
  symbols: readonly string[];
  /** The run's start geometry, Å. */
  startPositionsA: Float64Array;
  /**
   * The undistorted reference geometry, Å: searched from instead of the start (a distorted start may
   * slide into a hole of the model) and the molecule whose bonds a minimum must keep.
   */
  referencePositionsA?: ArrayLike<number>;
  /** Bonds and their reference lengths (Å) defining "the same molecule" (default: found in the reference or start). */
  bonds?: Bond[];
  bondLengthsA?: ArrayLike<number>;
  /** More start geometries, Å (e.g. training frames). */
  extraStarts?: readonly Float64Array[];
  /** Where `extraStarts` came from, for the source text (e.g. the file name). */
  extraStartsLabel?: string;
  /**
   * 'single': the short text of a search from the reference or start alone ("L-BFGS minimum … from the
   * start"); 'starts' (default): the text naming every start set and the converged/rejected counts.
   */
  sourceStyle?: 'single' | 'starts';
}

/**
 * E_min for the monitor's hole criterion: `modelGlobalMinimum` from the reference geometry (or else
 * the start) and any extra starts, with bonds of the reference; throws `MinimumSearchFailure` when no
 * optimisation ends at the intact molecule.
 */
export function searchEnergyMinimum(s: EnergyMinimumSearch): EnergyMinimumRecord {
  const fromReference = s.referencePositionsA !== undefined;
  const ref = fromReference ? Float64Array.from(s.referencePositionsA!) : s.startPositionsA;
  if (ref.length !== 3 * s.symbols.length) throw new AtomgpError(`the monitor's reference geometry has ${ref.length / 3} atoms, the start has ${s.symbols.length}`);
  const bonds = s.bonds ?? findBonds(s.symbols, ref);
  const lengths = s.bondLengthsA ?? bonds.map(([i, j]) => dist(ref, i, j));
  const extra = s.extraStarts ?? [];
  const starts = [ref, ...extra];
  const found = modelGlobalMinimum(s.potential, starts, { bonds, bondLengthsA: lengths });
  if ((s.sourceStyle ?? 'starts') === 'single') {
    const from = fromReference ? 'the reference geometry' : 'the start';
    return { epotKcalPerMol: found.epotKcalPerMol, source: `L-BFGS minimum (fmax 0.05 kcal/mol/Å) from ${from}${found.converged === 1 ? '' : ' (not converged)'}` };
  }
  const names = [fromReference ? 'reference geometry' : 'start', ...(extra.length > 0 ? [`${extra.length} frames of ${s.extraStartsLabel ?? 'further geometries'}`] : [])];
  return {
    epotKcalPerMol: found.epotKcalPerMol,
    source: `lowest L-BFGS minimum (fmax 0.05 kcal/mol/Å) from ${starts.length} geometries (${names.join(', ')}); ${found.converged} converged, ${found.rejected.length} rejected as no longer the molecule`,
  };
}
