/**
 * The search strategies of the trainer, each a small step on a SearchRun that returns what it
 * found and a `parts` note for the model's `# optimiser` line:
 * - `fullSetSearch`: starts on the full set; on a large set one start from the data guess, stopped
 *   loosely in log θ and refined in the offset coordinates.
 * - `stagedSearch`: seeded starts on a random subset, the best refined on nested subsets `growth`
 *   times larger, optionally extrapolated along log n, then refined on the full set.
 * - `polish`: a converged optimum with features at the θ floor continues with the floor lowered,
 *   so that irrelevant features can switch off (FEREBUS-v7's θ reach 0).
 * - `switchOffTrials`: the features whose removal alone costs least are each switched off and
 *   the search refined from there; a higher optimum replaces the chosen one.
 * - `swarmSearch`: the gradient-free particle swarm (FEREBUS's optimiser).
 */
import { AtomgpError } from '../../../errors.js';
import { minimizePso, type PsoOptions } from '../../../math/pso.js';
import type { TrainProgress } from '../train-options.js';
import type { SearchRun } from './run.js';
import { CONSTANT_VARIANCE, clampLog, type Found, SWITCH_OFF_EVALUATIONS, SWITCH_OFF_ITERATIONS, SWITCH_OFF_LOSS, valueObjective, workOf } from './space.js';

/** An optimum with the name of the strategy that found it. */
export type Candidate = Found & { name: string };

export interface FullSetOptions {
  starts: number;
  maxIterations: number;
  /** Large set: loose stop in log θ, then a refinement of at most `refineIterations`. */
  large: boolean;
  refineIterations: number;
}

/** Starts on the full set (see the module comment). */
export function fullSetSearch(run: SearchRun, o: FullSetOptions): { candidate: Candidate | null; parts: string[] } {
  const ftol = run.settings.ftol;
  const best = run.multiStart(run.full, o.starts, o.maxIterations, o.large ? 10 * ftol : ftol);
  const candidate = best ? { name: 'full', ...(o.large ? run.refine(run.full, best.x, Math.min(o.maxIterations, o.refineIterations)) : best) } : null;
  return { candidate, parts: [`starts=${o.starts}`] };
}

export interface StagedOptions {
  x: Float64Array;
  y: Float64Array;
  nFeatures: number;
  /** Points of the subset the starts run on. */
  subsample: number;
  starts: number;
  /** Growth factor of the intermediate stages (≤ 1: refine on the full set directly). */
  growth: number;
  maxIterations: number;
  restartIterations: number;
  stageIterations: number;
  refineIterations: number;
  /** Try the full-set start extrapolated from the last two stage optima along log n. */
  extrapolate: boolean;
}

/** Nested subsets: starts on the first `subsample` points of a seeded permutation, then larger prefixes, then all. */
export function stagedSearch(run: SearchRun, o: StagedOptions): { candidate: Candidate | null; parts: string[] } {
  const n = run.n;
  const { nParams, lower, upper } = run.space;
  const order = run.rng.permutation(n);
  const evaluatorOf = (size: number) => run.subsetEvaluator(o.x, o.y, o.nFeatures, order.slice(0, size).sort());
  const stageSizes: number[] = [];
  if (o.growth > 1) for (let size = Math.round(o.subsample * o.growth); size < n * 0.9; size = Math.round(size * o.growth)) stageSizes.push(size);
  const best = run.multiStart(evaluatorOf(o.subsample), o.starts, Math.min(o.maxIterations, o.restartIterations), run.settings.ftol);
  const parts = [`staged_starts=${o.starts} subsample=${o.subsample} stages=${[o.subsample, ...stageSizes, n].join(',')}`];
  if (!best) return { candidate: null, parts };
  // Stage optima (subset size, log θ): the optimum drifts with n (denser data supports shorter
  // lengthscales), so the full-set start may be extrapolated along log n.
  const path: Array<{ size: number; x: Float64Array }> = [{ size: o.subsample, x: best.x }];
  let x = best.x;
  for (const size of stageSizes) {
    x = run.refine(evaluatorOf(size), x, Math.min(o.maxIterations, o.stageIterations)).x;
    path.push({ size, x });
  }
  if (path.length >= 2 && o.extrapolate) {
    const a = path[path.length - 2]!;
    const b = path[path.length - 1]!;
    const scale = Math.log(n / b.size) / Math.log(b.size / a.size);
    const guessFull = new Float64Array(nParams);
    for (let i = 0; i < nParams; i++) guessFull[i] = clampLog(b.x[i]! + scale * (b.x[i]! - a.x[i]!), lower[i]!, upper[i]!);
    const better = valueObjective(run.full)(guessFull) < valueObjective(run.full)(x);
    if (better) x = guessFull;
    parts.push(`extrapolated_start=${better ? 'yes' : 'no'}`);
  }
  return { candidate: { name: 'staged', ...run.refine(run.full, x, Math.min(o.maxIterations, o.refineIterations)) }, parts };
}

/** The best of the candidates that could be evaluated, with a note when there was a choice. */
export function chooseCandidate(candidates: Candidate[]): { chosen: Found; parts: string[] } {
  const finite = candidates.filter((c) => Number.isFinite(c.f));
  if (finite.length === 0) throw new AtomgpError('training failed: the likelihood could not be evaluated from any start (kernel matrix singular?)');
  const chosen = finite.reduce((a, b) => (b.f < a.f ? b : a));
  if (candidates.length <= 1) return { chosen, parts: [] };
  const name = candidates.find((c) => c.f === chosen.f)!.name;
  return { chosen, parts: [`candidates=${candidates.map((c) => `${c.name}:${(-c.f).toFixed(3)}`).join(',')} chosen=${name}`] };
}

