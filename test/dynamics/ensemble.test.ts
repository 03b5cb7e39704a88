import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { buildJobs, type EnsembleOptions, formatEnsembleTable, runEnsemble } from '../../src/dynamics/ensemble.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../src/dynamics/integrators.js';
import { runMd } from '../../src/dynamics/run.js';
import { AnalyticPotential, waterLikeSpec } from '../../src/potentials/analytic.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-ensemble-'));
after(() => rmSync(root, { recursive: true, force: true }));
const { spec, minimumA } = waterLikeSpec();

const base = (outDir: string): EnsembleOptions => ({
  potentialSpec: { kind: 'analytic', spec },
  symbols: spec.symbols,
  massesAmu: massesAmu(spec.symbols),
  startPositionsA: minimumA,
  settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: 0.5, temperatureK: 300 },
  temperaturesK: [300, 600],
  replicas: 2,
  steps: 2000,
  seed: 100,
  outDir,
  mode: 'new',
  trajStride: 50,
  progressEvery: 500,
});

test('jobs: one per replica and temperature, with distinct seeds and folders', () => {
  const jobs = buildJobs(base('/x'));
  assert.deepEqual(
    jobs.map((j) => [j.run.label, j.run.seed, j.run.settings.temperatureK]),
    [
      ['T300_r00', 100, 300],
      ['T300_r01', 101, 300],
      ['T600_r00', 102, 600],
      ['T600_r01', 103, 600],
    ],
  );
});

test('replicas run in 2 worker threads and equal the same runs done in-process', async () => {
  const out = join(root, 'ens');
  const seen: number[] = [];
  const summaries = await runEnsemble({ ...base(out), workers: 2, onProgress: (p) => seen.push(p.stepsDone) });
  assert.equal(summaries.length, 4);
  assert.ok(summaries.every((s) => s.survived && s.stepsCompleted === 2000));
  assert.equal(seen.at(-1), 8000);
  assert.ok(seen.length >= 4);
  // a worker-thread run is the same computation as a direct one
  const direct = runMd({
    potential: new AnalyticPotential(spec),
    potentialSpec: { kind: 'analytic', spec },
    symbols: spec.symbols,
    massesAmu: massesAmu(spec.symbols),
    startPositionsA: minimumA,
    settings: { ...base(out).settings, temperatureK: 600 },
    steps: 2000,
    seed: 103,
    outDir: join(root, 'direct'),
    mode: 'new',
    trajStride: 50,
    label: 'T600_r01',
  });
  assert.equal(readFileSync(join(out, 'T600_r01', 'trajectory.extxyz'), 'utf8'), readFileSync(join(root, 'direct', 'trajectory.extxyz'), 'utf8'));
  assert.equal(summaries[3]!.meanTemperatureK, direct.meanTemperatureK);
  const table = formatEnsembleTable(summaries);
  assert.match(table, /T600_r01\s+600\s+103\s+yes/);
  assert.match(table, /4\/4 runs survived/);
  assert.equal(JSON.parse(readFileSync(join(out, 'ensemble.json'), 'utf8')).length, 4);
  // the replicas' folders exist now: a second ensemble into OUT is refused
  await assert.rejects(runEnsemble({ ...base(out), workers: 2 }), /already holds a run/);
});
