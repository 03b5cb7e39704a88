/**
 * `atomgp predict --models DIR [--json] FILE.xyz|CONFIG`: molecular energy, atomic energies and
 * forces of every frame from a GP model set. See docs/cli.md.
 */
import { parseArgs } from 'node:util';
import { DLFFLUX_ENERGY_FACTOR, KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { parseRepulsion } from '../gp/model/repulsion.js';
import { GpPotential, moleculeBondsFromModels } from '../potentials/gp.js';
import { createResult } from '../potentials/potential.js';
import { assignMolecules, flagRepulsion, loadModelSet, parseMatchMode, parsePeriodicConvention, readGeometryFrames } from './common.js';

const HELP = `usage: atomgp predict --models DIR [options] FILE

Energies (Ha, kcal/mol), IQA atomic energies (Ha) and forces (Ha/bohr, kcal/mol/Å) of every frame
of FILE (XYZ / extended XYZ, multi-frame; or a DL_POLY CONFIG) from the GP model set in DIR (one
iqa .model file per atom). A file holding several copies of the molecule (e.g. a water box) is
predicted as a sum of molecules: atoms listed molecule by molecule in the models' atom order are
taken as they are; otherwise bonded fragments are matched to the models' molecule (elements and
bonds; equivalent atoms such as water's two H in file order). Periodic frames are unwrapped to the
minimum image first. Results are always reported in the file's atom order.

options:
  --models DIR                 folder of .model files (required)
  --json                       one JSON object per frame per line
  --property NAME              model property to use (default iqa)
  --periodic-convention 2|4    force the periodic-kernel convention exp(−c θ sin²(d/2)); default:
                               decided per model by the self-consistency check
  --no-check                   skip the self-consistency check (then convention 4 unless forced)
  --repulsion none|zbl         iqa models: add the ZBL repulsive prior term beyond the training data
                               (as atomgp md; docs/repulsion.md; default: DIR/potential.json,
                               else none)
  --format xyz|config          input format (default: by file name; CONFIG/REVCON → config)
  --match auto|order|bonds     how atoms map to molecules: order = molecule by molecule in the
                               models' atom order; bonds = match bonded fragments; auto (default)
                               = order when the elements follow that pattern, else bonds
  --variance                   also the predictive standard deviation of every atomic energy
                               (Ha; JSON key atomic_std_Ha), to flag extrapolation. The first
                               frame factorises each model's kernel matrix (≈0.3 s per 1000 points)
  -h, --help                   this help
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      models: { type: 'string' },
      json: { type: 'boolean', default: false },
      property: { type: 'string', default: 'iqa' },
      'periodic-convention': { type: 'string' },
      'no-check': { type: 'boolean', default: false },
      repulsion: { type: 'string' },
      format: { type: 'string' },
      match: { type: 'string', default: 'auto' },
      variance: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.models) throw new AtomgpError('--models DIR is required (a folder of .model files)');
  if (positionals.length !== 1) throw new AtomgpError(`expected one geometry file, got ${positionals.length}`);
  const file = positionals[0]!;
  if (values.property !== 'iqa' && values.repulsion !== undefined && parseRepulsion(values.repulsion, '--repulsion') !== 'none') {
    throw new AtomgpError(`--repulsion is a term of the energy (iqa) models, not of ${values.property}`);
  }
  const repulsion = values.property === 'iqa' ? flagRepulsion(values.repulsion, values.models) : 'none';
  const set = loadModelSet(values.models, {
    property: values.property!,
    periodicPrefactor: parsePeriodicConvention(values['periodic-convention']),
    check: !values['no-check'],
    warn: (msg) => process.stderr.write(`atomgp predict: warning: ${msg}\n`),
  });
  const matchMode = parseMatchMode(values.match);
  const frames = readGeometryFrames(file, values.format);
  const moleculeBonds = moleculeBondsFromModels(set.models, set.symbols);
  const noiseVariances = set.checks.length === set.models.length ? set.checks.map((c) => c.fittedNoise) : undefined;
  let pot: GpPotential | undefined;
  let out = createResult(0);
  let std = new Float64Array(0);
  const m = set.symbols.length;
  let labels: string[] = [];
  for (let f = 0; f < frames.length; f++) {
    const frame = frames[f]!;
    const where = frames.length > 1 ? `${file} frame ${f}` : file;
    const assigned = assignMolecules(set.symbols, moleculeBonds, frame, matchMode, where);
    const copies = assigned.nMolecules;
    if (!pot || pot.nMolecules !== copies || !sameOrder(pot.atomOrder, assigned.atomOrder)) {
      pot = new GpPotential(
        { systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors },
        copies,
        { atomOrder: assigned.atomOrder, repulsion, ...(noiseVariances ? { noiseVariances } : {}) },
      );
      out = createResult(pot.nAtoms);
      std = new Float64Array(pot.nAtoms);
      labels = new Array<string>(pot.nAtoms);
      for (let slot = 0; slot < pot.nAtoms; slot++) {
        const atom = set.atoms[slot % m]!;
        labels[pot.atomOrder[slot]!] = copies > 1 ? `${atom}/${Math.floor(slot / m) + 1}` : atom;
      }
    }
    const positionsA = assigned.positionsA;
    pot.compute(positionsA, out);
    if (values.variance) pot.atomicStdHa(positionsA, std);
    const n = pot.nAtoms;
    // Never print a non-finite energy or force with exit 0 (in JSON it would even read as null).
    const finite = Number.isFinite(out.energyHa) && out.forcesHaPerBohr.every(Number.isFinite) && (!values.variance || std.every(Number.isFinite));
    if (!finite) throw new AtomgpError(`${file}${frames.length > 1 ? ` frame ${f}` : ''}: the models give a non-finite energy or force for this geometry`);
    const forcesHaPerBohr: number[][] = [];
    const forcesKcal: number[][] = [];
    for (let i = 0; i < n; i++) {
      const fx = out.forcesHaPerBohr[3 * i]!;
      const fy = out.forcesHaPerBohr[3 * i + 1]!;
      const fz = out.forcesHaPerBohr[3 * i + 2]!;
      forcesHaPerBohr.push([fx, fy, fz]);
      const c = KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
      forcesKcal.push([fx * c, fy * c, fz * c]);
    }
    if (values.json) {
      const record = {
        frame: f,
        n_atoms: n,
        n_molecules: copies,
        energy_Ha: out.energyHa,
        energy_kcal_per_mol: out.energyHa * KCAL_PER_MOL_PER_HARTREE,
        energy_dlfflux_Ha: out.energyHa * DLFFLUX_ENERGY_FACTOR,
        atomic_energies_Ha: Array.from(out.atomicEnergiesHa),
        ...(values.variance ? { atomic_std_Ha: Array.from(std) } : {}),
        atom_labels: labels,
        forces_Ha_per_bohr: forcesHaPerBohr,
        forces_kcal_per_mol_per_A: forcesKcal,
      };
      process.stdout.write(JSON.stringify(record) + '\n');
    } else {
      const lines: string[] = [];
      lines.push(
        `frame ${f}: ${n} atoms${copies > 1 ? ` (${copies} molecules)` : ''}  E = ${out.energyHa.toFixed(10)} Ha = ${(
          out.energyHa * KCAL_PER_MOL_PER_HARTREE
        ).toFixed(6)} kcal/mol`,
      );
      lines.push(
        `  ${'atom'.padEnd(8)} ${'E_IQA/Ha'.padStart(18)} ${'Fx'.padStart(14)} ${'Fy'.padStart(14)} ${'Fz'.padStart(14)}` +
          `${values.variance ? ` ${'std/Ha'.padStart(10)}` : ''}  (F in Ha/bohr)`,
      );
      for (let i = 0; i < n; i++) {
        const [fx, fy, fz] = forcesHaPerBohr[i]!;
        lines.push(
          `  ${labels[i]!.padEnd(8)} ${out.atomicEnergiesHa[i]!.toFixed(10).padStart(18)} ${fx!.toFixed(9).padStart(14)} ${fy!
            .toFixed(9)
            .padStart(14)} ${fz!.toFixed(9).padStart(14)}${values.variance ? ` ${std[i]!.toExponential(3).padStart(10)}` : ''}`,
        );
      }
      process.stdout.write(lines.join('\n') + '\n');
    }
  }
  return 0;
}

function sameOrder(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
