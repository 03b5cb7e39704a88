/**
 * `atomgp train --executor slurm`: one task per atom on the real cluster writes the same models as
 * the local worker threads (all but the wall-time line).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sharedData } from '../helpers/data.js';
import { requireCluster, runCli, slurmSkip } from './cluster.js';

const waterSet = sharedData('water/training');
const root = mkdtempSync(join(tmpdir(), 'atomgp-slurm-train-'));
after(() => rmSync(root, { recursive: true, force: true }));

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

test('train --executor slurm writes the same three water models as the local pool', { skip: slurmSkip || !waterSet, timeout: 180_000 }, async () => {
  requireCluster();
  for (const a of ['O1', 'H2', 'H3']) copyFileSync(join(waterSet!, `WATER_${a}_TRAINING_SET.csv`), join(root, `WATER_${a}_TRAINING_SET.csv`));
  writeFileSync(join(root, 'ferebus.toml'), CONFIG);
  const train = (out: string, ...more: string[]) => ['train', '--config', join(root, 'ferebus.toml'), '--out', join(root, out), '--restarts', '2', '--quiet', ...more];
  const [l, s] = await Promise.all([runCli(train('local', '--jobs', '1')), runCli(train('slurm', '--executor', 'slurm', '--slurm-poll-s', '0.3'))]);
  assert.equal(l.code, 0, l.err);
  assert.equal(s.code, 0, s.err);
  // Through the scheduler: one array of three tasks, each with a result.
  const batch = JSON.parse(readFileSync(join(root, 'slurm', 'slurm', 'train', 'batch.json'), 'utf8'));
  assert.deepEqual(batch.tasks.map((t: { label: string }) => t.label), ['O1 iqa', 'H2 iqa', 'H3 iqa']);
  assert.equal(readdirSync(join(root, 'slurm', 'slurm', 'train', 'results')).length, 3);
  const files = readdirSync(join(root, 'local')).sort();
  assert.deepEqual(files, ['WATER_iqa_H2.model', 'WATER_iqa_H3.model', 'WATER_iqa_O1.model']);
  for (const f of files) assert.equal(strip(readFileSync(join(root, 'slurm', f), 'utf8')), strip(readFileSync(join(root, 'local', f), 'utf8')), f);
  // The printed log likelihoods and θ agree too (the times differ).
  const fits = (out: string) => out.split('\n').filter((x) => x.includes('log likelihood')).map((x) => x.replace(/\s+[\d.]+ s$/, ''));
  assert.deepEqual(fits(s.out), fits(l.out));
});
