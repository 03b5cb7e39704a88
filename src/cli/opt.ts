/**
 * `atomgp opt`: geometry optimisation (L-BFGS or FIRE) on a GP model set or a potential spec.
 * Writes OUT/path.extxyz (every step), OUT/optimized.xyz (final geometry, extxyz with energy and
 * forces in kcal/mol units) and OUT/summary.json. See docs/cli.md.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatMdFrame } from '../dynamics/reporters.js';
import { AtomgpError } from '../errors.js';
import { AppendWriter, writeFileAtomic } from '../io/atomic-write.js';
import { lockOutputDir, removeStaleTempFiles } from '../io/lock.js';
import type { OptimizeResult, OptimizeStep } from '../optimize/common.js';
import { fire } from '../optimize/fire.js';
import { LBFGS_PRECONDITIONERS, type LbfgsPreconditioner, lbfgs } from '../optimize/lbfgs.js';
import { createPotential } from '../potentials/factory.js';
import type { Potential } from '../potentials/potential.js';
import { flagNumber } from './common.js';
import { disposePotential, potentialSpecFromValues, readStart } from './md.js';

const HELP = `usage: atomgp opt (--models DIR | --potential SPEC.json | --reference ipi:…) --start FILE.xyz --out DIR [options]

Geometry optimisation until the largest atomic force is below --fmax and the last energy change
below --energy-tol. Writes OUT/path.extxyz, OUT/optimized.xyz and OUT/summary.json (energies
kcal/mol, forces kcal/mol/Å).

options:
  --models DIR | --potential FILE.json   the potential (see atomgp md --help)
  --reference ipi:unix:NAME|ipi:HOST:PORT
                                         an i-PI client computes energies and forces (see atomgp md --help)
  --periodic-convention 2|4              force the periodic-kernel convention of the models
  --no-check                             skip the models' self-consistency check (as in predict)
  --repulsion none|zbl                   the models' repulsive prior term (default: DIR/potential.json, else none)
  --start FILE                           start geometry (first frame)
  --method lbfgs|fire                    default lbfgs
  --precondition lindh|none              L-BFGS's initial Hessian: Lindh's model Hessian of the
                                         geometry (default; stiff bonds and soft torsions get steps
                                         of their own size) or a scalar 1000 kcal/mol/Å²
  --fmax F                               max force threshold, kcal/mol/Å (default 1)
  --energy-tol E                         energy-change threshold, kcal/mol (default 0.01)
  --max-steps N                          default 1000
  --max-step-A D                         largest step of any atom, Å (default 0.2)
  --out DIR                              output folder (required)
  --overwrite                            replace an earlier optimisation in OUT
  -h, --help                             this help
`;

const OUT_FILES = ['path.extxyz', 'optimized.xyz', 'summary.json'];

const num = (name: string, v: string | undefined, fallback: number): number => flagNumber(name, v, fallback);

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
      method: { type: 'string', default: 'lbfgs' },
      precondition: { type: 'string' },
      fmax: { type: 'string' },
      'energy-tol': { type: 'string' },
      'max-steps': { type: 'string' },
      'max-step-A': { type: 'string' },
      out: { type: 'string' },
      overwrite: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new AtomgpError(`unexpected argument '${positionals[0]}' (see atomgp opt --help)`);
  if (!values.out) throw new AtomgpError('--out DIR is required');
  const method = values.method;
  if (method !== 'lbfgs' && method !== 'fire') throw new AtomgpError(`--method must be lbfgs or fire, got '${method}'`);
  const preconditioner = values.precondition ?? (method === 'lbfgs' ? 'lindh' : undefined);
  if (preconditioner !== undefined && !(LBFGS_PRECONDITIONERS as readonly string[]).includes(preconditioner)) throw new AtomgpError(`--precondition must be ${LBFGS_PRECONDITIONERS.join(' or ')}, got '${preconditioner}'`);
  if (preconditioner !== undefined && method !== 'lbfgs') throw new AtomgpError('--precondition applies to --method lbfgs only');
  const start = readStart(values.start);
  const spec = potentialSpecFromValues(values, start.symbols);
  const potential = await createPotential(spec);
  try {
    return await optimize(potential);
  } finally {
    disposePotential(potential);
  }

  async function optimize(potential: Potential): Promise<number> {
    if (potential.nAtoms !== start.symbols.length || potential.symbols.some((s, i) => s.toLowerCase() !== start.symbols[i]!.toLowerCase())) {
      throw new AtomgpError(`${values.start}: atoms (${start.symbols.join(' ')}) do not match the potential's (${potential.symbols.join(' ')})`);
    }
    const outDir = values.out!;
    // One writer per output folder (creates it when missing).
    const lock = lockOutputDir(outDir, { command: 'atomgp opt', warn: (m) => process.stderr.write(`atomgp opt: warning: ${m}\n`) });
    try {
      removeStaleTempFiles(outDir);
      const present = readdirSync(outDir).filter((f) => OUT_FILES.includes(f));
      if (present.length > 0 && !values.overwrite) throw new AtomgpError(`output folder ${outDir} already holds an optimisation (${present.join(', ')}); pass --overwrite to replace it`);
      for (const f of present) rmSync(join(outDir, f), { force: true });
      const path = new AppendWriter(join(outDir, 'path.extxyz'), { bufferBytes: 1 });
      const velocities = new Float64Array(start.positionsA.length);
      const frame = (s: OptimizeStep): string =>
        formatMdFrame(start.symbols, {
          step: s.step,
          timeFs: 0,
          epotKcalPerMol: s.energyKcalPerMol,
          positionsA: s.positionsA,
          forcesKcalPerMolPerA: s.forcesKcalPerMolPerA,
          velocitiesAPerFs: velocities,
          atomicEnergiesKcalPerMol: s.atomicEnergiesKcalPerMol,
        });
      let last: OptimizeStep | undefined;
      const options = {
        fmaxKcalPerMolPerA: num('fmax', values.fmax, 1),
        energyTolKcalPerMol: num('energy-tol', values['energy-tol'], 0.01),
        maxSteps: num('max-steps', values['max-steps'], 1000),
        maxStepA: num('max-step-A', values['max-step-A'], 0.2),
        onStep: (s: OptimizeStep) => {
          path.write(frame(s));
          last = s;
        },
      };
      const t0 = performance.now();
      let result: OptimizeResult;
      try {
        result = method === 'lbfgs' ? lbfgs(potential, start.positionsA, { ...options, preconditioner: preconditioner as LbfgsPreconditioner }) : fire(potential, start.positionsA, options);
      } finally {
        path.close();
      }
      const wallSeconds = (performance.now() - t0) / 1000;
      if (last) writeFileAtomic(join(outDir, 'optimized.xyz'), frame({ ...last, positionsA: result.positionsA, forcesKcalPerMolPerA: result.forcesKcalPerMolPerA, energyKcalPerMol: result.energyKcalPerMol, step: result.steps }));
      const summary = {
        potential: potential.description,
        potentialSpec: spec,
        start: values.start,
        ...result,
        preconditioner: preconditioner ?? null,
        positionsA: Array.from(result.positionsA),
        forcesKcalPerMolPerA: undefined,
        fmaxThresholdKcalPerMolPerA: options.fmaxKcalPerMolPerA,
        energyTolKcalPerMol: options.energyTolKcalPerMol,
        wallSeconds,
      };
      writeFileAtomic(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      process.stdout.write(
        [
          `${method}: ${result.converged ? 'converged' : 'NOT converged'} in ${result.steps} steps (${result.evaluations} evaluations, ${wallSeconds.toFixed(2)} s)`,
          `energy ${result.initialEnergyKcalPerMol.toFixed(6)} → ${result.energyKcalPerMol.toFixed(6)} kcal/mol (last change ${result.lastEnergyChangeKcalPerMol.toExponential(2)})`,
          `fmax ${result.fmaxKcalPerMolPerA.toExponential(3)} kcal/mol/Å (threshold ${options.fmaxKcalPerMolPerA})`,
          result.message,
          `wrote ${join(outDir, 'optimized.xyz')}, ${join(outDir, 'path.extxyz')}, ${join(outDir, 'summary.json')}`,
        ].join('\n') + '\n',
      );
      return result.converged ? 0 : 1;
    } finally {
      lock.release();
    }
  }
}
