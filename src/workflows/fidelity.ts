/**
 * Fidelity along a trajectory: is a run that survived on the model's surface also right? The
 * reference is re-evaluated on frames spread along the trajectory and compared with the model.
 *
 * Energies are compared as differences from one geometry both agree is the molecule's minimum
 * (the reference's relaxed minimum): ΔE = [E_model(x) − E_model(x_min)] − [E_ref(x) − E_ref(x_min)],
 * kcal/mol, so a constant offset between model and reference (a GP trained on totals has none by
 * construction, an IQA model need not) does not count as error. Forces need no offset: their error
 * is per Cartesian component, kcal/mol/Å.
 *
 * A run is *faithful* when its energy errors stay within stated bounds (DEFAULT_FIDELITY_BOUNDS):
 * mean absolute error and the fraction of frames within a band. The defaults are the acceptance
 * numbers of the study (docs/study.md); they are not tuned to any run.
 */
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { createResult, type Potential } from '../potentials/potential.js';

export interface FidelityBounds {
  /** Largest mean absolute energy error for a faithful run, kcal/mol. */
  energyMaeKcalPerMol: number;
  /** Band of the per-frame energy error, kcal/mol … */
  bandKcalPerMol: number;
  /** … within which at least this fraction of the frames must lie. */
  withinFraction: number;
}

/** MAE ≤ 1.5 kcal/mol and ≥ 99 % of frames within 10 kcal/mol of the reference (issue 16's acceptance numbers). */
export const DEFAULT_FIDELITY_BOUNDS: Readonly<FidelityBounds> = { energyMaeKcalPerMol: 1.5, bandKcalPerMol: 10, withinFraction: 0.99 };

export interface FidelityFrame {
  /** Simulation time of the frame, fs (NaN when the file does not say). */
  timeFs: number;
  /** Energies relative to the minimum, kcal/mol. */
  modelKcalPerMol: number;
  referenceKcalPerMol: number;
  /** Mean absolute force-component error of this frame, kcal/mol/Å. */
  forceMaeKcalPerMolPerA: number;
}

export interface FidelityResult {
  frames: number;
  /** Energy error (model − reference, both relative to the minimum), kcal/mol. */
  energyMaeKcalPerMol: number;
  energyRmseKcalPerMol: number;
  energyMaxAbsKcalPerMol: number;
  /** Mean signed error: negative when the model lies below the reference. */
  energyMeanSignedKcalPerMol: number;
  /** Fraction of frames whose |energy error| ≤ the bounds' band. */
  fractionWithinBand: number;
  forceMaeKcalPerMolPerA: number;
  forceMaxAbsKcalPerMolPerA: number;
  faithful: boolean;
  /** Why not faithful (null when faithful). */
  reason: string | null;
  bounds: FidelityBounds;
  perFrame: FidelityFrame[];
}

/** Indices of at most `max` frames spread evenly over `n` (always the first and the last). */
export function spreadFrames(n: number, max: number): number[] {
  if (!(Number.isInteger(max) && max >= 1)) throw new AtomgpError(`fidelity: frames per run must be an integer ≥ 1, got ${max}`);
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  if (max === 1) return [n - 1];
  const out: number[] = [];
  for (let k = 0; k < max; k++) {
    const i = Math.round((k * (n - 1)) / (max - 1));
    if (out[out.length - 1] !== i) out.push(i);
  }
  return out;
}

/**
 * The frames of a trajectory the fidelity compares: `max` spread evenly (0: every frame), with
 * their simulation time from the extended-XYZ `time_fs` (NaN when absent).
 */
export function fidelityFrames(frames: ReadonlyArray<{ positionsA: Float64Array; info: Record<string, unknown> }>, max: number): Array<{ positionsA: Float64Array; timeFs: number }> {
  return spreadFrames(frames.length, max === 0 ? frames.length : max).map((k) => ({ positionsA: frames[k]!.positionsA, timeFs: Number(frames[k]!.info['time_fs'] ?? Number.NaN) }));
}

export function checkFidelityBounds(b: FidelityBounds): void {
  if (!(b.energyMaeKcalPerMol > 0) || !Number.isFinite(b.energyMaeKcalPerMol)) throw new AtomgpError(`fidelity: the energy MAE bound must be a number > 0 kcal/mol, got ${b.energyMaeKcalPerMol}`);
  if (!(b.bandKcalPerMol > 0) || !Number.isFinite(b.bandKcalPerMol)) throw new AtomgpError(`fidelity: the energy band must be a number > 0 kcal/mol, got ${b.bandKcalPerMol}`);
  if (!(b.withinFraction > 0 && b.withinFraction <= 1)) throw new AtomgpError(`fidelity: the fraction within the band must be in (0, 1], got ${b.withinFraction}`);
}

