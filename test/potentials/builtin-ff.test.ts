import assert from 'node:assert/strict';
import { test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { ANGSTROM_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../src/dynamics/integrators.js';
import { MolecularDynamics } from '../../src/dynamics/md.js';
import { AtomgpError } from '../../src/errors.js';
import { lbfgs } from '../../src/optimize/lbfgs.js';
import { BuiltinForceField, builtinForceFieldSpec } from '../../src/potentials/builtin-ff.js';
import { createResult, type Potential } from '../../src/potentials/potential.js';
import { Rng } from '../../src/util/rng.js';

// ---------- geometry helpers ----------

type V3 = [number, number, number];
const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a: V3): number => Math.hypot(a[0], a[1], a[2]);
const unit = (a: V3): V3 => {
  const l = norm(a);
  return [a[0] / l, a[1] / l, a[2] / l];
};

/** Place d with |cd| = bond, angle b-c-d and dihedral a-b-c-d (degrees): the natural-extension reference frame. */
function place(a: V3, b: V3, c: V3, bondA: number, angleDeg: number, dihedralDeg: number): V3 {
  const th = (angleDeg * Math.PI) / 180;
  const ph = (dihedralDeg * Math.PI) / 180;
  const bc = unit(sub(c, b));
  const n = unit(cross(sub(b, a), bc));
  const m = cross(n, bc);
  const d2: V3 = [-bondA * Math.cos(th), bondA * Math.sin(th) * Math.cos(ph), bondA * Math.sin(th) * Math.sin(ph)];
  return [
    c[0] + d2[0] * bc[0] + d2[1] * m[0] + d2[2] * n[0],
    c[1] + d2[0] * bc[1] + d2[1] * m[1] + d2[2] * n[1],
    c[2] + d2[0] * bc[2] + d2[1] * m[2] + d2[2] * n[2],
  ];
}

const flat = (atoms: V3[]): Float64Array => Float64Array.from(atoms.flat());

function water(rA = 0.96, angleDeg = 104.5): { symbols: string[]; positionsA: Float64Array } {
  const t = (angleDeg * Math.PI) / 180;
  return { symbols: ['O', 'H', 'H'], positionsA: Float64Array.of(0, 0, 0, rA, 0, 0, rA * Math.cos(t), rA * Math.sin(t), 0) };
}

/** Malondialdehyde, enol form O=CH–CH=CH–OH (9 atoms). */
function malondialdehyde(): { symbols: string[]; positionsA: Float64Array } {
  const O1: V3 = [0, 0, 0];
  const C2: V3 = [1.23, 0, 0];
  const C3: V3 = place([0, 1, 0], O1, C2, 1.44, 124, 0);
  const C4 = place(O1, C2, C3, 1.36, 120, 0);
  const O5 = place(C2, C3, C4, 1.33, 124, 0);
  const H6 = place(C3, C4, O5, 0.98, 106, 0);
  const H7 = place(C4, C3, C2, 1.1, 116, 180);
  const H8 = place(O1, C2, C3, 1.08, 120, 180);
  const H9 = place(C2, C3, C4, 1.09, 122, 180);
  return { symbols: ['O', 'C', 'C', 'C', 'O', 'H', 'H', 'H', 'H'], positionsA: flat([O1, C2, C3, C4, O5, H6, H7, H8, H9]) };
}

/** Paracetamol (N-(4-hydroxyphenyl)acetamide, C8H9NO2, 20 atoms): aromatic ring, phenol, amide, methyl. */
function paracetamol(): { symbols: string[]; positionsA: Float64Array } {
  const ring: V3[] = [];
  for (let a = 0; a < 6; a++) ring.push([1.39 * Math.cos((a * Math.PI) / 3), 1.39 * Math.sin((a * Math.PI) / 3), 0]);
  const radial = (a: number, r: number): V3 => [r * Math.cos((a * Math.PI) / 3), r * Math.sin((a * Math.PI) / 3), 0];
  const O7 = radial(0, 1.39 + 1.36);
  const H8 = place(ring[1]!, ring[0]!, O7, 0.97, 109, 0);
  const ringH = [1, 2, 4, 5].map((a) => radial(a, 1.39 + 1.08));
  const N13 = radial(3, 1.39 + 1.41);
  const C14 = place(ring[2]!, ring[3]!, N13, 1.36, 128, 180);
  const O15 = place(ring[3]!, N13, C14, 1.23, 123, 0);
  const C16 = place(ring[3]!, N13, C14, 1.51, 115, 180);
  const H17 = place(O15, C14, N13, 1.01, 118, 180);
  const methylH = [60, 180, 300].map((d) => place(N13, C14, C16, 1.09, 110, d));
  const atoms: V3[] = [...ring, O7, H8, ...ringH, N13, C14, O15, C16, H17, ...methylH];
  const symbols = ['C', 'C', 'C', 'C', 'C', 'C', 'O', 'H', 'H', 'H', 'H', 'H', 'N', 'C', 'O', 'C', 'H', 'H', 'H', 'H'];
  return { symbols, positionsA: flat(atoms) };
}

function perturbed(positionsA: Float64Array, amplitudeA: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return positionsA.map((v) => v + rng.uniformIn(-amplitudeA, amplitudeA));
}

function energyHa(pot: Potential, positionsA: Float64Array): number {
  const out = createResult(pot.nAtoms);
  pot.compute(positionsA, out, false);
  return out.energyHa;
}

/** Richardson-extrapolated central differences of E (Ha) in bohr: error O(h⁴). */
function numericalGradientHaPerBohr(pot: Potential, positionsA: Float64Array, hBohr = 2e-3): Float64Array {
  const x = Float64Array.from(positionsA);
  const g = new Float64Array(x.length);
  const central = (i: number, h: number): number => {
    const x0 = x[i]!;
    x[i] = x0 + h * ANGSTROM_PER_BOHR;
    const ep = energyHa(pot, x);
    x[i] = x0 - h * ANGSTROM_PER_BOHR;
    const em = energyHa(pot, x);
    x[i] = x0;
    return (ep - em) / (2 * h);
  };
  for (let i = 0; i < x.length; i++) g[i] = (4 * central(i, hBohr / 2) - central(i, hBohr)) / 3;
  return g;
}

function maxForceError(pot: Potential, positionsA: Float64Array): { err: number; fmax: number } {
  const out = createResult(pot.nAtoms);
  pot.compute(positionsA, out);
  const g = numericalGradientHaPerBohr(pot, positionsA);
  let err = 0;
  let fmax = 0;
  for (let i = 0; i < g.length; i++) {
    err = Math.max(err, Math.abs(out.forcesHaPerBohr[i]! + g[i]!));
    fmax = Math.max(fmax, Math.abs(out.forcesHaPerBohr[i]!));
  }
  return { err, fmax };
}

const build = (m: { symbols: string[]; positionsA: Float64Array }): BuiltinForceField => new BuiltinForceField(builtinForceFieldSpec(m.symbols, m.positionsA));

const distance = (x: Float64Array, i: number, j: number): number => Math.hypot(x[3 * i]! - x[3 * j]!, x[3 * i + 1]! - x[3 * j + 1]!, x[3 * i + 2]! - x[3 * j + 2]!);
function angleDeg(x: Float64Array, i: number, j: number, k: number): number {
  const u: V3 = [x[3 * i]! - x[3 * j]!, x[3 * i + 1]! - x[3 * j + 1]!, x[3 * i + 2]! - x[3 * j + 2]!];
  const v: V3 = [x[3 * k]! - x[3 * j]!, x[3 * k + 1]! - x[3 * j + 1]!, x[3 * k + 2]! - x[3 * j + 2]!];
  return (Math.acos((u[0] * v[0] + u[1] * v[1] + u[2] * v[2]) / (norm(u) * norm(v))) * 180) / Math.PI;
}

// UFF Table 1 numbers, typed in again here so the expected values do not come from the code under test.
const UFF = {
  H_: { r: 0.354, chi: 4.528, z: 0.712 },
  O_3: { r: 0.658, chi: 8.741, z: 2.3, theta: 104.51 },
  F_: { r: 0.668, chi: 10.874, z: 1.735 },
  O_2: { r: 0.634, chi: 8.741, z: 2.3 },
};
function uffR0(a: { r: number; chi: number }, b: { r: number; chi: number }, order: number): number {
  const rEN = (a.r * b.r * (Math.sqrt(a.chi) - Math.sqrt(b.chi)) ** 2) / (a.chi * a.r + b.chi * b.r);
  return a.r + b.r - 0.1332 * (a.r + b.r) * Math.log(order) - rEN;
}

// ---------- typing ----------

test('atom typing: water, malondialdehyde (enol) and paracetamol get the UFF types of their chemistry', () => {
  assert.deepEqual(build(water()).atomTypes, ['O_3', 'H_', 'H_']);
  const mal = build(malondialdehyde());
  assert.deepEqual(mal.atomTypes, ['O_2', 'C_2', 'C_2', 'C_2', 'O_R', 'H_', 'H_', 'H_', 'H_']);
  const malOrder = (i: number, j: number): number => mal.bondOrders[mal.spec.bonds.findIndex(([a, b]) => (a === i && b === j) || (a === j && b === i))]!;
  assert.deepEqual([malOrder(0, 1), malOrder(1, 2), malOrder(2, 3), malOrder(3, 4), malOrder(4, 5)], [2, 1, 2, 1, 1]); // O1=C2–C3=C4–O5–H6
  const para = build(paracetamol());
  assert.deepEqual(para.atomTypes, [
    ...Array(6).fill('C_R'), 'O_R', 'H_', 'H_', 'H_', 'H_', 'H_', 'N_R', 'C_2', 'O_2', 'C_3', 'H_', 'H_', 'H_', 'H_',
  ]);
  // ring bonds aromatic, amide C–N raised to 1.41 (UFF's amide rule)
  const order = (i: number, j: number): number => para.bondOrders[para.spec.bonds.findIndex(([a, b]) => (a === i && b === j) || (a === j && b === i))]!;
  for (let a = 0; a < 6; a++) assert.equal(order(a, (a + 1) % 6), 1.5);
  assert.equal(order(12, 13), 1.41);
  assert.equal(order(13, 14), 2);
  assert.match(para.description, /20 atoms: 20 bonds/);
});

// ---------- forces ----------

for (const [name, make, amplitude] of [
  ['water', water, 0.08],
  ['malondialdehyde', malondialdehyde, 0.08],
  ['paracetamol (20 atoms)', paracetamol, 0.08],
] as const) {
  test(`forces equal minus the Richardson finite-difference gradient (${name}) to 1e-7 Ha/bohr`, (t) => {
    const m = make();
    const pot = build(m);
    for (const seed of [1, 2]) {
      const { err, fmax } = maxForceError(pot, perturbed(m.positionsA, amplitude, seed));
      assert.ok(fmax > 1e-3, `test geometry should have sizeable forces, max |F| ${fmax}`);
      assert.ok(err < 1e-7, `${name}: max |F + ∇E| = ${err.toExponential(2)} Ha/bohr (max |F| ${fmax.toFixed(4)})`);
      t.diagnostic(`${name} seed ${seed}: max |F + ∇E| = ${err.toExponential(2)} Ha/bohr, max |F| = ${fmax.toFixed(4)} Ha/bohr`);
    }
  });
}

test('forces match finite differences far from equilibrium (0.3 Å distortions, stretched O–H, pyramidal amide N) and for near-linear water', (t) => {
  const m = paracetamol();
  const pot = build(m);
  const x = perturbed(m.positionsA, 0.3, 7);
  // push the amide H out of plane and stretch the phenol O–H
  x[3 * 16 + 2] = 0.6;
  x[3 * 7] = x[3 * 7]! + 0.5;
  const { err } = maxForceError(pot, x);
  assert.ok(err < 1e-7, `max |F + ∇E| = ${err.toExponential(2)} Ha/bohr`);
  // nearly linear H–O–H still has exact forces (angle term is a polynomial in cos θ)
  const w = water(0.97, 179.9);
  const { err: errW } = maxForceError(build(water()), w.positionsA);
  assert.ok(errW < 1e-7, `water at 179.9°: ${errW.toExponential(2)} Ha/bohr`);
  t.diagnostic(`distorted paracetamol: ${err.toExponential(2)} Ha/bohr; water at 179.9°: ${errW.toExponential(2)} Ha/bohr`);
});

test('atomic energies sum to the total to 1e-12 relative; energy-only evaluation gives the same energy', () => {
  for (const make of [water, malondialdehyde, paracetamol]) {
    const m = make();
    const pot = build(m);
    const x = perturbed(m.positionsA, 0.1, 3);
    const out = createResult(pot.nAtoms);
    pot.compute(x, out);
    let sum = 0;
    for (const e of out.atomicEnergiesHa) sum += e;
    assert.ok(Math.abs(sum - out.energyHa) <= 1e-12 * Math.abs(out.energyHa), `Σ atomic ${sum} vs total ${out.energyHa}`);
    const eOnly = createResult(pot.nAtoms);
    eOnly.forcesHaPerBohr.fill(7);
    pot.compute(x, eOnly, false);
    assert.equal(eOnly.energyHa, out.energyHa);
    assert.deepEqual(eOnly.atomicEnergiesHa, out.atomicEnergiesHa);
  }
});

test('zero net force and zero net torque', () => {
  const m = paracetamol();
  const pot = build(m);
  const x = perturbed(m.positionsA, 0.15, 4);
  const out = createResult(pot.nAtoms);
  pot.compute(x, out);
  const f = out.forcesHaPerBohr;
  const net = [0, 0, 0];
  const torque = [0, 0, 0];
  let scale = 0;
  for (let a = 0; a < pot.nAtoms; a++) {
    const r: V3 = [x[3 * a]!, x[3 * a + 1]!, x[3 * a + 2]!];
    const fa: V3 = [f[3 * a]!, f[3 * a + 1]!, f[3 * a + 2]!];
    const t = cross(r, fa);
    for (let d = 0; d < 3; d++) {
      net[d]! += fa[d]!;
      torque[d]! += t[d]!;
    }
    scale = Math.max(scale, norm(fa));
  }
  assert.ok(scale > 1e-3);
  for (let d = 0; d < 3; d++) {
    assert.ok(Math.abs(net[d]!) < 1e-13, `net force ${net}`);
    assert.ok(Math.abs(torque[d]!) < 1e-12, `net torque ${torque}`);
  }
});

test('rotation and translation leave energies unchanged and rotate the forces', () => {
  const m = malondialdehyde();
  const pot = build(m);
  const x = perturbed(m.positionsA, 0.1, 5);
  const a = createResult(pot.nAtoms);
  pot.compute(x, a);
  // rotation about a skew axis by 1 rad, then a shift
  const axis = unit([1, 2, 3]);
  const c = Math.cos(1);
  const s = Math.sin(1);
  const R = [
    [c + axis[0] ** 2 * (1 - c), axis[0] * axis[1] * (1 - c) - axis[2] * s, axis[0] * axis[2] * (1 - c) + axis[1] * s],
    [axis[1] * axis[0] * (1 - c) + axis[2] * s, c + axis[1] ** 2 * (1 - c), axis[1] * axis[2] * (1 - c) - axis[0] * s],
    [axis[2] * axis[0] * (1 - c) - axis[1] * s, axis[2] * axis[1] * (1 - c) + axis[0] * s, c + axis[2] ** 2 * (1 - c)],
  ];
  const shift = [3.1, -2.2, 10.5];
  const rot = (v: Float64Array, o: number, plus: number[] | undefined): number[] =>
    R.map((row, d) => row[0]! * v[o]! + row[1]! * v[o + 1]! + row[2]! * v[o + 2]! + (plus?.[d] ?? 0));
  const y = new Float64Array(x.length);
  for (let i = 0; i < pot.nAtoms; i++) y.set(rot(x, 3 * i, shift), 3 * i);
  const b = createResult(pot.nAtoms);
  pot.compute(y, b);
  assert.ok(Math.abs(a.energyHa - b.energyHa) < 1e-14, `${a.energyHa} vs ${b.energyHa}`);
  for (let i = 0; i < pot.nAtoms; i++) {
    assert.ok(Math.abs(a.atomicEnergiesHa[i]! - b.atomicEnergiesHa[i]!) < 1e-14);
    const fr = rot(a.forcesHaPerBohr, 3 * i, undefined);
    for (let d = 0; d < 3; d++) assert.ok(Math.abs(fr[d]! - b.forcesHaPerBohr[3 * i + d]!) < 1e-13);
  }
});

// ---------- Morse limits ----------

test('Morse limits: a dissociated bond costs D = 70 kcal/mol × bond order; curvature at r0 is the UFF k', () => {
  const h = 1e-4;
  for (const [symbols, order, a, b] of [
    [['H', 'F'], 1, UFF.H_, UFF.F_],
    [['O', 'O'], 2, UFF.O_2, UFF.O_2],
  ] as const) {
    const pot = new BuiltinForceField({ symbols: [...symbols], bonds: [[0, 1]], bondOrders: [order] });
    const r0 = uffR0(a, b, order);
    const eKcal = (r: number): number => energyHa(pot, Float64Array.of(0, 0, 0, 0, 0, r)) * KCAL_PER_MOL_PER_HARTREE;
    assert.ok(Math.abs(eKcal(r0)) < 1e-20, `E(r0) = ${eKcal(r0)}`);
    assert.ok(Math.abs(eKcal(30) - 70 * order) < 1e-9, `E(30 Å) = ${eKcal(30)} kcal/mol, expected ${70 * order}`);
    assert.ok(eKcal(3 * r0) > 0.8 * 70 * order && eKcal(3 * r0) < 70 * order);
    const k = (664.12 * a.z * b.z) / r0 ** 3;
    const curvature = (eKcal(r0 + h) - 2 * eKcal(r0) + eKcal(r0 - h)) / (h * h);
    assert.ok(Math.abs(curvature / k - 1) < 1e-6, `d²E/dr² = ${curvature} vs k = ${k} kcal/mol/Å²`);
    assert.ok(eKcal(0.6 * r0) > 70 * order, 'compression is steeply repulsive');
  }
  // In water, pulling one H away at the natural angle also ends at D: the rest stays at its minimum.
  const pot = build(water());
  const r0 = uffR0(UFF.O_3, UFF.H_, 1);
  const t = (UFF.O_3.theta * Math.PI) / 180;
  const far = 25;
  const e = energyHa(pot, Float64Array.of(0, 0, 0, r0, 0, 0, far * Math.cos(t), far * Math.sin(t), 0)) * KCAL_PER_MOL_PER_HARTREE;
  assert.ok(Math.abs(e - 70) < 1e-9, `water with one H at 25 Å: ${e} kcal/mol`);
});

// ---------- minimum ----------

test('L-BFGS takes a distorted water to the UFF minimum: r0 = 0.990 Å, θ0 = 104.51°', () => {
  const pot = build(water());
  const start = Float64Array.of(0, 0, 0, 1.12, 0.05, 0, -0.1, 0.9, 0.02);
  const res = lbfgs(pot, start, { fmaxKcalPerMolPerA: 1e-5, energyTolKcalPerMol: 1e-12, maxSteps: 500 });
  assert.ok(res.converged, res.message);
  const r0 = uffR0(UFF.O_3, UFF.H_, 1);
  assert.ok(Math.abs(r0 - 0.99025) < 1e-4, `UFF O–H ${r0}`);
  const x = res.positionsA;
  for (const h of [1, 2]) assert.ok(Math.abs(distance(x, 0, h) - r0) < 1e-6, `O–H ${distance(x, 0, h)} vs ${r0}`);
  assert.ok(Math.abs(angleDeg(x, 1, 0, 2) - UFF.O_3.theta) < 1e-4, `H–O–H ${angleDeg(x, 1, 0, 2)}°`);
  assert.ok(Math.abs(res.energyKcalPerMol) < 1e-9);
});

test('minimised paracetamol has textbook-like geometry (C–H 1.08-1.11 Å, aromatic C–C ≈ 1.39 Å, planar amide)', () => {
  const m = paracetamol();
  const pot = build(m);
  const res = lbfgs(pot, perturbed(m.positionsA, 0.05, 11), { fmaxKcalPerMolPerA: 0.01, energyTolKcalPerMol: 1e-8, maxSteps: 3000 });
  assert.ok(res.converged, res.message);
  const x = res.positionsA;
  for (const [c, hs] of [
    [1, 8], [2, 9], [4, 10], [5, 11], [15, 17], [15, 18], [15, 19],
  ] as const) {
    const r = distance(x, c, hs);
    assert.ok(r > 1.07 && r < 1.12, `C${c + 1}–H${hs + 1} ${r.toFixed(3)} Å`);
  }
  for (let a = 0; a < 6; a++) {
    const r = distance(x, a, (a + 1) % 6);
    assert.ok(Math.abs(r - 1.39) < 0.03, `ring C–C ${r.toFixed(3)} Å`);
  }
  assert.ok(Math.abs(distance(x, 13, 14) - 1.22) < 0.03, `C=O ${distance(x, 13, 14)}`);
  // phenol O is typed O_R (conjugated), whose UFF O–H length is 1.012 Å
  assert.ok(Math.abs(distance(x, 6, 7) - 1.012) < 0.01, `O–H ${distance(x, 6, 7)}`);
  // amide plane: the N's three neighbours and N are coplanar (sum of angles ≈ 360°)
  const sum = angleDeg(x, 3, 12, 13) + angleDeg(x, 3, 12, 16) + angleDeg(x, 13, 12, 16);
  assert.ok(sum > 359, `angles around the amide N sum to ${sum.toFixed(2)}°`);
});

// ---------- dynamics ----------

test('NVT at 1000 K for 2 ps keeps paracetamol bonded (no bond beyond 1.6 × r0, finite energies)', (t) => {
  const m = paracetamol();
  const pot = build(m);
  const start = lbfgs(pot, m.positionsA, { fmaxKcalPerMolPerA: 0.5, maxSteps: 2000 }).positionsA;
  const md = MolecularDynamics.create(pot, { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: 0.5, temperatureK: 1000 }, start, massesAmu(m.symbols), 42);
  let worst = 0;
  let tSum = 0;
  let samples = 0;
  md.attach((d) => {
    const x = d.state.positionsA;
    pot.spec.bonds.forEach(([i, j], k) => {
      worst = Math.max(worst, distance(x, i, j) / pot.bondRestLengthsA[k]!);
    });
    assert.ok(Number.isFinite(d.state.epotKcalPerMol));
    if (d.state.step >= 1000) {
      tSum += d.temperatureK;
      samples++;
    }
  }, 10);
  md.run(4000);
  assert.ok(worst < 1.6, `largest bond stretch ${worst.toFixed(3)} × r0`);
  const tMean = tSum / samples;
  assert.ok(tMean > 800 && tMean < 1200, `mean temperature ${tMean.toFixed(0)} K`);
  t.diagnostic(`1000 K NVT, 2 ps: largest bond stretch ${worst.toFixed(3)} × r0, mean T (0.5-2 ps) ${tMean.toFixed(0)} K`);
});

// ---------- speed ----------

test('speed: one compute() for 20 atoms takes well under 50 µs', (t) => {
  const m = paracetamol();
  const pot = build(m);
  const out = createResult(pot.nAtoms);
  const x = perturbed(m.positionsA, 0.05, 9);
  for (let i = 0; i < 5000; i++) pot.compute(x, out); // warm-up (JIT)
  const reps = 20000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) pot.compute(x, out);
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / reps;
  t.diagnostic(`builtin-ff compute (20 atoms, energy + forces): ${us.toFixed(2)} µs/call`);
  assert.ok(us < 200, `${us} µs per call`); // loose: the machine is shared
});

