/**
 * A small `atomgp study` whose pipeline jobs (per-atom training, NVT runs) go through the real
 * Slurm cluster gives the study.json of the same study on local worker threads (but wall-clock fields).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { requireCluster, runCli, slurmSkip } from './cluster.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-slurm-study-'));
after(() => rmSync(root, { recursive: true, force: true }));

const comparable = (dir: string): unknown =>
  JSON.parse(readFileSync(join(dir, 'study.json'), 'utf8'), (k, v) => (k === 'steps_per_second' || k === 'wall_time_s' ? undefined : v));

test('study: the pipeline jobs through Slurm give the study of local worker threads', { skip: slurmSkip, timeout: 240_000 }, async () => {
  requireCluster();
  const args = (out: string, ...more: string[]) => [
    'study', '--molecules', 'water', '--reference', 'builtin', '--priors', 'shift:0.05,min', '--temperatures-K', '500', '--replicas', '2', '--md-time-ps', '0.3',
    '--n-train', '40', '--n-valid', '20', '--sample-steps', '4000', '--fidelity-frames', '10', '--out', out, ...more,
  ];
  const local = join(root, 'local');
  const viaSlurm = join(root, 'slurm');
  const [l, s] = await Promise.all([runCli(args(local)), runCli(args(viaSlurm, '--executor', 'slurm', '--slurm-poll-s', '0.3', '--slurm-start-timeout-s', '120'))]);
  assert.equal(l.code, 0, l.err);
  assert.equal(s.code, 0, s.err);
  assert.ok(existsSync(join(viaSlurm, 'water', 'slurm')), 'batches were submitted');
  assert.ok(readdirSync(join(viaSlurm, 'water', 'slurm')).some((d) => d.startsWith('train-')));
  assert.deepEqual(comparable(viaSlurm), comparable(local));
});
