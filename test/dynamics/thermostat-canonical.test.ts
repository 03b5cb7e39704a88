import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kineticMoments, type Thermostat } from '../helpers/canonical-md.js';

/**
 * After the stated equilibration, each thermostat samples ⟨K⟩ = (N_dof/2) k_B T and
 * Var(K) = (N_dof/2) (k_B T)² within 4 block-averaged standard errors, for τ from 50 to 1000 fs
 * (Langevin: γ = 1/τ). The run lengths (max(100 ps, 250 τ)) keep the errors small enough for the
 * test to mean something: ≤ 3 % on ⟨K⟩ and ≤ 10 % on Var(K). During the equilibration the 50-fs
 * running mean of T stays below T + 4 σ_T.
 */
const Z = 4;
const cases: Array<[Thermostat, number]> = [];
for (const t of ['nhc-massive', 'nhc-global', 'langevin'] as const) for (const tau of [50, 250, 1000]) cases.push([t, tau]);

for (const [thermostat, tau] of cases) {
  test(`${thermostat}, τ = ${tau} fs: canonical ⟨K⟩ and Var(K) after equilibration`, () => {
    const ps = Math.max(100, 0.25 * tau);
    const r = kineticMoments(thermostat, tau, ps);
    assert.equal(r.nDof, thermostat === 'nhc-massive' ? 18 : 12);
    assert.ok(r.meanError > 0 && r.meanError <= 0.03, `SE of ⟨K⟩ ${r.meanError}`);
    assert.ok(r.varianceError > 0 && r.varianceError <= 0.1, `SE of Var(K) ${r.varianceError}`);
    assert.ok(Math.abs(r.mean - 1) <= Z * r.meanError, `⟨K⟩/canonical = ${r.mean} ± ${r.meanError}`);
    assert.ok(Math.abs(r.variance - 1) <= Z * r.varianceError, `Var(K)/canonical = ${r.variance} ± ${r.varianceError}`);
    const e = r.equilibration;
    assert.equal(e.runningWindowFs, 50);
    assert.ok(Math.abs(e.temperatureBoundK - 500 * (1 + 4 * Math.sqrt(2 / r.nDof))) < 1e-9, `bound ${e.temperatureBoundK}`);
    assert.ok(e.withinBound && e.maxRunningTemperatureK <= e.temperatureBoundK, `equilibration: max 50-fs mean ${e.maxRunningTemperatureK} K > ${e.temperatureBoundK} K`);
  });
}
