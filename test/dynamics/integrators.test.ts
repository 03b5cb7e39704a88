import assert from 'node:assert/strict';
import { test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type IntegratorSettings, suzukiYoshidaWeights } from '../../src/dynamics/integrators.js';
import { MolecularDynamics } from '../../src/dynamics/md.js';
import {
  angularMomentum,
  degreesOfFreedom,
  KB,
  kineticEnergyKcalPerMol,
  linearMomentum,
  maxwellBoltzmannVelocities,
  temperatureK,
} from '../../src/dynamics/state.js';
import { AtomgpError } from '../../src/errors.js';
import { AnalyticPotential, type AnalyticSpec, harmonicOscillatorSet, waterLikeSpec } from '../../src/potentials/analytic.js';
import { Rng } from '../../src/util/rng.js';

const settings = (s: Partial<IntegratorSettings>): IntegratorSettings => ({ ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nve', timestepFs: 0.5, temperatureK: 300, ...s });

/** Range (max − min) of the conserved quantity over a run, and its final drift. */
function conservedRange(md: MolecularDynamics, steps: number): { range: number; drift: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  md.attach((m) => {
    min = Math.min(min, m.conservedKcalPerMol);
    max = Math.max(max, m.conservedKcalPerMol);
  });
  md.run(steps);
  return { range: max - min, drift: md.conservedKcalPerMol - md.state.stats.conserved0KcalPerMol };
}

test('NVE: energy fluctuation scales as dt² and does not drift', () => {
  const { spec, minimumA } = waterLikeSpec();
  const pot = new AnalyticPotential(spec);
  const totalFs = 1000;
  const out: Array<{ range: number; drift: number }> = [];
  for (const dt of [0.5, 0.25]) {
    const md = MolecularDynamics.create(pot, settings({ timestepFs: dt, temperatureK: 500 }), minimumA, massesAmu(spec.symbols), 11);
    out.push(conservedRange(md, Math.round(totalFs / dt)));
  }
  const ratio = out[0]!.range / out[1]!.range;
  assert.ok(ratio > 3.4 && ratio < 4.6, `fluctuation ratio for dt and dt/2 is ${ratio}, expected ≈ 4`);
  // no drift beyond the fluctuation itself (velocity Verlet is symplectic)
  for (const o of out) assert.ok(Math.abs(o.drift) <= o.range, `drift ${o.drift} vs fluctuation ${o.range}`);
  assert.ok(out[0]!.range < 0.1, `fluctuation at 0.5 fs is ${out[0]!.range} kcal/mol`);
});

test('NVE conserves linear and angular momentum of an isolated molecule', () => {
  const { spec, minimumA } = waterLikeSpec();
  const m = massesAmu(spec.symbols);
  const md = MolecularDynamics.create(new AnalyticPotential(spec), settings({ temperatureK: 800 }), minimumA, m, 3);
  md.run(2000);
  const p = linearMomentum(md.state.velocitiesAPerFs, m);
  const l = angularMomentum(md.state.positionsA, md.state.velocitiesAPerFs, m);
  for (const v of [...p, ...l]) assert.ok(Math.abs(v) < 1e-12, `momentum component ${v}`);
});

test('Maxwell–Boltzmann velocities: zero momentum and angular momentum, exactly T over 3N − 6 (3N − 5 linear)', () => {
  const symbols = ['C', 'O', 'H', 'H', 'N'];
  const x = Float64Array.from([0, 0, 0, 1.2, 0.1, 0, -0.5, 0.9, 0.2, -0.6, -0.9, -0.1, 0.3, 0.4, 1.4]);
  const m = massesAmu(symbols);
  const v = new Float64Array(15);
  const nDof = degreesOfFreedom(x, m, 'translation+rotation');
  assert.equal(nDof, 9);
  maxwellBoltzmannVelocities(x, m, 450, new Rng(4), 'translation+rotation', nDof, v);
  for (const c of [...linearMomentum(v, m), ...angularMomentum(x, v, m)]) assert.ok(Math.abs(c) < 1e-14, `${c}`);
  assert.ok(Math.abs(temperatureK(kineticEnergyKcalPerMol(v, m), nDof) - 450) < 1e-9);
  // linear molecule (CO2-like): 3N − 5
  const lin = Float64Array.from([0, 0, 0, 1.16, 0, 0, -1.16, 0, 0]);
  const ml = massesAmu(['C', 'O', 'O']);
  assert.equal(degreesOfFreedom(lin, ml, 'translation+rotation'), 4);
  const vl = new Float64Array(9);
  maxwellBoltzmannVelocities(lin, ml, 300, new Rng(5), 'translation+rotation', 4, vl);
  for (const c of [...linearMomentum(vl, ml), ...angularMomentum(lin, vl, ml)]) assert.ok(Math.abs(c) < 1e-14);
  assert.equal(degreesOfFreedom(x, m, 'translation'), 12);
  assert.equal(degreesOfFreedom(x, m, 'none'), 15);
});

/**
 * A chain of atoms in anisotropic wells joined by Morse bonds: anharmonic and coupled, so a global
 * thermostat is ergodic on it. (Independent isotropic oscillators are not: Nosé–Hoover scales all
 * velocities alike, so the ratios of their angular momenta never change.)
 */
function coupledChain(n: number): { spec: AnalyticSpec; x: Float64Array } {
  const spec = harmonicOscillatorSet(n, 20, 'H', 3);
  spec.harmonicWells!.forEach((w, i) => {
    w.centreA = [1.5 * i, 0, 0];
  });
  spec.morseBonds = [];
  for (let i = 0; i + 1 < n; i++) spec.morseBonds.push({ i, j: i + 1, depthKcalPerMol: 5, alphaPerA: 2, r0A: 1.5 });
  const x = new Float64Array(3 * n);
  spec.harmonicWells!.forEach((w, i) => {
    x.set(w.centreA, 3 * i);
  });
  return { spec, x };
}

/** ⟨K⟩ and Var(K) relative to their canonical values (N_dof/2) k_B T and (N_dof/2) (k_B T)². */
function kineticMoments(md: MolecularDynamics, steps: number, burnIn: number): { mean: number; variance: number } {
  let s = 0;
  let s2 = 0;
  let c = 0;
  md.attach((m) => {
    if (m.state.step < burnIn) return;
    s += m.ekinKcalPerMol;
    s2 += m.ekinKcalPerMol * m.ekinKcalPerMol;
    c++;
  });
  md.run(steps);
  const kT = KB * md.settings.temperatureK;
  const half = md.state.nDof / 2;
  const mean = s / c;
  return { mean: mean / (half * kT), variance: (s2 / c - mean * mean) / (half * kT * kT) };
}

test('Nosé–Hoover chain samples the canonical ⟨K⟩ and Var(K) and conserves H_NHC', () => {
  const { spec, x } = coupledChain(48);
  const md = MolecularDynamics.create(new AnalyticPotential(spec), settings({ ensemble: 'nvt', timestepFs: 1, tauFs: 20, motionRemoval: 'none', nhcMode: 'global' }), x, massesAmu(spec.symbols), 7);
  let hMin = Number.POSITIVE_INFINITY;
  let hMax = Number.NEGATIVE_INFINITY;
  md.attach((m) => {
    hMin = Math.min(hMin, m.conservedKcalPerMol);
    hMax = Math.max(hMax, m.conservedKcalPerMol);
  });
  const { mean, variance } = kineticMoments(md, 150_000, 2000);
  assert.equal(md.state.nDof, 144);
  // statistical errors (several seeds): ⟨K⟩ ±0.5 %, Var(K) ±4 %
  assert.ok(Math.abs(mean - 1) < 0.02, `⟨K⟩/canonical = ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.12, `Var(K)/canonical = ${variance}`);
  // H_NHC varies by under 2 % of the thermal energy N_dof k_B T (~86 kcal/mol here) over 150 ps
  assert.ok(hMax - hMin < 0.02 * md.state.nDof * KB * 300, `H_NHC range ${hMax - hMin} kcal/mol`);
});

test('NHC conserved quantity fluctuation shrinks as dt² (Suzuki–Yoshida order 5, 2 substeps)', () => {
  const { spec, x } = coupledChain(8);
  const pot = new AnalyticPotential(spec);
  const r: number[] = [];
  for (const dt of [1, 0.5]) {
    const md = MolecularDynamics.create(
      pot,
      settings({ ensemble: 'nvt', timestepFs: dt, tauFs: 50, motionRemoval: 'none', suzukiYoshidaOrder: 5, nhcSubsteps: 2, nhcMode: 'global' }),
      x,
      massesAmu(spec.symbols),
      3,
    );
    r.push(conservedRange(md, Math.round(2000 / dt)).range);
  }
  const ratio = r[0]! / r[1]!;
  assert.ok(ratio > 3 && ratio < 5, `ratio ${ratio}`);
  const w = suzukiYoshidaWeights(5);
  assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-15);
});

test('Langevin BAOAB samples the canonical ⟨K⟩ and Var(K) on independent oscillators', () => {
  // k = 25 kcal/mol/Å² keeps BAOAB's O((ω dt)²) kinetic-energy bias at dt = 1 fs below 0.3 %
  const n = 128;
  const spec = harmonicOscillatorSet(n, 25);
  const x = new Float64Array(3 * n);
  spec.harmonicWells!.forEach((w, i) => {
    x.set(w.centreA, 3 * i);
  });
  const md = MolecularDynamics.create(new AnalyticPotential(spec), settings({ ensemble: 'langevin', timestepFs: 1, frictionPerPs: 20, motionRemoval: 'none' }), x, massesAmu(spec.symbols), 9);
  const { mean, variance } = kineticMoments(md, 60_000, 1000);
  // statistical errors (six seeds): ⟨K⟩ ±0.5 %, Var(K) ±4 %
  assert.ok(Math.abs(mean - 1) < 0.02, `⟨K⟩/canonical = ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.12, `Var(K)/canonical = ${variance}`);
});

test('Langevin keeps an isolated molecule free of rigid motion and T from 3N − 6', () => {
  const { spec, minimumA } = waterLikeSpec();
  const m = massesAmu(spec.symbols);
  const md = MolecularDynamics.create(new AnalyticPotential(spec), settings({ ensemble: 'langevin', frictionPerPs: 5 }), minimumA, m, 2);
  md.run(500);
  for (const c of [...linearMomentum(md.state.velocitiesAPerFs, m), ...angularMomentum(md.state.positionsA, md.state.velocitiesAPerFs, m)]) {
    assert.ok(Math.abs(c) < 1e-12, `${c}`);
  }
  assert.equal(md.state.nDof, 3);
});

test('absurd settings are AtomgpErrors', () => {
  const { spec, minimumA } = waterLikeSpec();
  const pot = new AnalyticPotential(spec);
  const m = massesAmu(spec.symbols);
  for (const bad of [{ timestepFs: -1 }, { timestepFs: 50 }, { temperatureK: -5 }, { temperatureK: Number.NaN }, { ensemble: 'nvt' as const, temperatureK: 0 }, { chainLength: 0 }]) {
    assert.throws(() => MolecularDynamics.create(pot, settings(bad), minimumA, m, 1), AtomgpError, JSON.stringify(bad));
  }
});

test('massive Nosé–Hoover chains sample ⟨K⟩ and Var(K) of a small molecule over 3N dof and conserve their H', () => {
  // A 3-atom molecule is where one global chain is least ergodic; per-dof chains thermalise every momentum.
  const { spec, minimumA } = waterLikeSpec();
  const md = MolecularDynamics.create(new AnalyticPotential(spec), settings({ ensemble: 'nvt', timestepFs: 0.5, tauFs: 50, nhcMode: 'massive' }), minimumA, massesAmu(spec.symbols), 5);
  assert.equal(md.state.nDof, 9);
  assert.equal(md.state.thermostat.length, 2 * 3 * 9);
  const { mean, variance } = kineticMoments(md, 200_000, 2000);
  // statistical errors (several seeds): ⟨K⟩ ±1 %, Var(K) ±5 %
  assert.ok(Math.abs(mean - 1) < 0.03, `⟨K⟩/canonical = ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.15, `Var(K)/canonical = ${variance}`);
});

test('massive NHC conserved quantity: its fluctuation shrinks as dt² (an integration error, not a leak)', () => {
  const { spec, minimumA } = waterLikeSpec();
  const r: number[] = [];
  for (const dt of [0.5, 0.25]) {
    const md = MolecularDynamics.create(new AnalyticPotential(spec), settings({ ensemble: 'nvt', timestepFs: dt, tauFs: 50, nhcMode: 'massive' }), minimumA, massesAmu(spec.symbols), 5);
    r.push(conservedRange(md, Math.round(10_000 / dt)).range);
  }
  // measured: 0.21 → 0.069 kcal/mol over 20 ps (ratio ≈ 3; 4 asymptotically)
  assert.ok(r[0]! / r[1]! > 2.5, `ranges ${r}`);
  assert.ok(r[1]! < 0.1, `range at 0.25 fs ${r[1]} kcal/mol`);
});
