import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { BOLTZMANN_KCAL_PER_MOL_PER_K } from '../../src/chem/units.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../src/dynamics/integrators.js';
import { MolecularDynamics } from '../../src/dynamics/md.js';
import { AtomgpError } from '../../src/errors.js';
import { AnalyticPotential, BrokenPotential } from '../../src/potentials/analytic.js';
import { createResult } from '../../src/potentials/potential.js';
import { evaluateCv } from '../../src/sampling/cv.js';
import { readWtmetadCheckpoint, writeWtmetadCheckpoint } from '../../src/sampling/checkpoint.js';
import { biasOnGrid, MetadynamicsBias, runWtmetad, runWtmetadInterruptible, WtmetadFailure, type WtmetadOptions } from '../../src/sampling/wtmetad.js';
import { BARRIER_KCAL, BOND_A, chain, DIHEDRAL, THETA0, TorsionChain } from './torsion-chain.js';


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

test('a WTMetaD run stopped part-way and continued from its checkpoint file equals an uninterrupted run bit for bit (Langevin and NHC)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-wtmetad-cp-'));
  try {
    for (const thermostat of ['langevin', 'nvt'] as const) {
      const o = options({ steps: 1500, thermostat, bondWalls: { factor: 1.2 } });
      const whole = runWtmetad(o);
      const file = join(dir, `${thermostat}.json`);
      let saved = 0;
      let chunks = 0;
      // Checkpoints every 400 steps, and a stop request after 31 chunks of 20 steps (step 620).
      const first = await runWtmetadInterruptible(o, () => (chunks++ >= 31 ? 'SIGTERM' : undefined), {
        checkpointEvery: 400,
        onCheckpoint: (cp) => {
          saved = cp.state.step;
          writeWtmetadCheckpoint(file, cp, { run: thermostat });
        },
      });
      assert.equal(first.interrupted, 'SIGTERM');
      assert.equal(first.completed, false);
      assert.equal(first.stepsCompleted, 620);
      assert.equal(saved, 620, 'the stop wrote a final checkpoint');
      const { checkpoint, fingerprint } = readWtmetadCheckpoint(file);
      assert.deepEqual(fingerprint, { run: thermostat });
      assert.equal(checkpoint.frames.length, 63);
      const rest = await runWtmetadInterruptible({ ...o, resumeFrom: checkpoint }, () => undefined);
      assert.equal(rest.completed, true);
      assert.equal(rest.interrupted, undefined);
      assert.equal(rest.stepsCompleted, 1500);
      assert.equal(rest.meanTemperatureK, whole.meanTemperatureK);
      assert.deepEqual(rest.hills, whole.hills);
      assert.equal(rest.frames.length, whole.frames.length);
      for (const [k, f] of rest.frames.entries()) assert.deepEqual(f, whole.frames[k], `${thermostat} frame ${k}`);
    }
    // A checkpoint of another run does not fit.
    const { checkpoint } = readWtmetadCheckpoint(join(dir, 'nvt.json'));
    assert.throws(() => runWtmetad(options({ steps: 1500, resumeFrom: checkpoint })), /WTMetaD checkpoint: its thermostat does not fit this run/);
    assert.throws(() => runWtmetad(options({ steps: 500, thermostat: 'nvt', resumeFrom: checkpoint })), /checkpoint at step 620 is beyond the 500 steps/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
