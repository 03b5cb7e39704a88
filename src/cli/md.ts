/**
 * `atomgp md`: molecular dynamics (NVE, Nosé–Hoover NVT, Langevin) on a GP model set or any
 * potential spec, with checkpoints, resume, a stability monitor and replica ensembles in worker
 * threads. Thin: parses flags and calls src/dynamics. See docs/cli.md.
 */

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { massesAmu } from '../chem/molecule.js';
import { type Fingerprint, readCheckpoint } from '../dynamics/checkpoint.js';
import { ensembleBatchDir, formatEnsembleTable, runEnsembleWith } from '../dynamics/ensemble.js';
import { DEFAULT_EQUILIBRATION, type EquilibrationSettings } from '../dynamics/equilibrate.js';
import { DEFAULT_INTEGRATOR_SETTINGS, ENSEMBLES, type Ensemble, type IntegratorSettings, type NhcMode, validateIntegratorSettings } from '../dynamics/integrators.js';
import { searchEnergyMinimum } from '../dynamics/minimum.js';
import {
  DEFAULT_MONITOR_OPTIONS,
  ENERGY_CRITERIA,
  ENERGY_RUNAWAY_DIRECTIONS,
  type EnergyCriterion,
  type EnergyRunawayDirection,
  type MonitorOptions,
  type MonitorReference,
} from '../dynamics/monitor.js';
import { outputStrides } from '../dynamics/output-strides.js';
import { checkResume, type EnergyMinimum, type MdSummary, type OutputMode, runMdInterruptible } from '../dynamics/run.js';
import type { MotionRemoval } from '../dynamics/state.js';
import { AtomgpError, INTERRUPTED_STATUS } from '../errors.js';
import { lockOutputDir, removeStaleTempFiles } from '../io/lock.js';
import { createPotential, type PotentialSpec, readPotentialSpec } from '../potentials/factory.js';
import { parseIpiReference } from '../potentials/ipi-driver.js';
import { flagInteger, flagNumber, flagRepulsion, parsePeriodicConvention, potentialInputDigests, readGeometryFrames } from './common.js';
import { EXECUTOR_HELP, EXECUTOR_OPTIONS, executorFromFlags, formatBatchStatus } from './executor-flags.js';

