import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectBackbone, dihedralOf, setDihedral } from '../../src/analysis/dihedrals.js';
import { kabschRmsd } from '../../src/analysis/kabsch.js';
import { presetMolecule } from '../../src/chem/presets.js';
import { ANGSTROM_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { jacobiEigenSymmetric } from '../../src/math/small.js';
import { lbfgs } from '../../src/optimize/lbfgs.js';
import { bendGradient, LindhPreconditioner, lindhHessian, rigidBodyModes, torsionGradient } from '../../src/optimize/model-hessian.js';
import { BuiltinForceField, builtinForceFieldSpec } from '../../src/potentials/builtin-ff.js';

const HA_PER_BOHR2_IN_KCAL_PER_MOL_PER_A2 = KCAL_PER_MOL_PER_HARTREE / ANGSTROM_PER_BOHR ** 2;

const bendAngle = (x: Float64Array, i: number, j: number, k: number): number => {
  const u = [0, 1, 2].map((c) => x[3 * i + c]! - x[3 * j + c]!);
  const v = [0, 1, 2].map((c) => x[3 * k + c]! - x[3 * j + c]!);
  return Math.acos((u[0]! * v[0]! + u[1]! * v[1]! + u[2]! * v[2]!) / (Math.hypot(...u) * Math.hypot(...v)));
};

/** A skewed 4-atom chain, bohr. */
const chain = Float64Array.from([0.3, 1.9, 0.4, 0, 0, 0, 2.8, 0.2, -0.1, 3.4, 1.1, 1.7]);

test('bend and torsion gradients equal central finite differences of the angle and the dihedral', () => {
  const h = 1e-6;
  const gb = new Float64Array(9);
  assert.ok(bendGradient(chain, 0, 1, 2, gb));
  const gt = new Float64Array(12);
  assert.ok(torsionGradient(chain, 0, 1, 2, 3, gt));
  const x = Float64Array.from(chain);
  for (let p = 0; p < 12; p++) {
    const x0 = x[p]!;
    x[p] = x0 + h;
    const bp = bendAngle(x, 0, 1, 2);
    const tp = dihedralOf(x, [0, 1, 2, 3]);
    x[p] = x0 - h;
    const bm = bendAngle(x, 0, 1, 2);
    const tm = dihedralOf(x, [0, 1, 2, 3]);
    x[p] = x0;
    if (p < 9) assert.ok(Math.abs((bp - bm) / (2 * h) - gb[p]!) < 1e-7, `bend ∂/∂x${p}: ${(bp - bm) / (2 * h)} vs ${gb[p]}`);
    assert.ok(Math.abs((tp - tm) / (2 * h) - gt[p]!) < 1e-7, `torsion ∂/∂x${p}: ${(tp - tm) / (2 * h)} vs ${gt[p]}`);
  }
  // a linear bend has no gradient to give
  assert.equal(bendGradient(Float64Array.from([0, 0, 0, 1, 0, 0, 2, 0, 0]), 0, 1, 2, gb), false);
});

test("H₂: the only stretch term is Lindh's k_r ρ(r) with ρ = exp(α (r_ref² − r²)), α = 1 bohr⁻², r_ref = 1.35 bohr", () => {
  for (const rBohr of [1.35, 1.6]) {
    const xA = Float64Array.from([0, 0, 0, rBohr * ANGSTROM_PER_BOHR, 0, 0]);
    const h = lindhHessian(['H', 'H'], xA);
    const expected = 0.45 * Math.exp(1.35 ** 2 - rBohr ** 2) * HA_PER_BOHR2_IN_KCAL_PER_MOL_PER_A2;
    assert.ok(Math.abs(h[0]! - expected) < 1e-9 * expected, `H_xx ${h[0]} vs ${expected}`);
    assert.ok(Math.abs(h[3]! + expected) < 1e-9 * expected, 'x1–x2 coupling is −k ρ');
    for (const p of [1, 2, 4, 5, 7, 14]) assert.equal(h[p], 0, `element ${p} perpendicular to the bond`);
  }
});

test("alanine dipeptide: Lindh's Hessian is symmetric, positive semi-definite and blind to rigid-body motion", () => {
  const m = presetMolecule('alanine-dipeptide');
  const n3 = m.positionsA.length;
  const h = lindhHessian(m.symbols, m.positionsA);
  let maxAbs = 0;
  for (let a = 0; a < n3; a++) for (let b = 0; b < n3; b++) maxAbs = Math.max(maxAbs, Math.abs(h[a * n3 + b]!));
  for (let a = 0; a < n3; a++) for (let b = 0; b < a; b++) assert.ok(Math.abs(h[a * n3 + b]! - h[b * n3 + a]!) <= 1e-12 * maxAbs);
  const modes = rigidBodyModes(m.positionsA);
  assert.equal(modes.length, 6);
  for (const t of modes) {
    for (let a = 0; a < n3; a++) {
      let s = 0;
      for (let b = 0; b < n3; b++) s += h[a * n3 + b]! * t[b]!;
      assert.ok(Math.abs(s) < 1e-9 * maxAbs, `(H t)_${a} = ${s}`);
    }
  }
  const eig = Float64Array.from(h);
  jacobiEigenSymmetric(eig, n3, 1e-24, 100);
  const values = Array.from({ length: n3 }, (_, i) => eig[i * n3 + i]!).sort((a, b) => a - b);
  assert.ok(values[0]! > -1e-9 * maxAbs, `lowest eigenvalue ${values[0]}`);
  // six rigid-body zeros, then the internal modes, all positive
  assert.ok(values[6]! > 1e-6 * maxAbs, `lowest internal eigenvalue ${values[6]}`);
});

test('the preconditioner inverts P = H + rigid-body stiffness + floor: P (P⁻¹ v) = v', () => {
  const m = presetMolecule('malondialdehyde');
  const p = new LindhPreconditioner(m.symbols);
  p.update(m.positionsA);
  const n3 = m.positionsA.length;
  const v = Float64Array.from({ length: n3 }, (_, i) => Math.sin(1.7 * i + 0.3));
  const z = Float64Array.from(v);
  p.solve(z);
  const h = lindhHessian(m.symbols, m.positionsA);
  const modes = rigidBodyModes(m.positionsA);
  for (let a = 0; a < n3; a++) {
    let s = 0.1 * z[a]!;
    for (let b = 0; b < n3; b++) s += h[a * n3 + b]! * z[b]!;
    for (const t of modes) {
      let tz = 0;
      for (let b = 0; b < n3; b++) tz += t[b]! * z[b]!;
      s += 1000 * t[a]! * tz;
    }
    assert.ok(Math.abs(s - v[a]!) < 1e-8, `(P z)_${a} = ${s} vs ${v[a]}`);
  }
  // moving less than the rebuild distance keeps the factor; beyond it, it is rebuilt
  const moved = Float64Array.from(m.positionsA);
  moved[0]! += 0.1;
  p.update(moved);
  assert.equal(p.builds, 1);
  moved[0]! += 0.2;
  p.update(moved);
  assert.equal(p.builds, 2);
});

test('preconditioned L-BFGS reaches the same minimum of the built-in alanine dipeptide from C5 in fewer than half the steps', () => {
  const m = presetMolecule('alanine-dipeptide');
  const ff = new BuiltinForceField(builtinForceFieldSpec([...m.symbols], m.positionsA, m.bonds.map(([a, b]) => [a, b] as [number, number]), [...m.bondOrders]));
  const relaxed = lbfgs(ff, m.positionsA, { fmaxKcalPerMolPerA: 0.05, maxSteps: 3000, energyTolKcalPerMol: 1e-6 }).positionsA;
  const { phi, psi } = detectBackbone(m.symbols, m.bonds)[0]!;
  const start = setDihedral(setDihedral(relaxed, m.bonds, phi, (-157 * Math.PI) / 180), m.bonds, psi, (165 * Math.PI) / 180);
  const run = (preconditioner: 'none' | 'lindh') => {
    let first = -1;
    const r = lbfgs(ff, start, { fmaxKcalPerMolPerA: 0.05, maxSteps: 3000, preconditioner, onStep: (s) => void (first < 0 && s.fmaxKcalPerMolPerA < 1 && (first = s.step)) });
    assert.ok(r.converged, r.message);
    return { r, first };
  };
  const plain = run('none');
  const pre = run('lindh');
  assert.ok(Math.abs(pre.r.energyKcalPerMol - plain.r.energyKcalPerMol) < 0.01, `${pre.r.energyKcalPerMol} vs ${plain.r.energyKcalPerMol}`);
  const deg = (x: Float64Array, q: typeof phi): number => (dihedralOf(x, q) * 180) / Math.PI;
  // the same basin: the C5-derived minimum of this force field, (φ, ψ) ≈ (−149°, 113°), whose ψ is soft
  assert.ok(Math.abs(deg(pre.r.positionsA, phi) - deg(plain.r.positionsA, phi)) < 2 && Math.abs(deg(pre.r.positionsA, psi) - deg(plain.r.positionsA, psi)) < 2);
  const rmsd = kabschRmsd(pre.r.positionsA, plain.r.positionsA);
  assert.ok(rmsd < 0.05, `RMSD between the two minima ${rmsd} Å`);
  assert.ok(pre.r.steps < plain.r.steps / 2, `steps ${pre.r.steps} vs ${plain.r.steps}`);
  assert.ok(pre.first < plain.first / 2, `steps to fmax < 1: ${pre.first} vs ${plain.first}`);
});
