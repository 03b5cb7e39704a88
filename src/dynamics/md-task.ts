/**
 * One ensemble run as a scheduled task (`atomgp task`, exec/task.ts): the same job record and the
 * same `runMd` computation as a worker thread of ensemble.ts, in a process of its own.
 * SIGTERM (what Slurm sends on scancel, preemption or the time limit) ends the run after its
 * current chunk of steps with a checkpoint and fails the task, so the resubmitted attempt resumes
 * from that checkpoint bit for bit.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AtomgpError } from '../errors.js';
import { createPotential } from '../potentials/factory.js';
import type { EnsembleJob } from './ensemble.js';
import { type MdSummary, type OutputMode, runMdInterruptible } from './run.js';

export async function runMdTask(job: EnsembleJob, ctx: { previousAttempts: number }): Promise<MdSummary> {
  let mode: OutputMode = job.run.mode;
  // A run folder left by an earlier attempt of this very task is ours to continue or redo.
  if (mode === 'new' && ctx.previousAttempts > 0 && existsSync(job.run.outDir)) mode = existsSync(join(job.run.outDir, 'checkpoint.json')) ? 'resume' : 'overwrite';
  let signal: string | undefined;
  const onTerm = (): void => {
    signal ??= 'SIGTERM';
  };
  process.on('SIGTERM', onTerm);
  try {
    const potential = await createPotential(job.potentialSpec);
    const summary = await runMdInterruptible(
      {
        ...job.run,
        mode,
        potential,
        potentialSpec: job.potentialSpec,
        massesAmu: Float64Array.from(job.massesAmu),
        startPositionsA: Float64Array.from(job.startPositionsA),
      },
      () => signal,
    );
    if (summary.interrupted !== undefined) throw new AtomgpError(`run ${job.run.label}: ${summary.interrupted} at step ${summary.stepsCompleted}; checkpoint written, a retry resumes from it`);
    return summary;
  } finally {
    process.off('SIGTERM', onTerm);
  }
}
