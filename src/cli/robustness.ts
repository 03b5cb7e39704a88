/**
 * `atomgp robustness`: the prior-mean stability study (src/workflows/robustness/). Thin: parses
 * flags, prints progress on stderr and the stability table (or one JSON object) on stdout.
 */
import { parseArgs } from 'node:util';
import { DISTORTION_GRAMMAR } from '../analysis/distort.js';
import { ENERGY_CRITERIA, ENERGY_RUNAWAY_DIRECTIONS, type EnergyCriterion, type EnergyRunawayDirection } from '../dynamics/monitor.js';
import { AtomgpError } from '../errors.js';
import { DEFAULT_PRIOR, PRIOR_NAMES } from '../gp/fit/priors.js';
import { parseRepulsion } from '../gp/model/repulsion.js';
import { lockOutputDir, removeStaleTempFiles } from '../io/lock.js';
import { formatStudyText, parseTemperatures, runRobustnessStudy, studyJsonOutput } from '../workflows/robustness/index.js';
import { flagInteger, flagNumber } from './common.js';
import { abortOnSignals, EXECUTOR_HELP, EXECUTOR_OPTIONS, executorFromFlags, formatBatchStatus } from './executor-flags.js';

const HELP = `usage: atomgp robustness --models DIR --priors LIST --temperatures-K LIST --replicas R
                         --time-ps T --distort D --seed S --out DIR [options]

Refits the model set with each prior mean (from the training data stored in its files), distorts
the start geometry, checks whether the forces push the distorted bonds back, and runs Nosé–Hoover
NVT for every prior × temperature × replica. Writes OUT/study.json (table, validation, restoring
forces) and OUT/report.html; prints survivors / runs per prior and temperature.

  --models DIR              model folder (one iqa .model per atom, with training data)
  --priors LIST             comma-separated: default (the trainer's default, now ${DEFAULT_PRIOR}),
                            ${PRIOR_NAMES.join(', ')}
  --temperatures-K LIST     e.g. 300,500,1000 (each > 0)
  --replicas R              runs per prior and temperature (seeds S + t·R + r, same for every prior)
  --time-ps T               length of each run, ps
  --distort D               distortion of the start geometry, e.g. bonds:X-H*1.3 or bond:1-2=1.5
  --seed S                  seed of the distortion and of the velocities (default 1)
  --out DIR                 output folder (new, or the folder of a study to --resume)
options:
  --start FILE.xyz          start geometry (default: the minimum of the original models, found by
                            L-BFGS from the lowest-energy training geometry)
  --validation CSV|DIR      validation sets (SYSTEM_ATOM_VALIDATION_SET.csv); default: report
                            leave-one-out errors on the training set
  --timestep-fs DT          default 0.5
  --workers W               worker threads for refits and runs, default 2
  --keep-hyperparameters    keep each model's θ and σ² (only the mean and weights change)
  --refit-hyperparameters   re-optimise θ for each prior mean (default)
  --repulsion none|zbl      every prior's models with the ZBL repulsive prior term beyond the
                            training data (docs/repulsion.md; default none)
  --traj-stride N           trajectory frame every N steps, default 20
  --log-every N             log.csv line every N steps, default 10
  --checkpoint-every N      checkpoint every N steps, default 2000
  --relaxation-tol-A D      a distorted bond has relaxed when within D Å of its undistorted
                            length (first time, per run: relaxation_time_ps), default 0.1
  --energy-criterion strict|per-atom
                            strict (default): a hole 5 kcal/mol below each model's own minimum
                            (L-BFGS from the undistorted start) and a canonical upward bound;
                            per-atom: the old ±50 kcal/mol-per-atom band (docs/robustness.md)
  --energy-runaway-direction both|up
                            per-atom only: energy runaway measured from E_pot of the undistorted
                            start: both (default; a fall far below it is a hole) or up (rises only)
  --resume                  continue the study in OUT: finished runs are kept, interrupted runs
                            continue from their checkpoint, missing refits are redone; refused
                            if the settings differ from the recorded ones
  --json                    print one JSON object (table, summary, validation, restoring)
  -h, --help                this help

${EXECUTOR_HELP.replace('where the jobs run', 'where the refits and the MD matrix run (no --detach)')}
${DISTORTION_GRAMMAR}
`;

function num(name: string, v: string | undefined): number {
  if (v === undefined) throw new AtomgpError(`--${name} expects a number`);
  return flagNumber(name, v, 0);
}

