import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectBackbone, dihedralOf, setDihedral } from '../../src/analysis/dihedrals.js';
import { kabschRmsd } from '../../src/analysis/kabsch.js';
import { angleRad, dihedralRad, distanceA } from '../../src/chem/molecule.js';
import { presetMolecule } from '../../src/chem/presets.js';
import { ANGSTROM_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { jacobiEigenSymmetric } from '../../src/math/small.js';
import { lbfgs } from '../../src/optimize/lbfgs.js';
import { LindhPreconditioner, lindhHessian, rigidBodyModes } from '../../src/optimize/model-hessian.js';
import { BuiltinForceField, builtinForceFieldSpec } from '../../src/potentials/builtin-ff.js';

const HA_PER_BOHR2_IN_KCAL_PER_MOL_PER_A2 = KCAL_PER_MOL_PER_HARTREE / ANGSTROM_PER_BOHR ** 2;

const BOHR_PER_A = 1 / ANGSTROM_PER_BOHR;

test("Lindh's Hessian equals the finite-difference Hessian of ½ Σ k ρ (q − q₀)² over its pairs, bends and torsions (H₂O₂)", () => {
  // At q = q₀ the Hessian of that energy is exactly Σ k ρ b bᵀ: an independent check of every term's
  // gradient, weight and unit, with values from chem/molecule.ts instead of gradients.
  const symbols = ['O', 'O', 'H', 'H'];
  const x0 = Float64Array.from([0, 0.7375, -0.05, 0, -0.7375, -0.05, 0.895, 0.8, 0.42, -0.7, -0.9, 0.61]);
  const row = (s: string): number => (s === 'H' ? 0 : 1);
  const alpha = [
    [1, 0.3949],
    [0.3949, 0.28],
  ];
  const rRef = [
    [1.35, 2.1],
    [2.1, 2.87],
  ];
  const rho = (x: Float64Array, i: number, j: number): number => {
    const r = distanceA(x, i, j) * BOHR_PER_A;
    const a = row(symbols[i]!);
    const b = row(symbols[j]!);
    return Math.exp(alpha[a]![b]! * (rRef[a]![b]! ** 2 - r * r));
  };
  type Term = { q: (x: Float64Array) => number; k: number; periodic: boolean };
  const terms: Term[] = [];
  const kStretch = 0.45 * HA_PER_BOHR2_IN_KCAL_PER_MOL_PER_A2; // kcal/mol/Å²
  const n = 4;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (rho(x0, i, j) >= 1e-4) terms.push({ q: (x) => distanceA(x, i, j), k: kStretch * rho(x0, i, j), periodic: false });
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++)
      for (let k = i + 1; k < n; k++) {
        if (i === j || k === j) continue;
        const w = rho(x0, i, j) * rho(x0, j, k);
        if (w >= 1e-4) terms.push({ q: (x) => angleRad(x, i, j, k), k: 0.15 * KCAL_PER_MOL_PER_HARTREE * w, periodic: false });
      }
  for (let j = 0; j < n; j++)
    for (let k = j + 1; k < n; k++)
      for (let i = 0; i < n; i++)
        for (let l = 0; l < n; l++) {
          if (new Set([i, j, k, l]).size < 4) continue;
          const w = rho(x0, i, j) * rho(x0, j, k) * rho(x0, k, l);
          if (w >= 1e-4) terms.push({ q: (x) => dihedralRad(x, i, j, k, l), k: 0.005 * KCAL_PER_MOL_PER_HARTREE * w, periodic: true });
        }
  assert.ok(terms.some((t) => t.periodic), 'H₂O₂ has an H–O–O–H torsion term');
  const q0 = terms.map((t) => t.q(x0));
  const energy = (x: Float64Array): number =>
    terms.reduce((e, t, m) => {
      let d = t.q(x) - q0[m]!;
      if (t.periodic) d = Math.atan2(Math.sin(d), Math.cos(d));
      return e + 0.5 * t.k * d * d;
    }, 0);
  const h = lindhHessian(symbols, x0);
  const step = 1e-4;
  const x = Float64Array.from(x0);
  let worst = 0;
  let scale = 0;
  for (let a = 0; a < 12; a++)
    for (let b = 0; b < 12; b++) {
      const at = (da: number, db: number): number => {
        x.set(x0);
        x[a]! += da;
        x[b]! += db;
        return energy(x);
      };
      const fd = (at(step, step) - at(step, -step) - at(-step, step) + at(-step, -step)) / (4 * step * step);
      worst = Math.max(worst, Math.abs(fd - h[a * 12 + b]!));
      scale = Math.max(scale, Math.abs(h[a * 12 + b]!));
    }
  assert.ok(worst < 1e-5 * scale, `largest difference ${worst} kcal/mol/Å² (largest element ${scale})`);
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
