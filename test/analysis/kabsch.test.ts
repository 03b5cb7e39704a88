import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alignTo, kabschRmsd, plainRmsd, superpose } from '../../src/analysis/kabsch.js';
import { massesAmu } from '../../src/chem/molecule.js';
import { AtomgpError } from '../../src/errors.js';
import { alanineDipeptide } from './builders.js';

/** Seeded generator (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform random rotation (row-major) from a random unit quaternion. */
function randomRotation(r: () => number): number[] {
  const u1 = r();
  const u2 = 2 * Math.PI * r();
  const u3 = 2 * Math.PI * r();
  const a = Math.sqrt(1 - u1);
  const b = Math.sqrt(u1);
  const [w, x, y, z] = [a * Math.sin(u2), a * Math.cos(u2), b * Math.sin(u3), b * Math.cos(u3)];
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  ];
}

function transform(x: Float64Array, rot: number[], t: [number, number, number]): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length / 3; i++) {
    for (let r = 0; r < 3; r++) out[3 * i + r] = rot[3 * r]! * x[3 * i]! + rot[3 * r + 1]! * x[3 * i + 1]! + rot[3 * r + 2]! * x[3 * i + 2]! + t[r]!;
  }
  return out;
}

function det3(m: ArrayLike<number>): number {
  return m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
}

test('rotated and translated copies superimpose to RMSD 0 and are aligned back exactly', () => {
  const r = rng(11);
  const { symbols, positionsA } = alanineDipeptide(-83, 73);
  const masses = massesAmu(symbols);
  for (let trial = 0; trial < 20; trial++) {
    const rot = randomRotation(r);
    const moved = transform(positionsA, rot, [10 * r() - 5, 10 * r() - 5, 10 * r() - 5]);
    assert.ok(plainRmsd(positionsA, moved) > 0.1);
    assert.ok(kabschRmsd(positionsA, moved) < 1e-10, `trial ${trial}: ${kabschRmsd(positionsA, moved)}`);
    assert.ok(kabschRmsd(positionsA, moved, masses) < 1e-10);
    const back = alignTo(positionsA, moved);
    for (let k = 0; k < back.length; k++) assert.ok(Math.abs(back[k]! - positionsA[k]!) < 1e-10);
    const s = superpose(positionsA, moved);
    assert.ok(Math.abs(det3(s.rotation) - 1) < 1e-12, 'proper rotation');
  }
  // A 180° rotation (degenerate eigenvalues of the quaternion matrix) and the identity.
  const flip = transform(positionsA, [-1, 0, 0, 0, -1, 0, 0, 0, 1], [0, 0, 0]);
  assert.ok(kabschRmsd(positionsA, flip) < 1e-10);
  assert.ok(kabschRmsd(positionsA, positionsA) < 1e-12);
});

test('hand cases: a uniformly scaled square, and a planar mirror image that a rotation undoes', () => {
  const square = Float64Array.of(1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1, 0);
  const bigger = square.map((v) => 1.3 * v);
  // each point is 1 Å from the centre before, 1.3 Å after: best RMSD 0.3 Å
  assert.ok(Math.abs(kabschRmsd(square, transform(bigger, randomRotation(rng(3)), [1, 2, 3])) - 0.3) < 1e-12);
  // two points ±1 on x vs. ±2 on y: rotation aligns the axes, RMSD 1
  assert.ok(Math.abs(kabschRmsd(Float64Array.of(1, 0, 0, -1, 0, 0), Float64Array.of(0, 2, 0, 0, -2, 0)) - 1) < 1e-12);
  // a planar molecule mirrored through a perpendicular plane equals a rotated copy (RMSD 0)
  const planar = Float64Array.of(0, 0, 0, 1.2, 0.3, 0, -0.4, 1.1, 0, 0.7, -0.9, 0);
  const mirrored = planar.map((v, k) => (k % 3 === 0 ? -v : v));
  assert.ok(kabschRmsd(planar, mirrored) < 1e-10);
  // weighted without superposition: one of two atoms (weight 3 of 4) off by 1 Å → sqrt(3/4)
  assert.ok(Math.abs(plainRmsd(Float64Array.of(0, 0, 0, 1, 0, 0), Float64Array.of(0, 0, 0, 1, 1, 0), [1, 3]) - Math.sqrt(0.75)) < 1e-15);
});

test('a chiral molecule is not superimposed on its mirror image (no improper rotation)', () => {
  const tetra = Float64Array.of(0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0.5, 0.5, 0.5);
  const mirror = tetra.map((v, k) => (k % 3 === 2 ? -v : v));
  const s = superpose(tetra, mirror);
  assert.ok(Math.abs(det3(s.rotation) - 1) < 1e-12);
  assert.ok(s.rmsdA > 0.5, `mirror image RMSD ${s.rmsdA}`);
  // No rotation does better: random search plus local refinement stays above it.
  const r = rng(5);
  let best = Infinity;
  let bestRot = randomRotation(r);
  const rmsdOf = (rot: number[]) => plainRmsd(tetra.map((v, k) => v - centroid(tetra, k % 3)), transform(mirror.map((v, k) => v - centroid(mirror, k % 3)), rot, [0, 0, 0]));
  for (let k = 0; k < 3000; k++) {
    const rot = randomRotation(r);
    const v = rmsdOf(rot);
    if (v < best) [best, bestRot] = [v, rot];
  }
  for (let k = 0; k < 3000; k++) {
    const small = smallRotation(r, 0.05 * (1 - k / 3000));
    const rot = matmul(small, bestRot);
    const v = rmsdOf(rot);
    if (v < best) [best, bestRot] = [v, rot];
  }
  assert.ok(s.rmsdA <= best + 1e-12, `Kabsch ${s.rmsdA} vs search ${best}`);
  assert.ok(best - s.rmsdA < 1e-3, `search gets close: ${best}`);
  assert.throws(() => kabschRmsd(tetra, Float64Array.of(0, 0, 0)), AtomgpError);
  assert.throws(() => kabschRmsd(tetra, tetra, [1, 1]), AtomgpError);
});

function centroid(x: Float64Array, c: number): number {
  let s = 0;
  for (let i = c; i < x.length; i += 3) s += x[i]!;
  return s / (x.length / 3);
}

function smallRotation(r: () => number, size: number): number[] {
  const [ax, ay, az] = [r() - 0.5, r() - 0.5, r() - 0.5];
  const n = Math.hypot(ax, ay, az);
  const [x, y, z] = [ax / n, ay / n, az / n];
  const t = size * (2 * r() - 1);
  const c = Math.cos(t);
  const s = Math.sin(t);
  const u = 1 - c;
  return [c + x * x * u, x * y * u - z * s, x * z * u + y * s, y * x * u + z * s, c + y * y * u, y * z * u - x * s, z * x * u - y * s, z * y * u + x * s, c + z * z * u];
}

function matmul(a: number[], b: number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[3 * i + j]! += a[3 * i + k]! * b[3 * k + j]!;
  return out;
}