/**
 * Compare `model` with `reference` on the given frames (positions in Å, flat 3N each).
 * `minimumA`: the geometry whose energy is the zero of both (the reference's minimum).
 */
export function trajectoryFidelity(
  model: Potential,
  reference: Potential,
  minimumA: Float64Array,
  frames: ReadonlyArray<{ positionsA: Float64Array; timeFs?: number }>,
  bounds: FidelityBounds = DEFAULT_FIDELITY_BOUNDS,
): FidelityResult {
  checkFidelityBounds(bounds);
  const n = model.nAtoms;
  if (reference.nAtoms !== n) throw new AtomgpError(`fidelity: the model has ${n} atoms, the reference ${reference.nAtoms}`);
  if (minimumA.length !== 3 * n) throw new AtomgpError(`fidelity: the minimum has ${minimumA.length / 3} atoms, the model ${n}`);
  if (frames.length === 0) throw new AtomgpError('fidelity: no frames to compare');
  const rm = createResult(n);
  const rr = createResult(n);
  model.compute(minimumA, rm, false);
  reference.compute(minimumA, rr, false);
  const m0 = rm.energyHa;
  const r0 = rr.energyHa;
  if (!Number.isFinite(m0) || !Number.isFinite(r0)) throw new AtomgpError('fidelity: an energy at the minimum is not finite');
  const perFrame: FidelityFrame[] = [];
  let sum = 0;
  let sum2 = 0;
  let signed = 0;
  let max = 0;
  let within = 0;
  let fSum = 0;
  let fMax = 0;
  frames.forEach((fr, i) => {
    if (fr.positionsA.length !== 3 * n) throw new AtomgpError(`fidelity: frame ${i + 1} has ${fr.positionsA.length / 3} atoms, the model ${n}`);
    model.compute(fr.positionsA, rm, true);
    reference.compute(fr.positionsA, rr, true);
    const em = (rm.energyHa - m0) * KCAL_PER_MOL_PER_HARTREE;
    const er = (rr.energyHa - r0) * KCAL_PER_MOL_PER_HARTREE;
    if (!Number.isFinite(em) || !Number.isFinite(er)) throw new AtomgpError(`fidelity: frame ${i + 1}: an energy is not finite (model ${em}, reference ${er} kcal/mol)`);
    const d = em - er;
    const a = Math.abs(d);
    sum += a;
    sum2 += d * d;
    signed += d;
    if (a > max) max = a;
    if (a <= bounds.bandKcalPerMol) within++;
    let fs = 0;
    for (let k = 0; k < 3 * n; k++) {
      const e = Math.abs(rm.forcesHaPerBohr[k]! - rr.forcesHaPerBohr[k]!) * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
      fs += e;
      if (e > fMax) fMax = e;
    }
    fSum += fs;
    perFrame.push({ timeFs: fr.timeFs ?? Number.NaN, modelKcalPerMol: em, referenceKcalPerMol: er, forceMaeKcalPerMolPerA: fs / (3 * n) });
  });
  const m = frames.length;
  const mae = sum / m;
  const fraction = within / m;
  const reasons: string[] = [];
  if (mae > bounds.energyMaeKcalPerMol) reasons.push(`energy MAE ${mae.toFixed(2)} > ${bounds.energyMaeKcalPerMol} kcal/mol`);
  if (fraction < bounds.withinFraction) {
    reasons.push(`${(100 * fraction).toFixed(1)} % of frames within ${bounds.bandKcalPerMol} kcal/mol (< ${(100 * bounds.withinFraction).toFixed(1)} %)`);
  }
  return {
    frames: m,
    energyMaeKcalPerMol: mae,
    energyRmseKcalPerMol: Math.sqrt(sum2 / m),
    energyMaxAbsKcalPerMol: max,
    energyMeanSignedKcalPerMol: signed / m,
    fractionWithinBand: fraction,
    forceMaeKcalPerMolPerA: fSum / (3 * n * m),
    forceMaxAbsKcalPerMolPerA: fMax,
    faithful: reasons.length === 0,
    reason: reasons.length === 0 ? null : reasons.join('; '),
    bounds: { ...bounds },
    perFrame,
  };
}
