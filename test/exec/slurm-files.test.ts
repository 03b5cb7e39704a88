/**
 * The Slurm executor's pieces that need no cluster: the task codec (bit-exact numbers, typed
 * arrays, non-finite values), array ranges, the job script, the flags, and a task file run in
 * this process (result written atomically, error text on failure, attempts counted).
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { executorFromFlags } from '../../src/cli/executor-flags.js';
import { decodeJson, encodeJson } from '../../src/exec/codec.js';
import { arrayRanges, batchPaths, jobScript, pollSleep } from '../../src/exec/slurm.js';
import { runTaskFile } from '../../src/exec/task.js';
import { Rng } from '../../src/util/rng.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-exec-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('codec: every double (−0 too) survives bit for bit; typed arrays and ±Infinity/NaN come back as they were', () => {
  const rng = new Rng(3);
  const xs = Array.from({ length: 2000 }, (_, k) => (rng.normal() * 10 ** ((k % 40) - 20)) / 3);
  xs.push(Number.MIN_VALUE, -Number.MAX_VALUE, 0.1 + 0.2, -0);
  const value = { xs, f: Float64Array.from(xs), i: Int32Array.from([1, -2, 3]), inf: Number.POSITIVE_INFINITY, nested: { n: Number.NaN, g: [Number.NEGATIVE_INFINITY] }, s: 'Infinity' };
  const back = decodeJson<typeof value>(encodeJson(value));
  const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float64Array.from(a).buffer));
  assert.deepEqual(bits(back.xs), bits(xs));
  assert.ok(Object.is(back.xs.at(-1), -0));
  assert.ok(back.f instanceof Float64Array);
  assert.deepEqual(bits(back.f), bits(value.f));
  assert.ok(back.i instanceof Int32Array && back.i[1] === -2);
  assert.equal(back.inf, Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(back.nested.n));
  assert.equal(back.nested.g[0], Number.NEGATIVE_INFINITY);
  assert.equal(back.s, 'Infinity');
});

test('array ranges: runs of consecutive indices become ranges', () => {
  assert.equal(arrayRanges([0, 1, 2, 3]), '0-3');
  assert.equal(arrayRanges([9, 0, 2, 3, 4, 7]), '0,2-4,7,9');
  assert.equal(arrayRanges([5]), '5');
});

test('job script: #SBATCH lines from the settings, the prologue, and the task of the array index', () => {
  const script = jobScript(
    '/shared/out/slurm/md',
    { kind: 'md', name: 'md', total: 4 },
    { partition: 'compute', timeLimit: '2:00:00', cpusPerTask: 1, account: 'chem', extraOptions: ['--qos=short'], prologue: ['module load nodejs/20'], command: ['/opt/node', "/sw/atomgp's/bin/atomgp.js"] },
  );
  for (const line of ['#SBATCH --job-name=atomgp-md', '#SBATCH --output=/shared/out/slurm/md/logs/%a_%A.out', '#SBATCH --partition=compute', '#SBATCH --time=2:00:00', '#SBATCH --account=chem', '#SBATCH --qos=short', 'module load nodejs/20']) {
    assert.ok(script.split('\n').includes(line), line);
  }
  assert.match(script, /^exec \/opt\/node '\/sw\/atomgp'\\''s\/bin\/atomgp\.js' task \/shared\/out\/slurm\/md\/tasks\/"\$SLURM_ARRAY_TASK_ID"\.json$/m);
  assert.ok(script.startsWith('#!/bin/bash\n'));
});

test('executor flags: slurm settings parsed; slurm flags without --executor slurm, and atomgp-owned sbatch options, are errors', () => {
  assert.deepEqual(executorFromFlags({ executor: 'local' }, 3), { kind: 'local', workers: 3 });
  const e = executorFromFlags({ executor: 'slurm', 'slurm-partition': 'p', 'slurm-time': '1-00:00:00', 'slurm-extra': ['--qos=q --mem=2G'], 'slurm-max-running': '4', 'slurm-retries': '0' }, 2);
  assert.equal(e.kind, 'slurm');
  if (e.kind === 'slurm') {
    assert.equal(e.slurm.partition, 'p');
    assert.equal(e.slurm.timeLimit, '1-00:00:00');
    assert.deepEqual(e.slurm.extraOptions, ['--qos=q', '--mem=2G']);
    assert.equal(e.slurm.maxRunning, 4);
    assert.equal(e.slurm.retries, 0);
  }
  assert.throws(() => executorFromFlags({ executor: 'local', 'slurm-partition': 'p' }, 2), /--slurm-partition needs --executor slurm/);
  assert.throws(() => executorFromFlags({ executor: 'local', detach: true }, 2), /--detach needs --executor slurm/);
  assert.throws(() => executorFromFlags({ executor: 'pbs' }, 2), /--executor must be local or slurm, got 'pbs'/);
  assert.throws(() => executorFromFlags({ executor: 'slurm', 'slurm-extra': ['--array=0-3'] }, 2), /'--array=0-3' is set by atomgp itself/);
  assert.throws(() => executorFromFlags({ executor: 'slurm', 'slurm-extra': ['module load x'] }, 2), /--slurm-extra takes sbatch options/);
  assert.throws(() => executorFromFlags({ executor: 'slurm', 'slurm-time': 'two hours' }, 2), /--slurm-time expects Slurm's format/);
});

test('a task file runs its kind: the result is written atomically, a failure leaves its message, attempts are counted', async () => {
  const dir = join(root, 'batch');
  for (const sub of ['tasks', 'results', 'errors', 'started']) mkdirSync(join(dir, sub), { recursive: true });
  const p = batchPaths(dir);
  writeFileSync(p.task(0), encodeJson({ kind: 'square', label: 'x=3', index: 0, input: { x: Float64Array.from([3, 0.1]) } }));
  const seen: number[] = [];
  const kinds = {
    square: async () => ((input: { x: Float64Array }, ctx: { previousAttempts: number }) => {
      seen.push(ctx.previousAttempts);
      if (ctx.previousAttempts === 0) throw new Error('first attempt fails');
      return { y: input.x.map((v) => v * v) };
    }) as never,
  };
  await assert.rejects(runTaskFile(p.task(0), kinds), /first attempt fails/);
  assert.equal(readFileSync(p.error(0), 'utf8'), 'first attempt fails\n');
  assert.ok(!existsSync(p.result(0)));
  await runTaskFile(p.task(0), kinds);
  assert.deepEqual(seen, [0, 1]);
  const r = decodeJson<{ y: Float64Array }>(readFileSync(p.result(0), 'utf8'));
  assert.deepEqual(Array.from(r.y), [9, 0.1 * 0.1]);
  assert.ok(!existsSync(p.error(0)), 'the error of the earlier attempt is removed');
  writeFileSync(p.task(1), encodeJson({ kind: 'cube', label: 'y', index: 1, input: {} }));
  await assert.rejects(runTaskFile(p.task(1), kinds), /unknown task kind 'cube' \(known: square\)/);
  await assert.rejects(runTaskFile(join(dir, 'tasks', '9.json'), kinds), /task file .*9\.json does not exist/);
});

test('the poll wait removes its abort listener: 50 polls leave none behind, and an abort ends a wait at once', async () => {
  const ctl = new AbortController();
  for (let k = 0; k < 50; k++) await pollSleep(1, ctl.signal);
  assert.equal(getEventListeners(ctl.signal, 'abort').length, 0);
  const t0 = performance.now();
  const waiting = pollSleep(60_000, ctl.signal);
  assert.equal(getEventListeners(ctl.signal, 'abort').length, 1);
  ctl.abort();
  await waiting;
  assert.ok(performance.now() - t0 < 30_000, 'the wait should end on abort, not after 60 s');
  assert.equal(getEventListeners(ctl.signal, 'abort').length, 0);
  await pollSleep(60_000, ctl.signal); // already aborted: returns at once
});
