/**
 * Ensembles of MD runs: R replicas × temperatures, each with its own seed and output folder
 * (OUT/T<temperature>_r<replica>/), run in `node:worker_threads` workers (default 2). Workers build
 * the potential themselves from a serialisable `PotentialSpec`. `runJobs` is the pool itself: it
 * takes any list of jobs, each with its own potential, start, seed and monitor settings (the
 * robustness study runs prior × temperature × replica through it). Progress (steps/s, ETA) goes to a
 * callback; the result is one `MdSummary` per run, plus OUT/ensemble.json and a text table.
 *
 * Seeds: run (temperature index t, replica r) uses seed + t·R + r, so every run differs and a
 * given run is reproducible on its own.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { AtomgpError } from '../errors.js';
import { type BatchHooks, type Executor, runBatch, type TaskFailure } from '../exec/executor.js';
import { resetBatch, tasksStartedBefore } from '../exec/slurm.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { PotentialSpec } from '../potentials/factory.js';
import { startSiblingWorker } from '../util/worker.js';
import type { IntegratorSettings } from './integrators.js';
import { type MdRunOptions, type MdSummary, type OutputMode, prepareOutputDir } from './run.js';

/** What a worker needs for one run (all plain data). */
export interface EnsembleJob {
  id: number;
  potentialSpec: PotentialSpec;
  massesAmu: number[];
  startPositionsA: number[];
  run: Omit<MdRunOptions, 'potential' | 'potentialSpec' | 'massesAmu' | 'startPositionsA' | 'onProgress'>;
}

export type WorkerMessage =
  | { type: 'progress'; id: number; step: number }
  | { type: 'done'; id: number; summary: MdSummary }
  | { type: 'error'; id: number; message: string; userError: boolean; stack: string };

export interface EnsembleOptions {
  potentialSpec: PotentialSpec;
  symbols: string[];
  massesAmu: Float64Array;
  startPositionsA: Float64Array;
  /** Settings shared by all runs; `temperatureK` is replaced per run. */
  settings: IntegratorSettings;
  temperaturesK: number[];
  replicas: number;
  steps: number;
  seed: number;
  outDir: string;
  mode: OutputMode;
  /** A run whose folder holds a checkpoint.json continues from it (mode 'resume'); the others use `mode`. */
  continueCheckpointed?: boolean;
  workers?: number;
  logEvery?: number;
  trajStride?: number;
  checkpointEvery?: number;
  monitor?: MdRunOptions['monitor'];
  /** The monitor's reference for every run (e.g. the undistorted geometry). */
  monitorReference?: MdRunOptions['monitorReference'];
  /** Bond return times recorded in every run. */
  bondReturn?: MdRunOptions['bondReturn'];
  /** Langevin equilibration before every run. */
  equilibration?: MdRunOptions['equilibration'];
  /** The model's global minimum for every run's hole criterion. */
  energyMinimum?: MdRunOptions['energyMinimum'];
  continueOnFailure?: boolean;
  /** Content digests of the potential's files, in every run's fingerprint (see MdRunOptions). */
  inputDigests?: Record<string, string>;
  progressEvery?: number;
  /** Called on every progress report with totals over all runs. */
  onProgress?: (p: EnsembleProgress) => void;
  /** Stop request shared with the workers (see JobPoolOptions). */
  stop?: Int32Array;
}

export interface EnsembleProgress {
  stepsDone: number;
  stepsTotal: number;
  runsDone: number;
  runsTotal: number;
  stepsPerSecond: number;
  etaSeconds: number;
}

export function runLabel(temperatureK: number, replica: number): string {
  return `T${temperatureK}_r${String(replica).padStart(2, '0')}`;
}

export function buildJobs(o: EnsembleOptions): EnsembleJob[] {
  if (!(Number.isInteger(o.replicas) && o.replicas >= 1)) throw new AtomgpError(`replicas must be a positive integer, got ${o.replicas}`);
  if (o.temperaturesK.length === 0) throw new AtomgpError('no temperatures given');
  const jobs: EnsembleJob[] = [];
  o.temperaturesK.forEach((t, ti) => {
    for (let r = 0; r < o.replicas; r++) {
      const label = runLabel(t, r);
      jobs.push({
        id: jobs.length,
        potentialSpec: o.potentialSpec,
        massesAmu: Array.from(o.massesAmu),
        startPositionsA: Array.from(o.startPositionsA),
        run: {
          symbols: o.symbols,
          settings: { ...o.settings, temperatureK: t },
          steps: o.steps,
          seed: o.seed + ti * o.replicas + r,
          outDir: join(o.outDir, label),
          mode: o.continueCheckpointed && existsSync(join(o.outDir, label, 'checkpoint.json')) ? 'resume' : o.mode,
          label,
          ...(o.logEvery !== undefined ? { logEvery: o.logEvery } : {}),
          ...(o.trajStride !== undefined ? { trajStride: o.trajStride } : {}),
          ...(o.checkpointEvery !== undefined ? { checkpointEvery: o.checkpointEvery } : {}),
          ...(o.monitor !== undefined ? { monitor: o.monitor } : {}),
          ...(o.monitorReference !== undefined ? { monitorReference: o.monitorReference } : {}),
          ...(o.bondReturn !== undefined ? { bondReturn: o.bondReturn } : {}),
          ...(o.equilibration !== undefined ? { equilibration: o.equilibration } : {}),
          ...(o.energyMinimum !== undefined ? { energyMinimum: o.energyMinimum } : {}),
          ...(o.continueOnFailure !== undefined ? { continueOnFailure: o.continueOnFailure } : {}),
          ...(o.inputDigests !== undefined ? { inputDigests: o.inputDigests } : {}),
          progressEvery: o.progressEvery ?? 100,
        },
      });
    }
  });
  return jobs;
}

