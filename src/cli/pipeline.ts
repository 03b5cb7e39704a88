/**
 * `atomgp pipeline` (sample → label → train → validate → MD check) and `atomgp demo` (the same on
 * built-in defaults: malondialdehyde on the built-in force field, default prior and `min`, NVT at
 * 1000 K). Thin: parses flags, calls src/workflows/pipeline, prints the summary.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import { DEFAULT_PRIOR } from '../gp/fit/priors.js';
import { lockOutputDir, removeStaleTempFiles } from '../io/lock.js';
import type { SelectionRule } from '../sampling/select.js';
import {
  checkReference,
  DEMO_DEFAULTS,
  formatDemoSummary,
  jsonSummary,
  type LabelMode,
  type PipelineSettings,
  type PriorMode,
  type ReferenceKind,
  runPipeline,
} from '../workflows/pipeline/index.js';
import { flagInteger, flagNumber, stderrProgress } from './common.js';
import { abortOnSignals, EXECUTOR_HELP, EXECUTOR_OPTIONS, executorFromFlags, formatBatchStatus } from './executor-flags.js';

const FLAGS = `
  --molecule NAME            built-in molecule: water, ammonia, malondialdehyde, glycine, serine,
                             aspirin, alanine-dipeptide (aliases: mal, gly, ser, asp, ala2, …)
  --smiles S                 build the molecule from SMILES (OpenChemLib + MMFF94s)
  --start FILE.xyz           start from a geometry (bonds from distances)
  --reference builtin|xtb|ipi:unix:NAME|ipi:HOST:PORT
                             reference potential: the built-in UFF-style force field (exact atomic
                             energies), GFN2-xTB, or any i-PI client (ASE calculator, LAMMPS, a DFT
                             code; atomgp listens for it, see docs/ase.md); the last two give total
                             energies → additive GP; default builtin
  --out DIR                  output folder
  --overwrite | --resume     replace an earlier run in DIR, or continue it (finished stages are reused)
  --seed S                   seed of every random choice (default 1)
  --sample-temperature-K T   WTMetaD temperature (default ${DEMO_DEFAULTS.sampleTemperatureK})
  --sample-steps N           WTMetaD steps (default ${DEMO_DEFAULTS.sampleSteps}); --sample-timestep-fs (default ${DEMO_DEFAULTS.sampleTimestepFs})
  --harvest-every N          keep a frame every N steps (default ${DEMO_DEFAULTS.harvestEvery})
  --bias-factor G            well-tempered bias factor γ (default ${DEMO_DEFAULTS.biasFactor})
  --hill-height KCAL         initial hill height w0, kcal/mol (default ${DEMO_DEFAULTS.hillHeightKcalPerMol})
  --hill-width-deg D         hill width of angle/dihedral CVs, degrees (default ${DEMO_DEFAULTS.hillWidthDeg}); --hill-width-A for distances
  --hill-stride N            deposit a hill every N steps (default ${DEMO_DEFAULTS.hillStrideSteps})
  --bond-wall F              upper walls (200 kcal/mol/Å²) on every start bond beyond F × its length
                             while sampling, so the reference cannot react (default ${DEMO_DEFAULTS.bondWallFactor}; 0: none)
  --proton-transfer          also sample proton transfer: a CV d(donor, H) − d(H, acceptor) for every
                             O/N-bonded H with another O/N within 2.5 Å at the minimum, whose donor
                             wall becomes a wall on d(donor, H) + d(H, acceptor). Default: for the
                             hydrogens whose transfer the reference makes within 1 ns at the highest
                             --temperatures-K (a tautomer, and a barrier crossable by transition-state
                             theory; docs/proton-transfer.md); --no-proton-transfer: for none
  --n-train N, --n-valid N   training / validation frames (default ${DEMO_DEFAULTS.nTrain} / ${DEMO_DEFAULTS.nValid})
  --selection farthest|random  training-set rule (farthest-point in inverse distances; default farthest)
                             (atomic labels also write ichor/FEREBUS CSV sets to DIR/data/csv)
  --gaussian                 also write Gaussian inputs of the selected frames (output=wfn, for the
                             AIMAll IQA route) to DIR/data/gaussian/{train,valid}; --gaussian-method M
                             and --gaussian-basis B (default ${DEMO_DEFAULTS.gaussianMethod}, ${DEMO_DEFAULTS.gaussianBasis})
  --labels auto|atomic|total atomic energies (one GP per atom on its label) or totals (additive GP);
                             auto: atomic for builtin, total for xtb
  --priors LIST              prior means, the first is the default reported (default ${DEFAULT_PRIOR},min)
  --prior-mode same-hyperparameters|retrain
                             later priors keep the first prior's θ and noise and refit mean and weights
                             (isolates the effect of the mean), or are trained from scratch (default)
  --noise S2                 σ² on the kernel diagonal (default 1e-10); --optimise-noise fits it in [1e-10, 1e-4]
  --force-sigma-Ha-per-bohr S
                             refit every model set's weights on the training frames' energies (totals
                             or atomic) and forces, θ kept, with this noise per force component (default
                             ${DEMO_DEFAULTS.forceSigmaHaPerBohr} Ha/bohr = 1.19 kcal/mol/Å; 0: energies only);
                             --energy-sigma-Ha S the noise of an energy (default ${DEMO_DEFAULTS.energySigmaHa} Ha)
  --split-sigma-Ha S         total-energy labels: in that refit, each atom carries an equal share of
                             every frame's deviation from the prior mean ± S Ha, so that every atom
                             sits below its own (shifted) prior (default ${DEMO_DEFAULTS.splitSigmaHa} Ha; 0: off)
  --cold-start               total-energy labels: search every active round's and the final default-prior
                             θ from scratch (restarts as given) instead of from the previous round's θ
  --kernel NAME              kernel of every atom: rbf-cyclic (FFLUX's), rbf-periodic (rbf × periodic
                             on the azimuthal angles φ, positive definite for every θ), rbf, periodic
                             (default ${DEMO_DEFAULTS.kernel})
  --kernel-reach C           every feature's θ·var (var: its variance over the training set) at least
                             C / (number of features), so Σ θ·var ≥ C on any molecule (default ${DEMO_DEFAULTS.kernelReach}; 0: none)
  --theta-min T              instead: an absolute floor of every θ, longest lengthscale 1/√(2T) (default
                             0: none; 0.3 was the default before the kernel reach)
  --restarts N, --max-iterations N   optimiser starts and iterations per start (default ${DEMO_DEFAULTS.restarts}, ${DEMO_DEFAULTS.maxIterations})
  --active-rounds R          active learning: R rounds of NVT on the current default-prior model at the
                             NVT temperatures, the reference on its frames, the worst-predicted added,
                             retrain (default ${DEMO_DEFAULTS.activeRounds}; 0: none)
  --active-fraction F        share of --n-train the rounds add, split evenly over them, the rest from the
                             sampling (default ${DEMO_DEFAULTS.activeFraction}; round 1 includes the minimum)
  --active-time-ps T         length of each exploration run after its equilibration, ps (default ${DEMO_DEFAULTS.activeTimePs});
                             --active-replicas N runs per temperature (default ${DEMO_DEFAULTS.activeReplicas})
  --active-stride-fs S       a candidate frame every S fs of those runs (default ${DEMO_DEFAULTS.activeStrideFs})
  --active-threshold E       candidates with |E_model − E_ref| ≤ E kcal/mol are not added (default ${DEMO_DEFAULTS.activeThresholdKcalPerMol})
  --repulsion none|zbl       the models' prior mean in the active rounds, validation and NVT runs:
                             zbl adds, for every pair closer than in any training geometry, the ZBL
                             nuclear repulsion beyond its tangent there (zero inside the training
                             data, the fits unchanged; docs/repulsion.md) (default ${DEMO_DEFAULTS.repulsion}; each
                             model folder records it in potential.json, which md/opt/fidelity read)
  --temperatures-K LIST      NVT check temperatures (default ${DEMO_DEFAULTS.mdTemperaturesK.join(',')})
  --md-time-ps T             length of each NVT run, ps (default ${DEMO_DEFAULTS.mdTimePs}); --md-timestep-fs (default ${DEMO_DEFAULTS.mdTimestepFs})
  --replicas R               runs per prior and temperature (default ${DEMO_DEFAULTS.replicas})
  --workers N                worker threads for training and MD (default ${DEMO_DEFAULTS.workers})
  --json                     print one JSON object on stdout (demo.json without the per-frame arrays);
                             progress still goes to stderr (--quiet silences it)
  --quiet                    no progress on stderr

${EXECUTOR_HELP.replace('where the jobs run', 'where the atomic fits and the MD runs go (no --detach)')}`;

const HELP_PIPELINE = `usage: atomgp pipeline (--molecule NAME | --smiles S | --start FILE.xyz) --out DIR [options]

Samples the molecule with well-tempered metadynamics on a reference potential, labels the frames,
trains one GP per atom for each prior mean, validates against the reference and runs short NVT
checks; writes DIR/demo.json and DIR/report.html.
${FLAGS}`;

const HELP_DEMO = `usage: atomgp demo [--reference builtin|xtb|ipi:…] [--molecule NAME] [--out DIR] [--json]

The whole pipeline on built-in defaults (no data files, no network): malondialdehyde on the
built-in force field, trained with the default prior mean (${DEFAULT_PRIOR}) and with min, NVT at 1000 K.
Writes DIR (default ./atomgp-demo, replaced if it holds an earlier demo) with demo.json and report.html.
Any pipeline option may be given.
${FLAGS}`;

const num = (name: string, v: string | undefined, dflt: number): number => flagNumber(name, v, dflt);

/** `--proton-transfer` (every labile H), `--no-proton-transfer` (none), neither: the default (auto). */
function protonTransferFlag(on: boolean | undefined, off: boolean | undefined, dflt: PipelineSettings['protonTransfer']): PipelineSettings['protonTransfer'] {
  if (on && off) throw new AtomgpError('--proton-transfer and --no-proton-transfer exclude each other');
  return on ? true : off ? false : dflt;
}
const int = (name: string, v: string | undefined, dflt: number): number => flagInteger(name, v, dflt, Number.MIN_SAFE_INTEGER);

