/**
 * `atomgp train`: fit atomic GP models from a FEREBUS config, an ichor CSV or the training data
 * embedded in existing `.model` files (`--from-model`, to refit with another prior mean), and
 * write `.model` files. Atoms run in parallel worker threads with `--jobs N` (results do not depend
 * on N beyond rounding with OpenBLAS). Prints the prior mean used, the optimised likelihood, the wall time and, when a
 * validation set is given or found beside the training set, its errors. A progress line (atom,
 * start, iteration, likelihood, ETA) goes to stderr unless `--quiet`.
 *
 * FEREBUS configs ask for its particle swarm (`[model] optimiser = "pso"`, also its default). We
 * still use L-BFGS-B with analytic gradients unless `--optimiser pso` is given (it reaches
 * FEREBUS's likelihood far faster, docs/benchmarks.md) and say so in one line. With
 * `--optimiser pso` the config's swarm size, iterations, weights, stopping rule and search box
 * are used (FEREBUS searches θ in [search_min, search_max]; our swarm searches log θ, so the box
 * becomes θ ∈ [max(search_min, 1e-6), search_max], and σ² ∈ [1e-12, 1e-6] as FEREBUS when
 * optimise_noise); explicit flags override them. The settings used are written to the model as a
 * `# pso_settings …` metadata line.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import { lockOutputDir, removeStaleTempFiles } from '../io/lock.js';
import { parseInteger } from '../util/numbers.js';
import { flagInteger, flagNumber } from './common.js';
import { DEFAULT_PRIOR } from '../gp/fit/priors.js';
import { PSO_DEFAULTS } from '../math/pso.js';
import { type KernelChoice, type OptimiserKind, SEARCH_KINDS, type SearchKind, type TrainInput, type TrainProgress, type TrainResult } from '../gp/fit/train.js';
import { runTrainTasks, type TrainTask } from '../gp/fit/train-parallel.js';
import { modelFiles, readModelForRefit } from '../io/modelset.js';
import { formatReport, validateModel } from '../gp/assess/validate.js';
import { readPropertyCsv } from '../io/csv.js';
import { type FerebusConfig, readFerebusConfig } from '../io/ferebus-toml.js';
import { writeModel } from '../io/model.js';

const HELP = `usage: atomgp train --config ferebus.toml [options]
       atomgp train --csv FILE --atom O1 [--alf 1,2,3] [--system NAME] [--natoms N] [options]
       atomgp train --from-model FILE|DIR --out DIR [--prior P] [--keep-hyperparameters] [options]
options:
  --prior P          zero | mean | min | max | shift:<Ha> | shift:<k>sd | linear | quadratic
                     (default ${DEFAULT_PRIOR}; with --config the config's mean unless given;
                     with --from-model the model's own mean unless given)
  --kernel K         rbf | rbf-cyclic | periodic (default rbf-cyclic; with --config the config's;
                     with --from-model the model's)
  --likelihood L     marginal | concentrated (default marginal; with --from-model the model's)
  --noise S2         σ² on the diagonal (default 1e-10; with --from-model the model's)
  --optimise-noise   optimise σ² too
  --optimiser O      lbfgsb (default; analytic gradients, restarts) | pso (FEREBUS's swarm).
                     A config's optimiser = "pso" is noted but not followed unless --optimiser pso
                     is given; then its [optimiser.pso] settings and search box are used
  --search S         L-BFGS-B search: full (starts on all points) | staged (starts on a 600-point
                     subset, refined on larger ones, then on all) | both (the higher likelihood
                     wins). Default by size: full ≤ 700 points, both ≤ 1500, full ≤ 3000, staged
  --restarts N       L-BFGS-B starts (default 4 on sets ≤ 700 points, else 1; staged: 8)
  --budget S         estimated seconds (on the 2-core reference machine, from a cost model, not a
                     clock) within which optional switch-off trials run after the search (default
                     22; sets above ~2000 points need ~45 to get them)
  --seed N           seed of the random starts and subsets (default 1)
  --swarm-size N     PSO particles (default ${PSO_DEFAULTS.swarmSize}; with --config the config's)
  --pso-iterations N PSO iteration limit (default ${PSO_DEFAULTS.iterations}; with --config the config's)
  --pso-tolerance X  PSO stops when the best value changed by a relative amount ≤ X ...
  --pso-stall N      ... for N iterations in a row (default ${PSO_DEFAULTS.tolerance} and ${PSO_DEFAULTS.stallIterations}; with --config
                     the config's relative_change, or no early stop for stopping_criteria = "none")
  --keep-hyperparameters
                     with --from-model: keep θ and σ², recompute only the mean and weights
                     (one Cholesky; compares priors at identical lengthscales). Default: θ is
                     re-optimised for the new prior, starting from the model's θ.
  --property NAME    CSV column to fit (default iqa; with --config every listed property)
  --valid CSV        validation set (single atom; with --config *_VALIDATION_SET.csv is used if present)
  --out DIR          output folder (default .; with --from-model required and not the input folder)
  --jobs N           atoms trained in parallel worker threads (default 1); results do not depend
                     on N, except at rounding level with OpenBLAS on sets of 300 or more points
  --quiet            no progress line`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      csv: { type: 'string' },
      'from-model': { type: 'string' },
      'keep-hyperparameters': { type: 'boolean', default: false },
      atom: { type: 'string' },
      alf: { type: 'string' },
      system: { type: 'string' },
      natoms: { type: 'string' },
      prior: { type: 'string' },
      kernel: { type: 'string' },
      likelihood: { type: 'string' },
      noise: { type: 'string' },
      'optimise-noise': { type: 'boolean', default: false },
      optimiser: { type: 'string' },
      restarts: { type: 'string' },
      search: { type: 'string' },
      budget: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'swarm-size': { type: 'string' },
      'pso-iterations': { type: 'string' },
      'pso-tolerance': { type: 'string' },
      'pso-stall': { type: 'string' },
      property: { type: 'string' },
      valid: { type: 'string' },
      out: { type: 'string' },
      jobs: { type: 'string', default: '1' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const int = (v: string, flag: string, min = 0): number => flagInteger(flag, v, 0, min, Number.MAX_SAFE_INTEGER, `must be an integer ≥ ${min}`);
  const restarts = values.restarts === undefined ? undefined : Math.max(1, int(values.restarts, 'restarts'));
  const search = values.search as SearchKind | undefined;
  if (search !== undefined && !SEARCH_KINDS.includes(search)) throw new AtomgpError(`--search must be full, staged or both, got '${values.search}'`);
  const seed = int(values.seed!, 'seed');
  const nJobs = int(values.jobs!, 'jobs', 1);
  const optimiser = (values.optimiser ?? 'lbfgsb') as OptimiserKind;
  if (optimiser !== 'lbfgsb' && optimiser !== 'pso') throw new AtomgpError(`--optimiser must be lbfgsb or pso, got '${values.optimiser}'`);
  if (search !== undefined && optimiser === 'pso') throw new AtomgpError('--search applies to --optimiser lbfgsb');
  const budgetS = values.budget === undefined ? undefined : flagNumber('budget', values.budget, 0, { min: 0, expected: 'must be a number of seconds ≥ 0' });
  if (budgetS !== undefined && optimiser === 'pso') throw new AtomgpError('--budget applies to --optimiser lbfgsb');
  // PSO settings given as flags; they override a config's.
  const psoFlags: PsoSettings = {
    ...(values['swarm-size'] !== undefined ? { swarmSize: int(values['swarm-size'], 'swarm-size', 1) } : {}),
    ...(values['pso-iterations'] !== undefined ? { iterations: int(values['pso-iterations'], 'pso-iterations', 1) } : {}),
    ...(values['pso-stall'] !== undefined ? { stallIterations: int(values['pso-stall'], 'pso-stall', 1) } : {}),
  };
  if (values['pso-tolerance'] !== undefined) {
    psoFlags.tolerance = flagNumber('pso-tolerance', values['pso-tolerance'], 0, { min: 0, expected: 'must be a number ≥ 0' });
  }
  const psoFlagNames = ['swarm-size', 'pso-iterations', 'pso-tolerance', 'pso-stall'].filter((f) => values[f as 'swarm-size'] !== undefined);
  if (psoFlagNames.length > 0 && optimiser !== 'pso') throw new AtomgpError(`--${psoFlagNames[0]} applies to --optimiser pso`);
  const pso = psoFlags;
  const likelihoodFlag = values.likelihood;
  if (likelihoodFlag !== undefined && likelihoodFlag !== 'marginal' && likelihoodFlag !== 'concentrated') {
    throw new AtomgpError(`--likelihood must be marginal or concentrated, got '${likelihoodFlag}'`);
  }
  const noiseFlag = values.noise === undefined ? undefined : flagNumber('noise', values.noise, 0, { min: 0, expected: 'must be a number ≥ 0' });
  if (values['keep-hyperparameters'] && !values['from-model']) throw new AtomgpError('--keep-hyperparameters needs --from-model');
  const sources = [values.config, values.csv, values['from-model']].filter((v) => v !== undefined).length;
  if (sources > 1) throw new AtomgpError('give only one of --config, --csv and --from-model');

  interface Job {
    label: string;
    task: TrainTask;
    outPath: string;
    valid?: string;
    property: string;
    header: string;
  }
  const jobs: Job[] = [];
  const common = {
    ...(restarts !== undefined ? { restarts } : {}),
    ...(search !== undefined ? { search } : {}),
    ...(budgetS !== undefined ? { budgetMs: budgetS * 1000 } : {}),
    seed,
    optimiser,
    ...(optimiser === 'pso' && Object.keys(pso).length > 0 ? { pso } : {}),
  };
  // With --optimiser pso and no config: our defaults and the flags, recorded in the model.
  const psoPlain = optimiser === 'pso' ? resolvePso(undefined, psoFlags) : undefined;
  if (values['from-model']) {
    const src = values['from-model'];
    const files = modelFiles(src);
    if (!values.out) throw new AtomgpError('--out DIR is required with --from-model (the refit models keep their file names)');
    const out = values.out;
    for (const file of files) {
      if (resolve(dirname(file)) === resolve(out)) {
        throw new AtomgpError(`--out ${out} is the folder of ${file}: the refit would overwrite the input models; choose another --out`);
      }
    }
    if (values['keep-hyperparameters'] && values.kernel) throw new AtomgpError('--keep-hyperparameters keeps the model kernel; do not give --kernel');
    for (const file of files) {
      const model = readModelForRefit(file);
      if (values.property && model.property !== values.property) continue;
      jobs.push({
        label: model.atom,
        property: model.property,
        outPath: join(out, basename(file)),
        ...(values.valid ? { valid: values.valid } : {}),
        header:
          `${model.systemName} ${model.atom} ${model.property}: refit of ${file} (${model.nTrain} points × ${model.nFeatures} features), ` +
          `prior mean ${values.prior ?? `kept (${model.mean.type})`}${values['keep-hyperparameters'] ? ', hyperparameters kept' : ''}`,
        task: {
          kind: 'refit',
          model,
          opts: {
            ...common,
            keepHyperparameters: values['keep-hyperparameters']!,
            ...(values.prior !== undefined ? { prior: values.prior } : {}),
            ...(values.kernel !== undefined ? { kernel: values.kernel as KernelChoice } : {}),
            ...(likelihoodFlag !== undefined ? { likelihood: likelihoodFlag as 'marginal' | 'concentrated' } : {}),
            ...(noiseFlag !== undefined ? { noise: noiseFlag } : {}),
            ...(values['optimise-noise'] ? { optimiseNoise: true } : {}),
          },
        },
      });
    }
    if (jobs.length === 0) throw new AtomgpError(`${src}: no '${values.property}' models to refit`);
    if (values.valid && jobs.length > 1) throw new AtomgpError('--valid applies to a single model; give --from-model FILE');
  } else {
    const out = values.out ?? '.';
    interface Spec {
      system: string;
      atom: string;
      alf: number[];
      nAtoms: number;
      property: string;
      csv: string;
      valid?: string;
      prior: string;
      kernel: KernelChoice;
      likelihood: 'marginal' | 'concentrated';
      gls: boolean;
      noise: number;
      optimiseNoise: boolean;
      notes: string[];
    }
    const specs: Spec[] = [];
    let psoFromConfig: ResolvedPso | undefined;
    if (values.config) {
      const cfg = readFerebusConfig(values.config);
      if (values.optimiser === undefined) {
        process.stdout.write(
          `config asks for optimiser = "${cfg.optimiser.name}"${cfg.optimiser.explicit ? '' : ' (FEREBUS\'s default)'}; using lbfgsb (analytic gradients); --optimiser pso follows the config\n`,
        );
      } else if (optimiser === 'pso') {
        psoFromConfig = resolvePso(cfg, psoFlags);
      }
      const likelihood = (likelihoodFlag as Spec['likelihood']) ?? cfg.likelihood;
      const prior = values.prior ?? cfg.prior;
      for (const atom of cfg.atoms) {
        for (const property of values.property ? [values.property] : cfg.properties) {
          const validGuess = join(dirname(atom.trainingSet), basename(atom.trainingSet).replace('_TRAINING_SET', '_VALIDATION_SET'));
          specs.push({
            system: cfg.systemName,
            atom: atom.name,
            alf: atom.alf,
            nAtoms: cfg.nAtoms,
            property,
            csv: atom.trainingSet,
            ...(existsSync(validGuess) ? { valid: validGuess } : {}),
            prior,
            kernel:
              (values.kernel as KernelChoice) ??
              { kernels: cfg.kernels.map((k) => ({ name: k.name, type: k.type, activeDims: k.activeDims ?? [] })), composition: cfg.composition },
            likelihood,
            // FEREBUS's concentrated likelihood re-estimates its constant mean by GLS.
            gls: likelihood === 'concentrated' && prior === 'mean',
            noise: noiseFlag ?? cfg.noise,
            optimiseNoise: values['optimise-noise'] || cfg.optimiseNoise,
            notes: cfg.notes.map(([k, v]) => `${k} = ${v}`),
          });
        }
      }
    } else if (values.csv) {
      if (!values.atom) throw new AtomgpError('--atom is required with --csv (e.g. --atom O1)');
      const alf = values.alf ? values.alf.split(',').map((s) => parseInteger(s.trim()) ?? Number.NaN) : [];
      if (alf.some((a) => !Number.isInteger(a) || a < 1)) throw new AtomgpError(`--alf must be 1-based atom indices like 1,2,3, got '${values.alf}'`);
      specs.push({
        system: values.system ?? basename(values.csv).split('_')[0] ?? 'SYSTEM',
        atom: values.atom,
        alf,
        nAtoms: values.natoms ? int(values.natoms, 'natoms') : 0,
        property: values.property ?? 'iqa',
        csv: values.csv,
        ...(values.valid ? { valid: values.valid } : {}),
        prior: values.prior ?? DEFAULT_PRIOR,
        kernel: (values.kernel as KernelChoice) ?? 'rbf-cyclic',
        likelihood: (likelihoodFlag as Spec['likelihood']) ?? 'marginal',
        gls: false,
        noise: noiseFlag ?? 1e-10,
        optimiseNoise: values['optimise-noise']!,
        notes: [],
      });
    } else {
      throw new AtomgpError(`give --config ferebus.toml, --csv FILE or --from-model FILE|DIR\n${HELP}`);
    }
    const psoUsed = psoFromConfig ?? psoPlain;
    for (const s of specs) {
      const set = readPropertyCsv(s.csv, { property: s.property, requireMorePointsThanFeatures: true });
      let kernel = s.kernel;
      if (typeof kernel !== 'string') {
        const all = Array.from({ length: set.nFeatures }, (_, i) => i + 1);
        kernel = { ...kernel, kernels: kernel.kernels.map((k) => ({ ...k, activeDims: k.activeDims.length > 0 ? k.activeDims : all })) };
      }
      jobs.push({
        label: s.atom,
        property: s.property,
        outPath: join(out, `${s.system}_${s.property}_${s.atom}.model`),
        ...(s.valid ? { valid: s.valid } : {}),
        header:
          `${s.system} ${s.atom} ${s.property}: ${set.n} points × ${set.nFeatures} features, prior mean ${s.prior}, ` +
          `${s.likelihood} likelihood${s.gls ? ' (GLS constant mean, as FEREBUS)' : ''}, optimiser ${optimiser}` +
          (psoUsed ? ` (${describePso(psoUsed)})` : ''),
        task: {
          kind: 'train',
          input: {
            x: set.x,
            y: set.y,
            nFeatures: set.nFeatures,
            kernel,
            prior: s.prior,
            likelihood: s.likelihood,
            glsConstantMean: s.gls,
            noise: s.noise,
            optimiseNoise: s.optimiseNoise,
            ...common,
            ...(psoUsed
              ? {
                  pso: psoUsed.options,
                  ...(psoUsed.thetaBounds ? { thetaBounds: psoUsed.thetaBounds } : {}),
                  ...(psoUsed.noiseBounds && s.optimiseNoise ? { noiseBounds: psoUsed.noiseBounds } : {}),
                }
              : {}),
            systemName: s.system,
            atom: s.atom,
            property: s.property,
            alf: s.alf,
            nAtoms: s.nAtoms,
            notes: psoUsed ? [...s.notes, psoSettingsLine(psoUsed, s.optimiseNoise)] : s.notes,
          },
        },
      });
    }
  }
  const outDir = values['from-model'] ? values.out! : (values.out ?? '.');
  // One writer per output folder (two trainings into one folder would overwrite each other's models).
  const lock = lockOutputDir(outDir, { command: 'atomgp train', warn: (m) => process.stderr.write(`atomgp train: warning: ${m}\n`) });
  try {
    removeStaleTempFiles(outDir);
    return await trainLocked();
  } finally {
    lock.release();
  }

  async function trainLocked(): Promise<number> {
    for (const job of jobs) process.stdout.write(job.header + '\n');
    if (nJobs > 1 && jobs.length > 1) process.stdout.write(`training ${jobs.length} models on ${Math.min(nJobs, jobs.length)} worker threads\n`);
    const bar = values.quiet ? undefined : new ProgressBar(jobs.map((j) => (jobs.some((k) => k !== j && k.label === j.label) ? `${j.label}/${j.property}` : j.label)));
    let results: TrainResult[];
    try {
      results = await runTrainTasks(
        jobs.map((j) => j.task),
        {
          jobs: nJobs,
          ...(bar ? { onProgress: (i: number, p: TrainProgress) => bar.update(i, p), onDone: (i: number) => bar.done(i) } : {}),
        },
      );
    } finally {
      bar?.finish();
    }
    results.forEach((r, i) => {
      const job = jobs[i]!;
      writeModel(job.outPath, r.model);
      process.stdout.write(
        `${job.label} ${job.property}: prior mean ${r.prior}, log likelihood ${r.logLikelihood.toFixed(6)}  θ ${Array.from(r.theta, (t) => t.toPrecision(4)).join(' ')}  ` +
          `${r.evaluations} evaluations  ${r.wallTimeS.toFixed(2)} s\n  wrote ${job.outPath}\n`,
      );
      if (job.valid) {
        const vs = readPropertyCsv(job.valid, { property: job.property, rejectDuplicates: false });
        process.stdout.write(formatReport(validateModel(r.model, vs.x, vs.y), `  validation ${job.valid}: `) + '\n');
      }
    });
    return 0;
  }
}

type PsoSettings = NonNullable<TrainInput['pso']>;

/** Swarm settings actually used, and the search box when it comes from a config. */
interface ResolvedPso {
  options: Required<Pick<PsoSettings, 'swarmSize' | 'iterations' | 'inertia' | 'cognitive' | 'social' | 'tolerance' | 'stallIterations'>>;
  /** stopping_criteria = "none" (FEREBUS): no early stop (stallIterations = ∞). */
  stopping: 'relative_change' | 'none';
  source: string;
  thetaBounds?: [number, number];
  noiseBounds?: [number, number];
}

