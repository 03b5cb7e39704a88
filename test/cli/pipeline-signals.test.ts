/**
 * SIGTERM/SIGINT during a local pipeline: the run stops after a checkpoint (sampling) or with every
 * NVT run checkpointed, prints one line, exits 143/130 and leaves no temporary files or lock;
 * `--resume` continues from the checkpoints and the final demo.json equals that of an uninterrupted
 * run (but wall-clock fields), as does the log of an NVT run stopped part-way.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-pipeline-signals-'));
after(() => rmSync(root, { recursive: true, force: true }));

// Long enough sampling (a checkpoint every 5000 steps) and NVT runs to be caught in the act.
const SETTINGS = ['--molecule', 'water', '--sample-steps', '60000', '--harvest-every', '200', '--n-train', '100', '--n-valid', '60', '--restarts', '1', '--max-iterations', '60', '--md-time-ps', '4', '--temperatures-K', '300,1000', '--replicas', '2', '--workers', '1'];

function comparable(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'), (k, v) => (k === 'timings_s' || k === 'wall_time_s' ? undefined : v));
}

function tempFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tmp$/.test(f));
}

const lines = (file: string): number => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);

/** Start `atomgp pipeline ARGS`, send `signal` once `ready()` holds, and collect its exit. */
async function interrupt(args: string[], signal: NodeJS.Signals, ready: () => boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  const c = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', 'pipeline', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => c.on('close', (code, sig) => res({ code, signal: sig })));
  const t0 = Date.now();
  while (!ready() && c.exitCode === null && Date.now() - t0 < 180_000) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ready(), `the run reached the point to interrupt (stderr: ${err})`);
  c.kill(signal);
  return { ...(await closed), err };
}

test('pipeline: SIGTERM in the sampling, SIGINT in the NVT runs, --resume twice: exit 143/130, one line, no temp files; demo.json equals an uninterrupted run', async () => {
  const whole = join(root, 'whole');
  const w = runCli(['pipeline', ...SETTINGS, '--out', whole, '--quiet']);
  assert.equal(w.code, 0, w.err);

  const out = join(root, 'stopped');
  const cp = join(out, 'sampling', 'checkpoint.json');
  // 1. SIGTERM after the sampling's first checkpoint.
  const a = await interrupt([...SETTINGS, '--out', out, '--quiet'], 'SIGTERM', () => existsSync(cp));
  assert.equal(a.signal, null, 'the process ended itself');
  assert.equal(a.code, 143, a.err);
  assert.match(a.err, /^atomgp pipeline: interrupted by SIGTERM during sampling at step (\d+) of 60000 \(checkpoint written\); finished stages kept; rerun with --resume to continue\n$/);
  const stoppedAt = Number(/at step (\d+)/.exec(a.err)![1]);
  assert.ok(stoppedAt >= 5000 && stoppedAt < 60000, `stopped part-way (step ${stoppedAt})`);
  assert.ok(existsSync(cp), 'the sampling checkpoint is kept');
  assert.ok(!existsSync(join(out, 'sampling', 'frames.extxyz')) && !existsSync(join(out, 'demo.json')), 'no stage after the sampling ran');
  assert.deepEqual(tempFiles(out), []);
  assert.ok(!existsSync(join(out, '.atomgp.lock')), 'the lock is released');

  // A resume with another sampling setting is refused before any work, naming it.
  const changed = runCli(['pipeline', ...SETTINGS, '--bias-factor', '8', '--out', out, '--resume', '--quiet']);
  assert.equal(changed.code, 2, changed.err);
  assert.match(changed.err, /^atomgp pipeline: error: cannot resume .*: sampling \(stopped part-way\) was made with other inputs \(--bias-factor: recorded 10, now 8\)/);
  assert.equal(changed.err.trimEnd().split('\n').length, 1);

  // 2. --resume continues the sampling from its checkpoint; SIGINT in the middle of an NVT run.
  const log = join(out, 'runs', 'shift_0.05', 'T300_r00', 'log.csv');
  const b = await interrupt([...SETTINGS, '--out', out, '--resume'], 'SIGINT', () => lines(log) > 30);
  assert.equal(b.code, 130, b.err);
  assert.match(b.err, new RegExp(`sampling: continuing from the checkpoint at step ${stoppedAt} `));
  assert.match(b.err, /\natomgp pipeline: interrupted by SIGINT during the NVT runs of shift:0\.05 \(every run has a checkpoint\); finished stages kept; rerun with --resume to continue\n$/);
  assert.doesNotMatch(b.err, /\n\s+at /, 'no stack trace');
  assert.ok(!existsSync(cp), 'the finished sampling dropped its checkpoint');
  const stopped = JSON.parse(readFileSync(join(out, 'runs', 'shift_0.05', 'T300_r00', 'summary.json'), 'utf8')) as { interrupted?: string; stepsCompleted: number };
  assert.equal(stopped.interrupted, 'SIGINT');
  assert.ok(stopped.stepsCompleted > 0 && stopped.stepsCompleted < 8000, `the run was stopped part-way (step ${stopped.stepsCompleted})`);
  assert.deepEqual(tempFiles(out), []);
  assert.ok(!existsSync(join(out, '.atomgp.lock')));

  // 3. --resume to the end: the same demo.json, and the NVT run continued from its checkpoint writes the same log.
  const c = runCli(['pipeline', ...SETTINGS, '--out', out, '--resume', '--quiet']);
  assert.equal(c.code, 0, c.err);
  const resumed = JSON.parse(readFileSync(join(out, 'runs', 'shift_0.05', 'T300_r00', 'summary.json'), 'utf8')) as { resumedFromStep: number | null; interrupted?: string };
  assert.equal(resumed.resumedFromStep, stopped.stepsCompleted);
  assert.equal(resumed.interrupted, undefined);
  assert.equal(readFileSync(log, 'utf8'), readFileSync(join(whole, 'runs', 'shift_0.05', 'T300_r00', 'log.csv'), 'utf8'));
  assert.deepEqual(comparable(join(out, 'demo.json')), comparable(join(whole, 'demo.json')));
  assert.deepEqual(tempFiles(out), []);
});

