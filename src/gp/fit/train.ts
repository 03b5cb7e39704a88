/**
 * Training one atomic GP: fix the prior mean from the data (priors.ts), then maximise the log
 * marginal or concentrated likelihood (likelihood.ts) over log θ (and optionally log σ²), and
 * return a GpModel in the FFLUX format with weights w = (R + σ²I)⁻¹ (y − m(X)), so that
 * E = m + k*ᵀ w. The search is a sequence of strategies (search/strategies.ts) on one SearchRun:
 *
 * - search: `full` (starts on all points), `staged` (starts on a subset, refined on nested larger
 *   subsets, then on all) or `both` (the higher full-set likelihood wins); default by set size
 *   (search/space.ts `resolveSearch`);
 * - polish (any set size): an optimum with features at the θ floor continues with the floor lowered
 *   so that unneeded features can switch off as FEREBUS's do (θ = 0); not below a floor the
 *   caller set through `thetaBounds`;
 * - switch-off trials within a budget of estimated time (`workOf`, so that results do not depend
 *   on the machine's speed or load);
 * - or, with `optimiser: 'pso'`, a seeded particle swarm instead of all of the above.
 *
 * θ is bounded per term in units of 1/var_t unless the caller gives absolute bounds. Measurements
 * of these choices are in docs/benchmarks.md.
 */
