/**
 * `atomgp fidelity --models DIR (--reference xtb | --potential SPEC.json) --minimum FILE TRAJ…`:
 * the study's fidelity check on any trajectory — the reference re-evaluated on its frames and
 * compared with the model, energies relative to the reference's minimum. See docs/cli.md.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import type { RepulsionKind } from '../gp/model/repulsion.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readXyz } from '../io/xyz.js';
import { createPotential, type PotentialSpec, readPotentialSpec } from '../potentials/factory.js';
import type { Potential } from '../potentials/potential.js';
import { checkFidelityBounds, DEFAULT_FIDELITY_BOUNDS, type FidelityBounds, type FidelityResult, fidelityFrames, trajectoryFidelity } from '../workflows/fidelity.js';
import { readMdSummary } from '../workflows/md-summary.js';
import { flagFrames, flagNumber, flagRepulsion } from './common.js';

const d = DEFAULT_FIDELITY_BOUNDS;
const HELP = `usage: atomgp fidelity --models DIR (--reference xtb | --potential SPEC.json) --minimum FILE.xyz [options] TRAJ.extxyz…

Is a trajectory that survived on the model's surface also right? Re-evaluates the reference on the
frames of each trajectory (every frame, or --frames N spread evenly) and compares it with the GP
model set: energy error relative to the minimum (model − reference, kcal/mol: MAE, RMSE, largest,
mean signed, fraction within the band) and force error (kcal/mol/Å). A trajectory is faithful when
its energy MAE ≤ ${d.energyMaeKcalPerMol} kcal/mol and ≥ ${100 * d.withinFraction} % of its frames are within ${d.bandKcalPerMol} kcal/mol (the study's bounds).

options:
  --models DIR                  GP model folder (one iqa .model per atom)
  --repulsion none|zbl          the models' repulsive prior term, as the runs used it (default:
                                DIR/potential.json, else none)
  --reference xtb               GFN2-xTB on the models' atoms (library driver when available)
  --potential FILE.json         any other reference potential spec (as atomgp md --potential)
  --minimum FILE                the geometry both energies are measured from (first frame): the
                                reference's relaxed minimum, e.g. a pipeline's molecule.xyz
  --frames N|all                frames per trajectory, spread evenly (default all)
  --energy-mae-kcal-per-mol E   faithful: energy MAE bound (default ${d.energyMaeKcalPerMol})
  --band-kcal-per-mol B         faithful: the band … (default ${d.bandKcalPerMol})
  --within-fraction F           … holding at least this fraction of the frames (default ${d.withinFraction})
  --out FILE.json               per trajectory and per frame results (written atomically)
  --json                        one JSON object per trajectory on stdout instead of the table
  -h, --help                    this help
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      models: { type: 'string' },
      repulsion: { type: 'string' },
      reference: { type: 'string' },
      potential: { type: 'string' },
      minimum: { type: 'string' },
      frames: { type: 'string' },
      'energy-mae-kcal-per-mol': { type: 'string' },
      'band-kcal-per-mol': { type: 'string' },
      'within-fraction': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.models) throw new AtomgpError('--models DIR is required (the GP model set the trajectories ran on)');
  if ((values.reference === undefined) === (values.potential === undefined)) throw new AtomgpError('give exactly one of --reference xtb and --potential SPEC.json');
  if (values.reference !== undefined && values.reference !== 'xtb') throw new AtomgpError(`--reference expects xtb (or use --potential SPEC.json), got '${values.reference}'`);
  if (!values.minimum) throw new AtomgpError('--minimum FILE is required (the reference minimum both energies are measured from)');
  if (positionals.length === 0) throw new AtomgpError('no trajectory given (extended XYZ files, e.g. a run folder\'s trajectory.extxyz)');
  const frames = flagFrames('frames', values.frames);
  const bounds: FidelityBounds = {
    energyMaeKcalPerMol: flagNumber('energy-mae-kcal-per-mol', values['energy-mae-kcal-per-mol'], d.energyMaeKcalPerMol),
    bandKcalPerMol: flagNumber('band-kcal-per-mol', values['band-kcal-per-mol'], d.bandKcalPerMol),
    withinFraction: flagNumber('within-fraction', values['within-fraction'], d.withinFraction),
  };
  checkFidelityBounds(bounds);
  const repulsion = flagRepulsion(values.repulsion, values.models);
  const model = await createPotential({ kind: 'gp-models', dir: values.models, ...(repulsion !== 'none' ? { repulsion } : {}) });
  const minimum = readXyz(values.minimum)[0]!;
  if (minimum.symbols.join(' ') !== model.symbols.join(' ')) {
    throw new AtomgpError(`${values.minimum}: atoms ${minimum.symbols.join(' ')} do not match the models' ${model.symbols.join(' ')}`);
  }
  // A trajectory that an atomgp run wrote beside its summary.json must be judged on the surface it ran on.
  for (const file of positionals) checkRunRepulsion(file, repulsion);
  // Every trajectory is read (and checked) before the reference starts.
  const trajectories = positionals.map((file) => {
    const all = readXyz(file);
    if (all.length === 0) throw new AtomgpError(`${file}: no frames`);
    all.forEach((f, i) => {
      if (f.symbols.join(' ') !== model.symbols.join(' ')) throw new AtomgpError(`${file} frame ${i + 1}: atoms do not match the models' ${model.symbols.join(' ')}`);
    });
    return { file, frames: fidelityFrames(all, frames) };
  });
  const spec: PotentialSpec = values.potential ? readPotentialSpec(values.potential) : { kind: 'xtb', spec: { symbols: [...model.symbols] } };
  const reference = await createPotential(spec);
  const results: Array<{ file: string } & FidelityResult> = [];
  try {
    for (const t of trajectories) results.push({ file: t.file, ...trajectoryFidelity(model, reference, minimum.positionsA, t.frames, bounds) });
  } finally {
    (reference as Potential & { dispose?: () => void }).dispose?.();
  }
  if (values.out) writeFileAtomic(values.out, `${JSON.stringify({ bounds, reference: spec.kind, minimum: values.minimum, models: values.models, repulsion, trajectories: results }, null, 1)}\n`);
  if (values.json) {
    for (const { perFrame: _p, ...r } of results) process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  process.stdout.write(`# energies relative to ${values.minimum}, model − reference (${spec.kind}); kcal/mol, forces kcal/mol/Å\n`);
  process.stdout.write('frames  E MAE  E RMSE  E max  E signed  within  F MAE  F max  faithful  trajectory\n');
  for (const r of results) {
    process.stdout.write(
      `${String(r.frames).padStart(6)} ${r.energyMaeKcalPerMol.toFixed(2).padStart(6)} ${r.energyRmseKcalPerMol.toFixed(2).padStart(7)} ${r.energyMaxAbsKcalPerMol.toFixed(1).padStart(6)} ${r.energyMeanSignedKcalPerMol.toFixed(2).padStart(9)} ${(100 * r.fractionWithinBand).toFixed(1).padStart(6)}% ${r.forceMaeKcalPerMolPerA.toFixed(2).padStart(6)} ${r.forceMaxAbsKcalPerMolPerA.toFixed(1).padStart(6)}  ${(r.faithful ? 'yes' : 'no').padEnd(8)}  ${r.file}${r.reason ? ` (${r.reason})` : ''}\n`,
    );
  }
  return 0;
}

/**
 * When `file` lies in an `atomgp md` run folder (summary.json beside it) whose GP models ran with
 * another repulsion setting than `repulsion`, a one-line error: the fidelity would compare the
 * reference with a surface the run never saw.
 */
function checkRunRepulsion(file: string, repulsion: RepulsionKind): void {
  const summaryFile = join(dirname(file), 'summary.json');
  if (!existsSync(summaryFile)) return;
  let spec: { kind?: unknown; repulsion?: unknown } | undefined;
  try {
    spec = (readMdSummary(summaryFile) as { potentialSpec?: { kind?: unknown; repulsion?: unknown } }).potentialSpec;
  } catch {
    return; // not a run summary this check can read: nothing to compare
  }
  if (spec?.kind !== 'gp-models') return;
  const ran = spec.repulsion ?? 'none';
  if (ran !== repulsion) throw new AtomgpError(`${file}: its run used the models with --repulsion ${String(ran)} (${summaryFile}); give --repulsion ${String(ran)} to compare the reference with the surface it ran on`);
}