test('pipeline, total labels: SIGTERM in the additive fit ends it at once (it runs in a worker); --resume redoes it to the same models', async () => {
  // 600 totals: the θ search and the weight refit take tens of seconds, far longer than a step between signals.
  const total = ['--molecule', 'water', '--labels', 'total', '--priors', 'max', '--active-rounds', '0', '--sample-steps', '20000', '--harvest-every', '20', '--n-train', '600', '--n-valid', '100', '--restarts', '2', '--md-time-ps', '0.2', '--temperatures-K', '300', '--replicas', '1', '--workers', '1'];
  const whole = join(root, 'total-whole');
  const w = runCli(['pipeline', ...total, '--out', whole, '--quiet']);
  assert.equal(w.code, 0, w.err);
  const out = join(root, 'total-stopped');
  const a = await interrupt([...total, '--out', out], 'SIGTERM', () => existsSync(join(out, 'data', 'train.extxyz')) && !existsSync(join(out, 'models')));
  assert.equal(a.code, 143, a.err);
  // Cut inside the fit: had the signal waited for the fit (the main thread busy), the models would be written and the stop come later.
  assert.match(a.err, /\natomgp pipeline: interrupted by SIGTERM during training max \(its fits are redone on resume\); finished stages kept; rerun with --resume to continue\n$/);
  assert.doesNotMatch(a.err, /\n\s+at /, 'no stack trace');
  assert.ok(!existsSync(join(out, 'models', 'max')), 'no model was written');
  assert.deepEqual(tempFiles(out), []);
  assert.ok(!existsSync(join(out, '.atomgp.lock')));
  const c = runCli(['pipeline', ...total, '--out', out, '--resume', '--quiet']);
  assert.equal(c.code, 0, c.err);
  const strip = (f: string) => readFileSync(f, 'utf8').replace(/^# (force_fit_)?wall_time_s .*\n/gm, '');
  for (const f of readdirSync(join(whole, 'models', 'max')).filter((n) => n.endsWith('.model'))) assert.equal(strip(join(out, 'models', 'max', f)), strip(join(whole, 'models', 'max', f)), f);
});
