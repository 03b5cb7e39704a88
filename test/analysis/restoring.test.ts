import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setBondLength } from '../../src/analysis/distort.js';
import { bondFirstReturnTime, bondLengthsA, bondRelaxationTime, restoringForces } from '../../src/analysis/restoring.js';
import type { Bond } from '../../src/chem/connectivity.js';
import { AtomgpError } from '../../src/errors.js';
import { AnalyticPotential, waterLikeSpec } from '../../src/potentials/analytic.js';
import { createResult } from '../../src/potentials/potential.js';

function assertRel(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

function forcesOf(p: AnalyticPotential, x: Float64Array): Float64Array {
  const r = createResult(p.nAtoms);
  p.compute(x, r);
  return r.forcesHaPerBohr;
}

test('harmonic diatomic: bond force is −k·Δr (kcal/mol/Å), restoring on both sides', () => {
  const k = 500;
  const pot = new AnalyticPotential({ symbols: ['H', 'F'], harmonicBonds: [{ i: 0, j: 1, kKcalPerMolPerA2: k, r0A: 0.92 }] });
  const bonds: Bond[] = [[0, 1]];
  for (const r of [1.2, 0.8, 0.925]) {
    // along an arbitrary direction
    const u = [0.36, -0.48, 0.8];
    const x = Float64Array.from([0.1, 0.2, 0.3, 0.1 + r * u[0]!, 0.2 + r * u[1]!, 0.3 + r * u[2]!]);
    const s = restoringForces(x, forcesOf(pot, x), bonds, [0.92], 0.01);
    const rec = s.bonds[0]!;
    assertRel(rec.bondForceKcalPerMolPerA, -k * (r - 0.92), 1e-9, `force at r = ${r}`);
    assertRel(rec.deltaA, r - 0.92, 1e-12, 'Δr');
    assert.equal(rec.verdict, Math.abs(r - 0.92) > 0.01 ? 'restoring' : 'at-reference');
    assert.equal(s.fractionRestoring, Math.abs(r - 0.92) > 0.01 ? 1 : null);
    assertRel(s.maxAbsForceKcalPerMolPerA, k * Math.abs(r - 0.92), 1e-9, 'max |force|');
  }
  // A potential that pushes a stretched bond further out (negative force constant) diverges.
  const anti = new AnalyticPotential({ symbols: ['H', 'F'], harmonicBonds: [{ i: 0, j: 1, kKcalPerMolPerA2: -k, r0A: 0.92 }] });
  const x = Float64Array.from([0, 0, 0, 1.3, 0, 0]);
  const s = restoringForces(x, forcesOf(anti, x), bonds, [0.92]);
  assert.equal(s.bonds[0]!.verdict, 'diverging');
  assertRel(s.bonds[0]!.bondForceKcalPerMolPerA, k * 0.38, 1e-9, 'diverging force');
  assert.equal(s.fractionRestoring, 0);
});

test('water-like Morse: O–H stretched to 1.5 Å feels −dE/dr; the other bond sees only the O recoil', () => {
  const { spec, minimumA } = waterLikeSpec();
  const pot = new AnalyticPotential(spec);
  const bonds: Bond[] = [
    [0, 1],
    [0, 2],
  ];
  const ref = bondLengthsA(minimumA, bonds);
  // Moving H1 along its bond keeps the angle at its minimum, so only the Morse term acts.
  const x = setBondLength(Float64Array.from(minimumA), bonds, 0, 1, 1.5);
  const s = restoringForces(x, forcesOf(pot, x), bonds, ref, 0.02);
  const { depthKcalPerMol: D, alphaPerA: a, r0A } = spec.morseBonds![0]!;
  const e = Math.exp(-a * (1.5 - r0A));
  const dEdr = 2 * D * a * (1 - e) * e;
  assertRel(s.bonds[0]!.bondForceKcalPerMolPerA, -dEdr, 1e-9, 'stretched O–H');
  assert.equal(s.bonds[0]!.verdict, 'restoring');
  // F_O = +dE/dr · u1, projected on u2 with the ½: −dE/dr cos θ0 / 2 (θ0 = 104.52°).
  const theta0 = spec.harmonicAngles![0]!.theta0Rad;
  assertRel(s.bonds[1]!.bondForceKcalPerMolPerA, (-dEdr * Math.cos(theta0)) / 2, 1e-9, 'unstretched O–H');
  assert.equal(s.bonds[1]!.verdict, 'at-reference');
  assert.equal(s.nDisplaced, 1);
  assert.equal(s.fractionRestoring, 1);
  assert.equal(s.maxAbsForceBond, 0);
  assertRel(s.maxAbsForceKcalPerMolPerA, dEdr, 1e-9, 'max');
  // Compressed to 0.8 Å: the Morse wall pushes the atoms apart.
  const y = setBondLength(Float64Array.from(minimumA), bonds, 0, 2, 0.8);
  const t = restoringForces(y, forcesOf(pot, y), bonds, ref, 0.02);
  const e2 = Math.exp(-a * (0.8 - r0A));
  assertRel(t.bonds[1]!.bondForceKcalPerMolPerA, -2 * D * a * (1 - e2) * e2, 1e-9, 'compressed O–H');
  assert.ok(t.bonds[1]!.bondForceKcalPerMolPerA > 0);
  assert.equal(t.bonds[1]!.verdict, 'restoring');
  assert.throws(() => restoringForces(x, new Float64Array(6), bonds, ref), AtomgpError);
  assert.throws(() => restoringForces(x, forcesOf(pot, x), bonds, [1]), AtomgpError);
});

test('bond relaxation time of a damped oscillation matches its envelope', () => {
  // L(t) = 0.98 + 0.52 e^(−t/τ) cos(2π t / P): an O–H bond released from 1.5 Å.
  const tau = 200;
  const period = 10;
  const dt = 0.5;
  const n = 4001;
  const times = new Float64Array(n);
  const lengths = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    times[k] = k * dt;
    lengths[k] = 0.98 + 0.52 * Math.exp(-times[k]! / tau) * Math.cos((2 * Math.PI * times[k]!) / period);
  }
  const tol = 0.02;
  const t = bondRelaxationTime(times, lengths, 0.98, tol);
  assert.ok(t !== null);
  // The envelope enters the band at τ ln(0.52/0.02) = 651.6 fs; the last excursion is within half a period before.
  const tEnv = tau * Math.log(0.52 / tol);
  assert.ok(t <= tEnv && t >= tEnv - period / 2 - dt, `t = ${t}, envelope ${tEnv}`);
  const k = Math.round(t / dt);
  assert.ok(Math.abs(lengths[k - 1]! - 0.98) > tol, 'the sample before is outside the band');
  for (let m = k; m < n; m++) assert.ok(Math.abs(lengths[m]! - 0.98) <= tol);
  // Never settling, settled from the start, and a crash (NaN) at the end.
  const undamped = lengths.map((_, m) => 0.98 + 0.3 * Math.cos((2 * Math.PI * m * dt) / period));
  assert.equal(bondRelaxationTime(times, undamped, 0.98, tol), null);
  assert.equal(bondRelaxationTime([0, 1, 2], [0.98, 0.99, 0.97], 0.98, tol), 0);
  assert.equal(bondRelaxationTime([0, 1, 2], [0.98, 0.99, Number.NaN], 0.98, tol), null);
  assert.throws(() => bondRelaxationTime([0, 1], [1], 1, 0.1), AtomgpError);
});

