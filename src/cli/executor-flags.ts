/**
 * The executor flags every command with independent jobs shares (`--executor local|slurm`, the
 * `--slurm-*` settings, `--detach`), their help text and the progress line of a Slurm batch.
 */
import { AtomgpError } from '../errors.js';
import { type BatchStatus, EXECUTOR_KINDS, type Executor, type SlurmSettings } from '../exec/executor.js';
import { flagInteger, flagNumber } from './common.js';

export const EXECUTOR_OPTIONS = {
  executor: { type: 'string', default: 'local' },
  'slurm-partition': { type: 'string' },
  'slurm-time': { type: 'string' },
  'slurm-cpus-per-task': { type: 'string' },
  'slurm-account': { type: 'string' },
  'slurm-extra': { type: 'string', multiple: true },
  'slurm-prologue': { type: 'string', multiple: true },
  'slurm-max-running': { type: 'string' },
  'slurm-retries': { type: 'string' },
  'slurm-poll-s': { type: 'string' },
  'slurm-start-timeout-s': { type: 'string' },
  detach: { type: 'boolean', default: false },
} as const;

export const EXECUTOR_HELP = `where the jobs run (docs/slurm.md):
  --executor local|slurm        worker threads of this machine (default) or a Slurm job array
  --slurm-partition P           sbatch --partition (default: the cluster's default)
  --slurm-time T                time limit per task, Slurm format (30, 2:00:00, 1-00:00:00)
  --slurm-cpus-per-task C       default 1
  --slurm-account A             sbatch --account
  --slurm-extra 'OPTS'          more sbatch options, e.g. '--qos=short --mem=2G' (repeatable)
  --slurm-prologue 'LINE'       shell line run before each task, e.g. 'module load nodejs/20' (repeatable)
  --slurm-max-running K         at most K tasks of the array at once (--array=...%K)
  --slurm-retries N             resubmissions of a task that ended without a result, default 2
  --slurm-poll-s S              seconds between looks at the queue, default 2
  --slurm-start-timeout-s S     give up (and scancel) when no task starts for S s, default 600 (0: never)
  --detach                      submit and exit; see progress with 'atomgp status OUT', gather with
                                'atomgp collect OUT' or by rerunning the same command
`;

type ExecutorValues = { [K in keyof typeof EXECUTOR_OPTIONS]?: (typeof EXECUTOR_OPTIONS)[K] extends { multiple: true } ? string[] : (typeof EXECUTOR_OPTIONS)[K] extends { type: 'boolean' } ? boolean : string };

/** The executor the flags ask for; `workers` is the local pool's size. */
export function executorFromFlags(values: ExecutorValues, workers: number): Executor {
  const kind = values.executor ?? 'local';
  if (!(EXECUTOR_KINDS as readonly string[]).includes(kind)) throw new AtomgpError(`--executor must be ${EXECUTOR_KINDS.join(' or ')}, got '${kind}'`);
  const slurmFlags = Object.keys(EXECUTOR_OPTIONS).filter((k) => (k.startsWith('slurm-') || k === 'detach') && values[k as keyof ExecutorValues] !== undefined && values[k as keyof ExecutorValues] !== false);
  if (kind === 'local') {
    if (slurmFlags.length > 0) throw new AtomgpError(`--${slurmFlags[0]} needs --executor slurm`);
    return { kind: 'local', workers };
  }
  const time = values['slurm-time'];
  if (time !== undefined && !/^(\d+-)?\d+(:\d+){0,2}$|^\d+-\d+$/.test(time)) throw new AtomgpError(`--slurm-time expects Slurm's format (minutes, H:MM:SS or D-HH:MM:SS), got '${time}'`);
  const extra = (values['slurm-extra'] ?? []).flatMap((e) => e.trim().split(/\s+/)).filter((e) => e !== '');
  const bad = extra.find((e) => !e.startsWith('-'));
  if (bad !== undefined) throw new AtomgpError(`--slurm-extra takes sbatch options (each starting with '-', e.g. '--qos=short'), got '${bad}'; shell commands go in --slurm-prologue`);
  const clash = extra.find((e) => /^--(array|output|job-name|parsable)\b|^-[aoJ]/.test(e));
  if (clash !== undefined) throw new AtomgpError(`--slurm-extra: '${clash}' is set by atomgp itself (array, output, job name)`);
  const slurm: SlurmSettings = {
    ...(values['slurm-partition'] !== undefined ? { partition: values['slurm-partition'] } : {}),
    ...(time !== undefined ? { timeLimit: time } : {}),
    cpusPerTask: flagInteger('slurm-cpus-per-task', values['slurm-cpus-per-task'], 1, 1),
    ...(values['slurm-account'] !== undefined ? { account: values['slurm-account'] } : {}),
    ...(extra.length > 0 ? { extraOptions: extra } : {}),
    ...(values['slurm-prologue'] !== undefined ? { prologue: values['slurm-prologue'] } : {}),
    ...(values['slurm-max-running'] !== undefined ? { maxRunning: flagInteger('slurm-max-running', values['slurm-max-running'], 1, 1) } : {}),
    retries: flagInteger('slurm-retries', values['slurm-retries'], 2, 0),
    pollSeconds: flagNumber('slurm-poll-s', values['slurm-poll-s'], 2, { min: 0.1 }),
    startTimeoutSeconds: flagNumber('slurm-start-timeout-s', values['slurm-start-timeout-s'], 600, { min: 0 }),
    detach: values.detach ?? false,
  };
  return { kind: 'slurm', slurm };
}

/** `slurm job 12: 3/8 done, 2 running, 3 queued, 1 retried, 0 failed` */
export function formatBatchStatus(s: BatchStatus): string {
  const jobs = s.jobIds.length === 1 ? `job ${s.jobIds[0]}` : `jobs ${s.jobIds.join(',')}`;
  return `slurm ${jobs}: ${s.done}/${s.total} done, ${s.running} running, ${s.queued} queued${s.retried > 0 ? `, ${s.retried} retried` : ''}${s.failed > 0 ? `, ${s.failed} failed` : ''}`;
}

/**
 * SIGINT/SIGTERM abort `signal` (its reason is the signal's name). On Slurm that cancels the
 * running batch's jobs (finished tasks stay for a rerun). Locally the handlers are installed only
 * for commands that stop on the signal themselves (`local: true`: pipeline, demo, study); others
 * keep Node's default (the process ends at once). A second signal is ignored while the first is
 * handled. `release` removes the handlers.
 */
export function abortOnSignals(executor: Executor, options: { local?: boolean } = {}): { signal: AbortSignal; release: () => void } {
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (!abort.signal.aborted) abort.abort(sig);
  };
  if (executor.kind === 'slurm' || options.local === true) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return {
    signal: abort.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
