/**
 * The MD matrix: every prior × temperature × replica with Nosé–Hoover NVT on a pool of worker
 * threads (dynamics/ensemble.ts `runJobs`), one `StudyRow` per run; finished runs are read back on
 * resume, interrupted ones continue from their checkpoint.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Bond } from '../../chem/connectivity.js';
import { massesAmu } from '../../chem/molecule.js';
import { buildJobs, type EnsembleJob, runJobs, runLabel, stopFlagOf } from '../../dynamics/ensemble.js';
import type { IntegratorSettings } from '../../dynamics/integrators.js';
import type { BondReturnSettings, MonitorOptions, MonitorReference } from '../../dynamics/monitor.js';
import type { MdSummary, OutputMode } from '../../dynamics/run.js';
import { AtomgpError, interruptedRun } from '../../errors.js';
import { type BatchStatus, type Executor, failuresError, runBatch } from '../../exec/executor.js';
import type { PotentialSpec } from '../../potentials/factory.js';
import { readMdSummary } from '../md-summary.js';

/** One row of the stability table (the schema src/report/report.ts reads). */
export interface StudyRow {
  prior: string;
  temperature_K: number;
  replica: number;
  survived: boolean;
  time_to_failure_ps: number | null;
  mean_temperature_K: number;
  /** Run folder relative to the study folder. */
  run_dir: string;
  seed: number;
  simulated_ps: number;
  failure: string | null;
  steps_per_second: number;
  /**
   * Per distorted bond (`O1-H2`), the first time, ps, it came back within the relaxation
   * tolerance of its undistorted length; null if it never did (in the simulated time).
   */
  relaxation_time_ps?: Record<string, number | null>;
}

export interface MatrixEntry {
  /** Label in the table. */
  prior: string;
  /** Folder name under `runsDir`. */
  dirName: string;
  potentialSpec: PotentialSpec;
}

export interface MatrixProgress {
  runsDone: number;
  runsTotal: number;
  runsSkipped: number;
  stepsDone: number;
  stepsTotal: number;
  stepsPerSecond: number;
  etaSeconds: number;
}

export interface MatrixOptions {
  entries: MatrixEntry[];
  symbols: string[];
  startPositionsA: Float64Array;
  temperaturesK: number[];
  replicas: number;
  steps: number;
  seed: number;
  /** Settings shared by all runs (`temperatureK` is set per run). */
  settings: IntegratorSettings;
  /** Folder holding <dirName>/T<temp>_r<rep>/. */
  runsDir: string;
  /** Folder the rows' run_dir is relative to (default: the parent of runsDir). */
  baseDir?: string;
  /** Skip finished runs (summary.json present), continue runs with a checkpoint, redo the rest. */
  resume?: boolean;
  workers?: number;
  /** Where the runs go (default: `workers` worker threads); on Slurm the batch is BASE/slurm/matrix/. */
  executor?: Executor;
  /** The Slurm batch's state after each look at the queue. */
  onBatchStatus?: (s: BatchStatus) => void;
  /** Aborting cancels the Slurm jobs, or ends the local runs after their current chunk of steps with a checkpoint. */
  signal?: AbortSignal;
  logEvery?: number;
  trajStride?: number;
  checkpointEvery?: number;
  monitor?: Partial<MonitorOptions>;
  /** What the monitor measures against (the undistorted geometry) instead of the start. */
  monitorReference?: MonitorReference;
  /** Bonds whose first return to their reference length each run records (`relaxation_time_ps`). */
  bondReturn?: BondReturnSettings;
  onProgress?: (p: MatrixProgress) => void;
}

/** `O1-H2`: the bond's atoms, 1-based, with their symbols. */
export function bondLabel(symbols: readonly string[], [i, j]: Bond): string {
  return `${symbols[i]}${i + 1}-${symbols[j]}${j + 1}`;
}