const HELP = `usage: atomgp md (--models DIR | --potential SPEC.json | --reference ipi:…) --start FILE.xyz --steps N --out DIR [options]

Molecular dynamics of one molecule. Units: Å, fs, amu, kcal/mol. Writes OUT/log.csv,
OUT/trajectory.extxyz (energies kcal/mol, forces kcal/mol/Å), OUT/summary.json and
OUT/checkpoint.json; an existing OUT is never overwritten without --overwrite or --resume.

potential and geometry:
  --models DIR                  GP model folder (one iqa .model per atom)
  --potential FILE.json         potential spec instead, e.g. {"kind":"analytic","spec":{...}}
  --reference ipi:unix:NAME | ipi:HOST:PORT
                                an i-PI client computes energies and forces (ASE SocketClient,
                                LAMMPS fix ipi, CP2K, …): atomgp listens at /tmp/ipi_NAME or
                                HOST:PORT and waits for it; append ?cell=L (cubic box, Å; LAMMPS
                                needs one) and &timeout=S (wait for the client, default 600 s).
                                One run per client; a client that dies leaves the last
                                checkpoint (every 10 steps by default) for --resume (docs/ase.md)
  --periodic-convention 2|4     force the periodic-kernel convention of the models
  --no-check                    skip the models' self-consistency check (as in predict)
  --repulsion none|zbl          zbl: add to the models' prior mean the ZBL nuclear repulsion of
                                every pair closer than in any training geometry, beyond its
                                tangent there (zero inside the training data; docs/repulsion.md).
                                Default: what DIR/potential.json records (the pipeline writes it
                                beside the models it trained), else none
  --start FILE                  start geometry (XYZ/extxyz, first frame; or DL_POLY CONFIG)
dynamics:
  --ensemble nve|nvt|langevin   default nvt (Nosé–Hoover chain)
  --temperature-K T[,T2,...]    temperature(s), default 300; also of the initial velocities
  --timestep-fs DT              default 0.5 (0 < DT ≤ 10)
  --steps N                     total steps (required; a resume continues up to N)
  --seed S                      random seed, default 1
  --chain-length M              Nosé–Hoover chain length, default 3
  --tau-fs TAU                  Nosé–Hoover time constant, default 100 fs
  --nhc global|massive          one chain on the total kinetic energy (DL_POLY style) or one chain
                                per Cartesian dof (ergodic for small molecules; N_dof = 3N); default massive
  --nhc-substeps NC             chain substeps, default 1
  --friction-per-ps G           Langevin friction, default 1 /ps
  --step-guard-kcal-per-mol G   a step whose conserved quantity moves by more than G is taken again
                                as 2, 4, … 1024 substeps until it moves by less than G/10 (counted
                                in the summary); default 0.5, 0: off
  --equilibrate-ps T            Langevin equilibration before the run, default 0.5 ps (0: none; none
                                at 0 K, and by default none with --reference-geometry, whose start
                                is deliberately distorted); not part of the run's time, statistics
                                or verdict; recorded in OUT/equilibration.csv|json and the summary
  --equilibrate-friction-per-ps G
                                its friction, default 10 /ps
  --remove-motion none|translation|translation+rotation
                                rigid motion removed (default translation+rotation: N_dof = 3N−6)
output:
  --out DIR                     output folder (required)
  --log-every N                 log.csv every N steps (default 1, or steps/200000 for longer runs)
  --traj-stride N               trajectory frame every N steps (default 10, or steps/10000)
  --checkpoint-every N          checkpoint every N steps (default: only at the end for runs up to
                                200000 steps, every steps/1000 (≥ 10000) beyond; 10 with an i-PI
                                reference, whose client may die mid-run). A resume keeps the run's
                                own log and trajectory intervals unless given
  --resume                      continue OUT from its checkpoint (bit-for-bit on the same
                                prediction kernel: native, wasm and ts differ in rounding)
  --overwrite                   replace the run in OUT
stability monitor (0 switches a check off):
  --bond-stretch-factor F       default 2 (× reference length of any reference bond; the reference
                                is the start unless --reference-geometry)
  --bond-compress-factor F      default 0.7 (a bond shorter than F × its reference length)
  --min-nonbonded-A D           default 0.5
  --new-bond-factor F           default 1.2: two heavy atoms not bonded in the reference closer than
                                F × the sum of their covalent radii (a bond the molecule does not have)
  --fragment-separation-A D     default 10
  --energy-criterion strict|per-atom
                                strict (default): a hole below the model's global minimum E_min and a
                                runaway above the canonical bound; per-atom: the old ±E·N band
  --hole-depth-kcal H           strict: E_pot below E_min − H is a hole, default 5 kcal/mol (total)
  --epot-min-kcal E             strict: the model's global minimum, kcal/mol (default: found by
                                L-BFGS from the start — the reference geometry instead when given —
                                and the frames of --minimum-from)
  --minimum-from FILE           more start geometries for that search (e.g. the training set)
  --minimum-starts K            at most K frames of --minimum-from, evenly spread, default 20
  --energy-runaway-per-atom E   per-atom: default 50 kcal/mol per atom
  --energy-runaway-direction both|up
                                per-atom: both (default): |E_pot − E_ref| counts; up: only rises
  --reference-geometry FILE     bonds, their reference lengths, fragments and E_ref for the monitor
                                from FILE (first frame, same atoms in the same order) instead of the
                                start: for a deliberately distorted start, give the undistorted one
  --continue-on-failure         record the first failure (also one in the equilibration) but keep running
ensembles:
  --replicas R                  replicas per temperature (different seeds), default 1
  --workers W                   worker threads, default 2
  -h, --help                    this help
${EXECUTOR_HELP.replace('where the jobs run', 'where the runs go (any --executor slurm run is an ensemble: OUT/T<T>_r<R>/)')}`;

const num = (name: string, v: string | undefined, fallback: number): number => flagNumber(name, v, fallback);
const int = (name: string, v: string | undefined, fallback: number, min = 0): number => flagInteger(name, v, fallback, min);

