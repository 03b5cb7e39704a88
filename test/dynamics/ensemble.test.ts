import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { buildJobs, type EnsembleJob, type EnsembleOptions, formatEnsembleTable, runEnsemble, runJobs } from '../../src/dynamics/ensemble.js';
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

test('runJobs: jobs with their own potential, start, seed and monitor run in the pool; summaries in job order', async () => {
  const settings = { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nve' as const, timestepFs: 0.5, temperatureK: 200 };
  const stretched = Float64Array.from(minimumA);
  stretched[3] = stretched[3]! * 1.3; // H2 moved out: O1-H2 longer
  stretched[4] = stretched[4]! * 1.3;
  const job = (id: number, label: string, extra: Partial<EnsembleJob['run']>, potentialSpec: EnsembleJob['potentialSpec'] = { kind: 'analytic', spec }, start = minimumA): EnsembleJob => ({
    id,
    potentialSpec,
    massesAmu: Array.from(massesAmu(spec.symbols)),
    startPositionsA: Array.from(start),
    run: { symbols: spec.symbols, settings, steps: 300, seed: 1, outDir: join(root, 'jobs', label), mode: 'new', label, ...extra },
  });
  const jobs = [
    job(7, 'plain', { seed: 11 }),
    job(3, 'broken', {}, { kind: 'broken', inner: { kind: 'analytic', spec }, broken: { mode: 'nan', fromCall: 40 } }),
    job(5, 'relax', { monitorReference: { positionsA: Array.from(minimumA) }, bondReturn: { bonds: [[0, 1]], referenceLengthsA: [0.9572], tolA: 0.05 } }, undefined, stretched),
  ];
  const done: string[] = [];
  const out = await runJobs(jobs, { workers: 2, onDone: (j) => done.push(j.run.label!) });
  assert.deepEqual(out.map((s) => s.label), ['plain', 'broken', 'relax']);
  assert.deepEqual([...done].sort(), ['broken', 'plain', 'relax']);
  assert.equal(out[0]!.seed, 11);
  assert.equal(out[0]!.survived, true);
  assert.equal(out[1]!.failure?.kind, 'non-finite');
  assert.equal(out[1]!.failure?.step, 40);
  const t = out[2]!.bondReturnTimesFs![0]!;
  assert.ok(t > 0 && t < 5, `O1-H2 back within 0.05 Å after ${t} fs`);
  assert.deepEqual(out[2]!.monitorReference!.bonds, [
    [0, 1],
    [0, 2],
  ]);
  assert.deepEqual(await runJobs([]), []);
  await assert.rejects(runJobs([job(1, 'a', {}), job(1, 'b', {})]), /two jobs share the id 1/);
  // A run's user error names the run and stops the pool.
  await assert.rejects(runJobs([job(9, 'plain', {})]), /run plain: .*already holds a run/);
});
