/**
 * One task of a batch, run where the scheduler put it (`atomgp task DIR/tasks/<i>.json`): reads
 * the task, runs its kind's runner, writes the result atomically to DIR/results/<i>.json (or the
 * error message to DIR/errors/<i>.txt and fails). The runner learns how many attempts started
 * before it, so it can continue what a killed attempt left (dynamics/md-task.ts does).
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { AtomgpError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { decodeJson, encodeJson } from './codec.js';
import { batchPaths } from './slurm.js';

export interface TaskContext {
  index: number;
  label: string;
  /** Attempts of this task that started before this one (0 on the first). */
  previousAttempts: number;
}

/** A task kind's runner: plain-data input → plain-data result. */
export type TaskRunner = (input: never, ctx: TaskContext) => unknown;

export type TaskKinds = Record<string, () => Promise<TaskRunner>>;

export async function runTaskFile(file: string, kinds: TaskKinds): Promise<void> {
  const path = resolve(file);
  if (!existsSync(path)) throw new AtomgpError(`task file ${file} does not exist`);
  const task = decodeJson<{ kind: string; label: string; index: number; input: unknown }>(readFileSync(path, 'utf8'));
  if (typeof task.kind !== 'string' || !Number.isInteger(task.index)) throw new AtomgpError(`${file}: not an atomgp task file (kind and index expected)`);
  const load = kinds[task.kind];
  if (!load) throw new AtomgpError(`${file}: unknown task kind '${task.kind}' (known: ${Object.keys(kinds).join(', ')})`);
  const p = batchPaths(dirname(dirname(path)));
  const started = p.started(task.index);
  const previousAttempts = existsSync(started) ? readFileSync(started, 'utf8').split('\n').filter((l) => l !== '').length : 0;
  appendFileSync(started, `${new Date().toISOString()} ${hostname()} job ${process.env.SLURM_JOB_ID ?? '-'} pid ${process.pid}\n`);
  // An earlier attempt's message must not be reported for this one (which may end by a signal, writing none).
  rmSync(p.error(task.index), { force: true });
  const runner = await load();
  try {
    const result = await runner(task.input as never, { index: task.index, label: task.label, previousAttempts });
    writeFileAtomic(p.result(task.index), encodeJson(result));
    rmSync(p.error(task.index), { force: true });
  } catch (e) {
    writeFileAtomic(p.error(task.index), `${(e as Error).message.split('\n')[0]}\n`);
    throw e;
  }
}
