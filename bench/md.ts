/**
 * MD speed: steps/s and ns/day for one replica in-process and for an ensemble on 2 worker threads,
 * plus NVE energy drift versus time step. Potentials: the analytic water-like molecule, and the
 * ammonia GP models when ../shared/data (or $ATOMGP_DATA) is present.
 * Run: npm run bench:md   (prints a Markdown table for docs/benchmarks.md)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { massesAmu } from '../src/chem/molecule.js';
import { runEnsemble } from '../src/dynamics/ensemble.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type Ensemble, type IntegratorSettings } from '../src/dynamics/integrators.js';
import { MolecularDynamics } from '../src/dynamics/md.js';
import { lbfgs } from '../src/optimize/lbfgs.js';
import { waterLikeSpec } from '../src/potentials/analytic.js';
import { createPotential, type PotentialSpec } from '../src/potentials/factory.js';
import type { Potential } from '../src/potentials/potential.js';

interface Case {
  name: string;
  spec: PotentialSpec;
  symbols: string[];
  startA: Float64Array;
}

const root = mkdtempSync(join(tmpdir(), 'atomgp-bench-md-'));
const settings = (ensemble: Ensemble, timestepFs = 0.5): IntegratorSettings => ({ ...DEFAULT_INTEGRATOR_SETTINGS, ensemble, timestepFs, temperatureK: 300 });

function bareSpeed(p: Potential, c: Case, ensemble: Ensemble, steps: number): number {
  const md = MolecularDynamics.create(p, settings(ensemble), c.startA, massesAmu(c.symbols), 1);
  md.run(Math.min(1000, steps));
  const t0 = performance.now();
  md.run(md.state.step + steps);
  return steps / ((performance.now() - t0) / 1000);
}

function nveDrift(p: Potential, c: Case, dt: number, totalFs: number): { maxAbs: number; perPs: number } {
  const md = MolecularDynamics.create(p, settings('nve', dt), c.startA, massesAmu(c.symbols), 1);
  md.run(Math.round(totalFs / dt));
  return { maxAbs: md.state.stats.maxAbsDriftKcalPerMol, perPs: (md.conservedKcalPerMol - md.state.stats.conserved0KcalPerMol) / (totalFs / 1000) };
}

async function main(): Promise<void> {
  const cases: Case[] = [];
  const w = waterLikeSpec();
  cases.push({ name: 'analytic water-like (3 atoms)', spec: { kind: 'analytic', spec: w.spec }, symbols: w.spec.symbols, startA: w.minimumA });
  const data = process.env.ATOMGP_DATA ? resolve(process.env.ATOMGP_DATA) : resolve(process.cwd(), '..', 'shared', 'data');
  const nh3 = join(data, 'ammonia', 'models');
  if (existsSync(nh3)) {
    const spec: PotentialSpec = { kind: 'gp-models', dir: nh3 };
    const guess = Float64Array.from([0, 0, 0, 0, 0.94, 0.38, 0.814, -0.47, 0.38, -0.814, -0.47, 0.38]);
    const min = lbfgs(await createPotential(spec), guess, { fmaxKcalPerMolPerA: 0.01 }).positionsA;
    cases.push({ name: 'ammonia GP models (4 atoms)', spec, symbols: ['N', 'H', 'H', 'H'], startA: min });
  }
  const lines = ['| potential | integrator | 1 replica, no output: steps/s | ns/day (0.5 fs) | 4 replicas on 2 workers, with output: total steps/s |', '| --- | --- | --- | --- | --- |'];
  const drift = ['| potential | dt / fs | NVE max abs(H − H0) over 2 ps / (kcal/mol) | drift / (kcal/mol/ps) |', '| --- | --- | --- | --- |'];
  for (const c of cases) {
    const p = await createPotential(c.spec);
    for (const ensemble of ['nve', 'nvt', 'langevin'] as const) {
      const sps = bareSpeed(p, c, ensemble, 20000);
      let ens = '';
      if (ensemble === 'nvt') {
        const steps = 20000;
        const t0 = performance.now();
        await runEnsemble({
          potentialSpec: c.spec,
          symbols: c.symbols,
          massesAmu: massesAmu(c.symbols),
          startPositionsA: c.startA,
          settings: settings('nvt'),
          temperaturesK: [300],
          replicas: 4,
          steps,
          seed: 1,
          outDir: join(root, `${c.name.replace(/\W+/g, '_')}`),
          mode: 'overwrite',
          workers: 2,
          logEvery: 10,
          trajStride: 100,
        });
        ens = ((4 * steps) / ((performance.now() - t0) / 1000)).toFixed(0);
      }
      lines.push(`| ${c.name} | ${ensemble} | ${sps.toFixed(0)} | ${((sps * 0.5 * 86400) / 1e6).toFixed(1)} | ${ens || '-'} |`);
    }
    for (const dt of [1, 0.5, 0.25]) {
      const d = nveDrift(p, c, dt, 2000);
      drift.push(`| ${c.name} | ${dt} | ${d.maxAbs.toExponential(2)} | ${d.perPs.toExponential(2)} |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n\n${drift.join('\n')}\n`);
  rmSync(root, { recursive: true, force: true });
}

await main();
