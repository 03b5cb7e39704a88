import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultOutputStrides, MAX_LOG_RECORDS, MAX_TRAJECTORY_FRAMES, outputStrides } from '../../src/dynamics/output-strides.js';

test('default output intervals: short runs as before, long runs with bounded files and regular checkpoints', () => {
  assert.deepEqual(defaultOutputStrides(20_000), { logEvery: 1, trajStride: 10, checkpointEvery: 0 });
  assert.deepEqual(defaultOutputStrides(200_000), { logEvery: 1, trajStride: 20, checkpointEvery: 0 });
  // 10 ns at 0.5 fs: 200 000 log lines, 10 000 frames, a checkpoint every 10 ps
  const s = 20_000_000;
  const d = defaultOutputStrides(s);
  assert.deepEqual(d, { logEvery: 100, trajStride: 2000, checkpointEvery: 20_000 });
  for (const steps of [1, 999, 200_001, 3_333_333, 20_000_000, 2e9]) {
    const o = defaultOutputStrides(steps);
    assert.ok(Math.floor(steps / o.logEvery) <= MAX_LOG_RECORDS, `${steps}: ${steps / o.logEvery} log records`);
    assert.ok(Math.floor(steps / o.trajStride) <= MAX_TRAJECTORY_FRAMES, `${steps}: ${steps / o.trajStride} frames`);
    if (steps > 200_000) assert.ok(o.checkpointEvery >= 10_000 && steps / o.checkpointEvery <= 1000 + 1e-9);
  }
});

test('output intervals: given ones win, then those of the checkpoint being resumed, then the defaults', () => {
  assert.deepEqual(outputStrides(20_000_000, { logEvery: 5 }), { logEvery: 5, trajStride: 2000, checkpointEvery: 20_000 });
  // a run started at 1 ns (log every 10, frame every 200) and extended to 10 ns on resume keeps its intervals
  const resumed = { logEvery: 10, trajStride: 200 };
  assert.deepEqual(outputStrides(20_000_000, {}, resumed), { logEvery: 10, trajStride: 200, checkpointEvery: 20_000 });
  assert.deepEqual(outputStrides(20_000_000, { trajStride: 50 }, resumed), { logEvery: 10, trajStride: 50, checkpointEvery: 20_000 });
  assert.deepEqual(outputStrides(1000, {}, { logEvery: 'x' }), { logEvery: 1, trajStride: 10, checkpointEvery: 0 });
});

test("the pipeline's NVT runs: a 1-ns run checkpoints every 5 ps (before: only on a signal), a 20-ps run at its end", async () => {
  const { pipelineRunStrides } = await import('../../src/workflows/pipeline/md.js');
  // 1 ns at 0.5 fs
  assert.deepEqual(pipelineRunStrides(2_000_000), { logEvery: 20, trajStride: 200, checkpointEvery: 10_000 });
  assert.deepEqual(pipelineRunStrides(40_000), { logEvery: 20, trajStride: 100, checkpointEvery: 0 });
});
