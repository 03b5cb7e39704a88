/**
 * Regression tests of issue 17 (docs/reliability.md): strict input, the consistency check in every
 * model command, honest md resume, one writer per output folder, signals, no stack traces.
 * Each runs the real CLI in a child process (test/helpers/cli.ts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const EXAMPLE = 'examples/water-morse';
const START = join(EXAMPLE, 'water.xyz');
const SHARED_WATER = '../shared/data/ferebus-benchmark/water';
const hasShared = existsSync(join(SHARED_WATER, 'marginal', 'WATER_iqa_O1.model'));
const root = mkdtempSync(join(tmpdir(), 'atomgp-reliability-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Exit 2 with exactly one line on stderr, no stack trace, matching `re`. */
function refused(r: { code: number; err: string }, re: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at /, `${what}: stack trace`);
  assert.equal(r.err.trimEnd().split('\n').length, 1, `${what}: more than one line:\n${r.err}`);
  assert.match(r.err, re, what);
}

const water = readFileSync(START, 'utf8').split('\n').slice(0, 5);

test('a plain XYZ with an index column, or extxyz rows with undeclared columns, are refused naming file and line', () => {
  const f = join(root, 'indexed.xyz');
  writeFileSync(f, [water[0], water[1], ...water.slice(2).map((l, i) => l.replace(/^(\S+)/, `$1 ${i + 1}`))].join('\n') + '\n');
  refused(runCli(['predict', '--models', EXAMPLE, f]), /indexed\.xyz:3: atom 1: expected 4 columns .* found 5/, 'index column');
  const ext = join(root, 'ext.xyz');
  writeFileSync(ext, ['3', 'Properties=species:S:1:pos:R:3 energy=1.0', 'O 0 0 0 7', 'H 0.757 0.586 0', 'H -0.757 0.586 0'].join('\n') + '\n');
  refused(runCli(['predict', '--models', EXAMPLE, ext]), /ext\.xyz:3: atom 1: expected 4 columns/, 'extxyz extra column');
});

test('hexadecimal, infinite and empty numbers are refused in CSV sets and flags', { skip: !hasShared && 'shared data not found' }, () => {
  const csv = readFileSync(join(SHARED_WATER, 'WATER_O1_TRAINING_SET.csv'), 'utf8').split('\n').slice(0, 21);
  const model = join(SHARED_WATER, 'marginal', 'WATER_iqa_O1.model');
  const cases: Array<[string, RegExp]> = [
    ['0x10', /hex\.csv:3: column 'f1': '0x10' is not a finite number/],
    ['Infinity', /hex\.csv:3: column 'f1': 'Infinity' is not a finite number/],
    ['', /hex\.csv:3: column 'f1': '' is not a finite number/],
    ['1e300', /hex\.csv:3: column 'f1': 1e300 is beyond/],
  ];
  for (const [v, re] of cases) {
    const rows = [...csv];
    rows[2] = rows[2]!.replace(/^([^,]*),[^,]*/, `$1,${v}`);
    const f = join(root, 'hex.csv');
    writeFileSync(f, rows.join('\n'));
    refused(runCli(['validate', '--model', model, '--set', f]), re, `csv ${v}`);
  }
  for (const v of ['0x10', 'Infinity', '1e400', '']) {
    refused(runCli(['md', '--models', EXAMPLE, '--start', START, '--steps', v, '--out', join(root, 'hexmd')]), /--steps expects an integer ≥ 0, got/, `--steps ${v}`);
  }
  refused(runCli(['md', '--models', EXAMPLE, '--start', START, '--steps', '5', '--timestep-fs', '0x1', '--out', join(root, 'hexmd')]), /--timestep-fs expects a number/, '--timestep-fs 0x1');
});

test('absurd coordinates are refused at the door (1e300: no NaN energies; 1e10: no misleading "collinear")', () => {
  for (const v of ['1e300', '1e10', '-1e8']) {
    const f = join(root, 'far.xyz');
    writeFileSync(f, [water[0], water[1], `O 0 0 ${v}`, water[3], water[4]].join('\n') + '\n');
    const r = runCli(['predict', '--models', EXAMPLE, f]);
    refused(r, new RegExp(`far\\.xyz:3: atom 1: z coordinate ${v.replace('+', '\\+')} Å is beyond ±100000 Å`), v);
    assert.doesNotMatch(r.out, /NaN/);
  }
});