function rowOf(entry: MatrixEntry, job: EnsembleJob, replica: number, s: MdSummary, baseDir: string): StudyRow {
  const watched = job.run.bondReturn;
  const times = s.bondReturnTimesFs;
  return {
    prior: entry.prior,
    temperature_K: s.temperatureK,
    replica,
    survived: s.survived,
    time_to_failure_ps: s.timeToFailureFs === null ? null : s.timeToFailureFs / 1000,
    mean_temperature_K: s.meanTemperatureK,
    run_dir: relativeDir(baseDir, job.run.outDir),
    seed: s.seed,
    simulated_ps: s.simulatedTimeFs / 1000,
    failure: s.failure ? `${s.failure.kind}: ${s.failure.reason}` : null,
    steps_per_second: s.stepsPerSecond,
    ...(watched && times
      ? { relaxation_time_ps: Object.fromEntries(watched.bonds.map((b, k) => [bondLabel(job.run.symbols, b), times[k] === null || times[k] === undefined ? null : times[k]! / 1000])) }
      : {}),
  };
}

function relativeDir(base: string, dir: string): string {
  const b = resolve(base);
  const d = resolve(dir);
  return d.startsWith(b + '/') ? d.slice(b.length + 1) : d;
}

/**
 * Run every entry × temperature × replica (seed + t·R + r, the same for every entry) on a pool of
 * ensemble workers. Returns one row per run in entry, temperature, replica order. With `resume`,
 * finished runs are read back, not rerun.
 */