import { AtomgpError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import { VERSION } from '../../version.js';
import { alfFeatureUnits, type KernelSetup, setupKernel } from '../kernel/setup.js';
import { evaluateMeanRows } from '../model/mean.js';
import { type GpModel, type MeanSpec, metadataValue } from '../model/model.js';
import { LikelihoodEvaluator, type LikelihoodKind, type LikelihoodProblem, type LikelihoodResult } from './likelihood.js';
import { DEFAULT_PRIOR, fitPrior, formatPrior, parsePrior } from './priors.js';
import { SearchRun } from './search/run.js';
import {
  DEFAULT_BUDGET_MS,
  DEFAULT_THETA_OFFSET,
  type Found,
  LARGE_SET,
  OFFSET_THETA_VAR,
  POLISH_THETA_VAR,
  resolveSearch,
  searchSpace,
  workOf,
} from './search/space.js';
import { type Candidate, chooseCandidate, fullSetSearch, polish, polishFloor, stagedSearch, swarmSearch, switchOffTrials } from './search/strategies.js';
import type { TrainInput, TrainResult } from './train-options.js';

export { alfFeatureUnits, type KernelChoice, type KernelSetup, setupKernel } from '../kernel/setup.js';
export { refitFromModel, type RefitOptions, statedNoise } from './refit.js';
export { OffsetLog } from './search/space.js';
export { type OptimiserKind, SEARCH_KINDS, type SearchKind, type TrainInput, type TrainProgress, type TrainResult } from './train-options.js';

/** Trains one atomic GP. Deterministic for a given input and seed. */
export function trainAtomModel(input: TrainInput): TrainResult {
  const t0 = performance.now();
  const p = prepare(input);
  const { problem, fitted } = p;
  const full = new LikelihoodEvaluator(problem(input.x, input.y));
  const found = input.fixedHyperparameters ? fixedSearch(input, p.ks.problemTerms.dim.length) : search(input, p.ks, p.noise, p.optimiseNoise, full, problem);
  // The final evaluation uses the θ written to the file (not exp of the optimiser's log θ), so that
  // the stored weights are exactly those of the stored θ and a kept-θ refit reproduces them.
  const fixed = input.fixedHyperparameters;
  const nt = p.ks.problemTerms.dim.length;
  const theta = new Float64Array(nt);
  for (let t = 0; t < nt; t++) theta[t] = fixed ? fixed.theta[t]! : Math.exp(found.params[t]!);
  const sigma2 = full.noiseOf(found.params);
  const final = full.evaluateTheta(theta, sigma2);
  let evaluations = found.evaluations;
  if (fixed) {
    evaluations = 1;
    input.onProgress?.({ phase: 'fixed', start: 1, starts: 1, iteration: 1, logLikelihood: final.value, maxIterations: 1 });
  }
  const wallTimeS = (performance.now() - t0) / 1000;
  const model = modelRecord(input, p, theta, sigma2, final, full, found.optimiserLine, wallTimeS);
  return {
    model,
    logLikelihood: final.value,
    likelihood: p.kind,
    theta,
    noise: sigma2,
    jitter: final.jitter,
    evaluations,
    wallTimeS,
    prior: input.meanSpec ? (metadataValue({ metadata: fitted.metadata }, 'prior_mean') ?? 'kept') : formatPrior(p.prior),
    startValues: found.startValues,
  };
}

/** A fit checked and set up: kernel, prior mean, likelihood settings and the problem of any subset. */
interface Prepared {
  kind: LikelihoodKind;
  prior: ReturnType<typeof parsePrior>;
  gls: boolean;
  noise: number;
  optimiseNoise: boolean;
  ks: KernelSetup;
  fitted: { mean: MeanSpec; metadata: string[] };
  problem: (x: Float64Array, y: Float64Array) => LikelihoodProblem;
}

function prepare(input: TrainInput): Prepared {
  const K = input.nFeatures;
  const n = input.y.length;
  if (input.x.length !== n * K) throw new AtomgpError(`training data: ${input.x.length} feature values for ${n} points × ${K} features`);
  if (n < K) throw new AtomgpError(`training data: ${n} points for ${K} features (a GP needs at least as many points as features)`);
  if (n < 2) throw new AtomgpError('training data: at least 2 points are needed');
  const pf = input.periodicPrefactor ?? 4;
  const kind = input.likelihood ?? 'marginal';
  const prior = typeof input.prior === 'string' ? parsePrior(input.prior) : (input.prior ?? parsePrior(DEFAULT_PRIOR));
  const gls = input.glsConstantMean ?? false;
  if (gls && (kind !== 'concentrated' || (input.meanSpec === undefined && prior.kind !== 'mean'))) {
    throw new AtomgpError('the GLS constant mean (FEREBUS concentrated) needs likelihood concentrated and prior mean');
  }
  const fixed = input.fixedHyperparameters;
  const noise = fixed ? fixed.noise : (input.noise ?? 1e-10);
  const optimiseNoise = fixed ? false : (input.optimiseNoise ?? false);
  const ks = setupKernel(input.kernel ?? 'rbf-cyclic', K, pf);
  const fitted = input.meanSpec ? { mean: input.meanSpec, metadata: input.meanMetadata ?? ['prior_mean kept'] } : fitPrior(prior, input.x, input.y, n, K);
  const problem = (x: Float64Array, y: Float64Array): LikelihoodProblem => ({
    x,
    y,
    n: y.length,
    nFeatures: K,
    terms: ks.problemTerms,
    prefactor: ks.prefactor,
    kind,
    meanValues: evaluateMeanRows(fitted.mean, x, y.length, K),
    glsConstantMean: gls,
    noise,
    optimiseNoise,
  });
  return { kind, prior, gls, noise, optimiseNoise, ks, fitted, problem };
}

/** What a search hands back: log-hyperparameters, the `# optimiser` line and the counts. */
interface SearchOutcome {
  params: Float64Array;
  optimiserLine: string;
  evaluations: number;
  startValues: number[];
}

function fixedSearch(input: TrainInput, nt: number): SearchOutcome {
  const fixed = input.fixedHyperparameters!;
  if (fixed.theta.length !== nt) throw new AtomgpError(`fixed hyperparameters: ${fixed.theta.length} θ values for ${nt} kernel terms`);
  return { params: Float64Array.from(fixed.theta, (t) => Math.log(t)), optimiserLine: 'optimiser none (hyperparameters kept)', evaluations: 0, startValues: [] };
}

/** The hyperparameter search: the swarm, or L-BFGS-B strategies (full/staged, polish, switch-off). */
function search(
  input: TrainInput,
  ks: KernelSetup,
  noise: number,
  optimiseNoise: boolean,
  full: LikelihoodEvaluator,
  problem: (x: Float64Array, y: Float64Array) => LikelihoodProblem,
): SearchOutcome {
  const n = input.y.length;
  const space = searchSpace(input, ks.problemTerms.dim, noise, optimiseNoise);
  const seed = input.seed ?? 1;
  const rng = new Rng(seed);
  const optimiser = input.optimiser ?? 'lbfgsb';
  if (optimiser !== 'lbfgsb' && optimiser !== 'pso') throw new AtomgpError(`unknown optimiser '${optimiser as string}' (expected lbfgsb or pso)`);
  const maxIter = input.maxIterations ?? 200;
  const large = n > LARGE_SET;
  // Large sets stop on the gain over 5 iterations: single iterations along a ridge can be small
  // while the search still moves.
  const run = new SearchRun(
    space,
    full,
    rng,
    {
      ftol: input.ftol ?? (large ? 1e-7 : 1e-9),
      window: large ? 5 : 1,
      thetaOffset: input.thetaOffset ?? space.perTerm(DEFAULT_THETA_OFFSET, OFFSET_THETA_VAR),
      onProgress: input.onProgress,
    },
    problem,
  );
  if (optimiser === 'pso') {
    const { chosen, optimiserLine } = swarmSearch(run, input.pso, seed, input.onProgress);
    return { params: chosen.x, optimiserLine, evaluations: full.evaluations, startValues: run.startValues };
  }
  const subsample = input.subsample ?? 600;
  const kindOfSearch = resolveSearch(input, n, subsample);
  const candidates: Candidate[] = [];
  const parts: string[] = [`search=${kindOfSearch}`];
  const refineIterations = input.refineIterations ?? 100;
  if (kindOfSearch === 'full' || kindOfSearch === 'both') {
    const starts = Math.max(1, kindOfSearch === 'both' ? 1 : (input.restarts ?? (large ? 1 : 4)));
    const r = fullSetSearch(run, { starts, maxIterations: maxIter, large, refineIterations });
    if (r.candidate) candidates.push(r.candidate);
    parts.push(...r.parts);
  }
  if (kindOfSearch === 'staged' || kindOfSearch === 'both') {
    const r = stagedSearch(run, {
      x: input.x,
      y: input.y,
      nFeatures: input.nFeatures,
      subsample,
      starts: Math.max(1, input.restarts ?? 8),
      growth: input.stageGrowth ?? 2,
      maxIterations: maxIter,
      restartIterations: input.restartIterations ?? 100,
      stageIterations: input.stageIterations ?? 40,
      refineIterations,
      extrapolate: input.extrapolateStages ?? true,
    });
    if (r.candidate) candidates.push(r.candidate);
    parts.push(...r.parts);
  }
  const picked = chooseCandidate(candidates);
  parts.push(...picked.parts);
  let chosen: Found = picked.chosen;
  const heldFloor = input.thetaBounds !== undefined || input.thetaVarBounds !== undefined;
  const floor = polishFloor(run, input.polishThetaMin, heldFloor, POLISH_THETA_VAR);
  const polished = polish(run, chosen, floor, input.polishIterations ?? 40);
  chosen = polished.chosen;
  parts.push(...polished.parts);
  // Unless the caller fixes their number, trials run while the work stays within the budget.
  const trials = Math.max(0, input.switchOffTrials ?? 3);
  const budget = input.switchOffTrials !== undefined ? Number.POSITIVE_INFINITY : (input.budgetMs ?? DEFAULT_BUDGET_MS);
  const switched = switchOffTrials(run, chosen, floor, trials, budget);
  chosen = switched.chosen;
  parts.push(...switched.parts);
  const evaluations = run.evaluations();
  const fullEquivalent = run.spent() / workOf(n);
  const optimiserLine = `optimiser lbfgsb ${parts.join(' ')} seed=${seed} evaluations=${evaluations}${run.counted.length > 1 ? ` full_equivalent=${fullEquivalent.toFixed(1)}` : ''}`;
  return { params: chosen.x, optimiserLine, evaluations, startValues: run.startValues };
}

/** The fitted model record with its `#` metadata. */
function modelRecord(
  input: TrainInput,
  p: Prepared,
  theta: Float64Array,
  sigma2: number,
  final: LikelihoodResult,
  full: LikelihoodEvaluator,
  optimiserLine: string,
  wallTimeS: number,
): GpModel {
  const K = input.nFeatures;
  const { ks, fitted, kind, gls } = p;
  const specs = ks.specs.map((k) => ({ ...k, theta: [...k.theta] }));
  ks.owner.forEach(([ki, pos], t) => {
    specs[ki]!.theta[pos] = theta[t]!;
  });
  const mean: MeanSpec = gls ? { type: 'constant', value: final.glsMean } : fitted.mean;
  const metadata = [
    'program atomgp',
    `version ${VERSION}`,
    `nugget ${sigma2 + final.jitter}`,
    `noise ${sigma2}`,
    `likelihood ${final.value}`,
    `likelihood_type ${kind}${gls ? ' gls_mean' : ''}`,
    ...fitted.metadata,
    optimiserLine,
    `linalg ${full.linalgDescription}`,
    `wall_time_s ${wallTimeS.toFixed(3)}`,
    ...(input.notes ?? []),
  ];
  return {
    metadata,
    systemName: input.systemName ?? 'SYSTEM',
    atom: input.atom ?? 'X1',
    property: input.property ?? 'iqa',
    alf: input.alf ?? [],
    nAtoms: input.nAtoms ?? 0,
    nFeatures: K,
    nTrain: input.y.length,
    mean,
    kernels: specs,
    compositionText: ks.compositionText,
    composition: ks.composition,
    trainingDataInfo: [
      ['units.x', alfFeatureUnits(K).join(' ')],
      ['units.y', (input.property ?? 'iqa') === 'iqa' ? 'Ha' : 'au'],
      ['scaling.x', 'none'],
      ['scaling.y', 'none'],
    ],
    trainX: input.x.slice(),
    trainY: input.y.slice(),
    weights: full.alpha.slice(),
    extraSections: [],
  };
}
