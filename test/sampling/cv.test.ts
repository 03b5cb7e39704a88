import assert from 'node:assert/strict';
import { test } from 'node:test';
import { angleRad, dihedralRad, distanceA } from '../../src/chem/molecule.js';
import { AtomgpError } from '../../src/errors.js';
import { type CvSpec, cvDifference, cvUnit, evaluateCv, validateCvs, wrapAngle } from '../../src/sampling/cv.js';

// A skewed 5-atom geometry (Å), no symmetry.
const x0 = Float64Array.from([0.1, -0.2, 0.05, 1.45, 0.1, -0.1, 2.0, 1.35, 0.2, 3.3, 1.6, 0.9, -0.6, -1.1, 0.7]);

/** Four-atom chain with bonds L, angles θ and dihedral φ (radians) about the j-k axis. */
function chain(phi: number, L = 1.5, theta = (110 * Math.PI) / 180): Float64Array {
  return Float64Array.from([
    L * Math.cos(theta),
    L * Math.sin(theta),
    0,
    0,
    0,
    0,
    L,
    0,
    0,
    L - L * Math.cos(theta),
    L * Math.sin(theta) * Math.cos(phi),
    L * Math.sin(theta) * Math.sin(phi),
  ]);
}

function fdGradient(spec: CvSpec, x: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  const y = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    y[i] = x[i]! + h;
    const p = evaluateCv(spec, y);
    y[i] = x[i]! - h;
    const m = evaluateCv(spec, y);
    y[i] = x[i]!;
    g[i] = cvDifference(spec, p, m) / (2 * h);
  }
  return g;
}

const specs: CvSpec[] = [
  { kind: 'distance', atoms: [0, 3] },
  { kind: 'angle', atoms: [4, 1, 3] },
  { kind: 'dihedral', atoms: [4, 0, 2, 3] },
  { kind: 'dihedral', atoms: [0, 1, 2, 3] },
  { kind: 'distance-difference', atoms: [0, 4, 3] },
];

test('CV values match src/chem/molecule.ts and gradients match central finite differences to 1e-7', () => {
  assert.equal(evaluateCv(specs[0]!, x0), distanceA(x0, 0, 3));
  assert.ok(Math.abs(evaluateCv(specs[1]!, x0) - angleRad(x0, 4, 1, 3)) < 1e-15, 'angle value');
  assert.ok(Math.abs(evaluateCv(specs[2]!, x0) - dihedralRad(x0, 4, 0, 2, 3)) < 1e-15, 'dihedral value');
  assert.equal(evaluateCv(specs[4]!, x0), distanceA(x0, 0, 4) - distanceA(x0, 4, 3));
  assert.equal(cvUnit(specs[4]!), 'Å');
  const g = new Float64Array(x0.length).fill(7); // must be overwritten, zeros included
  for (const s of specs) {
    evaluateCv(s, x0, g);
    const fd = fdGradient(s, x0);
    let maxErr = 0;
    for (let i = 0; i < g.length; i++) maxErr = Math.max(maxErr, Math.abs(g[i]! - fd[i]!));
    assert.ok(maxErr <= 1e-7, `${s.kind} ${s.atoms}: max |analytic − FD| = ${maxErr}`);
    // translation invariance: Σ_atoms ∂s/∂r = 0
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let a = 0; a < 5; a++) sum += g[3 * a + c]!;
      assert.ok(Math.abs(sum) < 1e-12, `Σ gradient ${sum}`);
    }
    for (const a of [0, 1, 2, 3, 4].filter((a) => !s.atoms.includes(a))) assert.equal(g[3 * a], 0);
  }
});

test('dihedral CV is continuous across ±π: wrapped steps equal the rotation, gradient continuous', () => {
  const spec: CvSpec = { kind: 'dihedral', atoms: [0, 1, 2, 3] };
  const dphi = 0.01;
  const g1 = new Float64Array(12);
  const g2 = new Float64Array(12);
  let prev = evaluateCv(spec, chain(Math.PI - 0.1));
  assert.ok(Math.abs(Math.abs(prev) - (Math.PI - 0.1)) < 1e-12, `start ${prev}`);
  let crossed = false;
  for (let k = 1; k <= 20; k++) {
    const v = evaluateCv(spec, chain(Math.PI - 0.1 + k * dphi));
    if (Math.sign(v) !== Math.sign(prev)) crossed = true;
    assert.ok(Math.abs(Math.abs(cvDifference(spec, v, prev)) - dphi) < 1e-12, `step ${k}: ${prev} → ${v}`);
    prev = v;
  }
  assert.ok(crossed, 'the scan crosses ±π');
  // Gradients just below and just above the branch cut agree (and FD across the cut works).
  evaluateCv(spec, chain(Math.PI - 1e-6), g1);
  evaluateCv(spec, chain(Math.PI + 1e-6), g2);
  for (let i = 0; i < 12; i++) assert.ok(Math.abs(g1[i]! - g2[i]!) < 1e-5, `gradient ${i} across the cut`);
  const xc = chain(Math.PI);
  evaluateCv(spec, xc, g1);
  const fd = fdGradient(spec, xc);
  for (let i = 0; i < 12; i++) assert.ok(Math.abs(g1[i]! - fd[i]!) < 1e-7, `FD at φ = π, component ${i}`);
});

test('wrapAngle maps into (−π, π]', () => {
  assert.equal(wrapAngle(Math.PI), Math.PI);
  assert.equal(wrapAngle(-Math.PI), Math.PI);
  assert.ok(Math.abs(wrapAngle(3 * Math.PI + 0.5) - (-Math.PI + 0.5)) < 1e-12, 'wrap 3π + 0.5');
  assert.ok(Math.abs(wrapAngle(-7) - (-7 + 2 * Math.PI)) < 1e-12, 'wrap −7');
});

test('bad CV definitions are AtomgpErrors naming the CV', () => {
  assert.throws(() => validateCvs([{ kind: 'dihedral', atoms: [0, 1, 2, 9] }], 5), (e: unknown) => e instanceof AtomgpError && /collective variable 1: atom index 9 is outside 0\.\.4/.test(e.message));
  assert.throws(() => validateCvs([specs[0]!, { kind: 'angle', atoms: [0, 1] }], 5), /collective variable 2: a angle needs 3 atom indices, got 2/);
  assert.throws(() => validateCvs([{ kind: 'distance', atoms: [2, 2], label: 'd' }], 5), /collective variable 1 \(d\): atoms must be distinct/);
  assert.throws(() => validateCvs([{ kind: 'torsion' as 'dihedral', atoms: [0, 1, 2, 3] }], 5), /unknown kind 'torsion'/);
  assert.throws(() => validateCvs([{ kind: 'distance', atoms: [0, 1.5] }], 5), /atom index 1.5/);
});
