import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlfFeaturizer, computeFeatures, featureCount } from '../../src/features/alf.js';

/** Small deterministic generator (tests only). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function randomMolecule(n: number, seed: number): Float64Array {
  const r = lcg(seed);
  const p = new Float64Array(3 * n);
  for (let i = 0; i < 3 * n; i++) p[i] = 4 * (r() - 0.5);
  return p;
}

function rotate(p: Float64Array, axis: [number, number, number], angle: number, shift: [number, number, number]): Float64Array {
  const [ax, ay, az] = axis;
  const l = Math.hypot(ax, ay, az);
  const x = ax / l;
  const y = ay / l;
  const z = az / l;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  const R = [
    t * x * x + c, t * x * y - s * z, t * x * z + s * y,
    t * x * y + s * z, t * y * y + c, t * y * z - s * x,
    t * x * z - s * y, t * y * z + s * x, t * z * z + c,
  ];
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      out[i + k] = R[3 * k]! * p[i]! + R[3 * k + 1]! * p[i + 1]! + R[3 * k + 2]! * p[i + 2]! + shift[k]!;
    }
  }
  return out;
}

test('feature count is 3N−6, or 1 for a diatomic', () => {
  assert.equal(featureCount(2), 1);
  assert.equal(featureCount(3), 3);
  assert.equal(featureCount(21), 57);
});

test('water features: two distances and the H-O-H angle', () => {
  // O at origin, H along x, H in the xy-plane at 104.5°
  const ang = (104.5 * Math.PI) / 180;
  const p = Float64Array.from([0, 0, 0, 1.8, 0, 0, 1.9 * Math.cos(ang), 1.9 * Math.sin(ang), 0]);
  const [o] = computeFeatures(p, [[0, 1, 2]]);
  assert.ok(Math.abs(o![0]! - 1.8) < 1e-15);
  assert.ok(Math.abs(o![1]! - 1.9) < 1e-15);
  assert.ok(Math.abs(o![2]! - ang) < 1e-14);
});

test('spherical features of a known point in the local frame', () => {
  // A at origin, X on +x, Y in the +y half of the xy-plane; atom 4 at (1, 1, √2) → R = 2, θ = 45°, φ = 45°.
  const p = Float64Array.from([0, 0, 0, 2, 0, 0, 1, 3, 0, 1, 1, Math.SQRT2]);
  const [f] = computeFeatures(p, [[0, 1, 2]]);
  assert.ok(Math.abs(f![3]! - 2) < 1e-15);
  assert.ok(Math.abs(f![4]! - Math.PI / 4) < 1e-15);
  assert.ok(Math.abs(f![5]! - Math.PI / 4) < 1e-15);
  // Mirror through the xz-plane: φ → −φ; behind the x axis: φ near ±π wraps.
  const q = Float64Array.from([0, 0, 0, 2, 0, 0, 1, 3, 0, -1, -1e-9, 0.5]);
  const [g] = computeFeatures(q, [[0, 1, 2]]);
  assert.ok(g![5]! < -Math.PI + 1e-6 && g![5]! > -Math.PI, `φ = ${g![5]} should be just above −π`);
  const q2 = Float64Array.from([0, 0, 0, 2, 0, 0, 1, 3, 0, -1, 1e-9, 0.5]);
  const [h] = computeFeatures(q2, [[0, 1, 2]]);
  assert.ok(h![5]! > Math.PI - 1e-6 && h![5]! <= Math.PI, `φ = ${h![5]} should be just below π`);
});

test('features are invariant under rotation and translation', () => {
  const p = randomMolecule(7, 11);
  const alfs = [[0, 1, 2], [3, 0, 5], [6, 2, 4]];
  const f0 = computeFeatures(p, alfs);
  const q = rotate(p, [0.3, -0.7, 0.5], 2.1, [5.0, -3.0, 12.0]);
  const f1 = computeFeatures(q, alfs);
  for (let a = 0; a < alfs.length; a++) {
    for (let k = 0; k < f0[a]!.length; k++) {
      let d = Math.abs(f0[a]![k]! - f1[a]![k]!);
      if (k >= 5 && (k - 5) % 3 === 0) d = Math.min(d, Math.abs(d - 2 * Math.PI));
      assert.ok(d < 1e-12, `atom ${a} feature ${k + 1}: ${f0[a]![k]} vs ${f1[a]![k]}`);
    }
  }
});

test('backprop equals the central finite-difference gradient of g·f', () => {
  for (const [n, seed] of [[2, 1], [3, 2], [4, 3], [9, 4]] as const) {
    const p = randomMolecule(n, seed);
    const idx = Array.from({ length: n }, (_, i) => i);
    const alf = n === 2 ? [1, 0] : [1, 0, n - 1];
    const fz = new AlfFeaturizer(idx, alf);
    const K = fz.nFeatures;
    const r = lcg(seed + 100);
    const g = Float64Array.from({ length: K }, () => r() - 0.5);
    const f = new Float64Array(K);
    const value = (pos: Float64Array) => {
      fz.compute(pos, f);
      let s = 0;
      for (let k = 0; k < K; k++) s += g[k]! * f[k]!;
      return s;
    };
    value(p);
    const grad = new Float64Array(3 * n);
    fz.backprop(p, g, grad);
    const h = 1e-5;
    let maxErr = 0;
    for (let i = 0; i < 3 * n; i++) {
      const q = Float64Array.from(p);
      q[i] = p[i]! + h;
      const ep = value(q);
      q[i] = p[i]! - h;
      const em = value(q);
      const fd = (ep - em) / (2 * h);
      maxErr = Math.max(maxErr, Math.abs(fd - grad[i]!));
    }
    assert.ok(maxErr < 1e-8, `N = ${n}: max |analytic − FD| = ${maxErr}`);
    // Translation invariance: the gradient sums to zero.
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += grad[3 * i + c]!;
      assert.ok(Math.abs(s) < 1e-12, `net gradient component ${c} = ${s}`);
    }
  }
});

test('collinear ALF and coincident atoms are clear errors', () => {
  const p = Float64Array.from([0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 1, 1]);
  assert.throws(() => computeFeatures(p, [[0, 1, 2]]), /collinear/);
  const q = Float64Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.throws(() => computeFeatures(q, [[0, 1, 2]]), /coincides/);
  assert.throws(() => new AlfFeaturizer([0, 1, 2], [0, 0, 1]), /distinct/);
  assert.throws(() => new AlfFeaturizer([0, 1, 2], [0, 1, 3]), /outside 1\.\.3/);
});