test('an atom count of 2^32 is a one-line error, not a RangeError', () => {
  const f = join(root, 'count.xyz');
  writeFileSync(f, `4294967296\nx\n${water.slice(2).join('\n')}\n`);
  refused(runCli(['predict', '--models', EXAMPLE, f]), /count\.xyz:\d+: truncated frame: expected 4294967296 atom lines/, '2^32 atoms');
});

test('a negative value after a space, a 3 MB input line and raw newlines give one short line', () => {
  refused(runCli(['md', '--models', EXAMPLE, '--start', START, '--steps', '-5', '--out', join(root, 'neg')]), /--steps needs a value; .* --steps=VALUE/, '--steps -5');
  const big = join(root, 'big.xyz');
  writeFileSync(big, `3\nx\n${'Q'.repeat(3_000_000)} 0 0 0\n${water.slice(3).join('\n')}\n`);
  const r = runCli(['predict', '--models', EXAMPLE, big]);
  refused(r, /big\.xyz:3: /, '3 MB line');
  assert.ok(r.err.length < 600, `message of ${r.err.length} characters`);
  // A path holding a newline is echoed on one line (text and --json alike).
  const nl = runCli(['predict', '--json', '--models', EXAMPLE, join(root, 'no\nsuch.xyz')]);
  refused(nl, /no such\.xyz' does not exist/, 'newline in a path');
});

test('--out that is a file, under a file, or not creatable: one line, exit 2 (md and train)', { skip: !hasShared && 'shared data not found' }, () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  const csv = join(SHARED_WATER, 'WATER_O1_TRAINING_SET.csv');
  // /proc: Node's recursive mkdir never returns there; atomgp creates one level at a time
  for (const out of [file, join(file, 'sub'), '/sys/atomgp-no-such/out', '/proc/atomgp-no-such/out']) {
    refused(runCli(['md', '--models', EXAMPLE, '--start', START, '--steps', '5', '--out', out]), /error: /, `md --out ${out}`);
    refused(runCli(['train', '--csv', csv, '--atom', 'O1', '--restarts', '1', '--quiet', '--out', out]), /error: /, `train --out ${out}`);
  }
});

test('predict | head -1: a closed pipe ends quietly with exit 0', async () => {
  const frames = Array.from({ length: 400 }, () => water.join('\n')).join('\n') + '\n';
  const f = join(root, 'many.xyz');
  writeFileSync(f, frames);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', 'predict', '--models', EXAMPLE, f], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => {
    err += String(d);
  });
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  assert.equal(code, 0, err);
  assert.equal(err, '');
});

function corruptCopy(dir: string, scaleFirstWeight: number): string {
  mkdirSync(dir, { recursive: true });
  for (const m of readdirSync(EXAMPLE).filter((n) => n.endsWith('.model'))) copyFileSync(join(EXAMPLE, m), join(dir, m));
  const p = join(dir, 'WATER_iqa_H2.model');
  const text = readFileSync(p, 'utf8');
  const i = text.indexOf('[weights]\n') + '[weights]\n'.length;
  const j = text.indexOf('\n', i);
  writeFileSync(p, text.slice(0, i) + String(Number(text.slice(i, j)) * scaleFirstWeight) + text.slice(j));
  return dir;
}

test('a full disk: predict into /dev/full is one line with ENOSPC and exit 2, no stack trace', { skip: !existsSync('/dev/full') && 'no /dev/full' }, () => {
  const full = openSync('/dev/full', 'w');
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', 'predict', '--models', EXAMPLE, START], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
    refused({ code: r.status ?? -1, err: r.stderr }, /^atomgp: error: cannot write to standard output \(ENOSPC\)$/m, 'predict > /dev/full');
  } finally {
    closeSync(full);
  }
});

