import assert from 'node:assert/strict';
import { resetBackendSettings } from '../../src/math/backend.js';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { defaultThreads, linalgTeam, registerJob } from '../../src/math/linalg-team.js';
import { allocateMatrices, kernelFor, sharedWasmAvailable } from '../../src/math/linalg-wasm.js';
import { choleskyInPlace, choleskyWithJitter, inverseLowerFromCholesky } from '../../src/math/linalg.js';
import { Rng } from '../../src/util/rng.js';

const noShared = !sharedWasmAvailable() && 'no shared wasm memory (SIMD) here';

/** Unit-diagonal RBF kernel matrix of n random points in 5 dimensions (both triangles), plus `nugget`·I. */
function kernelMatrix(n: number, seed: number, nugget: number): Float64Array {
  const rng = new Rng(seed);
  const x = Float64Array.from({ length: 5 * n }, () => rng.uniformIn(-1, 1));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let d = 0;
      for (let k = 0; k < 5; k++) d += (x[5 * i + k]! - x[5 * j + k]!) ** 2;
      const v = Math.exp(-2 * d) + (i === j ? nugget : 0);
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  return a;
}

/** Number of lower-triangle elements that differ bitwise. */
function lowerDiffs(a: Float64Array, b: Float64Array, n: number): number {
  let bad = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) if (!Object.is(a[i * n + j], b[i * n + j])) bad++;
  return bad;
}

function readyTeam() {
  const team = linalgTeam(2)!;
  assert.ok(team, 'a two-thread team');
  assert.ok(team.waitReady(60000), 'the worker started');
  return team;
}

test('two-thread Cholesky and lower-triangle inverse are bit-identical to one thread (n = 401, 517, 1030)', { skip: noShared }, () => {
  const team = readyTeam();
  for (const n of [401, 517, 1030]) {
    const a = kernelMatrix(n, n, 1e-3);
    const [l1, inv1, work1] = allocateMatrices([n * n, n * n, n * n]);
    const [l2, inv2, work2] = allocateMatrices([n * n, n * n, n * n], { shared: true });
    assert.ok(kernelFor(l2!)?.shared, 'shared wasm memory');
    l1!.set(a);
    l2!.set(a);
    assert.equal(choleskyInPlace(l1!, n), 0);
    const jobs = team.teamJobs;
    assert.equal(choleskyInPlace(l2!, n, team), 0);
    assert.equal(team.teamJobs, jobs + 1, 'the job ran on both threads');
    assert.equal(lowerDiffs(l1!, l2!, n), 0, `Cholesky n = ${n}`);
    inverseLowerFromCholesky(l1!, n, inv1!, work1!);
    inverseLowerFromCholesky(l2!, n, inv2!, work2!, team);
    assert.equal(lowerDiffs(inv1!, inv2!, n), 0, `inverse n = ${n}`);
    // And the factor is a factor: (L Lᵀ)_ij = A_ij on a few entries.
    for (const [i, j] of [[n - 1, 0], [n - 1, n - 1], [n >> 1, n >> 2]] as const) {
      let s = 0;
      for (let k = 0; k <= j; k++) s += l2![i * n + k]! * l2![j * n + k]!;
      assert.ok(Math.abs(s - a[i * n + j]!) < 1e-12, `(LLᵀ)_${i},${j}`);
    }
  }
});

test('a non-positive-definite matrix: both modes report the same row, and the jitter retries agree bit for bit', { skip: noShared }, () => {
  const team = readyTeam();
  const n = 517;
  const a = kernelMatrix(n, 11, 0);
  // Row/column 300 a copy of 299: singular at row 301, past several panels.
  for (let j = 0; j < n; j++) {
    a[300 * n + j] = a[299 * n + j]!;
    a[j * n + 300] = a[j * n + 299]!;
  }
  const [one] = allocateMatrices([n * n]);
  const [two] = allocateMatrices([n * n], { shared: true });
  one!.set(a);
  two!.set(a);
  const info1 = choleskyInPlace(one!, n);
  const info2 = choleskyInPlace(two!, n, team);
  assert.equal(info1, 301);
  assert.equal(info2, 301);
  assert.equal(lowerDiffs(one!, two!, n), 0, 'same partial factor');
  // The jitter loop (copy + diagonal shift inside the threaded job) needs the same retries.
  const [src1, f1] = allocateMatrices([n * n, n * n]);
  const [src2, f2] = allocateMatrices([n * n, n * n], { shared: true });
  src1!.set(a);
  src2!.set(a);
  const j1 = choleskyWithJitter(src1!, n, f1!);
  const j2 = choleskyWithJitter(src2!, n, f2!, { team });
  assert.ok(j1 > 0, `jitter ${j1}`);
  assert.equal(j2, j1);
  assert.equal(lowerDiffs(f1!, f2!, n), 0, 'same factor after jitter');
  // A matrix that no jitter saves gives the same AtomgpError, and the team keeps working.
  const [bad] = allocateMatrices([n * n], { shared: true });
  bad!.set(a);
  bad![0] = -1;
  assert.throws(() => choleskyWithJitter(bad!, n, bad!, { team, what: 'test matrix' }), (e: unknown) => e instanceof AtomgpError && /test matrix .* failed at row 1 /.test(e.message));
  two!.set(kernelMatrix(n, 12, 1e-3));
  assert.equal(choleskyInPlace(two!, n, team), 0);
});

test('an exception in the worker reaches the caller as an error instead of hanging, and the team recovers', { skip: noShared }, () => {
  const team = readyTeam();
  // A job the worker thread does not know: the worker throws while this thread waits at a barrier.
  registerJob(99, (crew) => {
    crew.sync();
    crew.sync();
  });
  const [m] = allocateMatrices([16], { shared: true });
  assert.throws(() => team.run(99, m!.buffer), /linear-algebra worker failed: linalg-team: no job 99/);
  // An exception in this thread's share is rethrown after the worker has finished.
  registerJob(98, (crew) => {
    if (crew.tid === 0) throw new AtomgpError('bad input in job 98');
  });
  assert.throws(() => team.run(98, m!.buffer), (e: unknown) => e instanceof AtomgpError && e.message === 'bad input in job 98');
  const n = 401;
  const [l] = allocateMatrices([n * n], { shared: true });
  l!.set(kernelMatrix(n, 5, 1e-3));
  assert.equal(choleskyInPlace(l!, n, team), 0);
});

test('ATOMGP_THREADS sets the default number of threads and rejects nonsense', () => {
  const saved = process.env.ATOMGP_THREADS;
  try {
    process.env.ATOMGP_THREADS = '1';
    resetBackendSettings();
    assert.equal(defaultThreads(), 1);
    assert.equal(linalgTeam(), undefined, 'no team for one thread');
    process.env.ATOMGP_THREADS = '2';
    resetBackendSettings();
    assert.equal(defaultThreads(), 2);
    process.env.ATOMGP_THREADS = 'two';
    resetBackendSettings();
    assert.throws(() => defaultThreads(), AtomgpError);
  } finally {
    if (saved === undefined) delete process.env.ATOMGP_THREADS;
    else process.env.ATOMGP_THREADS = saved;
    resetBackendSettings();
  }
});
