import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minimizeBounded } from '../../src/math/lbfgsb.js';
import { Rng } from '../../src/util/rng.js';

test('bounded L-BFGS minimises the Rosenbrock function to (1, 1)', () => {
  const f = (x: Float64Array, g: Float64Array) => {
    const a = x[0]!;
    const b = x[1]!;
    g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
    g[1] = 200 * (b - a * a);
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
  };
  const r = minimizeBounded(f, Float64Array.of(-1.2, 1), Float64Array.of(-5, -5), Float64Array.of(5, 5), { gtol: 1e-8, ftol: 0 });
  assert.ok(Math.abs(r.x[0]! - 1) < 1e-5 && Math.abs(r.x[1]! - 1) < 1e-5, `${r.x}`);
});

test('bounded L-BFGS stops on an active bound with the constrained minimum', () => {
  // min (x−3)² + (y+1)² on [0, 2] × [0, 2] → (2, 0).
  const f = (x: Float64Array, g: Float64Array) => {
    g[0] = 2 * (x[0]! - 3);
    g[1] = 2 * (x[1]! + 1);
    return (x[0]! - 3) ** 2 + (x[1]! + 1) ** 2;
  };
  const r = minimizeBounded(f, Float64Array.of(1, 1), Float64Array.of(0, 0), Float64Array.of(2, 2));
  assert.deepEqual(Array.from(r.x), [2, 0]);
  assert.ok(r.converged);
});

test('seeded RNG: same seed same stream, state save/restore, xoshiro256** reference values', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 10; i++) assert.equal(a.uniform(), b.uniform());
  const state = a.getState();
  const next = [a.uniform(), a.normal(), a.normal()];
  a.setState(state);
  assert.deepEqual([a.uniform(), a.normal(), a.normal()], next);
  // Reference: the same algorithm in BigInt (xoshiro256** seeded by splitmix64 from 42).
  let sm = 42n;
  const s: bigint[] = [];
  const M = (1n << 64n) - 1n;
  for (let i = 0; i < 4; i++) {
    sm = (sm + 0x9e3779b97f4a7c15n) & M;
    let z = sm;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    s.push(z ^ (z >> 31n));
  }
  const rotl = (v: bigint, k: bigint) => ((v << k) | (v >> (64n - k))) & M;
  const c = new Rng(42);
  for (let i = 0; i < 5; i++) {
    const out = (rotl((s[1]! * 5n) & M, 7n) * 9n) & M;
    const t = (s[1]! << 17n) & M;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 45n);
    assert.equal(c.uniform(), Number(out >> 11n) / 2 ** 53);
  }
});

test('seeded RNG normals have mean 0 and variance 1', () => {
  const r = new Rng(1);
  let s = 0;
  let s2 = 0;
  const n = 200000;
  for (let i = 0; i < n; i++) {
    const v = r.normal();
    s += v;
    s2 += v * v;
  }
  assert.ok(Math.abs(s / n) < 0.01);
  assert.ok(Math.abs(s2 / n - 1) < 0.01);
});