test('every model command runs the consistency check with the same --no-check override', { skip: !hasShared && 'shared data not found' }, () => {
  const bad = corruptCopy(join(root, 'corrupt'), 1.5);
  refused(runCli(['predict', '--models', bad, START]), /WATER_iqa_H2\.model: weights do not reproduce the training targets/, 'predict');
  refused(runCli(['md', '--models', bad, '--start', START, '--steps', '5', '--out', join(root, 'cmd')]), /WATER_iqa_H2\.model: weights do not reproduce/, 'md');
  refused(runCli(['opt', '--models', bad, '--start', START, '--out', join(root, 'copt')]), /WATER_iqa_H2\.model: weights do not reproduce/, 'opt');
  assert.equal(runCli(['md', '--models', bad, '--no-check', '--start', START, '--steps', '5', '--out', join(root, 'cmd2')]).code, 0);
  assert.equal(runCli(['opt', '--models', bad, '--no-check', '--start', START, '--out', join(root, 'copt2')]).code, 0);
  // validate: a FEREBUS model with one weight changed by 50 % reported plausible MAEs before.
  const model = readFileSync(join(SHARED_WATER, 'marginal', 'WATER_iqa_O1.model'), 'utf8');
  const i = model.indexOf('[weights]\n') + '[weights]\n'.length;
  const j = model.indexOf('\n', i);
  const badModel = join(root, 'bad-O1.model');
  writeFileSync(badModel, model.slice(0, i) + String(Number(model.slice(i, j)) * 1.5) + model.slice(j));
  const set = join(SHARED_WATER, 'WATER_O1_VALIDATION_SET.csv');
  refused(runCli(['validate', '--model', badModel, '--set', set]), /bad-O1\.model: weights do not reproduce the training targets/, 'validate');
  // The other corruptions: a kernel name changed, one θ zeroed.
  const kernelChanged = join(root, 'kernel-O1.model');
  writeFileSync(kernelChanged, model.replace(/^type rbf$/m, 'type periodic'));
  refused(runCli(['validate', '--model', kernelChanged, '--set', set]), /kernel-O1\.model: weights do not reproduce the training targets/, 'validate, kernel name changed');
  const thetaZeroed = join(root, 'theta-O1.model');
  writeFileSync(thetaZeroed, model.replace(/^(theta )\S+/m, '$10'));
  refused(runCli(['validate', '--model', thetaZeroed, '--set', set]), /theta-O1\.model: weights do not reproduce the training targets/, 'validate, one θ zeroed');
  assert.equal(runCli(['validate', '--model', badModel, '--set', set, '--no-check']).code, 0);
  assert.equal(runCli(['validate', '--model', join(SHARED_WATER, 'marginal', 'WATER_iqa_O1.model'), '--set', set]).code, 0);
});

