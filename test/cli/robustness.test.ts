import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