// ---------- spec and errors ----------

test('the spec survives JSON (workers rebuild the potential) and gives identical results', () => {
  const m = paracetamol();
  const a = build(m);
  const b = new BuiltinForceField(JSON.parse(JSON.stringify(a.spec)));
  const x = perturbed(m.positionsA, 0.1, 12);
  const ra = createResult(20);
  const rb = createResult(20);
  a.compute(x, ra);
  b.compute(x, rb);
  assert.equal(ra.energyHa, rb.energyHa);
  assert.deepEqual(rb.forcesHaPerBohr, ra.forcesHaPerBohr);
  // without bond orders the constructor perceives the same ones
  const c = new BuiltinForceField({ symbols: a.spec.symbols, bonds: a.spec.bonds });
  assert.deepEqual(c.bondOrders, a.bondOrders);
  // a Kekulé ring given as 1/2 (as SMILES tools write it) is treated as aromatic
  const kekule = a.spec.bondOrders!.map((o, k) => {
    const [i, j] = a.spec.bonds[k]!;
    return o === 1.5 ? (Math.min(i, j) % 2 === 0 && Math.max(i, j) === Math.min(i, j) + 1 ? 2 : 1) : o; // C1=C2, C3=C4, C5=C6
  });
  const d = new BuiltinForceField({ ...a.spec, bondOrders: kekule });
  assert.deepEqual(d.bondOrders, a.bondOrders);
  assert.deepEqual(d.atomTypes, a.atomTypes);
});