/** The lowered θ floor of the polish and switch-off trials, per term and in offset coordinates. */
export interface PolishFloor {
  theta: Float64Array;
  lowerU: Float64Array;
  /** How the floor is written in the `# optimiser` line. */
  label: string;
}

/**
 * The polish floor: `polishThetaMin` when given; else, unless the caller fixed θ bounds (a floor
 * the caller set, e.g. the demo's θ ≥ 0.3, is respected), θ·var = `polishThetaVar` per term.
 * Null when there is none or it is not below the search's floor.
 */
export function polishFloor(run: SearchRun, polishThetaMin: number | undefined, absoluteBounds: boolean, polishThetaVar: number): PolishFloor | null {
  const { nt, lower, floorTheta, scaled } = run.space;
  const theta = polishThetaMin !== undefined ? new Float64Array(nt).fill(polishThetaMin) : absoluteBounds ? null : run.space.perTerm(0, polishThetaVar);
  if (!theta?.every((v, t) => v > 0 && v < floorTheta[t]!)) return null;
  const lowerU = run.offset.toU(lower.map((v, i) => (i < nt ? Math.log(theta[i]!) : v)));
  return { theta, lowerU, label: scaled && polishThetaMin === undefined ? `${polishThetaVar}/var` : String(theta[0]) };
}

/** Continues a converged optimum with features at the θ floor below that floor, for ≤ `iterations`. */
export function polish(run: SearchRun, chosen: Found, floor: PolishFloor | null, iterations: number): { chosen: Found; parts: string[] } {
  const { nt, lower, variances } = run.space;
  let atFloor = 0;
  for (let t = 0; t < nt; t++) if (chosen.x[t]! <= lower[t]! + 1e-6 && variances[t]! > CONSTANT_VARIANCE) atFloor++;
  if (!(chosen.converged && atFloor > 0 && floor && iterations > 0)) return { chosen, parts: [] };
  const before = run.full.evaluations;
  const polished = run.refine(run.full, chosen.x, iterations, floor.lowerU, Math.round(1.5 * iterations));
  return { chosen: polished.f <= chosen.f ? polished : chosen, parts: [`polish=${atFloor}@${floor.label}:${run.full.evaluations - before}`] };
}

/**
 * Switch-off trials: a feature the optimum uses weakly may sit in a basin separated by a barrier
 * from the one where it is off. The features whose removal alone costs least (< SWITCH_OFF_LOSS)
 * are each switched off and the search refined from there; the best such optimum replaces the
 * chosen one if its likelihood is higher. Trials start while the work so far plus theirs stays
 * within `budgetMs` (screening: one value per feature, then ≤ SWITCH_OFF_EVALUATIONS each).
 */
export function switchOffTrials(run: SearchRun, chosen: Found, floor: PolishFloor | null, trials: number, budgetMs: number): { chosen: Found; parts: string[] } {
  const { nt, lower } = run.space;
  const n = run.n;
  const trialWork = SWITCH_OFF_EVALUATIONS * workOf(n);
  if (!(trials > 0 && floor && run.spent() + (nt * workOf(n)) / 2 + trialWork <= budgetMs)) return { chosen, parts: [] };
  const before = run.full.evaluations;
  const value = valueObjective(run.full);
  const off = (t: number): Float64Array => {
    const x = chosen.x.slice();
    x[t] = Math.log(floor.theta[t]!);
    return x;
  };
  const screened: Array<{ t: number; f: number }> = [];
  for (let t = 0; t < nt; t++) {
    if (chosen.x[t]! <= lower[t]! + 1e-6) continue;
    const f = value(off(t));
    if (f - chosen.f < SWITCH_OFF_LOSS) screened.push({ t, f });
  }
  screened.sort((a, b) => a.f - b.f);
  let best: (Found & { t: number }) | null = null;
  let tried = 0;
  for (const { t } of screened.slice(0, trials)) {
    if (run.spent() + trialWork > budgetMs) break;
    tried++;
    const r = run.refine(run.full, off(t), SWITCH_OFF_ITERATIONS, floor.lowerU, SWITCH_OFF_EVALUATIONS);
    if (r.f < chosen.f - 1e-3 && (!best || r.f < best.f)) best = { ...r, t };
  }
  return { chosen: best ?? chosen, parts: [`switch_off=${tried}:${best ? `theta${best.t + 1}` : 'none'}:${run.full.evaluations - before}`] };
}

/** The particle swarm over log θ within the bounds, from the first start; its `# optimiser` line. */
export function swarmSearch(
  run: SearchRun,
  pso: Omit<PsoOptions, 'seed' | 'onIteration'> | undefined,
  seed: number,
  onProgress: ((p: TrainProgress) => void) | undefined,
): { chosen: Found; optimiserLine: string } {
  const ps = minimizePso(valueObjective(run.full), run.space.lower, run.space.upper, {
    ...pso,
    seed,
    initial: [run.space.first],
    onIteration: (it, f) => {
      onProgress?.({ phase: 'pso', start: 1, starts: 1, iteration: it, logLikelihood: -f, maxIterations: pso?.iterations ?? 1000 });
    },
  });
  run.startValues.push(-ps.f);
  if (!Number.isFinite(ps.f)) throw new AtomgpError('training failed: the likelihood could not be evaluated anywhere in the swarm (kernel matrix singular?)');
  return {
    chosen: { x: ps.x, f: ps.f, converged: false },
    optimiserLine: `optimiser pso swarm=${ps.swarmSize} iterations=${ps.iterations} seed=${seed} evaluations=${ps.evaluations} stop=${ps.message.replace(/\s+/g, '_')}`,
  };
}
