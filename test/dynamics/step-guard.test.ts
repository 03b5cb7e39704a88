import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { massesAmu } from '../../src/chem/molecule.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type IntegratorSettings } from '../../src/dynamics/integrators.js';
import { MolecularDynamics } from '../../src/dynamics/md.js';
import { ACCEL } from '../../src/dynamics/state.js';
import { AnalyticPotential, waterLikeSpec } from '../../src/potentials/analytic.js';
import type { Potential, PotentialResult } from '../../src/potentials/potential.js';

/**
 * One atom on a line with a smooth step in its energy: E(x) = h (1 + tanh((x − x0)/w)) / 2, h and
 * w chosen like a GP at an ALF pole (the energy moves by ~1 kcal/mol over a few 1e-3 Å, the force
 * peaks at h/2w). A 0.5 fs step moves the atom 0.025 Å: Verlet samples the force either side of
 * the step (and misses its work) or in it (a kick of h/2w · dt).
 */
class StepPotential implements Potential {
  readonly nAtoms = 1;
  readonly symbols = ['H'];
  readonly description = 'a step of h kcal/mol over w Å in x';
  constructor(
    readonly hKcalPerMol: number,
    readonly wA: number,
    readonly x0A: number,
  ) {}
  compute(positionsA: Float64Array, out: PotentialResult): void {
    const t = Math.tanh((positionsA[0]! - this.x0A) / this.wA);
    const e = (0.5 * this.hKcalPerMol * (1 + t)) / KCAL_PER_MOL_PER_HARTREE;
    out.energyHa = e;
    out.atomicEnergiesHa[0] = e;
    out.forcesHaPerBohr[0] = -(0.5 * this.hKcalPerMol * (1 - t * t)) / this.wA / KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
    out.forcesHaPerBohr[1] = 0;
    out.forcesHaPerBohr[2] = 0;
  }
}