test('bad input gives an AtomgpError naming the atom', () => {
  const w = water();
  assert.throws(() => builtinForceFieldSpec(['O', 'Xx', 'H'], w.positionsA), (e: unknown) => e instanceof AtomgpError && /atom 2 has unknown element 'Xx'/.test(e.message));
  assert.throws(
    () => new BuiltinForceField({ symbols: ['O', 'H', 'Br'], bonds: [[0, 1], [0, 2]] }),
    (e: unknown) => e instanceof AtomgpError && /atom 3 \(Br\)/.test(e.message),
  );
  assert.throws(
    () => new BuiltinForceField({ symbols: ['C', 'H', 'H', 'H', 'H', 'H'], bonds: [[0, 1], [0, 2], [0, 3], [0, 4], [0, 5]] }),
    (e: unknown) => e instanceof AtomgpError && /atom 1 \(C\) with 5 bonds/.test(e.message),
  );
  assert.throws(() => new BuiltinForceField({ symbols: ['O', 'H'], bonds: [[0, 2]] }), (e: unknown) => e instanceof AtomgpError && /bond 1/.test(e.message));
  assert.throws(
    () => new BuiltinForceField({ symbols: ['O', 'H'], bonds: [[0, 1]], bondOrders: [0] }),
    (e: unknown) => e instanceof AtomgpError && /bond order 0/.test(e.message),
  );
  const pot = build(w);
  assert.throws(() => pot.compute(new Float64Array(6), createResult(3)), AtomgpError);
});
