import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { writeTinyWaterModels } from '../workflows/robustness/water-models.js';

/** `atomgp robustness ARGS` from source; registers the command if src/cli/main.ts does not list it yet. */
function robustness(args: string[]): { code: number; out: string; err: string } {
  const main = pathToFileURL(resolve('src/cli/main.ts')).href;
  const cmd = pathToFileURL(resolve('src/cli/robustness.ts')).href;
  const code = `const m = await import(${JSON.stringify(main)});
if (!m.COMMANDS.robustness) m.COMMANDS.robustness = { summary: '', load: () => import(${JSON.stringify(cmd)}) };
process.exitCode = await m.main(['robustness', ...process.argv.slice(1)]);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, '--', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const root = mkdtempSync(join(tmpdir(), 'atomgp-cli-robustness-'));
after(() => rmSync(root, { recursive: true, force: true }));
const models = join(root, 'models');
writeTinyWaterModels(models, 20, 0.03);

const base = (out: string) => ['--models', models, '--temperatures-K', '500', '--replicas', '2', '--time-ps', '0.05', '--distort', 'bond:1-2*1.15', '--seed', '2', '--out', out, '--keep-hyperparameters'];

test('robustness --json prints the table (prior, temperature_K, replica, survived, time_to_failure_ps) and writes study.json and the report', () => {
  const out = join(root, 'run');
  const r = robustness([...base(out), '--priors', 'min,shift:2sd', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.table.length, 4);
  assert.deepEqual(
    j.table.map((x: { prior: string; temperature_K: number; replica: number }) => [x.prior, x.temperature_K, x.replica]),
    [['min', 500, 0], ['min', 500, 1], ['shift:2sd', 500, 0], ['shift:2sd', 500, 1]],
  );
  for (const row of j.table) {
    assert.equal(typeof row.survived, 'boolean');
    assert.ok(row.time_to_failure_ps === null ? row.survived : row.time_to_failure_ps > 0);
  }
  assert.match(r.err, /robustness: runs 4\/4/);
  assert.ok(existsSync(join(out, 'study.json')) && existsSync(join(out, 'report.html')));
  // Resume: nothing left to do, same table.
  const again = robustness([...base(out), '--priors', 'min,shift:2sd', '--json', '--resume']);
  assert.equal(again.code, 0, again.err);
  assert.deepEqual(JSON.parse(again.out).table, j.table);
  assert.match(again.err, /4 already done/);
});

test('robustness: bad input exits 2 with a message (unknown prior, temperature 0, missing flag, changed settings)', () => {
  const out = join(root, 'bad');
  const unknown = robustness([...base(out), '--priors', 'min,maximal']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown prior mean 'maximal'.*zero, mean, min, max, shift:<Ha>, shift:<k>sd, linear, quadratic/);
  const zero = robustness(['--priors', 'max', ...base(out).map((a) => (a === '500' ? '300,0' : a))]);
  assert.equal(zero.code, 2);
  assert.match(zero.err, /0 K is not usable/);
  const missing = robustness(['--priors', 'max', '--models', models]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--temperatures-K is required/);
  const changed = robustness([...base(join(root, 'run')), '--priors', 'min,max', '--resume']);
  assert.equal(changed.code, 2);
  assert.match(changed.err, /settings differ/);
});

test('robustness text output: the bond relaxation table; --relaxation-tol-A and --energy-runaway-direction reach study.json', () => {
  const out = join(root, 'relax');
  const r = robustness([...base(out), '--priors', 'max', '--relaxation-tol-A', '0.05', '--energy-runaway-direction', 'up']);
  assert.equal(r.code, 0, r.err);
  // bond:1-2*1.15 stretches O1-H2 only; both replicas see it come back within 0.05 Å.
  assert.match(r.out, /bond relaxation: runs in which the distorted bond came back within 0\.05 Å/);
  assert.match(r.out, /\nmax\s+O1-H2\s+2\/2 \(0\.00\d\d ps\)\n/);
  const study = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8'));
  assert.equal(study.settings.relaxation_tol_A, 0.05);
  assert.equal(study.settings.monitor.energyRunawayDirection, 'up');
  assert.deepEqual(study.start.distorted_bonds.map((b: { bond: string }) => b.bond), ['O1-H2']);
  for (const [flag, value, re] of [
    ['--energy-runaway-direction', 'sideways', /--energy-runaway-direction must be both or up, got 'sideways'/],
    ['--relaxation-tol-A', '0', /--relaxation-tol-A expects a positive number of Å, got '0'/],
  ] as const) {
    const bad = robustness([...base(join(root, 'relax-bad')), '--priors', 'max', flag, value]);
    assert.equal(bad.code, 2, `${flag} ${value}`);
    assert.match(bad.err, re);
  }
});

test('robustness: SIGTERM ends the local runs with checkpoints, exit 143 and one line; --resume gives the table of an uninterrupted study', async () => {
  const args = (out: string): string[] => [...base(out).map((a) => (a === '0.05' ? '5' : a)), '--priors', 'min,max', '--workers', '1', '--json'];
  const whole = robustness(args(join(root, 'sig-whole')));
  assert.equal(whole.code, 0, whole.err);
  const out = join(root, 'sig');
  const main = pathToFileURL(resolve('src/cli/main.ts')).href;
  const code = `const m = await import(${JSON.stringify(main)}); process.exitCode = await m.main(['robustness', ...process.argv.slice(1)]);`;
  const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, '--', ...args(out)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const closed = new Promise<number | null>((res) => c.on('close', (status) => res(status)));
  const log = join(out, 'runs', 'min', 'T500_r00', 'log.csv');
  const lines = (): number => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').length : 0);
  const t0 = Date.now();
  while (lines() < 50 && c.exitCode === null && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 10));
  c.kill('SIGTERM');
  assert.equal(await closed, 143, err);
  assert.match(err, /\natomgp robustness: interrupted by SIGTERM during the MD runs \(every run has a checkpoint\); finished stages kept; rerun with --resume to continue\n$/);
  assert.doesNotMatch(err, /\n\s+at /);
  const stopped = JSON.parse(readFileSync(join(out, 'runs', 'min', 'T500_r00', 'summary.json'), 'utf8')) as { interrupted?: string; stepsCompleted: number };
  assert.equal(stopped.interrupted, 'SIGTERM');
  assert.ok(stopped.stepsCompleted > 0, 'stopped part-way');
  assert.ok(existsSync(join(out, 'runs', 'min', 'T500_r00', 'checkpoint.json')));
  assert.ok(!existsSync(join(out, '.atomgp.lock')));
  const again = robustness([...args(out), '--resume']);
  assert.equal(again.code, 0, again.err);
  const table = (text: string): unknown => JSON.parse(text, (k, v) => (k === 'steps_per_second' ? undefined : v)).table;
  assert.deepEqual(table(again.out), table(whole.out));
  const resumed = JSON.parse(readFileSync(join(out, 'runs', 'min', 'T500_r00', 'summary.json'), 'utf8')) as { resumedFromStep: number | null };
  assert.equal(resumed.resumedFromStep, stopped.stepsCompleted);
});