const H_KCAL = 2;
const V0 = 0.05; // Å/fs: K = ½ m v² = 2.99 kcal/mol for 1.008 amu, enough to climb the step
const settings = (guard: number): IntegratorSettings => ({ ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nve', timestepFs: 0.5, temperatureK: 0, motionRemoval: 'none', stepGuardKcalPerMol: guard });

function cross(guard: number, x0A: number): { md: MolecularDynamics; energyChange: number; vAfter: number } {
  const pot = new StepPotential(H_KCAL, 2e-3, x0A);
  const md = MolecularDynamics.create(pot, settings(guard), new Float64Array(3), massesAmu(['H']), 1, { velocitiesAPerFs: Float64Array.from([V0, 0, 0]) });
  const e0 = md.conservedKcalPerMol;
  md.run(40); // 20 fs: 1 Å, through the step at x0
  return { md, energyChange: md.conservedKcalPerMol - e0, vAfter: md.state.velocitiesAPerFs[0]! };
}

test('the step guard takes a step through a steep energy step again in substeps: energy conserved, the exit velocity the analytic one', () => {
  const m = massesAmu(['H'])[0]!;
  const vExact = Math.sqrt(V0 * V0 - (2 * H_KCAL * ACCEL) / m); // ½ m v² loses h
  // Step centres between the positions Verlet samples (x = 0.025 k Å) and on one of them.
  let worstOff = 0;
  let reflectedOff = 0;
  for (const x0 of [0.5, 0.5004, 0.501, 0.502, 0.505, 0.5125, 0.52]) {
    const off = cross(0, x0);
    const on = cross(DEFAULT_INTEGRATOR_SETTINGS.stepGuardKcalPerMol, x0);
    const tight = cross(0.01, x0);
    worstOff = Math.max(worstOff, Math.abs(off.energyChange));
    if (off.vAfter < 0) reflectedOff += 1;
    assert.equal(off.md.state.stats.guardedSteps, 0);
    // measured: |ΔH| ≤ 0.38 kcal/mol over the crossing (one or two guarded steps, none unresolved)
    assert.ok(Math.abs(on.energyChange) <= DEFAULT_INTEGRATOR_SETTINGS.stepGuardKcalPerMol, `x0 ${x0}: with the guard the conserved quantity moved ${on.energyChange} kcal/mol`);
    assert.ok(on.md.state.stats.guardedSteps >= 1 && on.md.state.stats.guardedSteps <= 3, `guarded steps ${on.md.state.stats.guardedSteps}`);
    assert.equal(on.md.state.stats.guardUnresolvedSteps, 0);
    assert.ok(on.md.state.stats.guardMaxLevel >= 1 && on.md.state.stats.guardForceCalls >= 2);
    assert.ok(on.vAfter > 0, `x0 ${x0}: with the guard the atom was reflected (v ${on.vAfter} Å/fs)`);
    // a tight guard resolves the step: the exit velocity is the analytic one
    assert.ok(Math.abs(tight.energyChange) <= 0.01);
    assert.ok(Math.abs(tight.vAfter - vExact) < 0.01 * vExact, `x0 ${x0}: exit velocity ${tight.vAfter} Å/fs, analytic ${vExact} (no guard: ${off.vAfter})`);
    assert.ok(on.md.state.step === 40 && Math.abs(on.md.state.timeFs - 20) < 1e-12, 'the step counter counts time steps, not substeps');
  }
  // measured without the guard: up to 2.4 kcal/mol gained or lost, and 3 of 7 atoms reflected by a step they can climb
  assert.ok(worstOff > 1.5, `without the guard the worst crossing cost ${worstOff} kcal/mol`);
  assert.ok(reflectedOff >= 1, 'without the guard no atom was reflected');
});

test('on a smooth surface the guard changes nothing: NVT and Langevin trajectories bit-identical with the guard on and off', () => {
  const { spec, minimumA } = waterLikeSpec();
  for (const ensemble of ['nvt', 'langevin'] as const) {
    const run = (guard: number): MolecularDynamics => {
      const md = MolecularDynamics.create(new AnalyticPotential(spec), { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble, timestepFs: 0.5, temperatureK: 500, stepGuardKcalPerMol: guard }, minimumA, massesAmu(spec.symbols), 7);
      md.run(2000);
      return md;
    };
    const a = run(0);
    const b = run(DEFAULT_INTEGRATOR_SETTINGS.stepGuardKcalPerMol);
    assert.equal(b.state.stats.guardedSteps, 0, `${ensemble}: a smooth water surface needed the guard`);
    assert.deepEqual(Array.from(b.state.positionsA), Array.from(a.state.positionsA), ensemble);
    assert.deepEqual(Array.from(b.state.velocitiesAPerFs), Array.from(a.state.velocitiesAPerFs), ensemble);
    assert.equal(b.conservedKcalPerMol, a.conservedKcalPerMol);
  }
});

test('Langevin steps taken again replay the same random numbers: a guarded run is reproducible from its seed', () => {
  const pot = new StepPotential(H_KCAL, 2e-3, 0.5004);
  const s: IntegratorSettings = { ...settings(0.5), ensemble: 'langevin', temperatureK: 300, frictionPerPs: 1 };
  const run = (): MolecularDynamics => {
    const md = MolecularDynamics.create(pot, s, new Float64Array(3), massesAmu(['H']), 3, { velocitiesAPerFs: Float64Array.from([V0, 0, 0]) });
    md.run(40);
    return md;
  };
  const a = run();
  const b = run();
  assert.ok(a.state.stats.guardedSteps >= 1, 'the step was not guarded');
  assert.deepEqual(Array.from(b.state.positionsA), Array.from(a.state.positionsA));
  assert.equal(a.conservedKcalPerMol, b.conservedKcalPerMol);
});

test('a negative or non-finite step guard is refused with one line', () => {
  const pot = new StepPotential(1, 1e-2, 1);
  for (const g of [-1, Number.NaN]) {
    assert.throws(() => MolecularDynamics.create(pot, settings(g), new Float64Array(3), massesAmu(['H']), 1), /step guard .* kcal\/mol: expected ≥ 0 \(0: off\)/);
  }
});
