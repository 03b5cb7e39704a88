import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { sharedData } from '../helpers/data.js';

const waterSet = sharedData('water/training');

const CONFIG = `[system]
name = "WATER"
natoms = 3
atoms = [
  {name="O1", alf=[1, 2, 3]},
  {name="H2", alf=[2, 1, 3]},
  {name="H3", alf=[3, 1, 2]}
]
properties = ["iqa"]

[model]
mean = "constant"
kernel = "k1"
likelihood = "marginal"

[kernels.k1]
type = "rbf"
`;

const strip = (text: string) => text.replace(/^# wall_time_s .*\n/m, '');

test('train --jobs 2 writes the same three water models as --jobs 1 (all but the wall-time line); --from-model refits them', { skip: !waterSet }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-cli-train-'));
  try {
    for (const a of ['O1', 'H2', 'H3']) copyFileSync(join(waterSet!, `WATER_${a}_TRAINING_SET.csv`), join(dir, `WATER_${a}_TRAINING_SET.csv`));
    writeFileSync(join(dir, 'ferebus.toml'), CONFIG);
    const r1 = runCli(['train', '--config', join(dir, 'ferebus.toml'), '--out', join(dir, 'j1'), '--restarts', '2', '--jobs', '1']);
    assert.equal(r1.code, 0, r1.err);
    const r2 = runCli(['train', '--config', join(dir, 'ferebus.toml'), '--out', join(dir, 'j2'), '--restarts', '2', '--jobs', '2', '--quiet']);
    assert.equal(r2.code, 0, r2.err);
    assert.equal(r2.err, '', '--quiet: nothing on stderr');
    assert.match(r2.out, /training 3 models on 2 worker threads/);
    // Not a terminal: progress lines, each with the models done and an ETA.
    assert.match(r1.err, /^\[[0-3]\/3\] .*ETA/m);
    const files = readdirSync(join(dir, 'j1')).sort();
    assert.deepEqual(files, ['WATER_iqa_H2.model', 'WATER_iqa_H3.model', 'WATER_iqa_O1.model']);
    for (const f of files) {
      const a = readFileSync(join(dir, 'j1', f), 'utf8');
      assert.equal(strip(readFileSync(join(dir, 'j2', f), 'utf8')), strip(a), f);
      assert.match(a, /^# prior_mean mean$/m);
    }
    // Refit the set with another prior at kept θ: same file names, consistent on load (inspect exits 0).
    const rf = runCli(['train', '--from-model', join(dir, 'j1'), '--out', join(dir, 'mf'), '--prior', 'shift:0.05', '--keep-hyperparameters', '--quiet']);
    assert.equal(rf.code, 0, rf.err);
    assert.match(rf.out, /O1 iqa: prior mean shift:0\.05, log likelihood/);
    assert.deepEqual(readdirSync(join(dir, 'mf')).sort(), files);
    const ins = runCli(['inspect', join(dir, 'mf')]);
    assert.equal(ins.code, 0, ins.out + ins.err);
    assert.equal((ins.out.match(/: consistent;/g) ?? []).length, 3);
    // θ lines are unchanged by a kept-θ refit.
    const theta = (t: string) => /theta .*/.exec(t)![0];
    for (const f of files) assert.equal(theta(readFileSync(join(dir, 'mf', f), 'utf8')), theta(readFileSync(join(dir, 'j1', f), 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train: bad --from-model / --optimiser / --jobs input gives one clear line and exit status 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-cli-train-'));
  try {
    const src = readFileSync('examples/water-morse/WATER_iqa_O1.model', 'utf8');
    const noData = join(dir, 'WATER_iqa_O1.model');
    writeFileSync(noData, src.replace(/\[training_data\.x\][\s\S]*?(?=\n\[)/, ''));
    const cases: Array<[string[], RegExp]> = [
      [['train', '--from-model', noData, '--out', join(dir, 'out')], /cannot refit: .*WATER_iqa_O1\.model has no \[training_data\.x\]/],
      [['train', '--from-model', 'examples/water-morse', '--out', 'examples/water-morse'], /would overwrite the input models/],
      [['train', '--from-model', 'examples/water-morse'], /--out DIR is required with --from-model/],
      [['train', '--csv', 'x.csv', '--atom', 'O1', '--optimiser', 'simplex'], /--optimiser must be lbfgsb or pso, got 'simplex'/],
      [['train', '--csv', 'x.csv', '--atom', 'O1', '--jobs', '0'], /--jobs must be an integer ≥ 1, got '0'/],
      [['train', '--csv', 'x.csv', '--atom', 'O1', '--search', 'subset'], /--search must be full, staged or both, got 'subset'/],
      [['train', '--csv', 'x.csv', '--atom', 'O1', '--search', 'full', '--optimiser', 'pso'], /--search applies to --optimiser lbfgsb/],
      [['train', '--csv', 'x.csv', '--atom', 'O1', '--budget', 'soon'], /--budget must be a number of seconds ≥ 0, got 'soon'/],
      [['train', '--csv', 'x.csv', '--atom', 'O1', '--keep-hyperparameters'], /--keep-hyperparameters needs --from-model/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const glycine = sharedData('ferebus-benchmark/glycine');

test('train: SIGTERM stops a local fit at once: exit 143, one line, no model, no lock', { skip: !glycine }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'atomgp-cli-train-sig-'));
  try {
    // A one-minute fit (2130 points × 51 features), stopped after it started.
    const c = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', 'train', '--csv', join(glycine!, 'GLYCINE_C1_TRAINING_SET.csv'), '--atom', 'C1', '--quiet', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const closed = new Promise<number | null>((res) => c.on('close', (status) => res(status)));
    const t0 = Date.now();
    while (!existsSync(join(out, '.atomgp.lock')) && c.exitCode === null && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 1000));
    const sent = Date.now();
    c.kill('SIGTERM');
    assert.equal(await closed, 143, err);
    assert.ok(Date.now() - sent < 20_000, `stopped within seconds (${Date.now() - sent} ms)`);
    assert.equal(err, 'atomgp train: interrupted by SIGTERM before the fits finished; no model was written\n');
    assert.deepEqual(readdirSync(out), []);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