/** Lower bound of θ in src/gp/train.ts (its default thetaBounds[0]); FEREBUS's search_min 0 maps to it. */
const THETA_MIN = 1e-6;
/** FEREBUS's σ² search box when optimise_noise (src/model/gpr/gpr.f90 search_min/max). */
const FEREBUS_NOISE_BOUNDS: [number, number] = [1e-12, 1e-6];

/**
 * The swarm settings for a run: a config's [optimiser.pso] (or our defaults without one), each
 * overridden by the flag given. FEREBUS's box on θ becomes thetaBounds (our swarm works in log θ).
 */
function resolvePso(cfg: FerebusConfig | undefined, flags: PsoSettings): ResolvedPso {
  const base = cfg
    ? {
        swarmSize: cfg.optimiser.pso.swarmSize,
        iterations: cfg.optimiser.pso.iterations,
        inertia: cfg.optimiser.pso.inertiaWeight,
        cognitive: cfg.optimiser.pso.cognitiveLearningRate,
        social: cfg.optimiser.pso.socialLearningRate,
        ...(cfg.optimiser.pso.stopping.kind === 'relative_change'
          ? { tolerance: cfg.optimiser.pso.stopping.tolerance, stallIterations: cfg.optimiser.pso.stopping.stallIterations }
          : { tolerance: 0, stallIterations: Number.POSITIVE_INFINITY }),
      }
    : { ...PSO_DEFAULTS };
  const options = { ...base, ...flags };
  const stopping = Number.isFinite(options.stallIterations) ? 'relative_change' : 'none';
  const withFlags = Object.keys(flags).length > 0 ? '+flags' : '';
  if (!cfg) return { options, stopping, source: `defaults${withFlags}` };
  const lo = Math.max(cfg.optimiser.searchMin, THETA_MIN);
  const hi = cfg.optimiser.searchMax;
  if (!(hi > lo)) throw new AtomgpError(`${cfg.path}: search_max = ${hi} leaves no room above our lower bound on θ (${THETA_MIN})`);
  return { options, stopping, source: `config${withFlags}`, thetaBounds: [lo, hi], noiseBounds: FEREBUS_NOISE_BOUNDS };
}

