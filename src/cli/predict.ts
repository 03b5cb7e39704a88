/**
 * `atomgp predict --models DIR [--json] FILE.xyz|CONFIG`: molecular energy, atomic energies and
 * forces of every frame from a GP model set. See docs/cli.md.
 */
import { parseArgs } from 'node:util';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE, DLFFLUX_ENERGY_FACTOR } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { GpPotential, moleculeCopies } from '../potentials/gp.js';
import { createResult } from '../potentials/potential.js';
import { loadModelSet, parsePeriodicConvention, readGeometryFrames, unwrapCopies } from './common.js';

const HELP = `usage: atomgp predict --models DIR [options] FILE

Energies (Ha, kcal/mol), IQA atomic energies (Ha) and forces (Ha/bohr, kcal/mol/Å) of every frame
of FILE (XYZ / extended XYZ, multi-frame; or a DL_POLY CONFIG) from the GP model set in DIR (one
iqa .model file per atom). A file holding several copies of the molecule (e.g. a water box), atoms
listed molecule by molecule, is predicted as a sum of molecules; periodic frames are unwrapped to
the minimum image first.

options:
  --models DIR                 folder of .model files (required)
  --json                       one JSON object per frame per line
  --property NAME              model property to use (default iqa)
  --periodic-convention 2|4    force the periodic-kernel convention exp(−c θ sin²(d/2)); default:
                               decided per model by the self-consistency check
  --no-check                   skip the self-consistency check (then convention 4 unless forced)
  --format xyz|config          input format (default: by file name; CONFIG/REVCON → config)
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
      format: { type: 'string' },
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
  const set = loadModelSet(values.models, {
    property: values.property!,
    periodicPrefactor: parsePeriodicConvention(values['periodic-convention']),
    check: !values['no-check'],
    warn: (msg) => process.stderr.write(`atomgp predict: warning: ${msg}\n`),
  });
  const frames = readGeometryFrames(file, values.format);
  let pot: GpPotential | undefined;
  let out = createResult(0);
  for (let f = 0; f < frames.length; f++) {
    const frame = frames[f]!;
    const where = frames.length > 1 ? `${file} frame ${f}` : file;
    const copies = moleculeCopies(set.symbols, frame.symbols, where);
    if (!pot || pot.nMolecules !== copies) {
      pot = new GpPotential(
        { systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors },
        copies,
      );
      out = createResult(pot.nAtoms);
    }
    const positionsA = frame.cellA ? unwrapCopies(frame.positionsA, frame.cellA, set.symbols.length) : frame.positionsA;
    pot.compute(positionsA, out);
    const n = pot.nAtoms;
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
        `  ${'atom'.padEnd(6)} ${'E_IQA/Ha'.padStart(18)} ${'Fx'.padStart(14)} ${'Fy'.padStart(14)} ${'Fz'.padStart(14)}  (F in Ha/bohr)`,
      );
      const m = set.symbols.length;
      for (let i = 0; i < n; i++) {
        const label = copies > 1 ? `${set.atoms[i % m]}/${Math.floor(i / m) + 1}` : set.atoms[i]!;
        const [fx, fy, fz] = forcesHaPerBohr[i]!;
        lines.push(
          `  ${label.padEnd(6)} ${out.atomicEnergiesHa[i]!.toFixed(10).padStart(18)} ${fx!.toFixed(9).padStart(14)} ${fy!
            .toFixed(9)
            .padStart(14)} ${fz!.toFixed(9).padStart(14)}`,
        );
      }
      process.stdout.write(lines.join('\n') + '\n');
    }
  }
  return 0;
}
