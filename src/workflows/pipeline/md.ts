/**
 * Pipeline stage 7 (MD ensemble): NVT runs with every prior's models from the relaxed start →
 * runs/<prior>/T<K>_r<NN>/. A prior whose runs all finished under the same settings and models is
 * read back on resume; otherwise its runs are redone.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { massesAmu } from '../../chem/molecule.js';
import { runEnsembleWith, runLabel } from '../../dynamics/ensemble.js';
import { DEFAULT_EQUILIBRATION } from '../../dynamics/equilibrate.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../dynamics/integrators.js';
import { defaultOutputStrides } from '../../dynamics/output-strides.js';
import type { MdSummary } from '../../dynamics/run.js';
import { failuresError } from '../../exec/executor.js';
import { hashFile } from '../fingerprint.js';
import { readMdSummary } from '../md-summary.js';
import type { RelaxedMolecule } from './molecule.js';
import { finishedStage, interruptedError, pick, RECORD_FILES, recordStage, type StageContext } from './resume.js';
import { type DemoRun, modelSpec, type PipelineSettings, priorFolder } from './settings.js';
import type { PriorModels } from './train.js';

/**
 * Output intervals of the pipeline's NVT runs: bounded files for long runs (1 ns at 0.5 fs: a log
 * line every 20 steps, a frame every 200, 10 000 frames) and, for runs beyond 100 ps, a checkpoint
 * every 1/1000 of the run, so that a killed 1-ns run (or a session that ends) loses at most 1 ps.
 */
export function pipelineRunStrides(steps: number): { logEvery: number; trajStride: number; checkpointEvery: number } {
  const d = defaultOutputStrides(steps);
  return { logEvery: Math.max(20, d.logEvery), trajStride: Math.max(100, d.trajStride), checkpointEvery: d.checkpointEvery };
}

export const MD_KEYS = ['seed', 'mdTemperaturesK', 'mdTimePs', 'mdTimestepFs', 'replicas', 'repulsion'] as const;

export function mdSettings(s: PipelineSettings, prior: string): Record<string, unknown> {
  return pick(s, MD_KEYS, { prior });
}

export async function mdStage(ctx: StageContext, s: PipelineSettings, m: RelaxedMolecule, priors: readonly PriorModels[]): Promise<DemoRun[]> {
  const runs: DemoRun[] = [];
  const steps = Math.round((s.mdTimePs * 1000) / s.mdTimestepFs);
  const labels = s.mdTemperaturesK.flatMap((t) => Array.from({ length: s.replicas }, (_, r) => runLabel(t, r)));
  for (const p of priors) {
    const runRoot = join(ctx.outDir, 'runs', priorFolder(p.prior));
    const summaryFiles = labels.map((l) => join(runRoot, l, 'summary.json'));
    const inputs = [...p.files, m.file];
    const settings = mdSettings(s, p.prior);
    let summaries: MdSummary[];
    if (finishedStage(ctx, `md ${p.prior}`, RECORD_FILES.md(p.prior), settings, inputs, summaryFiles)) {
      summaries = summaryFiles.map(readMdSummary);
    } else {
      ctx.log(`md ${p.prior}${s.repulsion === 'zbl' ? ' + ZBL term' : ''}: ${labels.length} NVT run(s) of ${s.mdTimePs} ps at ${s.mdTemperaturesK.join(', ')} K`);
      const outcome = await runEnsembleWith(ctx.executor, {
        potentialSpec: modelSpec(s, p.dir),
        symbols: m.symbols,
        massesAmu: massesAmu(m.symbols),
        startPositionsA: m.startA,
        settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: s.mdTimestepFs, temperatureK: s.mdTemperaturesK[0]! },
        temperaturesK: s.mdTemperaturesK,
        replicas: s.replicas,
        steps,
        seed: s.seed,
        outDir: runRoot,
        mode: 'overwrite',
        // On resume, runs stopped by a signal (or killed after a checkpoint) continue from their checkpoints.
        ...(ctx.resume ? { continueCheckpointed: true } : {}),
        stop: ctx.stopFlag,
        // The models' contents in every run's checkpoint: a resume refuses models changed since.
        inputDigests: Object.fromEntries(p.files.map((f) => [basename(f), hashFile(f)])),
        // From the relaxed minimum: equilibrate first (no start-up overshoot), holes measured from the model's own minimum.
        equilibration: DEFAULT_EQUILIBRATION,
        energyMinimum: 'search',
        ...pipelineRunStrides(steps),
        progressEvery: 1000,
        onProgress: (q) => ctx.progress(`md ${p.prior}`, q.stepsDone / q.stepsTotal, `${q.runsDone}/${q.runsTotal} runs, ${Math.round(q.stepsPerSecond)} steps/s`),
      }, ctx.batchHooks);
      if (outcome.interrupted !== undefined) throw interruptedError(outcome.interrupted, `during the NVT runs of ${p.prior} (Slurm jobs cancelled, finished runs kept)`);
      const stopped = outcome.summaries.find((x) => x?.interrupted !== undefined)?.interrupted;
      if (stopped !== undefined) throw interruptedError(stopped, `during the NVT runs of ${p.prior} (every run has a checkpoint)`);
      if (outcome.failures.length > 0) throw failuresError(`md ${p.prior}`, outcome.failures);
      summaries = outcome.summaries as MdSummary[];
      if (summaryFiles.every((f) => existsSync(f))) recordStage(ctx, `md ${p.prior}`, RECORD_FILES.md(p.prior), settings, inputs);
    }
    for (const sm of summaries) {
      const replica = Number(/_r(\d+)$/.exec(sm.label ?? '')?.[1] ?? 0);
      runs.push({
        prior: p.prior,
        temperature_K: sm.temperatureK,
        replica,
        survived: sm.survived,
        time_ps: sm.simulatedTimeFs / 1000,
        time_to_failure_ps: sm.timeToFailureFs === null ? null : sm.timeToFailureFs / 1000,
        failure: sm.failure
          ? `${sm.failure.kind}${sm.failure.phase === 'equilibration' ? ` in the equilibration at ${(sm.failure.timeFs / 1000).toFixed(2)} ps` : sm.failure.phase === 'minimum-search' ? ' before the start' : ''}: ${sm.failure.reason}`
          : null,
        mean_temperature_K: sm.meanTemperatureK,
        run_dir: join('runs', priorFolder(p.prior), sm.label ?? ''),
      });
    }
    ctx.log(`md ${p.prior}: ${summaries.filter((x) => x.survived).length}/${summaries.length} survived`);
  }
  return runs;
}