const int = (name: string, v: string, min: number): number => flagInteger(name, v, 0, min);

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      models: { type: 'string' },
      priors: { type: 'string' },
      'temperatures-K': { type: 'string' },
      replicas: { type: 'string' },
      'time-ps': { type: 'string' },
      distort: { type: 'string' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      start: { type: 'string' },
      validation: { type: 'string' },
      'timestep-fs': { type: 'string', default: '0.5' },
      workers: { type: 'string', default: '2' },
      'keep-hyperparameters': { type: 'boolean', default: false },
      'refit-hyperparameters': { type: 'boolean', default: false },
      repulsion: { type: 'string' },
      'traj-stride': { type: 'string', default: '20' },
      'log-every': { type: 'string', default: '10' },
      'checkpoint-every': { type: 'string', default: '2000' },
      'relaxation-tol-A': { type: 'string', default: '0.1' },
      'energy-runaway-direction': { type: 'string', default: 'both' },
      'energy-criterion': { type: 'string' },
      resume: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...EXECUTOR_OPTIONS,
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new AtomgpError(`unexpected argument '${positionals[0]}' (see atomgp robustness --help)`);
  for (const flag of ['models', 'priors', 'temperatures-K', 'replicas', 'time-ps', 'distort', 'out'] as const) {
    if (values[flag] === undefined) throw new AtomgpError(`--${flag} is required (see atomgp robustness --help)`);
  }
  if (values['keep-hyperparameters'] && values['refit-hyperparameters']) throw new AtomgpError('--keep-hyperparameters and --refit-hyperparameters exclude each other');
  const temperaturesK = parseTemperatures(values['temperatures-K']!);
  const direction = values['energy-runaway-direction'] as EnergyRunawayDirection;
  if (!ENERGY_RUNAWAY_DIRECTIONS.includes(direction)) throw new AtomgpError(`--energy-runaway-direction must be ${ENERGY_RUNAWAY_DIRECTIONS.join(' or ')}, got '${direction}'`);
  const criterion = values['energy-criterion'] as EnergyCriterion | undefined;
  if (criterion !== undefined && !ENERGY_CRITERIA.includes(criterion)) throw new AtomgpError(`--energy-criterion must be ${ENERGY_CRITERIA.join(' or ')}, got '${criterion}'`);
  const relaxationTolA = num('relaxation-tol-A', values['relaxation-tol-A']);
  if (!(relaxationTolA > 0)) throw new AtomgpError(`--relaxation-tol-A expects a positive number of Å, got '${values['relaxation-tol-A']}'`);
  const workers = int('workers', values.workers!, 1);
  const executor = executorFromFlags(values, workers);
  if (executor.kind === 'slurm' && executor.slurm.detach) throw new AtomgpError('--detach applies to atomgp md; the study needs every run for its tables (run it in the foreground, e.g. under nohup, or in a batch job)');
  const tty = process.stderr.isTTY === true;
  let last = 0;
  const progressLine = (text: string, force: boolean): void => {
    const now = performance.now();
    if (!force && now - last < (tty ? 250 : 10000)) return;
    last = now;
    process.stderr.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
  };
  // One writer per output folder: a second study into the same --out is refused while this one runs.
  const lock = lockOutputDir(values.out!, { command: 'atomgp robustness', warn: (m) => process.stderr.write(`atomgp robustness: warning: ${m}\n`) });
  let result: Awaited<ReturnType<typeof runRobustnessStudy>>;
  // SIGINT/SIGTERM end the local runs after a checkpoint (or cancel the Slurm jobs); finished runs
  // stay for --resume. The CLI exits 130/143 (InterruptedError).
  const abort = abortOnSignals(executor, { local: true });
  try {
    removeStaleTempFiles(values.out!);
    result = await runRobustnessStudy({
      modelsDir: values.models!,
      priors: values.priors!.split(','),
      temperaturesK,
      replicas: int('replicas', values.replicas!, 1),
      timePs: num('time-ps', values['time-ps']),
      distort: values.distort!,
      seed: int('seed', values.seed!, 0),
      outDir: values.out!,
      resume: values.resume!,
      timestepFs: num('timestep-fs', values['timestep-fs']),
      workers,
      executor,
      keepHyperparameters: values['keep-hyperparameters']!,
      ...(values.repulsion !== undefined ? { repulsion: parseRepulsion(values.repulsion, '--repulsion') } : {}),
      ...(values.start !== undefined ? { startFile: values.start } : {}),
      ...(values.validation !== undefined ? { validation: values.validation } : {}),
      trajStride: int('traj-stride', values['traj-stride']!, 1),
      logEvery: int('log-every', values['log-every']!, 1),
      checkpointEvery: int('checkpoint-every', values['checkpoint-every']!, 0),
      relaxationTolA,
      monitor: { energyRunawayDirection: direction, ...(criterion !== undefined ? { energyCriterion: criterion } : {}) },
      onMessage: (text) => process.stderr.write(`${tty && last > 0 ? '\n' : ''}robustness: ${text}\n`),
      onProgress: (p) =>
        progressLine(
          `robustness: runs ${p.runsDone}/${p.runsTotal}${p.runsSkipped > 0 ? ` (${p.runsSkipped} already done)` : ''}, ` +
            `steps ${p.stepsDone}/${p.stepsTotal}, ${p.stepsPerSecond.toFixed(0)} steps/s, ETA ${formatDuration(p.etaSeconds)}`,
          p.runsDone === p.runsTotal,
        ),
      signal: abort.signal,
      onBatchStatus: (st) => progressLine(`robustness: ${formatBatchStatus(st)}`, st.done + st.failed === st.total),
    });
  } finally {
    abort.release();
    lock.release();
  }
  if (tty) process.stderr.write('\n');
  process.stdout.write(values.json ? JSON.stringify(studyJsonOutput(result)) + '\n' : formatStudyText(result));
  // Failed runs are results of the study, not errors of the command.
  return 0;
}
