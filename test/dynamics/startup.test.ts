import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { presetMolecule } from '../../src/chem/presets.js';
import { massesAmu } from '../../src/chem/molecule.js';
import { RunningTemperature, temperatureBoundK } from '../../src/dynamics/canonical.js';
import { DEFAULT_EQUILIBRATION, Equilibration } from '../../src/dynamics/equilibrate.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type IntegratorSettings } from '../../src/dynamics/integrators.js';
import { MolecularDynamics } from '../../src/dynamics/md.js';
import { runMd } from '../../src/dynamics/run.js';
import { lbfgs } from '../../src/optimize/lbfgs.js';
import { BuiltinForceField, builtinForceFieldSpec } from '../../src/potentials/builtin-ff.js';

/**
 * Malondialdehyde (9 atoms) on the built-in force field at 1000 K from its minimum with
 * Maxwell–Boltzmann velocities: the case of issue 16, where the Nosé–Hoover chains swung the
 * temperature to 2400-3000 K. The bound: the 50-fs running mean of T never exceeds T + 4 σ_T,
 * σ_T = T √(2/N_dof) (2089 K for massive chains, N_dof = 27; 2235 K for a global chain, N_dof = 21).
 */
const root = mkdtempSync(join(tmpdir(), 'atomgp-startup-'));
after(() => rmSync(root, { recursive: true, force: true }));
const mol = presetMolecule('malondialdehyde');
const spec = builtinForceFieldSpec(mol.symbols, mol.positionsA, mol.bonds, mol.bondOrders);
const potential = new BuiltinForceField(spec);
const minimum = lbfgs(potential, mol.positionsA, { fmaxKcalPerMolPerA: 0.01, maxSteps: 5000 }).positionsA;
const masses = massesAmu(mol.symbols);
const settings = (s: Partial<IntegratorSettings>): IntegratorSettings => ({ ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: 0.5, temperatureK: 1000, ...s });

/** Largest 50-fs running mean of T over `steps` steps of `md`. */
function maxRunningT(md: MolecularDynamics, steps: number): number {
  const run = new RunningTemperature(50 / md.settings.timestepFs);
  md.attach((m) => run.push(m.temperatureK));
  md.run(steps);
  return run.max;
}

test('without equilibration the chains overshoot far beyond T + 4 σ_T (the bug this guards)', () => {
  const md = MolecularDynamics.create(potential, settings({}), minimum, masses, 2);
  const max = maxRunningT(md, 1000);
  assert.equal(md.state.nDof, 27);
  assert.ok(max > temperatureBoundK(1000, 27), `max 50-fs mean ${max} K`);
});

for (const [mode, tau] of [
  ['massive', 100],
  ['massive', 500],
  ['global', 100],
] as const) {
  test(`equilibrated (${DEFAULT_EQUILIBRATION.timeFs} fs Langevin): ${mode} chains, τ = ${tau} fs, no start-up overshoot over 3 ps at 1000 K`, () => {
    for (const seed of [1, 2]) {
      const eq = new Equilibration(potential, settings({ nhcMode: mode, tauFs: tau }), DEFAULT_EQUILIBRATION, minimum, masses, seed);
      const record = eq.run();
      assert.ok(record.withinBound, `equilibration: ${record.maxRunningTemperatureK} K > ${record.temperatureBoundK} K`);
      const md = eq.production();
      const bound = temperatureBoundK(1000, md.state.nDof);
      assert.equal(md.state.nDof, mode === 'massive' ? 27 : 21);
      const max = maxRunningT(md, 6000);
      assert.ok(max <= bound, `seed ${seed}: max 50-fs mean ${max} K > ${bound} K`);
    }
  });
}

test('atomgp md\'s run: the equilibration is recorded and excluded from the run\'s time and statistics', () => {
  const out = join(root, 'eq');
  const s = runMd(baseOptions(out));
  assert.equal(s.survived, true, JSON.stringify(s.failure));
  assert.equal(s.stepsCompleted, 2000);
  assert.equal(s.simulatedTimeFs, 1000);
  const e = s.equilibration!;
  assert.equal(e.thermostat, 'langevin');
  assert.equal(e.steps, 1000);
  assert.equal(e.frictionPerPs, 10);
  assert.equal(e.motionRemoval, 'none', 'massive chains thermalise rigid motion too');
  assert.ok(e.withinBound);
  // The equilibration's log has its 1001 records; the run's log starts again at step 0.
  assert.equal(readFileSync(join(out, 'equilibration.csv'), 'utf8').trim().split('\n').length, 1 + 1001);
  const log = readFileSync(join(out, 'log.csv'), 'utf8').trim().split('\n');
  assert.equal(log.length, 1 + 2001);
  assert.match(log[1]!, /^0,0,/);
  // The run starts where the equilibration ended, and hotter than the minimum.
  assert.ok(Math.abs(Number(log[1]!.split(',')[2]) - e.epotEndKcalPerMol) < 1e-9);
  assert.ok(e.epotEndKcalPerMol > e.epotStartKcalPerMol + 5, `E_pot ${e.epotStartKcalPerMol} → ${e.epotEndKcalPerMol}`);
  assert.ok(Math.abs(s.meanTemperatureK - 1000) < 200, `mean T ${s.meanTemperatureK}`);
  // A resume continues after the equilibration and reports its record again.
  const whole = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const split = join(root, 'eq-split');
  runMd({ ...baseOptions(split), steps: 1000 });
  const resumed = runMd({ ...baseOptions(split), mode: 'resume' });
  assert.equal(resumed.resumedFromStep, 1000);
  assert.deepEqual(resumed.equilibration, whole.equilibration);
  assert.equal(resumed.meanTemperatureK, s.meanTemperatureK);
  assert.equal(readFileSync(join(split, 'log.csv'), 'utf8'), readFileSync(join(out, 'log.csv'), 'utf8'));
  assert.ok(existsSync(join(split, 'equilibration.json')));
});

function baseOptions(outDir: string) {
  return {
    potential,
    potentialSpec: { kind: 'builtin-ff', spec },
    symbols: mol.symbols,
    massesAmu: masses,
    startPositionsA: minimum,
    settings: settings({}),
    steps: 2000,
    seed: 5,
    outDir,
    mode: 'new' as const,
    checkpointEvery: 1000,
    equilibration: DEFAULT_EQUILIBRATION,
  };
}
