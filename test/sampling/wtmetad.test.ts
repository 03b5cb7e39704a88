import assert from 'node:assert/strict';
import { test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { BOHR_PER_ANGSTROM, BOLTZMANN_KCAL_PER_MOL_PER_K, KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../src/dynamics/integrators.js';
import { MolecularDynamics } from '../../src/dynamics/md.js';
import { AtomgpError } from '../../src/errors.js';
import { AnalyticPotential, BrokenPotential } from '../../src/potentials/analytic.js';
import { createResult, type Potential, type PotentialResult } from '../../src/potentials/potential.js';
import { type CvSpec, evaluateCv } from '../../src/sampling/cv.js';
import { BiasedPotential, biasOnGrid, bondWallsFromStart, evaluateBondWalls, MetadynamicsBias, runWtmetad, WtmetadFailure, type WtmetadOptions } from '../../src/sampling/wtmetad.js';

const BARRIER_KCAL = 9;
const THETA0 = (112 * Math.PI) / 180;
const BOND_A = 1.53;

/**
 * Butane-like C4 chain: harmonic bonds and angles (analytic.ts) plus a two-well torsion
 * U(φ) = (B/2)(1 − cos 2φ), minima at φ = 0 and π, barriers B = 9 kcal/mol at ±π/2.
 */
class TorsionChain implements Potential {
  readonly nAtoms = 4;
  readonly symbols = ['C', 'C', 'C', 'C'];
  readonly description = 'C4 chain with a 9 kcal/mol two-well torsion';
  private readonly base = new AnalyticPotential({
    symbols: ['C', 'C', 'C', 'C'],
    harmonicBonds: [0, 1, 2].map((i) => ({ i, j: i + 1, kKcalPerMolPerA2: 600, r0A: BOND_A })),
    harmonicAngles: [0, 1].map((i) => ({ i, j: i + 1, k: i + 2, kKcalPerMolPerRad2: 100, theta0Rad: THETA0 })),
  });
  private readonly g = new Float64Array(12);
  private readonly cv: CvSpec = { kind: 'dihedral', atoms: [0, 1, 2, 3] };
  compute(x: Float64Array, out: PotentialResult, withForces = true): void {
    this.base.compute(x, out, withForces);
    const phi = evaluateCv(this.cv, x, this.g);
    const eKcal = 0.5 * BARRIER_KCAL * (1 - Math.cos(2 * phi));
    out.energyHa += eKcal / KCAL_PER_MOL_PER_HARTREE;
    for (let a = 0; a < 4; a++) out.atomicEnergiesHa[a] = out.atomicEnergiesHa[a]! + eKcal / 4 / KCAL_PER_MOL_PER_HARTREE;
    if (!withForces) return;
    const dE = BARRIER_KCAL * Math.sin(2 * phi);
    for (let i = 0; i < 12; i++) out.forcesHaPerBohr[i] = out.forcesHaPerBohr[i]! - (dE * this.g[i]!) / KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
  }
}

function chain(phi: number, L = BOND_A, theta = THETA0): Float64Array {
  const s = Math.sin(theta);
  const c = Math.cos(theta);
  return Float64Array.from([L * c, L * s, 0, 0, 0, 0, L, 0, 0, L - L * c, L * s * Math.cos(phi), L * s * Math.sin(phi)]);
}

const DIHEDRAL: CvSpec = { kind: 'dihedral', atoms: [0, 1, 2, 3], label: 'phi' };

function options(over: Partial<WtmetadOptions> = {}): WtmetadOptions {
  const pot = new TorsionChain();
  return {
    potential: pot,
    symbols: [...pot.symbols],
    massesAmu: massesAmu(pot.symbols),
    startPositionsA: chain(Math.PI),
    cvs: [DIHEDRAL],
    temperatureK: 300,
    biasFactor: 10,
    hillHeightKcalPerMol: 1,
    hillWidths: [0.3],
    strideSteps: 100,
    timestepFs: 1,
    steps: 2000,
    harvestEvery: 10,
    seed: 1,
    integrator: { frictionPerPs: 5 },
    ...over,
  };
}

test('well-tempered hill heights follow w_n = w0 exp(−V_n/(k_B ΔT)) when depositing at the same s', () => {
  const T = 300;
  const gamma = 5;
  const w0 = 1.2;
  const bias = new MetadynamicsBias([DIHEDRAL], { temperatureK: T, biasFactor: gamma, initialHeightKcalPerMol: w0, widths: [0.25] }, 2);
  const kdt = BOLTZMANN_KCAL_PER_MOL_PER_K * (gamma - 1) * T; // 2.3847 kcal/mol
  assert.ok(Math.abs(bias.kDeltaTKcalPerMol - kdt) < 1e-12, `kΔT ${bias.kDeltaTKcalPerMol}`);
  let v = 0;
  for (let n = 0; n < 50; n++) {
    const expected = w0 * Math.exp(-v / kdt);
    const w = bias.deposit([1.0]); // grows past the initial capacity of 2
    assert.ok(Math.abs(w - expected) < 1e-12 * w0, `hill ${n}: ${w} vs ${expected}`);
    v += expected;
    assert.ok(Math.abs(bias.evaluate([1.0]) - v) < 1e-10, `V after hill ${n}`);
  }
  assert.equal(bias.nHills, 50);
  const h = bias.hills().heightsKcalPerMol;
  assert.ok(Math.abs(h[1]! - w0 * Math.exp(-w0 / kdt)) < 1e-12, `second hill ${h[1]}`); // 0.72887 kcal/mol
  // Continuum limit dV/dn = w0 e^{−V/kΔT} → V_n ≈ kΔT ln(1 + n w0/kΔT): logarithmic, not linear growth.
  const continuum = kdt * Math.log(1 + (50 * w0) / kdt);
  assert.ok(Math.abs(v - continuum) / continuum < 0.1, `V_50 = ${v.toFixed(3)} vs continuum ${continuum.toFixed(3)}`);
  assert.ok(v < 0.25 * 50 * w0, `V_50 = ${v}`);
  // Plain metadynamics (γ = ∞) keeps w0.
  const plain = new MetadynamicsBias([DIHEDRAL], { temperatureK: T, biasFactor: Number.POSITIVE_INFINITY, initialHeightKcalPerMol: w0, widths: [0.25] });
  plain.deposit([0]);
  assert.equal(plain.deposit([0]), w0);
  assert.equal(plain.freeEnergyFactor, 1);
});

test('dihedral hills wrap across ±π and ∂V/∂s matches finite differences', () => {
  const sigma = 0.3;
  const bias = new MetadynamicsBias([DIHEDRAL, { kind: 'distance', atoms: [0, 3] }], { temperatureK: 300, biasFactor: 8, initialHeightKcalPerMol: 0.8, widths: [sigma, 0.1] });
  bias.addHill([3.1, 3.0], 0.8);
  const expected = 0.8 * Math.exp(-((2 * Math.PI - 6.2) ** 2) / (2 * sigma * sigma));
  assert.ok(Math.abs(bias.evaluate([-3.1, 3.0]) - expected) < 1e-14, 'a hill at φ = 3.1 reaches φ = −3.1 across the cut');
  bias.addHill([-2.5, 3.2], 0.5);
  bias.addHill([0.4, 2.9], 0.3);
  const g = new Float64Array(2);
  for (const s of [
    [3.05, 3.02],
    [-3.12, 3.1],
    [0.2, 2.95],
  ]) {
    bias.evaluate(s, g);
    for (let c = 0; c < 2; c++) {
      const h = 1e-6;
      const p = [...s];
      const m = [...s];
      p[c]! += h;
      m[c]! -= h;
      const fd = (bias.evaluate(p) - bias.evaluate(m)) / (2 * h);
      assert.ok(Math.abs(g[c]! - fd) < 1e-8, `∂V/∂s${c} at ${s}: ${g[c]} vs ${fd}`);
    }
  }
});

test('biased forces equal minus the finite-difference gradient of the biased energy; labels stay unbiased', () => {
  const inner = new TorsionChain();
  const cvs: CvSpec[] = [DIHEDRAL, { kind: 'distance', atoms: [0, 3] }, { kind: 'angle', atoms: [1, 2, 3] }];
  const bias = new MetadynamicsBias(cvs, { temperatureK: 300, biasFactor: 10, initialHeightKcalPerMol: 1, widths: [0.3, 0.15, 0.1] });
  const x = chain(2.2);
  x[1] += 0.05;
  x[11] -= 0.07;
  const s = cvs.map((cv) => evaluateCv(cv, x));
  bias.addHill([s[0]! + 0.2, s[1]! - 0.05, s[2]! + 0.04], 1.1);
  bias.addHill([s[0]! - 0.3, s[1]! + 0.1, s[2]! - 0.05], 0.7);
  const biased = new BiasedPotential(inner, bias);
  const out = createResult(4);
  const ref = createResult(4);
  biased.compute(x, out);
  inner.compute(x, ref);
  const vKcal = bias.evaluate(s);
  assert.ok(vKcal > 0.5, `the bias is not negligible here (${vKcal} kcal/mol)`);
  assert.ok(Math.abs(out.energyHa - (ref.energyHa + vKcal / KCAL_PER_MOL_PER_HARTREE)) < 1e-15, 'biased energy = inner + V');
  assert.deepEqual(Array.from(out.atomicEnergiesHa), Array.from(ref.atomicEnergiesHa));
  assert.equal(biased.lastUnbiased.energyHa, ref.energyHa);
  assert.deepEqual(Array.from(biased.lastUnbiased.forcesHaPerBohr), Array.from(ref.forcesHaPerBohr));
  assert.ok(Math.abs(biased.lastBiasKcalPerMol - vKcal) < 1e-15, 'last bias');
  const tmp = createResult(4);
  const y = Float64Array.from(x);
  const hA = 1e-5;
  let maxErr = 0;
  let maxBiasForce = 0;
  for (let i = 0; i < 12; i++) {
    y[i] = x[i]! + hA;
    biased.compute(y, tmp, false);
    const ep = tmp.energyHa;
    y[i] = x[i]! - hA;
    biased.compute(y, tmp, false);
    const em = tmp.energyHa;
    y[i] = x[i]!;
    const fd = -((ep - em) / (2 * hA)) / BOHR_PER_ANGSTROM; // Ha/Å → Ha/bohr
    maxErr = Math.max(maxErr, Math.abs(out.forcesHaPerBohr[i]! - fd));
    maxBiasForce = Math.max(maxBiasForce, Math.abs(out.forcesHaPerBohr[i]! - ref.forcesHaPerBohr[i]!));
  }
  assert.ok(maxBiasForce > 1e-3, `bias forces are tested, not zero (${maxBiasForce} Ha/bohr)`);
  assert.ok(maxErr < 1e-9, `max |F − (−FD grad)| = ${maxErr} Ha/bohr`);
});

test('after a deposit, swapping the bias forces gives the forces of a fresh evaluation', () => {
  const bias = new MetadynamicsBias([DIHEDRAL], { temperatureK: 300, biasFactor: 10, initialHeightKcalPerMol: 1, widths: [0.3] });
  const biased = new BiasedPotential(new TorsionChain(), bias);
  const x = chain(2.9);
  const out = createResult(4);
  bias.addHill([3.0], 0.9);
  biased.compute(x, out);
  const fKcal = Float64Array.from(out.forcesHaPerBohr, (f) => f * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR);
  const vOld = biased.addBiasForcesKcalPerMolPerA(fKcal, -1);
  bias.deposit(biased.lastCvValues);
  const vNew = biased.addBiasForcesKcalPerMolPerA(fKcal, 1);
  biased.compute(x, out);
  assert.ok(Math.abs(vNew - biased.lastBiasKcalPerMol) < 1e-14 && vNew > vOld, `V ${vOld} → ${vNew}`);
  for (let i = 0; i < 12; i++) assert.ok(Math.abs(fKcal[i]! - out.forcesHaPerBohr[i]! * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR) < 1e-11, `force component ${i}`);
});

test('the bias grows where the system has been (short run in the trans well)', () => {
  const r = runWtmetad(options({ steps: 1500 }));
  assert.equal(r.completed, true);
  assert.equal(r.frames.length, 151); // steps 0, 10, …, 1500
  assert.equal(r.bias.nHills, 16); // steps 0, 100, …, 1500
  const visited = r.frames.map((f) => f.cvValues[0]!);
  const vVisited = visited.reduce((s, phi) => s + r.bias.evaluate([phi]), 0) / visited.length;
  // cis side (|φ| < π/2) never visited: no bias there
  assert.ok(visited.every((phi) => Math.abs(phi) > Math.PI / 2), 'stays in the trans well');
  const vUnvisited = [-1, -0.5, 0, 0.5, 1].reduce((s, phi) => s + r.bias.evaluate([phi]), 0) / 5;
  assert.ok(vVisited > 3, `mean bias at visited φ ${vVisited.toFixed(2)} kcal/mol`);
  assert.ok(vUnvisited < 1e-3, `bias at unvisited φ ${vUnvisited}`);
  // harvested labels are the unbiased reference values
  const pot = new TorsionChain();
  const res = createResult(4);
  for (const f of [r.frames[0]!, r.frames[77]!, r.frames[150]!]) {
    pot.compute(f.positionsA, res);
    assert.equal(f.energyHa, res.energyHa);
    assert.deepEqual(Array.from(f.forcesHaPerBohr), Array.from(res.forcesHaPerBohr));
    assert.deepEqual(Array.from(f.atomicEnergiesHa), Array.from(res.atomicEnergiesHa));
    assert.equal(f.cvValues[0], evaluateCv(DIHEDRAL, f.positionsA));
  }
  // hills are deposited at the CV values of the frames harvested at the same steps
  const h = r.hills;
  for (let k = 0; k < h.steps.length; k++) {
    const frame = r.frames.find((f) => f.step === h.steps[k]);
    assert.equal(frame?.cvValues[0], h.centres[k]);
  }
});

test('WTMetaD covers more dihedral space than plain MD (same seed, length, thermostat) and recovers the 9 kcal/mol barrier', () => {
  const steps = 12000;
  const o = options({ steps });
  const r = runWtmetad(o);
  assert.equal(r.completed, true);
  const md = MolecularDynamics.create(
    o.potential,
    { ...DEFAULT_INTEGRATOR_SETTINGS, frictionPerPs: 5, ensemble: 'langevin', timestepFs: 1, temperatureK: 300 },
    o.startPositionsA,
    o.massesAmu,
    o.seed,
  );
  const plain: number[] = [];
  md.attach((m) => plain.push(evaluateCv(DIHEDRAL, m.state.positionsA)), o.harvestEvery);
  md.run(steps);
  const wt = r.frames.map((f) => f.cvValues[0]!);
  assert.equal(wt.length, plain.length);
  const bins = (v: number[]): number => new Set(v.map((p) => Math.min(35, Math.floor(((p + Math.PI) / (2 * Math.PI)) * 36)))).size;
  const cis = (v: number[]): number => v.filter((p) => Math.abs(p) < Math.PI / 2).length / v.length;
  // measured: WTMetaD 36/36 bins, cis fraction 0.51; plain MD 8/36 bins, cis 0
  assert.ok(bins(wt) >= 30, `WTMetaD visited ${bins(wt)}/36 bins`);
  assert.ok(bins(plain) <= 12, `plain MD visited ${bins(plain)}/36 bins`);
  assert.ok(cis(wt) > 0.2 && cis(plain) === 0, `cis fractions ${cis(wt)} vs ${cis(plain)}`);
  // F ≈ −γ/(γ−1) V: barrier at ±π/2 ≈ 9 kcal/mol above the wells (measured 8.4-9.1)
  const p = biasOnGrid(r.bias, 0, [0, Math.PI, Math.PI / 2, -Math.PI / 2]);
  const f = p.freeEnergyKcalPerMol;
  const well = Math.max(f[0]!, f[1]!);
  assert.ok(well < 1, `wells differ by ${well} kcal/mol (symmetric potential)`);
  for (const barrier of [f[2]!, f[3]!]) assert.ok(Math.abs(barrier - BARRIER_KCAL) < 1.5, `barrier estimate ${barrier.toFixed(2)} kcal/mol`);
});

test('an exploding run stops with a clear failure and keeps the frames harvested before it', () => {
  // The reference breaks (NaN) from its 400th evaluation: create() makes call 0, step k call k.
  const o = options({ steps: 1000 });
  o.potential = new BrokenPotential(o.potential, { mode: 'nan', fromCall: 400 });
  const progress: number[] = [];
  o.onProgress = (step, n) => progress.push(step, n);
  const r = runWtmetad(o);
  assert.equal(r.completed, false);
  assert.equal(r.failure?.kind, 'non-finite');
  assert.equal(r.failure?.step, 400);
  assert.equal(r.stepsCompleted, 400);
  assert.equal(r.frames.length, 40); // steps 0..390
  assert.ok(r.frames.every((f) => Number.isFinite(f.energyHa) && f.forcesHaPerBohr.every(Number.isFinite)), 'kept frames are finite');
  assert.ok(r.error instanceof AtomgpError, 'error is an AtomgpError');
  assert.match(r.error!.message, /WTMetaD run stopped at step 400 \(400\.0 fs\) of 1000: non-finite.*The 40 frames harvested before the failure are kept/);
  assert.deepEqual(progress, [0, 1, 100, 11, 200, 21, 300, 31, 400, 40]); // the failing step still reports
  const o2 = options({ steps: 1000, throwOnFailure: true });
  o2.potential = new BrokenPotential(o2.potential, { mode: 'nan', fromCall: 250 });
  assert.throws(
    () => runWtmetad(o2),
    (e: unknown) => e instanceof WtmetadFailure && e instanceof AtomgpError && e.result.frames.length === 25 && /step 250/.test(e.message),
  );
});

test('Nosé–Hoover thermostat option runs; bad settings are AtomgpErrors', () => {
  const r = runWtmetad(options({ thermostat: 'nvt', steps: 300, integrator: { tauFs: 50 } }));
  assert.equal(r.completed, true);
  assert.equal(r.frames.length, 31);
  assert.throws(() => runWtmetad(options({ biasFactor: 1 })), /bias factor γ = 1: expected γ > 1/);
  assert.throws(() => runWtmetad(options({ hillWidths: [0.3, 0.1] })), /2 hill widths for 1 collective variables/);
  assert.throws(() => runWtmetad(options({ hillWidths: [2] })), /hill width 2 rad for phi: .*below π\/2/);
  assert.throws(() => runWtmetad(options({ hillHeightKcalPerMol: 0 })), /hill height 0 kcal\/mol/);
  assert.throws(() => runWtmetad(options({ cvs: [{ kind: 'dihedral', atoms: [0, 1, 2, 4] }] })), /atom index 4 is outside 0\.\.3/);
  assert.throws(() => runWtmetad(options({ symbols: ['C', 'C', 'C', 'O'] })), /atom 4 of the start geometry is O but the potential expects C/);
  assert.throws(() => runWtmetad(options({ strideSteps: 0 })), /hill deposition stride \(steps\) must be an integer ≥ 1/);
  assert.throws(() => runWtmetad(options({ thermostat: 'nve' as 'nvt' })), /thermostat 'nve'/);
});

test('bias snapshots round-trip through JSON; biasOnGrid projects a 2-CV bias', () => {
  const bias = new MetadynamicsBias([DIHEDRAL, { kind: 'distance', atoms: [0, 3] }], { temperatureK: 300, biasFactor: 6, initialHeightKcalPerMol: 0.5, widths: [0.3, 0.1] });
  bias.deposit([1, 3]);
  bias.deposit([1.2, 3.1]);
  bias.deposit([-2, 2.6]);
  const copy = MetadynamicsBias.fromSnapshot(JSON.parse(JSON.stringify(bias.snapshot())));
  for (const s of [
    [1.1, 3],
    [-2.1, 2.7],
    [3, 3.3],
  ]) {
    assert.equal(copy.evaluate(s), bias.evaluate(s));
  }
  const slice = biasOnGrid(bias, 0, [1, -2], [0, 3]);
  assert.equal(slice.biasKcalPerMol[0], bias.evaluate([1, 3]));
  const proj = biasOnGrid(bias, 0, [1, -2]);
  const h = bias.hills().heightsKcalPerMol;
  const g = (d: number) => Math.exp(-(d * d) / (2 * 0.09));
  // hills at φ = 1, 1.2 and −2 seen from φ = −2 (the second one across the ±π cut: 2π − 3.2)
  const expected = h[0]! * g(3) + h[1]! * g(2 * Math.PI - 3.2) + h[2]!;
  assert.ok(Math.abs(proj.biasKcalPerMol[1]! - expected) < 1e-12, `projected bias ${proj.biasKcalPerMol[1]} vs ${expected}`);
  // F = −γ/(γ−1) V shifted to a minimum of 0, γ = 6
  const df = proj.freeEnergyKcalPerMol[1]! - proj.freeEnergyKcalPerMol[0]!;
  const dv = proj.biasKcalPerMol[0]! - proj.biasKcalPerMol[1]!;
  assert.equal(Math.min(...proj.freeEnergyKcalPerMol), 0);
  assert.ok(Math.abs(df - (6 / 5) * dv) < 1e-12, `ΔF ${df} vs 6/5 ΔV ${(6 / 5) * dv}`);
});

test('bond walls: zero inside, k (d − f d0)² beyond, forces equal minus the finite-difference gradient', () => {
  const x0 = chain(2.0);
  const walls = bondWallsFromStart(['C', 'C', 'C', 'C'], x0, 1.3, 200);
  assert.equal(walls.maxA.length, 3, 'three C-C bonds');
  for (const m of walls.maxA) assert.ok(Math.abs(m - 1.3 * BOND_A) < 1e-12);
  assert.equal(evaluateBondWalls(walls, x0), 0);
  // Stretch bond 2-3 (atom 2 at the origin, atom 3 at (L, 0, 0)) to 2.2 Å along x, moving atom 4
  // with it: E = 200 (2.2 − 1.3 L)².
  const x = Float64Array.from(x0);
  x[6] = 2.2;
  x[9] += 2.2 - BOND_A;
  const expected = 200 * (2.2 - 1.3 * BOND_A) ** 2;
  assert.ok(Math.abs(evaluateBondWalls(walls, x) - expected) < 1e-9, `${evaluateBondWalls(walls, x)} vs ${expected}`);
  // Through BiasedPotential: energy = inner + wall (no hills), forces = −∇ (FD).
  const bias = new MetadynamicsBias([DIHEDRAL], { temperatureK: 300, biasFactor: 10, initialHeightKcalPerMol: 1, widths: [0.3] });
  const inner = new TorsionChain();
  const biased = new BiasedPotential(inner, bias, walls);
  const out = createResult(4);
  const ref = createResult(4);
  x[1] += 0.9; // stretch bond 1-2 beyond its wall too
  biased.compute(x, out);
  inner.compute(x, ref);
  assert.ok(biased.lastWallKcalPerMol > expected, 'two walls active');
  assert.ok(Math.abs(out.energyHa - ref.energyHa - biased.lastWallKcalPerMol / KCAL_PER_MOL_PER_HARTREE) < 1e-14);
  assert.deepEqual(Array.from(out.atomicEnergiesHa), Array.from(ref.atomicEnergiesHa), 'labels exclude the wall');
  const tmp = createResult(4);
  const y = Float64Array.from(x);
  let maxErr = 0;
  for (let i = 0; i < 12; i++) {
    y[i] = x[i]! + 1e-5;
    biased.compute(y, tmp, false);
    const ep = tmp.energyHa;
    y[i] = x[i]! - 1e-5;
    biased.compute(y, tmp, false);
    y[i] = x[i]!;
    const fd = -((ep - tmp.energyHa) / 2e-5) / BOHR_PER_ANGSTROM;
    maxErr = Math.max(maxErr, Math.abs(out.forcesHaPerBohr[i]! - fd));
  }
  assert.ok(maxErr < 1e-9, `max |F − (−FD)| = ${maxErr} Ha/bohr`);
  assert.throws(() => bondWallsFromStart(['C', 'C', 'C', 'C'], x0, 1), /factor must be > 1/);
});

test('bond walls keep a weakly bound molecule intact where plain WTMetaD dissociates it', () => {
  // A C4 chain held by shallow Morse bonds (D = 6 kcal/mol) at 600 K falls apart within a few ps.
  const morse = new AnalyticPotential({
    symbols: ['C', 'C', 'C', 'C'],
    morseBonds: [0, 1, 2].map((i) => ({ i, j: i + 1, depthKcalPerMol: 6, alphaPerA: 2, r0A: BOND_A })),
    harmonicAngles: [0, 1].map((i) => ({ i, j: i + 1, k: i + 2, kKcalPerMolPerRad2: 60, theta0Rad: THETA0 })),
  });
  const base = options({ potential: morse, temperatureK: 600, steps: 6000, timestepFs: 0.5, monitor: { bondStretchFactor: 2 } });
  const free = runWtmetad(base);
  assert.equal(free.completed, false, 'without walls a bond breaks');
  assert.equal(free.failure?.kind, 'bond-stretched');
  const walled = runWtmetad({ ...base, bondWalls: { factor: 1.3, kKcalPerMolPerA2: 200 } });
  assert.equal(walled.completed, true, `with walls the chain survives (${walled.failure?.reason ?? ''})`);
  let maxRatio = 0;
  for (const f of walled.frames) {
    for (let b = 0; b < 3; b++) {
      const d = Math.hypot(f.positionsA[3 * b]! - f.positionsA[3 * b + 3]!, f.positionsA[3 * b + 1]! - f.positionsA[3 * b + 4]!, f.positionsA[3 * b + 2]! - f.positionsA[3 * b + 5]!);
      maxRatio = Math.max(maxRatio, d / BOND_A);
    }
  }
  assert.ok(maxRatio > 1.15 && maxRatio < 1.5, `bonds explore up to the wall but not beyond it: max d/d0 = ${maxRatio.toFixed(3)}`);
});
