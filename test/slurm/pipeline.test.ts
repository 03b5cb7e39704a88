/**
 * `atomgp pipeline --executor slurm`: the atomic fits and the MD runs go through the real cluster;
 * demo.json (but wall-clock fields), the models and the run files equal the local pipeline's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { requireCluster, runCli, runFiles, slurmSkip } from './cluster.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-slurm-pipeline-'));
after(() => rmSync(root, { recursive: true, force: true }));
const SETTINGS = ['--molecule', 'water', '--sample-steps', '6000', '--harvest-every', '20', '--n-train', '80', '--n-valid', '40', '--restarts', '1', '--max-iterations', '40', '--md-time-ps', '0.3', '--temperatures-K', '300', '--replicas', '2', '--priors', 'shift:0.05', '--quiet'];

/** demo.json without wall-clock fields, with the output folder written as OUT. */
function comparable(out: string): unknown {
  return JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8').split(out).join('OUT'), (k, v) => (k === 'timings_s' || k === 'wall_time_s' || k === 'steps_per_second' ? undefined : v));
}

test('pipeline: atomic fits and MD runs through Slurm give the models, runs and demo.json of the local pipeline', { skip: slurmSkip, timeout: 180_000 }, async () => {
  requireCluster();
  const local = join(root, 'local');
  const viaSlurm = join(root, 'slurm');
  const [l, s] = await Promise.all([runCli(['pipeline', ...SETTINGS, '--out', local]), runCli(['pipeline', ...SETTINGS, '--out', viaSlurm, '--executor', 'slurm', '--slurm-poll-s', '0.3'])]);
  assert.equal(l.code, 0, l.err);
  assert.equal(s.code, 0, s.err);
  // Through the scheduler: one array of three fits (O1, H2, H3) and one of two MD runs.
  assert.equal(readdirSync(join(viaSlurm, 'slurm', 'train-shift_0.05', 'results')).length, 3);
  assert.equal(readdirSync(join(viaSlurm, 'runs', 'shift_0.05', 'slurm', 'md', 'results')).length, 2);
  assert.deepEqual(comparable(viaSlurm), comparable(local));
  const strip = (text: string) => text.replace(/^# (force_fit_)?wall_time_s .*\n/gm, '');
  for (const f of readdirSync(join(local, 'models', 'shift_0.05')).filter((x) => x.endsWith('.model'))) {
    assert.equal(strip(readFileSync(join(viaSlurm, 'models', 'shift_0.05', f), 'utf8')), strip(readFileSync(join(local, 'models', 'shift_0.05', f), 'utf8')), f);
  }
  // A checkpoint records the digests of the model files it ran on; the two sets differ only in their
  // `# wall_time_s` and `# force_fit_wall_time_s` lines, so those digests are checked against each folder's own files and the rest compared.
  const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
  const withoutDigests = (out: string, run: string): Record<string, string> => {
    const files = runFiles(join(out, 'runs', 'shift_0.05', run), out);
    const block = /"inputs": (\{[^}]*\})/.exec(files['checkpoint.json']!);
    assert.ok(block, `${run}: checkpoint.json records its model digests`);
    const inputs = JSON.parse(block[1]!) as Record<string, string>;
    assert.equal(Object.keys(inputs).length, 3);
    for (const [name, digest] of Object.entries(inputs)) assert.equal(digest, sha(join(out, 'models', 'shift_0.05', name)), `${run}: digest of ${name}`);
    files['checkpoint.json'] = files['checkpoint.json']!.replace(/"inputs": \{[^}]*\}/, '"inputs": {}');
    return files;
  };
  for (const run of ['T300_r00', 'T300_r01']) {
    assert.deepEqual(withoutDigests(viaSlurm, run), withoutDigests(local, run), run);
  }
});