export interface JobPoolOptions {
  /** Worker threads (default 2; never more than jobs). */
  workers?: number;
  /** A run's progress report (its current step, every `progressEvery` steps of its settings). */
  onStep?: (job: EnsembleJob, step: number) => void;
  /** A run finished (survived or failed). */
  onDone?: (job: EnsembleJob, summary: MdSummary) => void;
  /**
   * Stop request shared with the workers (Int32Array on a SharedArrayBuffer): 0 runs on; a signal
   * number (2, 15) ends every run after its current chunk of steps with a final checkpoint, and
   * runs not yet started stop at step 0 (so each has a checkpoint and the ensemble can resume).
   */
  stop?: Int32Array;
}

/** Signal numbers a stop flag may hold, and their names. */
export const STOP_SIGNALS: Record<number, string> = { 2: 'SIGINT', 15: 'SIGTERM' };

/** A stop flag for worker threads that an abort signal sets (its reason names the signal, 'SIGINT' or else 'SIGTERM'). */
export function stopFlagOf(signal: AbortSignal): Int32Array {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const raise = (): void => {
    Atomics.compareExchange(stop, 0, 0, signal.reason === 'SIGINT' ? 2 : 15);
  };
  if (signal.aborted) raise();
  else signal.addEventListener('abort', raise, { once: true });
  return stop;
}

/**
 * Run any list of jobs — each with its own potential spec, start, seed, monitor settings and
 * output folder — on a pool of worker threads; resolves with the summaries in the order of `jobs`.
 * Job ids must be distinct (messages are matched by id). The first error (a run's AtomgpError or a
 * crash) stops the pool: no new job starts, and it is thrown once the running ones are ended.
 */
export async function runJobs(jobs: readonly EnsembleJob[], o: JobPoolOptions = {}): Promise<MdSummary[]> {
  const index = new Map<number, number>();
  jobs.forEach((j, k) => {
    if (index.has(j.id)) throw new AtomgpError(`ensemble: two jobs share the id ${j.id}`);
    index.set(j.id, k);
  });
  const summaries: (MdSummary | undefined)[] = new Array(jobs.length);
  if (jobs.length === 0) return [];
  const nWorkers = Math.max(1, Math.min(o.workers ?? 2, jobs.length));
  let next = 0;
  let failed: Error | undefined;
  await new Promise<void>((resolve) => {
    let active = 0;
    const feed = (w: Worker): void => {
      if (failed || next >= jobs.length) {
        void w.terminate();
        active--;
        if (active === 0) resolve();
        return;
      }
      w.postMessage({ type: 'job', job: jobs[next++]!, ...(o.stop ? { stop: o.stop } : {}) });
    };
    for (let k = 0; k < nWorkers; k++) {
      const w = startSiblingWorker(import.meta.url, 'ensemble-worker');
      active++;
      w.on('message', (m: WorkerMessage) => {
        const at = index.get(m.id)!;
        const job = jobs[at]!;
        if (m.type === 'progress') o.onStep?.(job, m.step);
        else if (m.type === 'done') {
          summaries[at] = m.summary;
          o.onDone?.(job, m.summary);
          feed(w);
        } else {
          failed ??= m.userError ? new AtomgpError(`run ${job.run.label}: ${m.message}`) : new Error(`run ${job.run.label}: ${m.stack}`);
          feed(w);
        }
      });
      w.on('error', (e) => {
        failed ??= e;
        active--;
        if (active === 0) resolve();
      });
      feed(w);
    }
  });
  if (failed) throw failed;
  return summaries as MdSummary[];
}