export async function pipelineCommand(argv: string[], demo: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      molecule: { type: 'string' },
      smiles: { type: 'string' },
      start: { type: 'string' },
      reference: { type: 'string' },
      out: { type: 'string' },
      overwrite: { type: 'boolean', default: false },
      resume: { type: 'boolean', default: false },
      seed: { type: 'string' },
      'sample-temperature-K': { type: 'string' },
      'sample-steps': { type: 'string' },
      'sample-timestep-fs': { type: 'string' },
      'harvest-every': { type: 'string' },
      'bias-factor': { type: 'string' },
      'hill-height': { type: 'string' },
      'hill-width-deg': { type: 'string' },
      'hill-width-A': { type: 'string' },
      'hill-stride': { type: 'string' },
      'bond-wall': { type: 'string' },
      'n-train': { type: 'string' },
      'n-valid': { type: 'string' },
      gaussian: { type: 'boolean', default: false },
      'gaussian-method': { type: 'string' },
      'gaussian-basis': { type: 'string' },
      selection: { type: 'string' },
      labels: { type: 'string' },
      priors: { type: 'string' },
      'prior-mode': { type: 'string' },
      restarts: { type: 'string' },
      noise: { type: 'string' },
      'optimise-noise': { type: 'boolean' },
      'energy-sigma-Ha': { type: 'string' },
      'split-sigma-Ha': { type: 'string' },
      'force-sigma-Ha-per-bohr': { type: 'string' },
      'cold-start': { type: 'boolean' },
      'proton-transfer': { type: 'boolean' },
      'no-proton-transfer': { type: 'boolean' },
      repulsion: { type: 'string' },
      'theta-min': { type: 'string' },
      'kernel-reach': { type: 'string' },
      kernel: { type: 'string' },
      'max-iterations': { type: 'string' },
      'active-rounds': { type: 'string' },
      'active-fraction': { type: 'string' },
      'active-time-ps': { type: 'string' },
      'active-replicas': { type: 'string' },
      'active-stride-fs': { type: 'string' },
      'active-threshold': { type: 'string' },
      'temperatures-K': { type: 'string' },
      'md-time-ps': { type: 'string' },
      'md-timestep-fs': { type: 'string' },
      replicas: { type: 'string' },
      workers: { type: 'string' },
      ...EXECUTOR_OPTIONS,
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(demo ? HELP_DEMO : HELP_PIPELINE);
    return 0;
  }
  if (positionals.length > 0) throw new AtomgpError(`unexpected argument '${positionals[0]}' (see atomgp ${demo ? 'demo' : 'pipeline'} --help)`);
  if (values.resume && values.overwrite) throw new AtomgpError('--resume and --overwrite exclude each other');
  const d = DEMO_DEFAULTS;
  const reference: ReferenceKind = checkReference(values.reference ?? 'builtin');
  const sources = [values.molecule, values.smiles, values.start].filter((v) => v !== undefined).length;
  if (sources > 1) throw new AtomgpError('give only one of --molecule, --smiles and --start');
  if (!demo && sources === 0) throw new AtomgpError('give the molecule: --molecule NAME, --smiles S or --start FILE.xyz');
  if (!demo && !values.out) throw new AtomgpError('--out DIR is required');
  const settings: PipelineSettings = {
    ...d,
    molecule: sources === 0 ? d.molecule : values.molecule,
    reference,
    seed: int('seed', values.seed, d.seed),
    sampleTemperatureK: num('sample-temperature-K', values['sample-temperature-K'], d.sampleTemperatureK),
    sampleSteps: int('sample-steps', values['sample-steps'], d.sampleSteps),
    sampleTimestepFs: num('sample-timestep-fs', values['sample-timestep-fs'], d.sampleTimestepFs),
    harvestEvery: int('harvest-every', values['harvest-every'], d.harvestEvery),
    biasFactor: num('bias-factor', values['bias-factor'], d.biasFactor),
    hillHeightKcalPerMol: num('hill-height', values['hill-height'], d.hillHeightKcalPerMol),
    hillWidthDeg: num('hill-width-deg', values['hill-width-deg'], d.hillWidthDeg),
    hillWidthA: num('hill-width-A', values['hill-width-A'], d.hillWidthA),
    hillStrideSteps: int('hill-stride', values['hill-stride'], d.hillStrideSteps),
    bondWallFactor: num('bond-wall', values['bond-wall'], d.bondWallFactor),
    protonTransfer: protonTransferFlag(values['proton-transfer'], values['no-proton-transfer'], d.protonTransfer),
    nTrain: int('n-train', values['n-train'], d.nTrain),
    nValid: int('n-valid', values['n-valid'], d.nValid),
    gaussian: values.gaussian! || values['gaussian-method'] !== undefined || values['gaussian-basis'] !== undefined,
    gaussianMethod: values['gaussian-method'] ?? d.gaussianMethod,
    gaussianBasis: values['gaussian-basis'] ?? d.gaussianBasis,
    selection: (values.selection ?? d.selection) as SelectionRule,
    labels: (values.labels ?? d.labels) as LabelMode,
    priors: values.priors ? values.priors.split(',').map((p) => p.trim()).filter((p) => p.length > 0) : d.priors,
    priorMode: (values['prior-mode'] ?? d.priorMode) as PriorMode,
    restarts: int('restarts', values.restarts, d.restarts),
    maxIterations: int('max-iterations', values['max-iterations'], d.maxIterations),
    noise: num('noise', values.noise, d.noise),
    optimiseNoise: values['optimise-noise'] ?? d.optimiseNoise,
    energySigmaHa: num('energy-sigma-Ha', values['energy-sigma-Ha'], d.energySigmaHa),
    forceSigmaHaPerBohr: num('force-sigma-Ha-per-bohr', values['force-sigma-Ha-per-bohr'], d.forceSigmaHaPerBohr),
    splitSigmaHa: num('split-sigma-Ha', values['split-sigma-Ha'], d.splitSigmaHa),
    coldStart: values['cold-start'] ?? d.coldStart,
    thetaMin: num('theta-min', values['theta-min'], d.thetaMin),
    kernelReach: num('kernel-reach', values['kernel-reach'], d.kernelReach),
    kernel: (values.kernel ?? d.kernel) as PipelineSettings['kernel'],
    activeRounds: int('active-rounds', values['active-rounds'], d.activeRounds),
    activeFraction: num('active-fraction', values['active-fraction'], d.activeFraction),
    activeTimePs: num('active-time-ps', values['active-time-ps'], d.activeTimePs),
    activeReplicas: int('active-replicas', values['active-replicas'], d.activeReplicas),
    activeStrideFs: num('active-stride-fs', values['active-stride-fs'], d.activeStrideFs),
    activeThresholdKcalPerMol: num('active-threshold', values['active-threshold'], d.activeThresholdKcalPerMol),
    repulsion: (values.repulsion ?? d.repulsion) as PipelineSettings['repulsion'],
    mdTemperaturesK: values['temperatures-K'] ? values['temperatures-K'].split(',').map((t) => num('temperatures-K', t, 0)) : d.mdTemperaturesK,
    mdTimePs: num('md-time-ps', values['md-time-ps'], d.mdTimePs),
    mdTimestepFs: num('md-timestep-fs', values['md-timestep-fs'], d.mdTimestepFs),
    replicas: int('replicas', values.replicas, d.replicas),
    workers: int('workers', values.workers, d.workers),
  };
  if (values.smiles !== undefined) settings.smiles = values.smiles;
  if (values.start !== undefined) settings.startFile = values.start;
  const executor = executorFromFlags(values, settings.workers);
  if (executor.kind === 'slurm' && executor.slurm.detach) throw new AtomgpError('--detach applies to atomgp md and train; the pipeline needs each stage before the next');
  const out = resolve(values.out ?? 'atomgp-demo');
  const mode = values.resume ? 'resume' : values.overwrite || demo ? 'overwrite' : 'new';

  // Progress goes to stderr also with --json (stdout carries only the JSON); --quiet silences it.
  const { log, progress } = stderrProgress(values.quiet);
  // One writer per output folder: a second pipeline into the same --out is refused while this one runs.
  const lock = lockOutputDir(out, { command: demo ? 'atomgp demo' : 'atomgp pipeline', warn: (m) => process.stderr.write(`atomgp ${demo ? 'demo' : 'pipeline'}: warning: ${m}\n`) });
  let summary: Awaited<ReturnType<typeof runPipeline>>;
  // SIGINT/SIGTERM stop the run (sampling and MD runs after a checkpoint, local fits at once, Slurm
  // jobs cancelled); finished stages stay for --resume. The CLI exits 130/143 (InterruptedError).
  const abort = abortOnSignals(executor, { local: true });
  try {
    removeStaleTempFiles(out);
    summary = await runPipeline(settings, out, mode, {
      log,
      progress,
      executor,
      signal: abort.signal,
      onBatchStatus: (st) => progress('slurm', (st.done + st.failed) / st.total, formatBatchStatus(st)),
    });
  } finally {
    abort.release();
    lock.release();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(jsonSummary(summary))}\n`);
  } else {
    process.stdout.write(formatDemoSummary(summary, resolve(out, 'report.html')));
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  return pipelineCommand(argv, false);
}
