/**
 * `atomgp train`: fit atomic GP models from a FEREBUS config, an ichor CSV or the training data
 * embedded in existing `.model` files (`--from-model`, to refit with another prior mean), and
 * write `.model` files. Atoms run in parallel worker threads with `--jobs N` (results do not depend
 * on N beyond rounding with OpenBLAS). Prints the prior mean used, the optimised likelihood, the wall time and, when a
 * validation set is given or found beside the training set, its errors. A progress line (atom,
 * start, iteration, likelihood, ETA) goes to stderr unless `--quiet`.
 *
 * The CLI parses the flags, asks `planTraining` (workflows/train-set.ts: config or CSV or models →
 * training tasks, PSO settings from a config and the flags) for the jobs, runs them and prints.
 */

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AtomgpError, InterruptedError } from '../errors.js';
import { type BatchStatus, runBatch, type TaskFailure } from '../exec/executor.js';
import { formatReport, validateModel } from '../gp/assess/validate.js';
import { DEFAULT_PRIOR } from '../gp/fit/priors.js';
import { type KernelChoice, type OptimiserKind, SEARCH_KINDS, type SearchKind, type TrainProgress, type TrainResult } from '../gp/fit/train.js';
import { runTrainTasks } from '../gp/fit/train-parallel.js';
import { readPropertyCsv } from '../io/csv.js';
import { lockOutputDir, removeStaleTempFiles } from '../io/lock.js';
import { writeModel } from '../io/model.js';
import { PSO_DEFAULTS } from '../math/pso.js';
import { parseInteger } from '../util/numbers.js';
import { type PsoSettings, planTraining, type TrainSource } from '../workflows/train-set.js';
import { flagInteger, flagNumber } from './common.js';
import { abortOnSignals, EXECUTOR_HELP, EXECUTOR_OPTIONS, executorFromFlags, formatBatchStatus } from './executor-flags.js';

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
  --quiet            no progress line

${EXECUTOR_HELP.replace('where the jobs run', 'where the fits run (one task per atom and property; --jobs is the local pool)')}`;

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
      ...EXECUTOR_OPTIONS,
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
  const executor = executorFromFlags(values, nJobs);
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
  const likelihoodFlag = values.likelihood;
  if (likelihoodFlag !== undefined && likelihoodFlag !== 'marginal' && likelihoodFlag !== 'concentrated') {
    throw new AtomgpError(`--likelihood must be marginal or concentrated, got '${likelihoodFlag}'`);
  }
  const noiseFlag = values.noise === undefined ? undefined : flagNumber('noise', values.noise, 0, { min: 0, expected: 'must be a number ≥ 0' });
  if (values['keep-hyperparameters'] && !values['from-model']) throw new AtomgpError('--keep-hyperparameters needs --from-model');
  const sources = [values.config, values.csv, values['from-model']].filter((v) => v !== undefined).length;
  if (sources > 1) throw new AtomgpError('give only one of --config, --csv and --from-model');

  if (sources === 0) throw new AtomgpError(`give --config ferebus.toml, --csv FILE or --from-model FILE|DIR\n${HELP}`);
  let source: TrainSource;
  if (values['from-model']) {
    source = { kind: 'from-model', path: values['from-model'], keepHyperparameters: values['keep-hyperparameters']! };
  } else if (values.config) {
    source = { kind: 'config', path: values.config };
  } else {
    const csv = values.csv!;
    if (!values.atom) throw new AtomgpError('--atom is required with --csv (e.g. --atom O1)');
    const alf = values.alf ? values.alf.split(',').map((s) => parseInteger(s.trim()) ?? Number.NaN) : [];
    if (alf.some((a) => !Number.isInteger(a) || a < 1)) throw new AtomgpError(`--alf must be 1-based atom indices like 1,2,3, got '${values.alf}'`);
    source = { kind: 'csv', path: csv, atom: values.atom, alf, ...(values.system !== undefined ? { system: values.system } : {}), nAtoms: values.natoms ? int(values.natoms, 'natoms') : 0 };
  }
  const { jobs, outDir } = planTraining(
    {
      source,
      ...(values.out !== undefined ? { out: values.out } : {}),
      ...(values.prior !== undefined ? { prior: values.prior } : {}),
      ...(values.kernel !== undefined ? { kernel: values.kernel as KernelChoice } : {}),
      ...(likelihoodFlag !== undefined ? { likelihood: likelihoodFlag } : {}),
      ...(noiseFlag !== undefined ? { noise: noiseFlag } : {}),
      optimiseNoise: values['optimise-noise']!,
      ...(values.property !== undefined ? { property: values.property } : {}),
      ...(values.valid !== undefined ? { valid: values.valid } : {}),
      ...(restarts !== undefined ? { restarts } : {}),
      ...(search !== undefined ? { search } : {}),
      ...(budgetS !== undefined ? { budgetS } : {}),
      seed,
      optimiser,
      optimiserExplicit: values.optimiser !== undefined,
      pso: psoFlags,
    },
    (line) => process.stdout.write(`${line}\n`),
  );
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
    let results: (TrainResult | undefined)[];
    let failures: TaskFailure[] = [];
    // SIGINT/SIGTERM stop local fits at once (nothing is written) or cancel the Slurm batch's jobs
    // (finished fits stay for a rerun); exit 130/143 with one line (InterruptedError).
    const abort = abortOnSignals(executor, { local: true });
    try {
      const outcome = await runBatch(
        executor,
        { kind: 'train', dir: join(outDir, 'slurm', 'train'), name: 'train', tasks: jobs.map((j) => ({ label: `${j.label} ${j.property}`, input: j.task })) },
        (workers) =>
          runTrainTasks(
            jobs.map((j) => j.task),
            {
              jobs: workers,
              signal: abort.signal,
              ...(bar ? { onProgress: (i: number, p: TrainProgress) => bar.update(i, p), onDone: (i: number) => bar.done(i) } : {}),
            },
          ),
        {
          signal: abort.signal,
          ...(values.quiet ? {} : { onStatus: (st: BatchStatus) => process.stderr.write(`train: ${formatBatchStatus(st)}\n`) }),
        },
      );
      if (outcome.detached) {
        process.stdout.write(`submitted Slurm job ${outcome.jobIds.join(',')} (${jobs.length} fits; batch in ${join(outDir, 'slurm', 'train')}); rerun this command to write the models (atomgp status ${outDir} shows progress)\n`);
        return 0;
      }
      if (outcome.interrupted !== undefined) throw new InterruptedError(outcome.interrupted, `interrupted by ${outcome.interrupted}: Slurm jobs cancelled; rerun the same command to continue (finished fits are kept)`);
      results = outcome.results;
      failures = outcome.failures;
    } catch (e) {
      if (e instanceof InterruptedError && executor.kind === 'local') throw new InterruptedError(e.signal, `interrupted by ${e.signal} before the fits finished; no model was written`);
      throw e;
    } finally {
      abort.release();
      bar?.finish();
    }
    for (const f of failures) process.stderr.write(`atomgp train: ${f.label} failed after ${f.attempts} attempt(s): ${f.message}${f.logPath ? `; log: ${f.logPath}` : ''}\n`);
    results.forEach((r, i) => {
      if (r === undefined) return;
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
    return failures.length > 0 ? 1 : 0;
  }
}

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