export async function runStabilityMatrix(o: MatrixOptions): Promise<StudyRow[]> {
  const baseDir = o.baseDir ?? resolve(o.runsDir, '..');
  const masses = massesAmu(o.symbols);
  interface Planned {
    entry: MatrixEntry;
    job: EnsembleJob;
    replica: number;
    summary?: MdSummary;
  }
  const planned: Planned[] = [];
  for (const entry of o.entries) {
    const jobs = buildJobs({
      potentialSpec: entry.potentialSpec,
      symbols: o.symbols,
      massesAmu: masses,
      startPositionsA: o.startPositionsA,
      settings: o.settings,
      temperaturesK: o.temperaturesK,
      replicas: o.replicas,
      steps: o.steps,
      seed: o.seed,
      outDir: join(o.runsDir, entry.dirName),
      mode: 'new',
      ...(o.logEvery !== undefined ? { logEvery: o.logEvery } : {}),
      ...(o.trajStride !== undefined ? { trajStride: o.trajStride } : {}),
      ...(o.checkpointEvery !== undefined ? { checkpointEvery: o.checkpointEvery } : {}),
      ...(o.monitor !== undefined ? { monitor: o.monitor } : {}),
      ...(o.monitorReference !== undefined ? { monitorReference: o.monitorReference } : {}),
      ...(o.bondReturn !== undefined ? { bondReturn: o.bondReturn } : {}),
      // The hole criterion measures from each model's own minimum, searched from the undistorted geometry.
      energyMinimum: 'search',
    });
    jobs.forEach((job, k) => {
      const replica = k % o.replicas;
      const dir = job.run.outDir;
      let mode: OutputMode = 'new';
      let summary: MdSummary | undefined;
      // A run a signal stopped has a summary marked `interrupted` and continues from its checkpoint.
      const saved = o.resume && existsSync(join(dir, 'summary.json')) ? readMdSummary(join(dir, 'summary.json')) : undefined;
      if (saved !== undefined && saved.interrupted === undefined) {
        summary = saved;
        if (summary.stepsRequested !== o.steps || summary.seed !== job.run.seed || summary.temperatureK !== job.run.settings.temperatureK) {
          throw new AtomgpError(`cannot resume: ${join(dir, 'summary.json')} records a different run (steps ${summary.stepsRequested}, seed ${summary.seed}, ${summary.temperatureK} K; expected ${o.steps}, ${job.run.seed}, ${job.run.settings.temperatureK} K)`);
        }
      } else if (o.resume && existsSync(join(dir, 'checkpoint.json'))) mode = 'resume';
      else if (o.resume && existsSync(dir)) mode = 'overwrite';
      job.run.mode = mode;
      job.run.label = `${entry.prior} ${runLabel(job.run.settings.temperatureK, replica)}`;
      planned.push({ entry, job: { ...job, id: planned.length }, replica, ...(summary ? { summary } : {}) });
    });
  }
  const todo = planned.filter((p) => !p.summary);
  const skipped = planned.length - todo.length;
  const stepsTotal = planned.length * o.steps;
  // stepsDone: for the ETA (a run that ended early, e.g. failed, counts whole); fresh: steps taken now.
  const stepsDone = new Float64Array(planned.length);
  const firstSeen = new Float64Array(planned.length).fill(-1);
  const fresh = new Float64Array(planned.length);
  for (const p of planned) if (p.summary) stepsDone[p.job.id] = o.steps;
  let runsDone = skipped;
  const t0 = performance.now();
  const report = (): void => {
    if (!o.onProgress) return;
    let done = 0;
    let taken = 0;
    for (let k = 0; k < planned.length; k++) {
      done += stepsDone[k]!;
      taken += fresh[k]!;
    }
    const elapsed = (performance.now() - t0) / 1000;
    const rate = elapsed > 0 ? taken / elapsed : 0;
    o.onProgress({ runsDone, runsTotal: planned.length, runsSkipped: skipped, stepsDone: done, stepsTotal, stepsPerSecond: rate, etaSeconds: rate > 0 ? (stepsTotal - done) / rate : Number.POSITIVE_INFINITY });
  };
  report();
  if (todo.length > 0) {
    mkdirSync(o.runsDir, { recursive: true });
    const executor: Executor = o.executor ?? { kind: 'local', workers: o.workers ?? 2 };
    const outcome = await runBatch(
      executor,
      { kind: 'md', dir: join(baseDir, 'slurm', 'matrix'), name: 'matrix', tasks: todo.map((p) => ({ label: p.job.run.label!, input: p.job })) },
      (workers) => runLocal(workers),
      {
        onDone: (k, summary) => {
          const id = todo[k]!.job.id;
          planned[id]!.summary = summary;
          stepsDone[id] = o.steps;
          fresh[id] = summary.stepsCompleted - (summary.resumedFromStep ?? 0);
          runsDone++;
          report();
        },
        ...(o.onBatchStatus ? { onStatus: o.onBatchStatus } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      },
    );
    if (outcome.interrupted !== undefined) throw interruptedRun(outcome.interrupted, 'during the MD runs (Slurm jobs cancelled, finished runs kept)');
    const stopped = outcome.results.find((r) => r?.interrupted !== undefined)?.interrupted;
    if (stopped !== undefined) throw interruptedRun(stopped, 'during the MD runs (every run has a checkpoint)');
    if (outcome.detached) throw new AtomgpError('the MD matrix cannot be detached (its tables need every run); run without --detach');
    if (outcome.failures.length > 0) throw failuresError(`MD matrix (finished runs are kept, a rerun with --resume retries the rest)`, outcome.failures);
  }
  return planned.map((p) => rowOf(p.entry, p.job, p.replica, p.summary!, baseDir));

  function runLocal(workers: number): Promise<MdSummary[]> {
    // A signal (o.signal aborted with its name) ends every run after its current chunk of steps with a checkpoint.
    const stop = o.signal ? stopFlagOf(o.signal) : undefined;
    return runJobs(
      todo.map((p) => p.job),
      {
        workers,
        ...(stop ? { stop } : {}),
        onStep: (job, step) => {
          if (firstSeen[job.id]! < 0) firstSeen[job.id] = step;
          stepsDone[job.id] = step;
          fresh[job.id] = step - firstSeen[job.id]!;
          report();
        },
        onDone: (job, summary) => {
          planned[job.id]!.summary = summary;
          stepsDone[job.id] = o.steps;
          fresh[job.id] = summary.stepsCompleted - (summary.resumedFromStep ?? 0);
          runsDone++;
          report();
        },
      },
    );
  }
}