function describePso(p: ResolvedPso): string {
  const o = p.options;
  const stop = p.stopping === 'none' ? 'no early stop' : `stop at relative change ≤ ${o.tolerance} for ${o.stallIterations} iterations`;
  const box = p.thetaBounds ? `, θ in [${num(p.thetaBounds[0])}, ${num(p.thetaBounds[1])}]` : '';
  return `swarm ${o.swarmSize}, ≤ ${o.iterations} iterations, w ${o.inertia}, c1 ${o.cognitive}, c2 ${o.social}, ${stop}${box}, from ${p.source.replace('+', ' and ')}`;
}

/** `# pso_settings …` metadata: what the swarm ran with (the `# optimiser pso` line has what it did). */
function psoSettingsLine(p: ResolvedPso, optimiseNoise: boolean): string {
  const o = p.options;
  return (
    `pso_settings swarm_size=${o.swarmSize} iterations=${o.iterations} inertia_weight=${o.inertia} ` +
    `cognitive_learning_rate=${o.cognitive} social_learning_rate=${o.social} stopping_criteria=${p.stopping}` +
    (p.stopping === 'relative_change' ? ` tolerance=${o.tolerance} stall_iterations=${o.stallIterations}` : '') +
    (p.thetaBounds ? ` theta_bounds=${num(p.thetaBounds[0])},${num(p.thetaBounds[1])}` : '') +
    (p.noiseBounds && optimiseNoise ? ` noise_bounds=${num(p.noiseBounds[0])},${num(p.noiseBounds[1])}` : '') +
    ` source=${p.source}`
  );
}

