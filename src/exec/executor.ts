/**
 * The one way atomgp runs independent jobs (MD replicas, the robustness matrix, per-atom fits):
 * an `Executor` says *where* — worker threads of this machine (`local`, the default) or a Slurm
 * cluster (`slurm`, slurm.ts) — and a `Batch` says *what*: a task kind that `atomgp task` knows
 * (workflows/tasks.ts), a folder, and one plain-data input per task. Callers keep their own local
 * pools (the worker-thread code they already had) and pass them in; the outcome has the same
 * shape either way, so a caller handles both with one code path.
 */
import { AtomgpError } from '../errors.js';

/** Scheduler settings of `--executor slurm` (docs/slurm.md). */
export interface SlurmSettings {
  /** `--partition`; default: the cluster's default partition. */
  partition?: string;
  /** `--time` of each task, Slurm's format (`30`, `2:00:00`, `1-00:00:00`); default: the partition's. */
  timeLimit?: string;
  /** `--cpus-per-task`, default 1. */
  cpusPerTask?: number;
  /** `--account`. */
  account?: string;
  /** More sbatch options, one per element (`--qos=short`, `--mem=2G`), written as `#SBATCH` lines. */
  extraOptions?: string[];
  /** Shell lines run before each task (e.g. `module load nodejs/20`). */
  prologue?: string[];
  /** At most this many tasks of the array run at once (`--array=…%K`). */
  maxRunning?: number;
  /** Resubmissions of a task that ended without a result, default 2. */
  retries?: number;
  /** Seconds between looks at the results and the queue, default 2. */
  pollSeconds?: number;
  /** Give up (and cancel) when no task has started for this long while some wait, s; 0: never. Default 600. */
  startTimeoutSeconds?: number;
  /** Submit and return without waiting. */
  detach?: boolean;
  /** The command a task runs before `task FILE` (default: this node and this atomgp). */
  command?: string[];
}

export type Executor = { kind: 'local'; workers: number } | { kind: 'slurm'; slurm: SlurmSettings };

export const EXECUTOR_KINDS = ['local', 'slurm'] as const;

/** One task of a batch: a label for people and the runner's input (plain data, typed arrays allowed). */
export interface BatchTask<I> {
  label: string;
  input: I;
}

export interface Batch<I> {
  /** Task kind (a key of workflows/tasks.ts TASK_KINDS). */
  kind: string;
  /** Folder of the batch's files on a cluster (tasks, results, logs, job script). */
  dir: string;
  /** Short name for the job (`atomgp-<name>`). */
  name: string;
  tasks: BatchTask<I>[];
}

/** A task that ended without a result after every attempt. */
export interface TaskFailure {
  index: number;
  label: string;
  attempts: number;
  /** The task's own error message when it wrote one, else the scheduler's end state. */
  message: string;
  /** Output of its last attempt. */
  logPath?: string;
}

export interface BatchStatus {
  total: number;
  done: number;
  running: number;
  queued: number;
  failed: number;
  /** Resubmissions so far. */
  retried: number;
  jobIds: string[];
}

export interface BatchHooks<O> {
  /** A task finished with a result (called in completion order). */
  onDone?: (index: number, output: O) => void;
  /** The scheduler's view after each look at the queue. */
  onStatus?: (s: BatchStatus) => void;
  /** Aborting cancels the batch's jobs (scancel) and returns what finished. */
  signal?: AbortSignal;
}

export interface BatchOutcome<O> {
  /** Results in task order; undefined for tasks without one (failed, or still running when detached). */
  results: (O | undefined)[];
  failures: TaskFailure[];
  /** Submitted and returned without waiting. */
  detached: boolean;
  /** Scheduler job ids of this run's submissions. */
  jobIds: string[];
  /** Ended early by the abort signal (its reason, e.g. 'SIGINT'). */
  interrupted?: string;
}

/**
 * Run a batch on `executor`. Locally, `local(workers)` is the caller's own worker-thread pool (it
 * throws on the first failure, as before); on Slurm the tasks become one job array (slurm.ts).
 */
export async function runBatch<I, O>(executor: Executor, batch: Batch<I>, local: (workers: number) => Promise<O[]>, hooks: BatchHooks<O> = {}): Promise<BatchOutcome<O>> {
  if (executor.kind === 'local') {
    const results = await local(executor.workers);
    return { results, failures: [], detached: false, jobIds: [] };
  }
  const { runSlurmBatch } = await import('./slurm.js');
  return runSlurmBatch(batch, executor.slurm, hooks);
}

/** A one-line error listing failed tasks with their logs (for callers that need every result). */
export function failuresError(what: string, failures: readonly TaskFailure[]): AtomgpError {
  const list = failures.map((f) => `${f.label}: ${f.message}${f.logPath ? ` (log ${f.logPath})` : ''}`).join('; ');
  return new AtomgpError(`${what}: ${failures.length} task(s) failed after all attempts: ${list}`);
}
