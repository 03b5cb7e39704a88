import assert from 'node:assert/strict';
import { test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { blockStandardError, gammaUpperQuantile, gammaUpperTail, lnGamma, RunningTemperature, temperatureBoundK } from '../../src/dynamics/canonical.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../src/dynamics/integrators.js';
import { MolecularDynamics } from '../../src/dynamics/md.js';
import { KB } from '../../src/dynamics/state.js';
import { AnalyticPotential, waterLikeSpec } from '../../src/potentials/analytic.js';
import { Rng } from '../../src/util/rng.js';

test('lnΓ and the upper incomplete gamma against closed forms', () => {
  assert.ok(Math.abs(lnGamma(1)) < 1e-12);
  assert.ok(Math.abs(lnGamma(0.5) - 0.5 * Math.log(Math.PI)) < 1e-12);
  assert.ok(Math.abs(lnGamma(10) - Math.log(362880)) < 1e-11);
  for (const x of [0.1, 1, 5, 30]) {
    // Q(1, x) = e^(−x); Q(3, x) = e^(−x) (1 + x + x²/2)
    assert.ok(Math.abs(gammaUpperTail(1, x) / Math.exp(-x) - 1) < 1e-10, `Q(1, ${x})`);
    assert.ok(Math.abs(gammaUpperTail(3, x) / (Math.exp(-x) * (1 + x + (x * x) / 2)) - 1) < 1e-10, `Q(3, ${x})`);
  }
  for (const [a, p] of [
    [1, 1e-12],
    [3, 1e-6],
    [10.5, 1e-12],
  ] as const) {
    const x = gammaUpperQuantile(a, p);
    assert.ok(Math.abs(gammaUpperTail(a, x) / p - 1) < 1e-8, `quantile a=${a}`);
  }
  assert.ok(Math.abs(gammaUpperQuantile(1, 1e-12) - 12 * Math.log(10)) < 1e-8);
});

test('block standard error: i.i.d. σ/√n, and AR(1) with φ = 0.9 about √19 times larger', () => {
  const rng = new Rng(3);
  const n = 200_000;
  const iid = new Float64Array(n);
  const ar = new Float64Array(n);
  let y = 0;
  for (let k = 0; k < n; k++) {
    iid[k] = rng.normal();
    y = 0.9 * y + Math.sqrt(1 - 0.81) * rng.normal();
    ar[k] = y;
  }
  const seIid = blockStandardError(iid);
  assert.ok(Math.abs(seIid * Math.sqrt(n) - 1) < 0.25, `i.i.d.: ${seIid * Math.sqrt(n)}`);
  const ratio = blockStandardError(ar) / (1 / Math.sqrt(n));
  assert.ok(Math.abs(ratio / Math.sqrt(19) - 1) < 0.25, `AR(1): ${ratio} vs ${Math.sqrt(19)}`);
  assert.ok(Number.isNaN(blockStandardError([1, 2, 3])));
});

test('temperature bound and running mean', () => {
  assert.ok(Math.abs(temperatureBoundK(1000, 21) - (1000 + 4 * 1000 * Math.sqrt(2 / 21))) < 1e-9);
  const r = new RunningTemperature(3);
  for (const t of [1, 2, 3, 10, 1, 1]) r.push(t);
  assert.equal(r.max, 5);
  assert.equal(r.mean, 4);
});

test('canonical chain velocities: Q_j v_ξ² averages k_B T, global Q_1 = N_dof k_B T τ²', () => {
  const { spec, minimumA } = waterLikeSpec();
  const pot = new AnalyticPotential(spec);
  const m = massesAmu(spec.symbols);
  let s = 0;
  let c = 0;
  let sg = 0;
  const tau = 80;
  const kT = KB * 700;
  for (let seed = 0; seed < 300; seed++) {
    const massive = MolecularDynamics.create(pot, { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: 0.5, temperatureK: 700, tauFs: tau }, minimumA, m, seed, { canonicalThermostat: true });
    const th = massive.state.thermostat;
    for (let k = 0; k < th.length; k += 6) {
      for (let j = 0; j < 3; j++) {
        assert.equal(th[k + j], 0, 'positions ξ stay 0');
        s += (kT * tau * tau * th[k + 3 + j]! ** 2) / kT;
        c++;
      }
    }
    const global = MolecularDynamics.create(pot, { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', nhcMode: 'global', timestepFs: 0.5, temperatureK: 700, tauFs: tau }, minimumA, m, seed, { canonicalThermostat: true });
    sg += (global.state.nDof * kT * tau * tau * global.state.thermostat[3]! ** 2) / kT;
  }
  // 300 × 27 = 8100 chi-square(1) samples: mean 1 ± 0.016; 300 for the global first element: ± 0.08
  assert.ok(Math.abs(s / c - 1) < 0.064, `massive ⟨Q v²⟩/k_BT = ${s / c}`);
  assert.ok(Math.abs(sg / 300 - 1) < 0.33, `global ⟨Q_1 v²⟩/k_BT = ${sg / 300}`);
});