/** Bounds as written in configs: 1e-6 rather than 0.000001. */
const num = (x: number) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : String(x));

/**
 * One status line on stderr: models done, then per running model its phase, start, iteration and
 * log-likelihood, and the elapsed time and ETA. On a terminal the line is rewritten in place (at
 * most 10 times a second); otherwise a new line is printed every 5 s.
 */
class ProgressBar {
  /** Per model: the last progress event, whether it is done, and the largest fraction shown so far. */
  private readonly state: Array<{ p?: TrainProgress; done: boolean; fraction: number }>;
  private readonly t0 = performance.now();
  private last = Number.NEGATIVE_INFINITY;
  private readonly tty = process.stderr.isTTY === true;
  private wrote = false;

  constructor(private readonly labels: string[]) {
    this.state = labels.map(() => ({ done: false, fraction: 0 }));
  }

  update(i: number, p: TrainProgress): void {
    const s = this.state[i]!;
    s.p = p;
    // Phases overlap in the estimate (a large set's full-set start, then its refinement and the
    // trials): the bar never goes back.
    s.fraction = Math.max(s.fraction, ProgressBar.fraction(p));
    this.render(false);
  }

  done(i: number): void {
    this.state[i]!.done = true;
    this.render(true);
  }

  finish(): void {
    if (this.tty && this.wrote) process.stderr.write('\r\x1b[K');
  }

