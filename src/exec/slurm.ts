/**
 * The Slurm executor: a batch becomes one job array, driven by the scheduler's own commands
 * (`sbatch --parsable --array`, `squeue`, `scancel`). Everything lives in the batch folder, which
 * must be on a file system the compute nodes see (docs/slurm.md):
 *
 *   job.sh              the array job script (readable; `sbatch --array=3 job.sh` reruns task 3)
 *   batch.json          task labels and input digests, submissions (job ids, indices)
 *   tasks/<i>.json      task i's kind, label and input
 *   results/<i>.json    its result, written atomically by the task (task.ts)
 *   errors/<i>.txt      its error message when it failed
 *   started/<i>         one line per attempt that started (host, job id, time)
 *   logs/<i>_<job>.out  stdout and stderr of each attempt
 *
 * A rerun with the same tasks continues the batch: finished results are kept, tasks still queued
 * or running are adopted, only the rest are submitted. A task that ends without a result (killed,
 * cancelled, crashed) is resubmitted up to `retries` times.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AtomgpError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { decodeJson, encodeJson } from './codec.js';
import type { Batch, BatchHooks, BatchOutcome, BatchStatus, SlurmSettings, TaskFailure } from './executor.js';
import { defaultTaskCommand } from './task-command.js';

/** batch.json */
export interface BatchRecord {
  kind: string;
  name: string;
  tasks: { label: string; digest: string }[];
  submissions: { jobId: string; indices: number[]; submittedAt: string }[];
}

export const batchPaths = (dir: string) => ({
  record: join(dir, 'batch.json'),
  script: join(dir, 'job.sh'),
  task: (i: number) => join(dir, 'tasks', `${i}.json`),
  result: (i: number) => join(dir, 'results', `${i}.json`),
  error: (i: number) => join(dir, 'errors', `${i}.txt`),
  started: (i: number) => join(dir, 'started', `${i}`),
  log: (i: number, jobId: string) => join(dir, 'logs', `${i}_${jobId}.out`),
});

/** Run a Slurm command; a missing command or a refusal is a one-line AtomgpError. */
export function slurmCommand(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...(cwd ? { cwd } : {}) });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AtomgpError(`${cmd} not found on PATH: --executor slurm needs Slurm's client commands (sbatch, squeue, scancel) on this machine (docs/slurm.md)`);
    throw new AtomgpError(`${cmd} failed: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || '').trim().split('\n').filter((l) => l.trim() !== '').pop() ?? `exit status ${r.status}`;
    throw new AtomgpError(`${cmd} failed: ${why}`);
  }
  return r.stdout;
}

/**
 * This user's queue entries by `<arrayJobId>_<index>` (array elements) or `<jobId>`: state and
 * reason. (`--me` keeps the look cheap on a large cluster; `-j ids` would fail once a job has left
 * the controller's memory.)
 */
export function queueState(): Map<string, { state: string; reason: string }> {
  const out = slurmCommand('squeue', ['--me', '-h', '-r', '-o', '%F|%K|%i|%T|%r']);
  const m = new Map<string, { state: string; reason: string }>();
  for (const line of out.split('\n')) {
    const [arrayJob, index, id, state, reason] = line.trim().split('|');
    if (!id || !state) continue;
    const key = index && index !== 'N/A' && /^\d+$/.test(index) ? `${arrayJob}_${index}` : id;
    m.set(key, { state, reason: reason ?? '' });
  }
  return m;
}

/** `0-3,7,9-10` for sbatch --array. */
export function arrayRanges(indices: readonly number[]): string {
  const s = [...indices].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let k = 0; k < s.length; ) {
    let e = k;
    while (e + 1 < s.length && s[e + 1] === s[e]! + 1) e++;
    parts.push(e === k ? `${s[k]}` : `${s[k]}-${s[e]}`);
    k = e + 1;
  }
  return parts.join(',');
}

const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The array job script of a batch. */
export function jobScript(dir: string, b: { kind: string; name: string; total: number }, s: SlurmSettings): string {
  const p = batchPaths(dir);
  const cmd = (s.command ?? defaultTaskCommand()).map(shellQuote).join(' ');
  const opts = [
    `--job-name=atomgp-${b.name}`,
    `--output=${join(dir, 'logs', '%a_%A.out')}`,
    `--cpus-per-task=${s.cpusPerTask ?? 1}`,
    ...(s.partition ? [`--partition=${s.partition}`] : []),
    ...(s.timeLimit ? [`--time=${s.timeLimit}`] : []),
    ...(s.account ? [`--account=${s.account}`] : []),
    ...(s.extraOptions ?? []),
  ];
  return [
    '#!/bin/bash',
    `# atomgp batch '${b.name}': ${b.total} '${b.kind}' task(s), one job-array element each.`,
    `# atomgp submits it as: sbatch --parsable --array=<indices> ${p.script}`,
    `# By hand, e.g. task 3 again: sbatch --array=3 ${p.script}   (its result: results/3.json)`,
    ...opts.map((o) => `#SBATCH ${o}`),
    'set -e',
    ...(s.prologue ?? []),
    `exec ${cmd} task ${shellQuote(join(dir, 'tasks'))}/"$SLURM_ARRAY_TASK_ID".json`,
    '',
  ].join('\n');
}