test('first return time: the first sample within the band, even if the bond leaves it again', () => {
  // L(t) = 0.98 + 0.52 cos(2π t / 10): enters |L − 0.98| ≤ 0.1 at t = 10·acos(0.1/0.52)/(2π) = 2.1916 fs.
  const dt = 0.01;
  const times = Float64Array.from({ length: 1001 }, (_, k) => k * dt);
  const lengths = times.map((t) => 0.98 + 0.52 * Math.cos((2 * Math.PI * t) / 10));
  const exact = (10 * Math.acos(0.1 / 0.52)) / (2 * Math.PI);
  const t = bondFirstReturnTime(times, lengths, 0.98, 0.1)!;
  assert.ok(t >= exact && t < exact + dt, `t = ${t}, exact ${exact}`);
  // It leaves the band again (undamped), so the "stays there" relaxation time does not exist.
  assert.equal(bondRelaxationTime(times, lengths, 0.98, 0.1), null);
  assert.equal(bondFirstReturnTime([0, 1], [1.5, 1.4], 0.98, 0.1), null);
  assert.equal(bondFirstReturnTime([0, 1], [Number.NaN, 1.0], 0.98, 0.1), 1);
  assert.equal(bondFirstReturnTime([3], [0.98], 0.98, 0), 3);
  assert.throws(() => bondFirstReturnTime([0, 1], [1], 1, 0.1), AtomgpError);
  assert.throws(() => bondFirstReturnTime([0], [1], 1, -0.1), AtomgpError);
});