/** The flags that choose a potential, as parseArgs gives them (`atomgp md`, `atomgp opt`). */
export interface PotentialFlags {
  models?: string | undefined;
  potential?: string | undefined;
  'periodic-convention'?: string | undefined;
  'no-check'?: boolean | undefined;
  reference?: string | undefined;
  /** --repulsion none|zbl: the repulsive prior term of a GP model folder. */
  repulsion?: string | undefined;
}

/**
 * The potential spec from --models, --potential or --reference ipi:… (exactly one) and their
 * options. `symbols` (the start geometry's) tell an i-PI reference which atoms its client must hold.
 */
export function potentialSpecFromValues(flags: PotentialFlags, symbols: readonly string[]): PotentialSpec {
  const { models, potential: potentialFile, reference } = flags;
  const noCheck = flags['no-check'] ?? false;
  if ([models, potentialFile, reference].filter((x) => x !== undefined).length !== 1) {
    throw new AtomgpError('give exactly one of --models DIR, --potential SPEC.json and --reference ipi:unix:NAME|ipi:HOST:PORT');
  }
  if (models === undefined) {
    if (noCheck) throw new AtomgpError('--no-check applies to --models (a GP model folder)');
    if (flags.repulsion !== undefined) throw new AtomgpError('--repulsion applies to --models (a GP model folder)');
  }
  if (reference !== undefined) {
    if (!reference.startsWith('ipi:')) throw new AtomgpError(`--reference must be ipi:unix:NAME or ipi:HOST:PORT here (a GP model folder is --models), got '${reference}'`);
    return { kind: 'ipi', spec: parseIpiReference(reference, symbols) };
  }
  if (models !== undefined) {
    const p = parsePeriodicConvention(flags['periodic-convention']);
    const repulsion = flagRepulsion(flags.repulsion, models);
    // `check` and `repulsion` are recorded only when not the default, so specs (and checkpoint fingerprints) of earlier runs are unchanged.
    return {
      kind: 'gp-models',
      dir: resolve(models),
      ...(p !== undefined ? { periodicPrefactor: p } : {}),
      ...(noCheck ? { check: false } : {}),
      ...(repulsion !== 'none' ? { repulsion } : {}),
    };
  }
  return readPotentialSpec(potentialFile!);
}

/** Send EXIT to an i-PI client (or release any other held resource) when the run is over. */
export function disposePotential(p: unknown): void {
  const d = (p as { dispose?: () => void } | undefined)?.dispose;
  if (typeof d === 'function') d.call(p);
}

/** First frame of the start file, checked to be an isolated molecule. */
export function readStart(file: string | undefined): { symbols: string[]; positionsA: Float64Array } {
  if (!file) throw new AtomgpError('--start FILE is required (the start geometry)');
  const frame = readGeometryFrames(file)[0]!;
  if (frame.cellA) throw new AtomgpError(`${file}: periodic geometries are not supported here yet (isolated molecules only)`);
  return { symbols: frame.symbols, positionsA: frame.positionsA };
}

/** `--reference-geometry`: the first frame, with the start's atoms in the same order. */
export function readReferenceGeometry(file: string, startSymbols: readonly string[]): MonitorReference {
  const ref = readStart(file);
  if (ref.symbols.length !== startSymbols.length || ref.symbols.some((s, i) => s.toLowerCase() !== startSymbols[i]!.toLowerCase())) {
    const at = ref.symbols.findIndex((s, i) => s.toLowerCase() !== startSymbols[i]?.toLowerCase());
    const what = ref.symbols.length !== startSymbols.length ? `${ref.symbols.length} atoms, the start has ${startSymbols.length}` : `atom ${at + 1} is ${ref.symbols[at]}, the start has ${startSymbols[at]} there`;
    throw new AtomgpError(`--reference-geometry ${file}: ${what} (same atoms in the same order needed)`);
  }
  return { positionsA: Array.from(ref.positionsA) };
}