const readRecord = (dir: string): BatchRecord | undefined => {
  const f = batchPaths(dir).record;
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as BatchRecord) : undefined;
};

/** Queue entries of a batch's submissions that are still queued or running, by task index. */
export function liveTasks(rec: BatchRecord, queue: Map<string, { state: string; reason: string }>): Map<number, { jobId: string; state: string; reason: string }> {
  const live = new Map<number, { jobId: string; state: string; reason: string }>();
  for (const sub of rec.submissions) {
    for (const i of sub.indices) {
      const q = queue.get(`${sub.jobId}_${i}`);
      if (q) live.set(i, { jobId: sub.jobId, ...q });
    }
  }
  return live;
}

/** The last log of task i (latest submission that included it). */
export function lastLog(dir: string, rec: BatchRecord, i: number): string | undefined {
  for (let k = rec.submissions.length - 1; k >= 0; k--) if (rec.submissions[k]!.indices.includes(i)) return batchPaths(dir).log(i, rec.submissions[k]!.jobId);
  return undefined;
}

/** Waits `ms`, or until `signal` aborts; the abort listener is removed either way (one per poll would pile up). */
export const pollSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((res) => {
    if (signal?.aborted) return res();
    const onAbort = (): void => {
      clearTimeout(t);
      res();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

const taskText = (kind: string, label: string, index: number, input: unknown): string => encodeJson({ kind, label, index, input });
const digestOf = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Tasks of `batch` that an earlier run of the same batch folder has already started (same input,
 * same index): what they left in their output folders is theirs to continue. Any other task's
 * output folder should be new — callers refuse to overwrite it, as a local run would.
 */
export function tasksStartedBefore<I>(batch: Batch<I>): Set<number> {
  const rec = readRecord(batch.dir);
  const p = batchPaths(batch.dir);
  const out = new Set<number>();
  if (!rec || rec.kind !== batch.kind || rec.tasks.length !== batch.tasks.length) return out;
  batch.tasks.forEach((t, i) => {
    if ((existsSync(p.started(i)) || existsSync(p.result(i))) && rec.tasks[i]!.digest === digestOf(taskText(batch.kind, t.label, i, t.input))) out.add(i);
  });
  return out;
}

/** Forget a batch's tasks and results (logs stay): the next run of it starts afresh. Refused while its jobs are queued or running. */
export function resetBatch(dir: string): void {
  const rec = readRecord(dir);
  if (!rec) return;
  forgetTasks(dir, rec, '');
  rmSync(batchPaths(dir).record, { force: true });
}

/** Remove a batch's task files and results (never those of jobs still in the queue); the old logs stay. */
function forgetTasks(dir: string, rec: BatchRecord, what: string): void {
  const live = rec.submissions.length > 0 ? liveTasks(rec, queueState()) : new Map();
  if (live.size > 0) {
    const ids = [...new Set([...live.values()].map((l) => l.jobId))].join(',');
    throw new AtomgpError(`${dir} holds Slurm job(s) ${ids}${what}, still queued or running: wait for them or scancel ${ids}, then rerun`);
  }
  for (const sub of ['tasks', 'results', 'errors', 'started']) rmSync(join(dir, sub), { recursive: true, force: true });
}

/** Write the batch's files; an existing batch of the same tasks is continued, another one replaced. */
function prepare<I>(batch: Batch<I>, s: SlurmSettings): BatchRecord {
  const dir = batch.dir;
  const p = batchPaths(dir);
  const texts = batch.tasks.map((t, index) => taskText(batch.kind, t.label, index, t.input));
  const digests = texts.map(digestOf);
  let rec = readRecord(dir);
  const same = rec !== undefined && rec.kind === batch.kind && rec.tasks.length === digests.length && rec.tasks.every((t, k) => t.digest === digests[k]);
  if (rec && !same) {
    // Results of other inputs must never be taken for this batch's.
    forgetTasks(dir, rec, ' of a different set of tasks');
    rec = undefined;
  }
  for (const sub of ['tasks', 'results', 'errors', 'started', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
  texts.forEach((t, i) => {
    if (!existsSync(p.task(i)) || readFileSync(p.task(i), 'utf8') !== t) writeFileAtomic(p.task(i), t);
  });
  writeFileAtomic(p.script, jobScript(dir, { kind: batch.kind, name: batch.name, total: batch.tasks.length }, s));
  rec ??= { kind: batch.kind, name: batch.name, tasks: batch.tasks.map((t, k) => ({ label: t.label, digest: digests[k]! })), submissions: [] };
  writeFileAtomic(p.record, JSON.stringify(rec, null, 1) + '\n');
  return rec;
}

function submit(dir: string, rec: BatchRecord, indices: number[], maxRunning?: number): string {
  const array = `--array=${arrayRanges(indices)}${maxRunning !== undefined ? `%${maxRunning}` : ''}`;
  const out = slurmCommand('sbatch', ['--parsable', array, batchPaths(dir).script], dir).trim();
  const jobId = out.split(';')[0]!.trim();
  if (!/^\d+$/.test(jobId)) throw new AtomgpError(`sbatch printed '${out}', expected a job id`);
  rec.submissions.push({ jobId, indices: [...indices].sort((a, b) => a - b), submittedAt: new Date().toISOString() });
  writeFileAtomic(batchPaths(dir).record, JSON.stringify(rec, null, 1) + '\n');
  return jobId;
}

function cancel(jobIds: Iterable<string>): void {
  const ids = [...new Set(jobIds)];
  if (ids.length === 0) return;
  try {
    slurmCommand('scancel', ids);
  } catch {
    // Best effort: the jobs may have ended meanwhile; what is left shows in `atomgp status`.
  }
}

/** The failure message of task i: its own error text, else how its job ended. */
function failureMessage(dir: string, i: number): string {
  const f = batchPaths(dir).error(i);
  if (existsSync(f)) return readFileSync(f, 'utf8').trim().split('\n')[0]!;
  return 'ended without a result (killed, cancelled, out of time or memory?)';
}

/** Submit the batch's unfinished tasks as a job array and (unless detached) wait for them. */
export async function runSlurmBatch<I, O>(batch: Batch<I>, s: SlurmSettings, hooks: BatchHooks<O> = {}): Promise<BatchOutcome<O>> {
  const dir = resolve(batch.dir);
  const b = { ...batch, dir };
  const p = batchPaths(dir);
  const retries = s.retries ?? 2;
  const pollMs = 1000 * (s.pollSeconds ?? 2);
  const startTimeoutMs = 1000 * (s.startTimeoutSeconds ?? 600);
  const n = b.tasks.length;
  const results: (O | undefined)[] = new Array(n);
  const failures: TaskFailure[] = [];
  const jobIds: string[] = [];
  if (n === 0) return { results, failures, detached: false, jobIds };
  slurmCommand('sbatch', ['--version']);
  const rec = prepare(b, s);

  const done = new Set<number>();
  const readResult = (i: number): boolean => {
    if (done.has(i) || !existsSync(p.result(i))) return done.has(i);
    results[i] = decodeJson<O>(readFileSync(p.result(i), 'utf8'));
    done.add(i);
    hooks.onDone?.(i, results[i]!);
    return true;
  };
  for (let i = 0; i < n; i++) readResult(i);

  // Adopt the tasks a previous run left queued or running; submit the rest.
  let queue = rec.submissions.length > 0 ? queueState() : new Map<string, { state: string; reason: string }>();
  const live = new Map<number, string>();
  for (const [i, l] of liveTasks(rec, queue)) if (!done.has(i)) live.set(i, l.jobId);
  const attempts = new Array<number>(n).fill(0);
  const toSubmit: number[] = [];
  for (let i = 0; i < n; i++) if (!done.has(i) && !live.has(i)) toSubmit.push(i);
  const submitNow = (indices: number[]): void => {
    const id = submit(dir, rec, indices, s.maxRunning);
    jobIds.push(id);
    for (const i of indices) {
      attempts[i]!++;
      live.set(i, id);
    }
  };
  if (toSubmit.length > 0) submitNow(toSubmit);
  for (const id of live.values()) if (!jobIds.includes(id)) jobIds.push(id);
  if (s.detach || live.size === 0) return { results, failures, detached: live.size > 0, jobIds };

  let retried = 0;
  let lastStartMs = performance.now();
  let queueErrorSinceMs: number | undefined;
  const gone = new Map<number, number>();
  const seenRunning = new Set<string>();
  while (live.size > 0) {
    if (hooks.signal?.aborted) {
      cancel(live.values());
      return { results, failures, detached: false, jobIds, interrupted: String(hooks.signal.reason ?? 'aborted') };
    }
    try {
      queue = queueState();
      queueErrorSinceMs = undefined;
    } catch (e) {
      // A controller restart or a slow network: keep waiting a while before giving up (jobs left in place).
      queueErrorSinceMs ??= performance.now();
      if (performance.now() - queueErrorSinceMs > Math.max(60_000, 5 * pollMs)) {
        throw new AtomgpError(`${(e as Error).message} (for over a minute); the jobs ${jobIds.join(',')} were left in place: see atomgp status ${batch.dir}`);
      }
      await pollSleep(pollMs, hooks.signal);
      continue;
    }
    const resubmit: number[] = [];
    let running = 0;
    let queued = 0;
    let pendingReason = '';
    for (const [i, jobId] of [...live]) {
      const q = queue.get(`${jobId}_${i}`);
      if (readResult(i)) {
        live.delete(i);
        lastStartMs = performance.now();
        continue;
      }
      if (q) {
        gone.delete(i);
        if (q.state === 'PENDING') {
          queued++;
          pendingReason ||= q.reason;
        } else {
          running++;
          if (!seenRunning.has(`${jobId}_${i}`)) {
            seenRunning.add(`${jobId}_${i}`);
            lastStartMs = performance.now();
          }
        }
        continue;
      }
      // Out of the queue without a result; looked at twice, as a result may reach a shared file system late.
      const times = (gone.get(i) ?? 0) + 1;
      gone.set(i, times);
      if (times < 2) {
        running++;
        continue;
      }
      gone.delete(i);
      live.delete(i);
      if (attempts[i]! <= retries) resubmit.push(i);
      else failures.push({ index: i, label: b.tasks[i]!.label, attempts: attempts[i]!, message: failureMessage(dir, i), ...(lastLog(dir, rec, i) ? { logPath: lastLog(dir, rec, i)! } : {}) });
    }
    if (resubmit.length > 0) {
      retried += resubmit.length;
      submitNow(resubmit);
      queued += resubmit.length;
    }
    hooks.onStatus?.({ total: n, done: done.size, running, queued, failed: failures.length, retried, jobIds: [...jobIds] });
    if (running === 0 && queued > 0 && startTimeoutMs > 0 && performance.now() - lastStartMs > startTimeoutMs) {
      const ids = [...new Set(live.values())];
      cancel(ids);
      throw new AtomgpError(
        `no task of Slurm job(s) ${ids.join(',')} started within ${(startTimeoutMs / 1000).toFixed(0)} s (pending, reason: ${pendingReason || 'none given'}); the jobs were cancelled. Check the partition and node states with sinfo, or allow longer with --slurm-start-timeout`,
      );
    }
    if (live.size > 0) await pollSleep(pollMs, hooks.signal);
  }
  failures.sort((a, c) => a.index - c.index);
  return { results, failures, detached: false, jobIds };
}

/** Progress of a batch folder from its files and the queue (`atomgp status`). */
export interface BatchFolderStatus extends BatchStatus {
  dir: string;
  name: string;
  kind: string;
  /** Tasks that ended without a result and are not queued: label and last log. */
  unfinished: { index: number; label: string; message: string; logPath?: string }[];
  /** The queue could not be read (no squeue, or the controller is down). */
  queueError?: string;
}

export function batchFolderStatus(dir: string, queue?: Map<string, { state: string; reason: string }>): BatchFolderStatus | undefined {
  const rec = readRecord(dir);
  if (!rec) return undefined;
  const p = batchPaths(dir);
  let queueError: string | undefined;
  if (!queue) {
    try {
      queue = queueState();
    } catch (e) {
      queueError = (e as Error).message;
      queue = new Map();
    }
  }
  const live = liveTasks(rec, queue);
  let done = 0;
  let running = 0;
  let queued = 0;
  const unfinished: BatchFolderStatus['unfinished'] = [];
  rec.tasks.forEach((t, i) => {
    if (existsSync(p.result(i))) done++;
    else if (live.has(i)) live.get(i)!.state === 'PENDING' ? queued++ : running++;
    else {
      const log = lastLog(dir, rec, i);
      unfinished.push({ index: i, label: t.label, message: rec.submissions.some((s) => s.indices.includes(i)) ? failureMessage(dir, i) : 'not submitted', ...(log ? { logPath: log } : {}) });
    }
  });
  const submitted = rec.submissions.reduce((a, s) => a + s.indices.length, 0);
  return {
    dir,
    name: rec.name,
    kind: rec.kind,
    total: rec.tasks.length,
    done,
    running,
    queued,
    failed: queueError ? 0 : unfinished.length,
    retried: Math.max(0, submitted - rec.tasks.length),
    jobIds: rec.submissions.map((s) => s.jobId),
    unfinished: queueError ? [] : unfinished,
    ...(queueError ? { queueError } : {}),
  };
}

/** Batch folders (holding batch.json) under `root`, depth-first, at most three levels down. */
export function findBatchFolders(root: string, depth = 3): string[] {
  if (!existsSync(root)) return [];
  if (existsSync(join(root, 'batch.json'))) return [root];
  if (depth === 0) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .sort((a, c) => a.name.localeCompare(c.name))
    .flatMap((e) => findBatchFolders(join(root, e.name), depth - 1));
}