  /** Fraction of one model's work done, from its phase (rough: iterations to convergence vary). */
  private static fraction(p: TrainProgress | undefined): number {
    if (!p) return 0;
    const iterFrac = (cap: number) => Math.min(p.iteration / cap, 0.95);
    switch (p.phase) {
      case 'restart':
        // Subset restarts are the cheap part of a large set; on small sets they are all the work.
        return ((p.start - 1 + iterFrac(Math.min(p.maxIterations ?? 60, 60))) / p.starts) * (p.points ? 0.3 : 1);
      case 'refine':
        return 0.3 + 0.7 * iterFrac(Math.min(p.maxIterations ?? 60, 60));
      case 'pso':
        return iterFrac(Math.min(p.maxIterations ?? 1000, 300));
      case 'fixed':
        return 1;
    }
  }

  private render(force: boolean): void {
    const now = performance.now();
    const every = this.tty ? 100 : 5000;
    if (!force && now - this.last < every) return;
    if (!this.tty && force && now - this.last < every) return;
    this.last = now;
    const elapsed = (now - this.t0) / 1000;
    let doneWork = 0;
    let nDone = 0;
    const running: string[] = [];
    this.state.forEach((s, i) => {
      if (s.done) {
        doneWork += 1;
        nDone++;
        return;
      }
      doneWork += s.fraction;
      if (s.p) {
        const p = s.p;
        const where =
          p.phase === 'pso'
            ? 'pso'
            : p.phase === 'refine'
              ? `refine on ${p.points ?? 'all'} points`
              : p.phase === 'fixed'
                ? 'fixed θ'
                : `start ${p.start}/${p.starts}${p.points ? ` (${p.points} points)` : ''}`;
        running.push(`${this.labels[i]} ${where} it ${p.iteration} log L ${p.logLikelihood.toFixed(4)}`);
      }
    });
    const total = this.state.length;
    const eta = doneWork > 0.02 ? (elapsed * (total - doneWork)) / doneWork : Number.NaN;
    const etaText = Number.isFinite(eta) ? `ETA ${formatSeconds(eta)}` : 'ETA —';
    const line = `[${nDone}/${total}] ${running.join(' | ')}  ${formatSeconds(elapsed)} elapsed, ${etaText}`;
    if (this.tty) {
      const width = process.stderr.columns ?? 120;
      process.stderr.write(`\r\x1b[K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
    } else {
      process.stderr.write(`${line}\n`);
    }
    this.wrote = true;
  }
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}