/** Run every job of the ensemble on a pool of worker threads; resolves with the summaries in job order. */
export async function runEnsemble(o: EnsembleOptions): Promise<MdSummary[]> {
  const jobs = buildJobs(o);
  mkdirSync(o.outDir, { recursive: true });
  const stepsDone = new Float64Array(jobs.length);
  const startStep = new Float64Array(jobs.length).fill(-1);
  const stepsTotal = jobs.length * o.steps;
  const t0 = performance.now();
  let runsDone = 0;
  const report = (): void => {
    if (!o.onProgress) return;
    let done = 0;
    let fresh = 0;
    for (let k = 0; k < jobs.length; k++) {
      done += stepsDone[k]!;
      if (startStep[k]! >= 0) fresh += stepsDone[k]! - startStep[k]!;
    }
    const elapsed = (performance.now() - t0) / 1000;
    const rate = elapsed > 0 ? fresh / elapsed : 0;
    o.onProgress({ stepsDone: done, stepsTotal, runsDone, runsTotal: jobs.length, stepsPerSecond: rate, etaSeconds: rate > 0 ? (stepsTotal - done) / rate : Number.POSITIVE_INFINITY });
  };
  const out = await runJobs(jobs, {
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(o.stop !== undefined ? { stop: o.stop } : {}),
    onStep: (job, step) => {
      if (startStep[job.id]! < 0) startStep[job.id] = step;
      stepsDone[job.id] = step;
      report();
    },
    onDone: (job, summary) => {
      stepsDone[job.id] = summary.stepsCompleted;
      runsDone++;
      report();
    },
  });
  writeEnsembleJson(o.outDir, out);
  return out;
}

/** OUT/ensemble.json: the summaries of the finished runs, in job order. */
export function writeEnsembleJson(outDir: string, summaries: readonly MdSummary[]): void {
  writeFileAtomic(join(outDir, 'ensemble.json'), JSON.stringify(summaries, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n');
}

const isDir = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;

/** Folder of an ensemble's Slurm batch (job script, task files, results, logs). */
export const ensembleBatchDir = (outDir: string): string => join(outDir, 'slurm', 'md');

export interface EnsembleOutcome {
  /** In job order; undefined for runs without a result (failed, or still running when detached). */
  summaries: (MdSummary | undefined)[];
  failures: TaskFailure[];
  detached: boolean;
  jobIds: string[];
  interrupted?: string;
}

/**
 * The ensemble on an executor: locally `runEnsemble` on worker threads; on Slurm one job array
 * whose tasks run the same jobs (dynamics/md-task.ts) in OUT/slurm/md/, so each run's files are
 * the same bit for bit. OUT/ensemble.json holds the runs that finished.
 */
export async function runEnsembleWith(executor: Executor, o: EnsembleOptions, hooks: BatchHooks<MdSummary> = {}): Promise<EnsembleOutcome> {
  if (executor.kind === 'local') {
    const summaries = await runEnsemble({ ...o, workers: executor.workers });
    return { summaries, failures: [], detached: false, jobIds: [] };
  }
  // Tasks run elsewhere, in another working directory: every path they get is absolute.
  const outDir = resolve(o.outDir);
  const jobs = buildJobs({ ...o, outDir });
  const batch = { kind: 'md', dir: ensembleBatchDir(outDir), name: 'md', tasks: jobs.map((j) => ({ label: j.run.label!, input: j })) };
  // A run folder holding a run that this batch did not start is refused before anything is
  // submitted (as runMd would refuse it locally), not in every task attempt on the cluster.
  // --overwrite means compute again: the results of an earlier batch are not reused.
  if (o.mode === 'overwrite') resetBatch(batch.dir);
  if (o.mode === 'new') {
    const ours = tasksStartedBefore(batch);
    jobs.forEach((j, i) => {
      if (!ours.has(i) && isDir(j.run.outDir)) prepareOutputDir(j.run.outDir, 'new');
    });
  }
  mkdirSync(outDir, { recursive: true });
  const out = await runBatch(executor, batch, () => runJobs(jobs), hooks);
  if (!out.detached) writeEnsembleJson(outDir, out.results.filter((s): s is MdSummary => s !== undefined));
  return { summaries: out.results, failures: out.failures, detached: out.detached, jobIds: out.jobIds, ...(out.interrupted !== undefined ? { interrupted: out.interrupted } : {}) };
}

/** Summary table: one line per run (survived, time to failure, mean T, drift). */
export function formatEnsembleTable(summaries: readonly MdSummary[]): string {
  const head = ['run', 'T/K', 'seed', 'survived', 'time-to-failure/ps', 'mean T/K', 'drift/(kcal/mol)', 'steps/s', 'failure'];
  const rows = summaries.map((s) => [
    s.label ?? '',
    String(s.temperatureK),
    String(s.seed),
    s.survived ? 'yes' : 'no',
    s.timeToFailureFs === null ? '-' : (s.timeToFailureFs / 1000).toFixed(4),
    s.meanTemperatureK.toFixed(1),
    s.conservedDriftKcalPerMol.toExponential(2),
    s.stepsPerSecond.toFixed(0),
    s.failure ? `${s.failure.kind}${s.failure.phase ? ` (${s.failure.phase})` : ''}` : '-',
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (r: string[]): string => r.map((c, k) => c.padEnd(widths[k]!)).join('  ').trimEnd();
  const survived = summaries.filter((s) => s.survived).length;
  return [line(head), ...rows.map(line), `${survived}/${summaries.length} runs survived`].join('\n') + '\n';
}
