/**
 * A small robustness study whose MD matrix runs through the real Slurm cluster gives the same
 * table and the same run files as the study on local worker threads.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeTinyWaterModels } from '../workflows/robustness/water-models.js';
import { requireCluster, runCli, runFiles, slurmSkip, summaryNumbers } from './cluster.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-slurm-robustness-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('robustness: refits and MD matrix through Slurm equal the local study', { skip: slurmSkip, timeout: 180_000 }, async () => {
  requireCluster();
  const models = join(root, 'models');
  writeTinyWaterModels(models, 20, 0.03);
  const study = (out: string, ...more: string[]) => [
    'robustness', '--models', models, '--priors', 'min,shift:2sd', '--temperatures-K', '500', '--replicas', '2', '--time-ps', '0.1',
    '--distort', 'bond:1-2*1.15', '--seed', '3', '--keep-hyperparameters', '--json', '--out', out, ...more,
  ];
  const local = join(root, 'local');
  const viaSlurm = join(root, 'slurm');
  const [l, s] = await Promise.all([runCli(study(local)), runCli(study(viaSlurm, '--executor', 'slurm', '--slurm-poll-s', '0.3', '--slurm-start-timeout-s', '120'))]);
  assert.equal(l.code, 0, l.err);
  assert.equal(s.code, 0, s.err);
  assert.match(s.err, /robustness: slurm job \d+: 6\/6 done/, 'the refits: 2 priors × 3 atoms');
  assert.match(s.err, /robustness: slurm job \d+: 4\/4 done/, 'the MD matrix');
  // The refit model sets are the same (all but the wall-time line).
  const strip = (text: string) => text.replace(/^# wall_time_s .*\n/m, '');
  for (const prior of ['min', 'shift_2sd']) {
    for (const f of readdirSync(join(local, 'models', prior)).filter((x) => x.endsWith('.model'))) {
      assert.equal(strip(readFileSync(join(viaSlurm, 'models', prior, f), 'utf8')), strip(readFileSync(join(local, 'models', prior, f), 'utf8')), `${prior}/${f}`);
    }
  }
  const rows = (out: string) => (JSON.parse(out).table as Record<string, unknown>[]).map(({ steps_per_second: _s, ...row }) => row);
  assert.deepEqual(rows(s.out), rows(l.out));
  assert.equal(rows(s.out).length, 4);
  for (const row of rows(l.out)) {
    const dir = row.run_dir as string;
    // Byte for byte, apart from the study folder's name where a file records the models' path.
    assert.deepEqual(runFiles(join(viaSlurm, dir), viaSlurm), runFiles(join(local, dir), local), dir);
    const numbers = (out: string) => JSON.parse(JSON.stringify(summaryNumbers(join(out, dir, 'summary.json'))).split(out).join('OUT'));
    assert.deepEqual(numbers(viaSlurm), numbers(local), dir);
  }
  const j = JSON.parse(readFileSync(join(viaSlurm, 'slurm', 'matrix', 'batch.json'), 'utf8'));
  assert.equal(j.tasks.length, 4);
});