test('inspect: a stated noise of 1e10 makes the verdict inconsistent (exit 1)', () => {
  const text = readFileSync(join(EXAMPLE, 'WATER_iqa_O1.model'), 'utf8');
  const f = join(root, 'noise.model');
  writeFileSync(f, text.replace(/^# noise .*$/m, '# noise 1e10'));
  const r = runCli(['inspect', '--json', f]);
  assert.equal(r.code, 1, r.err);
  const d = JSON.parse(r.out);
  assert.equal(d.consistency.verdict, 'inconsistent');
  assert.equal(d.consistency.weights_verdict, 'consistent');
  assert.equal(d.consistency.noise_verdict, 'inconsistent');
  const ok = runCli(['inspect', '--json', join(EXAMPLE, 'WATER_iqa_O1.model')]);
  assert.equal(ok.code, 0);
  assert.equal(JSON.parse(ok.out).consistency.verdict, 'consistent');
});

const mdArgs = (models: string, out: string, steps: number, ...more: string[]): string[] => [
  'md', '--models', models, '--start', START, '--steps', String(steps), '--seed', '5', '--checkpoint-every', '100', '--out', out, ...more,
];

/** Output files of a run, the summary without its wall-clock fields. */
function runFiles(dir: string): Record<string, string> {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  for (const k of ['wallSeconds', 'stepsPerSecond', 'nsPerDay', 'resumedFromStep']) delete summary[k];
  return {
    log: readFileSync(join(dir, 'log.csv'), 'utf8'),
    trajectory: readFileSync(join(dir, 'trajectory.extxyz'), 'utf8'),
    checkpoint: readFileSync(join(dir, 'checkpoint.json'), 'utf8'),
    summary: JSON.stringify(summary),
  };
}

test('md --resume refuses changed model contents (naming the file) and fewer steps than the checkpoint', () => {
  const models = join(root, 'resume-models');
  mkdirSync(models);
  for (const m of readdirSync(EXAMPLE).filter((n) => n.endsWith('.model'))) copyFileSync(join(EXAMPLE, m), join(models, m));
  const out = join(root, 'resume');
  assert.equal(runCli(mdArgs(models, out, 300)).code, 0);
  const p = join(models, 'WATER_iqa_H3.model');
  const original = readFileSync(p, 'utf8');
  writeFileSync(p, original.replace(/^# prior_mean .*$/m, '# prior_mean edited'));
  refused(runCli(mdArgs(models, out, 400, '--resume')), /checkpoint\.json does not match this run's settings \(contents of WATER_iqa_H3\.model changed/, 'changed model');
  writeFileSync(p, original);
  refused(runCli(mdArgs(models, out, 100, '--resume')), /is at step 300, beyond the 100 steps asked for/, '--steps below the checkpoint');
  assert.equal(runCli(mdArgs(models, out, 400, '--resume')).code, 0);
});

test('a checkpoint written before content digests still resumes bit for bit', () => {
  const ref = join(root, 'old-ref');
  assert.equal(runCli(mdArgs(EXAMPLE, ref, 400)).code, 0);
  const old = join(root, 'old');
  assert.equal(runCli(mdArgs(EXAMPLE, old, 200)).code, 0);
  const cpPath = join(old, 'checkpoint.json');
  const cp = JSON.parse(readFileSync(cpPath, 'utf8'));
  assert.ok(cp.fingerprint.inputs, 'new checkpoints record the model digests');
  delete cp.fingerprint.inputs;
  writeFileSync(cpPath, JSON.stringify(cp, null, 1) + '\n');
  const r = runCli(mdArgs(EXAMPLE, old, 400, '--resume'));
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(runFiles(old), runFiles(ref));
});

test('one writer per output folder: of two runs racing into one --out exactly one writes; a dead owner\'s lock is taken over', async () => {
  const out = join(root, 'race');
  const start = (): Promise<{ code: number | null; err: string }> =>
    new Promise((res) => {
      const c = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', ...mdArgs(EXAMPLE, out, 4000)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d) => {
        err += String(d);
      });
      c.on('close', (code) => res({ code, err }));
    });
  const [a, b] = await Promise.all([start(), start()]);
  const codes = [a.code, b.code].sort();
  assert.deepEqual(codes, [0, 2], `${a.err}\n${b.err}`);
  const loser = a.code === 2 ? a : b;
  assert.match(loser.err, /output folder .*race is in use by atomgp md \(pid \d+/);
  // log.csv holds each step once, in order
  const steps = readFileSync(join(out, 'log.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
  assert.deepEqual(steps, Array.from({ length: 4001 }, (_, i) => i));
  assert.ok(!existsSync(join(out, '.atomgp.lock')), 'the lock is removed at the end');
  // a lock left by a process that no longer exists
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  writeFileSync(join(out, '.atomgp.lock'), JSON.stringify({ pid: deadPid, host: (await import('node:os')).hostname(), command: 'atomgp md', started: 'earlier' }));
  writeFileSync(join(out, `.checkpoint.json.${deadPid}.0123456789ab.tmp`), 'half a checkpoint');
  const r = runCli([...mdArgs(EXAMPLE, out, 4100), '--resume']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, new RegExp(`warning: taking over the lock of .* \\(pid ${deadPid}, since earlier\\), which is no longer running`));
  assert.ok(!existsSync(join(out, `.checkpoint.json.${deadPid}.0123456789ab.tmp`)), 'the dead run\'s temporary file is removed');
});

test('report refuses a log.csv whose rows repeat or go back in time (what two writers into one folder made)', () => {
  const out = join(root, 'spliced');
  assert.equal(runCli(mdArgs(EXAMPLE, out, 200)).code, 0);
  const html = join(root, 'spliced.html');
  assert.equal(runCli(['report', out, '--out', html]).code, 0, 'the intact run is reported');
  const log = readFileSync(join(out, 'log.csv'), 'utf8').trimEnd().split('\n');
  // The second writer's rows appended after the first's: time goes back at the first repeated row.
  writeFileSync(join(out, 'log.csv'), `${[...log, ...log.slice(1, 51)].join('\n')}\n`);
  refused(runCli(['report', out, '--out', html]), new RegExp(`log\\.csv:${log.length + 1}: time_fs 0 does not follow [\\d.]+ of the row before: rows repeated or out of order`), 'spliced log');
});

/** Start md in a child, wait until its log has `minLines` lines, send `signal`, return the exit status. */
async function interrupt(args: string[], out: string, signal: NodeJS.Signals, waitFor: () => boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  const c = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr.on('data', (d) => {
    err += String(d);
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => c.on('close', (code, sig) => res({ code, signal: sig })));
  const t0 = Date.now();
  while (!waitFor() && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(out), 'the run started');
  c.kill(signal);
  const r = await closed;
  return { ...r, err };
}

const logLines = (out: string): number => (existsSync(join(out, 'log.csv')) ? readFileSync(join(out, 'log.csv'), 'utf8').split('\n').length : 0);

test('md: SIGTERM writes a final checkpoint and exits 143; the resumed run equals an uninterrupted one bit for bit', async () => {
  const steps = 60000;
  const ref = join(root, 'sig-ref');
  assert.equal(runCli(mdArgs(EXAMPLE, ref, steps, '--checkpoint-every', '0')).code, 0);
  const out = join(root, 'sig');
  const r = await interrupt(mdArgs(EXAMPLE, out, steps, '--checkpoint-every', '0'), out, 'SIGTERM', () => logLines(out) > 2000);
  assert.equal(r.code, 143, r.err);
  assert.match(r.err, /interrupted by SIGTERM at step \d+; checkpoint written, continue with --resume/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.interrupted, 'SIGTERM');
  assert.ok(summary.stepsCompleted < steps);
  assert.equal(JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')).step, summary.stepsCompleted);
  assert.ok(!existsSync(join(out, '.atomgp.lock')));
  const resumed = runCli(mdArgs(EXAMPLE, out, steps, '--checkpoint-every', '0', '--resume'));
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(runFiles(out), runFiles(ref));
});

test('md: kill -9 mid-run, then --resume, equals an uninterrupted run bit for bit', async () => {
  const steps = 60000;
  const ref = join(root, 'kill-ref');
  assert.equal(runCli(mdArgs(EXAMPLE, ref, steps, '--checkpoint-every', '1000')).code, 0);
  const out = join(root, 'kill');
  const r = await interrupt(mdArgs(EXAMPLE, out, steps, '--checkpoint-every', '1000'), out, 'SIGKILL', () => existsSync(join(out, 'checkpoint.json')) && logLines(out) > 3000);
  assert.equal(r.signal, 'SIGKILL');
  assert.ok(existsSync(join(out, '.atomgp.lock')), 'a killed run leaves its lock');
  const resumed = runCli(mdArgs(EXAMPLE, out, steps, '--checkpoint-every', '1000', '--resume'));
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /taking over the lock/);
  assert.deepEqual(runFiles(out), runFiles(ref));
});

test('md ensemble: SIGTERM stops every replica with a checkpoint (unstarted ones at step 0); the resume equals an uninterrupted ensemble', async () => {
  const args = (out: string, ...more: string[]): string[] => [
    'md', '--models', EXAMPLE, '--start', START, '--steps', '30000', '--seed', '3', '--temperature-K', '300,400', '--replicas', '2', '--workers', '2', '--out', out, ...more,
  ];
  const ref = join(root, 'ens-ref');
  assert.equal(runCli(args(ref)).code, 0);
  const out = join(root, 'ens');
  const r = await interrupt(args(out), out, 'SIGTERM', () => logLines(join(out, 'T300_r00')) > 2000);
  assert.equal(r.code, 143, r.err);
  assert.match(r.err, /interrupted by SIGTERM; every run has a checkpoint, continue with --resume/);
  const runs = readdirSync(ref).filter((d) => d.startsWith('T'));
  assert.equal(runs.length, 4);
  const steps = runs.map((d) => JSON.parse(readFileSync(join(out, d, 'checkpoint.json'), 'utf8')).step as number);
  assert.ok(steps.every((s) => s < 30000), `checkpoints at ${steps.join(', ')}`);
  const resumed = runCli(args(out, '--resume'));
  assert.equal(resumed.code, 0, resumed.err);
  for (const d of runs) assert.deepEqual(runFiles(join(out, d)), runFiles(join(ref, d)), d);
});