/** Up to `max` frames of FILE, evenly spread, with the start's atoms in the same order. */
export function readMinimumStarts(file: string, startSymbols: readonly string[], max: number): Float64Array[] {
  const frames = readGeometryFrames(file);
  const out: Float64Array[] = [];
  const take = Math.min(max, frames.length);
  for (let k = 0; k < take; k++) {
    const f = frames[Math.floor((k * frames.length) / take)]!;
    if (f.symbols.length !== startSymbols.length || f.symbols.some((s, i) => s.toLowerCase() !== startSymbols[i]!.toLowerCase())) {
      throw new AtomgpError(`--minimum-from ${file}: a frame's atoms differ from the start's (same atoms in the same order needed)`);
    }
    out.push(f.positionsA);
  }
  return out;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function printSummary(s: MdSummary): void {
  const lines = [
    `${s.survived ? 'survived' : 'FAILED'}: ${s.stepsCompleted}/${s.stepsRequested} steps (${(s.simulatedTimeFs / 1000).toFixed(3)} ps), ${s.ensemble} at ${s.temperatureK} K, dt ${s.timestepFs} fs`,
    s.equilibration
      ? `equilibration: ${(s.equilibration.timeFs / 1000).toFixed(3)} ps Langevin (γ ${s.equilibration.frictionPerPs} /ps), T over its 2nd half ${s.equilibration.meanTemperatureSecondHalfK.toFixed(1)} K, max ${s.equilibration.runningWindowFs}-fs mean ${s.equilibration.maxRunningTemperatureK.toFixed(1)} K (bound ${s.equilibration.temperatureBoundK.toFixed(0)} K)`
      : '',
    s.failure
      ? `failure${s.failure.phase ? ` in the ${s.failure.phase}` : ''} at step ${s.failure.step} (${(s.failure.timeFs / 1000).toFixed(4)} ps): ${s.failure.kind}: ${s.failure.reason}`
      : '',
    `energy criteria: ${s.energyCriteria.criterion}; E_min ${s.energyCriteria.epotMinimumKcalPerMol.toFixed(3)} kcal/mol (${s.energyCriteria.epotMinimumSource})`,
    s.monitorReference
      ? `monitor reference (--reference-geometry): ${s.monitorReference.bonds.length} bonds, E_ref ${s.monitorReference.epotKcalPerMol.toFixed(4)} kcal/mol`
      : '',
    `mean T ${s.meanTemperatureK.toFixed(2)} K (N_dof ${s.nDof}), mean Epot ${s.meanEpotKcalPerMol.toFixed(4)} kcal/mol`,
    `conserved quantity: drift ${s.conservedDriftKcalPerMol.toExponential(3)} kcal/mol, max |drift| ${s.maxAbsConservedDriftKcalPerMol.toExponential(3)} kcal/mol`,
    `speed ${s.stepsPerSecond.toFixed(0)} steps/s, ${s.nsPerDay.toFixed(2)} ns/day`,
  ];
  process.stdout.write(lines.filter((l) => l !== '').join('\n') + '\n');
}

/** The fingerprint of the checkpoint a resume continues (the run's, or the first replica's), if any. */
function resumedFingerprint(out: string): Fingerprint | undefined {
  const files = [join(out, 'checkpoint.json')];
  if (existsSync(out) && statSync(out).isDirectory()) {
    for (const d of readdirSync(out).sort()) files.push(join(out, d, 'checkpoint.json'));
  }
  const f = files.find((x) => existsSync(x));
  return f ? readCheckpoint(f).fingerprint : undefined;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      models: { type: 'string' },
      potential: { type: 'string' },
      reference: { type: 'string' },
      'periodic-convention': { type: 'string' },
      'no-check': { type: 'boolean', default: false },
      repulsion: { type: 'string' },
      start: { type: 'string' },
      ensemble: { type: 'string', default: 'nvt' },
      'temperature-K': { type: 'string', default: '300' },
      'timestep-fs': { type: 'string', default: '0.5' },
      steps: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'chain-length': { type: 'string' },
      'tau-fs': { type: 'string' },
      'step-guard-kcal-per-mol': { type: 'string' },
      nhc: { type: 'string', default: 'massive' },
      'nhc-substeps': { type: 'string' },
      'friction-per-ps': { type: 'string' },
      'equilibrate-ps': { type: 'string' },
      'equilibrate-friction-per-ps': { type: 'string' },
      'remove-motion': { type: 'string', default: 'translation+rotation' },
      out: { type: 'string' },
      'log-every': { type: 'string' },
      'traj-stride': { type: 'string' },
      'checkpoint-every': { type: 'string' },
      resume: { type: 'boolean', default: false },
      overwrite: { type: 'boolean', default: false },
      'bond-stretch-factor': { type: 'string' },
      'bond-compress-factor': { type: 'string' },
      'energy-criterion': { type: 'string' },
      'hole-depth-kcal': { type: 'string' },
      'epot-min-kcal': { type: 'string' },
      'minimum-from': { type: 'string' },
      'minimum-starts': { type: 'string' },
      'min-nonbonded-A': { type: 'string' },
      'new-bond-factor': { type: 'string' },
      'fragment-separation-A': { type: 'string' },
      'energy-runaway-per-atom': { type: 'string' },
      'energy-runaway-direction': { type: 'string' },
      'reference-geometry': { type: 'string' },
      'continue-on-failure': { type: 'boolean', default: false },
      replicas: { type: 'string', default: '1' },
      workers: { type: 'string', default: '2' },
      ...EXECUTOR_OPTIONS,
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new AtomgpError(`unexpected argument '${positionals[0]}' (see atomgp md --help)`);
  if (!values.out) throw new AtomgpError('--out DIR is required');
  const outDir = values.out;
  if (values.steps === undefined) throw new AtomgpError('--steps N is required');
  if (values.resume && values.overwrite) throw new AtomgpError('--resume and --overwrite exclude each other');
  const ensemble = values.ensemble as Ensemble;
  if (!ENSEMBLES.includes(ensemble)) throw new AtomgpError(`--ensemble must be one of ${ENSEMBLES.join(', ')}, got '${values.ensemble}'`);
  const removal = values['remove-motion'] as MotionRemoval;
  if (!['none', 'translation', 'translation+rotation'].includes(removal)) {
    throw new AtomgpError(`--remove-motion must be none, translation or translation+rotation, got '${removal}'`);
  }
  const temperatures = values['temperature-K']!.split(',').map((t) => num('temperature-K', t, 300));
  const settings: IntegratorSettings = {
    ...DEFAULT_INTEGRATOR_SETTINGS,
    ensemble,
    timestepFs: num('timestep-fs', values['timestep-fs'], 0.5),
    temperatureK: temperatures[0]!,
    chainLength: int('chain-length', values['chain-length'], DEFAULT_INTEGRATOR_SETTINGS.chainLength, 1),
    tauFs: num('tau-fs', values['tau-fs'], DEFAULT_INTEGRATOR_SETTINGS.tauFs),
    nhcMode: values.nhc as NhcMode,
    nhcSubsteps: int('nhc-substeps', values['nhc-substeps'], DEFAULT_INTEGRATOR_SETTINGS.nhcSubsteps, 1),
    frictionPerPs: num('friction-per-ps', values['friction-per-ps'], DEFAULT_INTEGRATOR_SETTINGS.frictionPerPs),
    motionRemoval: removal,
    stepGuardKcalPerMol: num('step-guard-kcal-per-mol', values['step-guard-kcal-per-mol'], DEFAULT_INTEGRATOR_SETTINGS.stepGuardKcalPerMol),
  };
  for (const t of temperatures) validateIntegratorSettings({ ...settings, temperatureK: t });
  const monitor: Partial<MonitorOptions> = {
    bondStretchFactor: num('bond-stretch-factor', values['bond-stretch-factor'], DEFAULT_MONITOR_OPTIONS.bondStretchFactor),
    bondCompressFactor: num('bond-compress-factor', values['bond-compress-factor'], DEFAULT_MONITOR_OPTIONS.bondCompressFactor),
    holeDepthKcalPerMol: num('hole-depth-kcal', values['hole-depth-kcal'], DEFAULT_MONITOR_OPTIONS.holeDepthKcalPerMol),
    minNonBondedA: num('min-nonbonded-A', values['min-nonbonded-A'], DEFAULT_MONITOR_OPTIONS.minNonBondedA),
    newBondFactor: num('new-bond-factor', values['new-bond-factor'], DEFAULT_MONITOR_OPTIONS.newBondFactor),
    fragmentSeparationA: num('fragment-separation-A', values['fragment-separation-A'], DEFAULT_MONITOR_OPTIONS.fragmentSeparationA),
    energyRunawayKcalPerMolPerAtom: num('energy-runaway-per-atom', values['energy-runaway-per-atom'], DEFAULT_MONITOR_OPTIONS.energyRunawayKcalPerMolPerAtom),
  };
  if (values['energy-runaway-direction'] !== undefined) {
    const d = values['energy-runaway-direction'] as EnergyRunawayDirection;
    if (!ENERGY_RUNAWAY_DIRECTIONS.includes(d)) throw new AtomgpError(`--energy-runaway-direction must be ${ENERGY_RUNAWAY_DIRECTIONS.join(' or ')}, got '${d}'`);
    monitor.energyRunawayDirection = d;
  }
  if (values['energy-criterion'] !== undefined) {
    const c = values['energy-criterion'] as EnergyCriterion;
    if (!ENERGY_CRITERIA.includes(c)) throw new AtomgpError(`--energy-criterion must be ${ENERGY_CRITERIA.join(' or ')}, got '${c}'`);
    monitor.energyCriterion = c;
  }
  if (!(monitor.bondCompressFactor! >= 0 && monitor.bondCompressFactor! < 1)) throw new AtomgpError(`--bond-compress-factor must be in [0, 1) (0: off), got ${monitor.bondCompressFactor}`);
  if (!(monitor.newBondFactor! >= 0)) throw new AtomgpError(`--new-bond-factor must be ≥ 0 (0: off), got ${monitor.newBondFactor}`);
  if (!(monitor.holeDepthKcalPerMol! >= 0)) throw new AtomgpError(`--hole-depth-kcal must be ≥ 0, got ${monitor.holeDepthKcalPerMol}`);
  const equilibration: EquilibrationSettings = {
    // A --reference-geometry start is deliberately distorted: equilibrating would relax it first.
    timeFs: 1000 * num('equilibrate-ps', values['equilibrate-ps'], values['reference-geometry'] !== undefined ? 0 : DEFAULT_EQUILIBRATION.timeFs / 1000),
    frictionPerPs: num('equilibrate-friction-per-ps', values['equilibrate-friction-per-ps'], DEFAULT_EQUILIBRATION.frictionPerPs),
  };
  if (!(equilibration.timeFs >= 0)) throw new AtomgpError(`--equilibrate-ps must be ≥ 0, got '${values['equilibrate-ps']}'`);
  if (!(equilibration.frictionPerPs > 0)) throw new AtomgpError(`--equilibrate-friction-per-ps must be > 0, got '${values['equilibrate-friction-per-ps']}'`);
  const minimumStarts = int('minimum-starts', values['minimum-starts'], 20, 1);
  const steps = int('steps', values.steps, 0, 0);
  const seed = int('seed', values.seed, 1, 0);
  const replicas = int('replicas', values.replicas, 1, 1);
  const workers = int('workers', values.workers, 2, 1);
  const executor = executorFromFlags(values, workers);
  const single = replicas === 1 && temperatures.length === 1 && executor.kind === 'local';
  const mode: OutputMode = values.resume ? 'resume' : values.overwrite ? 'overwrite' : 'new';
  const start = readStart(values.start);
  const spec = potentialSpecFromValues(values, start.symbols);
  if (spec.kind === 'ipi' && (replicas > 1 || temperatures.length > 1)) {
    throw new AtomgpError('an i-PI reference serves one run: give one temperature and --replicas 1 (or start one atomgp md per client)');
  }
  const masses = massesAmu(start.symbols);
  const monitorReference = values['reference-geometry'] !== undefined ? readReferenceGeometry(values['reference-geometry'], start.symbols) : undefined;
  const extraStarts = values['minimum-from'] !== undefined ? readMinimumStarts(values['minimum-from'], start.symbols, minimumStarts) : [];
  const inputDigests = potentialInputDigests(spec as { kind?: string; dir?: string });
  const base = {
    ...(inputDigests !== undefined ? { inputDigests } : {}),
    symbols: start.symbols,
    startPositionsA: start.positionsA,
    massesAmu: masses,
    steps,
    seed,
    mode,
    // Unless given: bounded output for long runs, the resumed run's own intervals (output-strides.ts).
    ...outputStrides(
      steps,
      {
        ...(values['log-every'] !== undefined ? { logEvery: int('log-every', values['log-every'], 1, 1) } : {}),
        ...(values['traj-stride'] !== undefined ? { trajStride: int('traj-stride', values['traj-stride'], 10, 1) } : {}),
        // A client of an i-PI reference can die mid-run: by default it then loses at most 10 steps.
        ...(values['checkpoint-every'] !== undefined || spec.kind === 'ipi' ? { checkpointEvery: int('checkpoint-every', values['checkpoint-every'], 10, 0) } : {}),
      },
      mode === 'resume' ? resumedFingerprint(values.out!) : undefined,
    ),
    monitor,
    ...(monitorReference !== undefined ? { monitorReference } : {}),
    continueOnFailure: values['continue-on-failure']!,
    ...(equilibration.timeFs > 0 ? { equilibration } : {}),
  };
  // E_min (the hole criterion's baseline) is searched once the output folder is ours: a bad --out fails first.
  let common: typeof base & { energyMinimum?: EnergyMinimum } = base;
  const tty = process.stderr.isTTY === true;
  let lastPrint = 0;
  const progress = (text: string, force = false): void => {
    const now = performance.now();
    if (!force && now - lastPrint < (tty ? 250 : 10000)) return;
    lastPrint = now;
    process.stderr.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
  };

  // The models are loaded (and checked) once for the resume check, the minimum search and the run.
  let loaded: Awaited<ReturnType<typeof createPotential>> | undefined;
  const mainPotential = async (): Promise<Awaited<ReturnType<typeof createPotential>>> => {
    loaded ??= await createPotential(spec);
    return loaded;
  };

  // One writer per output folder; temporary files of a killed run's atomic writes are removed.
  if (mode === 'resume' && !existsSync(values.out)) throw new AtomgpError(`cannot resume: output folder ${values.out} does not exist`);
  const lock = lockOutputDir(values.out, { command: 'atomgp md', warn: (m) => process.stderr.write(`atomgp md: warning: ${m}\n`) });
  try {
    removeStaleTempFiles(values.out);
    // A resume that would be refused is refused before the minimum search.
    if (mode === 'resume' && single) {
      checkResume({ ...base, potential: await mainPotential(), potentialSpec: spec, settings, outDir });
    }
    let energyMinimum: EnergyMinimum | undefined;
    if (values['epot-min-kcal'] !== undefined) {
      energyMinimum = { epotKcalPerMol: num('epot-min-kcal', values['epot-min-kcal'], 0), source: 'given (--epot-min-kcal)' };
    } else if ((monitor.energyCriterion ?? DEFAULT_MONITOR_OPTIONS.energyCriterion) === 'strict') {
      const potential = await mainPotential();
      // A distorted start (with --reference-geometry) is not searched from: it may slide into a hole of the model.
      energyMinimum = searchEnergyMinimum({
        potential,
        symbols: start.symbols,
        startPositionsA: start.positionsA,
        ...(monitorReference?.positionsA ? { referencePositionsA: monitorReference.positionsA } : {}),
        extraStarts,
        ...(values['minimum-from'] !== undefined ? { extraStartsLabel: values['minimum-from'] } : {}),
      });
      process.stderr.write(`md: model minimum E_min = ${energyMinimum.epotKcalPerMol.toFixed(3)} kcal/mol (${energyMinimum.source})\n`);
    }
    if (energyMinimum !== undefined) common = { ...base, energyMinimum };
    return await runLocked();
  } finally {
    disposePotential(loaded);
    lock.release();
  }

  async function runLocked(): Promise<number> {
    if (single) {
      const potential = await mainPotential();
      // SIGINT/SIGTERM end the run after the current chunk of steps with a final checkpoint; a
      // second signal while that is written is ignored (the checkpoint is written atomically anyway).
      let signal: NodeJS.Signals | undefined;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (signal === undefined) process.stderr.write(`${tty ? '\n' : ''}atomgp md: ${sig} received: stopping after the current step, writing a checkpoint\n`);
        signal ??= sig;
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const t0 = performance.now();
      let first = -1;
      let summary: MdSummary;
      try {
        summary = await runMdInterruptible(
          {
            ...common,
            potential,
            potentialSpec: spec,
            settings,
            outDir,
            progressEvery: 100,
            onProgress: (step) => {
              if (first < 0) first = step;
              const rate = (step - first) / ((performance.now() - t0) / 1000);
              const eta = rate > 0 ? (steps - step) / rate : Number.POSITIVE_INFINITY;
              progress(`md: step ${step}/${steps}, ${rate.toFixed(0)} steps/s, ETA ${formatDuration(eta)}`);
            },
          },
          () => signal,
        );
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (tty) process.stderr.write('\n');
      printSummary(summary);
      if (summary.interrupted !== undefined) {
        process.stderr.write(
          `atomgp md: interrupted by ${summary.interrupted} at step ${summary.stepsCompleted}; checkpoint written, continue with --resume\n`,
        );
        return INTERRUPTED_STATUS[summary.interrupted] ?? 130;
      }
      return summary.survived ? 0 : 1;
    }

    // Replicas run in worker threads: a signal sets a shared flag that every run polls between
    // chunks of steps; each writes a final checkpoint (runs not started yet stop at step 0).
    // On Slurm a signal cancels the batch's jobs (their runs checkpoint on the SIGTERM scancel sends).
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const abort = new AbortController();
    const onSignal = (sig: NodeJS.Signals): void => {
      if (Atomics.load(stop, 0) === 0) {
        process.stderr.write(`${tty ? '\n' : ''}atomgp md: ${sig} received: ${executor.kind === 'slurm' ? 'cancelling the Slurm jobs' : 'stopping every run after its current step, writing checkpoints'}\n`);
      }
      Atomics.compareExchange(stop, 0, 0, sig === 'SIGINT' ? 2 : 15);
      abort.abort(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let outcome: Awaited<ReturnType<typeof runEnsembleWith>>;
    try {
      outcome = await runEnsembleWith(
        executor,
        {
          ...common,
          potentialSpec: spec,
          settings,
          temperaturesK: temperatures,
          replicas,
          outDir,
          stop,
          onProgress: (p) =>
            progress(
              `md: ${p.runsDone}/${p.runsTotal} runs, ${p.stepsDone}/${p.stepsTotal} steps, ${p.stepsPerSecond.toFixed(0)} steps/s, ETA ${formatDuration(p.etaSeconds)}`,
              p.runsDone === p.runsTotal,
            ),
        },
        { signal: abort.signal, onStatus: (st) => progress(`md: ${formatBatchStatus(st)}`, st.done + st.failed === st.total) },
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (tty) process.stderr.write('\n');
    if (outcome.detached) {
      process.stdout.write(
        `submitted Slurm job ${outcome.jobIds.join(',')} (${outcome.summaries.length} runs; batch in ${ensembleBatchDir(outDir)})\n` +
          `progress: atomgp status ${outDir}; gather: atomgp collect ${outDir} (or rerun this command)\n`,
      );
      return 0;
    }
    const summaries = outcome.summaries.filter((s): s is MdSummary => s !== undefined);
    process.stdout.write(formatEnsembleTable(summaries));
    if (outcome.interrupted !== undefined) {
      process.stderr.write(`atomgp md: interrupted by ${outcome.interrupted}; Slurm jobs cancelled, finished runs kept: rerun the same command to continue\n`);
      return INTERRUPTED_STATUS[outcome.interrupted] ?? 130;
    }
    for (const f of outcome.failures) {
      process.stderr.write(`atomgp md: run ${f.label} failed after ${f.attempts} attempt(s): ${f.message}${f.logPath ? `; log: ${f.logPath}` : ''}\n`);
    }
    if (outcome.failures.length > 0) {
      process.stderr.write(`atomgp md: ${summaries.length}/${outcome.summaries.length} runs finished and are kept; rerun the same command to retry the others\n`);
      return 1;
    }
    const interrupted = summaries.find((s) => s.interrupted !== undefined)?.interrupted;
    if (interrupted !== undefined) {
      process.stderr.write(`atomgp md: interrupted by ${interrupted}; every run has a checkpoint, continue with --resume\n`);
      return INTERRUPTED_STATUS[interrupted] ?? 130;
    }
    return summaries.every((s) => s.survived) ? 0 : 1;
  }
}
