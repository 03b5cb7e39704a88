import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setBondLength } from '../../../src/analysis/distort.js';
import { massesAmu } from '../../../src/chem/molecule.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../../src/dynamics/integrators.js';
import { AtomgpError } from '../../../src/errors.js';
import { DEFAULT_PRIOR } from '../../../src/gp/fit/priors.js';
import { readModelSet } from '../../../src/io/modelset.js';
import { waterLikeSpec } from '../../../src/potentials/analytic.js';
import {
  formatRelaxationTable,
  lowestTrainingGeometry,
  parseTemperatures,
  refitStage,
  resolvePriors,
  runRobustnessStudy,
  runStabilityMatrix,
} from '../../../src/workflows/robustness/index.js';
import { writeTinyWaterModels } from './water-models.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-robustness-'));
after(() => rmSync(root, { recursive: true, force: true }));
const models = join(root, 'models');
writeTinyWaterModels(models, 20, 0.03);

test('the lowest training geometry of the tiny water set is its first point, the analytic minimum (rows aligned across atoms)', () => {
  const set = readModelSet(models, { check: true });
  const t = lowestTrainingGeometry(set);
  assert.equal(t.aligned, true);
  assert.equal(t.index, 0);
  const { minimumA } = waterLikeSpec();
  const d = (p: Float64Array, i: number, j: number) => Math.hypot(p[3 * i]! - p[3 * j]!, p[3 * i + 1]! - p[3 * j + 1]!, p[3 * i + 2]! - p[3 * j + 2]!);
  for (const [i, j] of [[0, 1], [0, 2], [1, 2]] as const) assert.ok(Math.abs(d(t.positionsA, i, j) - d(minimumA, i, j)) < 1e-9);
});

test('bad input: unknown prior lists the known ones, default is named, duplicates, temperatures ≤ 0', () => {
  assert.throws(() => resolvePriors(['min', 'nonsense']), (e: Error) => e instanceof AtomgpError && /nonsense/.test(e.message) && /shift:<Ha>/.test(e.message) && /quadratic/.test(e.message) && /default/.test(e.message));
  assert.throws(() => resolvePriors(['max', 'max']), /repeats/);
  const d = resolvePriors(['default', 'shift:0.05', 'shift:2sd']);
  assert.deepEqual(
    d.map((p) => [p.label, p.dirName]),
    [[`default (${DEFAULT_PRIOR})`, 'default'], ['shift:0.05', 'shift_0.05'], ['shift:2sd', 'shift_2sd']],
  );
  assert.deepEqual(parseTemperatures('300, 1000'), [300, 1000]);
  assert.throws(() => parseTemperatures('300,0'), (e: Error) => e instanceof AtomgpError && /0 K is not usable/.test(e.message));
  assert.throws(() => parseTemperatures('-5'), /above 0 K/);
  assert.throws(() => parseTemperatures('300,abc'), /'abc' is not a number/);
});

test('a model set without stored training data cannot be refit: the message says so', async () => {
  const dir = join(root, 'no-training');
  writeTinyWaterModels(dir, 6, 0.03);
  const file = join(dir, 'WATER_iqa_H2.model');
  const text = readFileSync(file, 'utf8');
  // Drop the [training_data.x] and [training_data.y] sections (a model written without its data).
  writeFileSync(file, text.replace(/\[training_data\.x\][\s\S]*?(?=\[weights\])/, ''));
  await assert.rejects(
    runRobustnessStudy({ modelsDir: dir, priors: ['max'], temperaturesK: [300], replicas: 1, timePs: 0.01, distort: 'none', seed: 1, outDir: join(root, 'x') }),
    (e: Error) => e instanceof AtomgpError && /cannot refit/.test(e.message) && /training_data/.test(e.message),
  );
  await assert.rejects(
    runRobustnessStudy({ modelsDir: models, priors: ['max'], temperaturesK: [0], replicas: 1, timePs: 0.01, distort: 'none', seed: 1, outDir: join(root, 'x') }),
    /above 0 K/,
  );
});

test('the stability matrix passes a stable potential and flags a deliberately broken one; resume reruns nothing', async () => {
  const { spec, minimumA } = waterLikeSpec();
  const stable = { kind: 'analytic' as const, spec };
  const broken = { kind: 'broken' as const, inner: stable, broken: { mode: 'stretch' as const, fromCall: 50, atom: 1, forceKcalPerMolPerA: 3000 } };
  const runsDir = join(root, 'matrix', 'runs');
  const opts = {
    entries: [
      { prior: 'stable', dirName: 'stable', potentialSpec: stable },
      { prior: 'broken', dirName: 'broken', potentialSpec: broken },
    ],
    symbols: ['O', 'H', 'H'],
    startPositionsA: minimumA,
    temperaturesK: [300, 1000],
    replicas: 2,
    steps: 400,
    seed: 5,
    settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt' as const, timestepFs: 0.5, temperatureK: 300 },
    runsDir,
    workers: 2,
    logEvery: 10,
    // The broken potential counts compute calls from the run's start: the strict criteria's minimum
    // search would spend some. The old band keeps "call 50 = step 49"; the strict ones are tested in dynamics/.
    monitor: { energyCriterion: 'per-atom' as const },
  };
  const rows = await runStabilityMatrix(opts);
  assert.equal(rows.length, 8);
  assert.deepEqual(
    rows.map((r) => [r.prior, r.temperature_K, r.replica, r.run_dir]),
    [
      ['stable', 300, 0, 'runs/stable/T300_r00'],
      ['stable', 300, 1, 'runs/stable/T300_r01'],
      ['stable', 1000, 0, 'runs/stable/T1000_r00'],
      ['stable', 1000, 1, 'runs/stable/T1000_r01'],
      ['broken', 300, 0, 'runs/broken/T300_r00'],
      ['broken', 300, 1, 'runs/broken/T300_r01'],
      ['broken', 1000, 0, 'runs/broken/T1000_r00'],
      ['broken', 1000, 1, 'runs/broken/T1000_r01'],
    ],
  );
  // Same seeds for both entries: seed + t·R + r.
  assert.deepEqual(rows.map((r) => r.seed), [5, 6, 7, 8, 5, 6, 7, 8]);
  for (const r of rows.slice(0, 4)) {
    assert.equal(r.survived, true);
    assert.equal(r.time_to_failure_ps, null);
    assert.equal(r.simulated_ps, 0.2);
  }
  for (const r of rows.slice(4)) {
    assert.equal(r.survived, false, JSON.stringify(r));
    // The pull starts at call 50 (step 49); a 3000 kcal/mol/Å force on H breaks a bond within ~0.1 ps.
    assert.ok(r.time_to_failure_ps! > 0.0245 && r.time_to_failure_ps! < 0.15, `time to failure ${r.time_to_failure_ps}`);
    // An external pull is not conservative: the integrator’s conserved quantity drifts first.
    assert.match(r.failure!, /conserved-drift|bond-stretched|fragments-apart|energy-runaway/);
  }
  const summaryFile = join(root, 'matrix', rows[0]!.run_dir, 'summary.json');
  const mtime = statSync(summaryFile).mtimeMs;
  let progressed = -1;
  const again = await runStabilityMatrix({ ...opts, resume: true, onProgress: (p) => (progressed = p.runsSkipped) });
  assert.deepEqual(again, rows);
  assert.equal(progressed, 8);
  assert.equal(statSync(summaryFile).mtimeMs, mtime);
});

test('matrix from a distorted start: the monitor uses the undistorted bonds, and each run records when O1-H2 relaxes', async () => {
  const { spec, minimumA } = waterLikeSpec();
  const bonds: [number, number][] = [
    [0, 1],
    [0, 2],
  ];
  // O1-H2 stretched 0.9572 → 1.5 Å (61.0 kcal/mol uphill): not a bond by the covalent rule (< 1.164 Å), so
  // a monitor built from this start would not watch it at all.
  const distorted = setBondLength(Float64Array.from(minimumA), bonds, 0, 1, 1.5);
  const rows = await runStabilityMatrix({
    entries: [{ prior: 'morse', dirName: 'morse', potentialSpec: { kind: 'analytic', spec } }],
    symbols: ['O', 'H', 'H'],
    startPositionsA: distorted,
    temperaturesK: [300, 1000],
    replicas: 2,
    steps: 100,
    seed: 1,
    settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt' as const, timestepFs: 0.5, temperatureK: 300 },
    runsDir: join(root, 'relax', 'runs'),
    workers: 2,
    logEvery: 10,
    monitorReference: { positionsA: Array.from(minimumA) },
    bondReturn: { bonds: [[0, 1]], referenceLengthsA: [0.9572], tolA: 0.1 },
  });
  // Morse O-H (D 120 kcal/mol, a 2.3/Å) at the start energy E = 0.508 D: period 2π/(ω0 √(1 − E/D)) = 11.97 fs
  // (ω0 = a √(2D/μ_OH)); the bond swings in within half of it (a lone O-H pair: 4.07 fs to reach r0 + 0.1 Å).
  const mu = (massesAmu(['O'])[0]! * massesAmu(['H'])[0]!) / (massesAmu(['O'])[0]! + massesAmu(['H'])[0]!);
  const omega0 = 2.3 * Math.sqrt((2 * 120 * 4.184e-4) / mu);
  const e = 120 * (1 - Math.exp(-2.3 * (1.5 - 0.9572))) ** 2;
  const halfPeriodPs = Math.PI / (omega0 * Math.sqrt(1 - e / 120)) / 1000;
  assert.ok(Math.abs(halfPeriodPs - 0.005985) < 2e-5, `half period ${halfPeriodPs}`);
  for (const r of rows) {
    assert.equal(r.survived, true, r.failure ?? '');
    assert.deepEqual(Object.keys(r.relaxation_time_ps!), ['O1-H2']);
    const t = r.relaxation_time_ps!['O1-H2']!;
    assert.ok(t > 0.002 && t <= halfPeriodPs, `relaxation ${t} ps`);
    const summary = JSON.parse(readFileSync(join(root, 'relax', r.run_dir, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.monitorReference.bonds, bonds);
    assert.ok(Math.abs(summary.monitorReference.epotKcalPerMol) < 1e-9, `E_ref ${summary.monitorReference.epotKcalPerMol}`);
  }
  const table = formatRelaxationTable(rows);
  assert.match(table, /^prior mean\s+bond\s+300 K\s+1000 K\nmorse\s+O1-H2\s+2\/2 \(0\.00\d\d ps\)\s+2\/2 \(0\.00\d\d ps\)\n$/);
});

test('the whole study on a tiny GP water set: study.json in the report schema, restoring forces, resume, refusal of changed settings', async () => {
  const out = join(root, 'study');
  const o = {
    modelsDir: models,
    priors: ['min', 'default'],
    temperaturesK: [300],
    replicas: 2,
    timePs: 0.1,
    distort: 'bonds:X-H*1.2',
    seed: 3,
    outDir: out,
    workers: 2,
    keepHyperparameters: true,
  };
  const r = await runRobustnessStudy(o);
  const study = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8'));
  assert.equal(study.kind, 'robustness');
  assert.equal(study.molecule, 'WATER');
  assert.equal(study.table.length, 4);
  for (const row of study.table) {
    for (const k of ['prior', 'temperature_K', 'replica', 'survived', 'time_to_failure_ps', 'mean_temperature_K', 'run_dir']) assert.ok(k in row, k);
    assert.equal(typeof row.survived, 'boolean');
  }
  assert.deepEqual([...new Set(study.table.map((x: { prior: string }) => x.prior))], ['min', `default (${DEFAULT_PRIOR})`]);
  // Both O-H bonds are distorted 0.9572 → 1.1486 Å; each run records when they come back within 0.1 Å
  // (harmonic estimate acos(0.1/0.19)/ω = 1.4 fs, ω = 0.75 /fs; half a period is 4.2 fs).
  assert.deepEqual(
    study.start.distorted_bonds.map((b: { bond: string }) => b.bond),
    ['O1-H2', 'O1-H3'],
  );
  for (const b of study.start.distorted_bonds) assert.ok(Math.abs(b.distorted_A - 1.2 * b.reference_A) < 1e-9 && Math.abs(b.reference_A - 0.9572) < 1e-3, JSON.stringify(b));
  assert.equal(study.settings.relaxation_tol_A, 0.1);
  for (const row of study.table) {
    for (const bond of ['O1-H2', 'O1-H3']) {
      const t = row.relaxation_time_ps[bond];
      assert.ok(typeof t === 'number' && t > 0 && t < 0.0042, `${row.prior} ${row.replica} ${bond}: ${t} ps`);
    }
  }
  for (const cell of study.summary) assert.deepEqual(cell.relaxation.map((x: { returned: number }) => x.returned), [2, 2]);
  assert.ok(statSync(join(out, 'report.html')).size > 1000);
  assert.ok(statSync(join(out, 'start-distorted.extxyz')).size > 0);
  // The distortion stretches both O-H bonds of the analytic minimum (0.9572 Å) by 1.2, and every
  // prior's forces pull them back (the GP interpolates the Morse bonds' slope at 1.149 Å).
  for (const entry of study.restoring) {
    assert.equal(entry.n_displaced, 2);
    assert.equal(entry.n_restoring, 2);
    for (const b of entry.bonds.filter((x: { restoring: boolean | null }) => x.restoring !== null)) {
      assert.ok(Math.abs(b.length_A - 1.2 * b.reference_A) < 1e-9);
      assert.ok(b.force_kcal_per_mol_per_A < 0);
    }
    assert.ok(entry.energy_rise_kcal_per_mol > 10, `the distortion is uphill: ${entry.energy_rise_kcal_per_mol}`);
  }
  // No validation set: leave-one-out errors of the molecular energy (rows aligned), labelled.
  assert.equal(study.validation.length, 2);
  assert.equal(study.validation[0].set, 'training set, leave-one-out');
  assert.equal(study.validation[0].target, 'molecule');
  assert.equal(study.validation[0].n, 20);

  const summary = join(out, study.table[0].run_dir, 'summary.json');
  const mtime = statSync(summary).mtimeMs;
  const modelMtime = statSync(join(out, 'models', 'min', 'WATER_iqa_O1.model')).mtimeMs;
  const resumed = await runRobustnessStudy({ ...o, resume: true });
  assert.deepEqual(resumed.study.table, r.study.table);
  assert.equal(statSync(summary).mtimeMs, mtime, 'finished runs are not rerun');
  assert.equal(statSync(join(out, 'models', 'min', 'WATER_iqa_O1.model')).mtimeMs, modelMtime, 'refits are not redone');
  await assert.rejects(runRobustnessStudy({ ...o, resume: true, timePs: 0.2 }), (e: Error) => /settings differ/.test(e.message) && /time_ps/.test(e.message));
  await assert.rejects(runRobustnessStudy({ ...o, resume: true, timePs: 0.2 }), (e: Error) => !e.message.includes('\n'));
  await assert.rejects(runRobustnessStudy(o), /pass --resume/);
  await assert.rejects(runRobustnessStudy({ ...o, resume: true, repulsion: 'zbl' }), /settings differ .*repulsion: recorded undefined, now "zbl"/);
  // a refit model changed behind the study's back: its runs are not resumed on it
  const refit = join(out, 'models', 'min', 'WATER_iqa_O1.model');
  writeFileSync(refit, readFileSync(refit, 'utf8') + '\n');
  await assert.rejects(runRobustnessStudy({ ...o, resume: true }), /the runs of min were made from other inputs \(models\/min\/WATER_iqa_O1.model changed since the stage ran\)/);
});

test('--repulsion zbl: O–H squeezed below the training data are pushed out harder, and the runs use the term', async () => {
  const base = { modelsDir: models, priors: ['min'], temperaturesK: [300], replicas: 1, timePs: 0.02, distort: 'bonds:X-H*0.6', seed: 3, workers: 1, keepHyperparameters: true, report: false };
  const plain = await runRobustnessStudy({ ...base, outDir: join(root, 'rep-none') });
  const zbl = await runRobustnessStudy({ ...base, outDir: join(root, 'rep-zbl'), repulsion: 'zbl' });
  const force = (r: typeof plain) => r.study.restoring[0]!.bonds.map((b: { force_kcal_per_mol_per_A: number }) => b.force_kcal_per_mol_per_A) as number[];
  // 0.9572 → 0.574 Å, far below the tiny set's O–H range: the ZBL term adds an outward force to both bonds
  assert.equal(force(plain).length, 2);
  for (const [i, f] of force(zbl).entries()) assert.ok(f > force(plain)[i]! + 10, `bond ${i}: ${force(plain)[i]} → ${f} kcal/mol/Å`);
  assert.ok(zbl.study.restoring[0]!.energy_rise_kcal_per_mol > plain.study.restoring[0]!.energy_rise_kcal_per_mol + 10);
  assert.equal(zbl.study.settings['repulsion'], 'zbl');
  assert.equal('repulsion' in plain.study.settings, false);
  const run = JSON.parse(readFileSync(join(root, 'rep-zbl', zbl.study.table[0]!.run_dir, 'summary.json'), 'utf8')) as { potential: string };
  assert.match(run.potential, /ZBL/);
});

test('refit stage: a finished refit is reused, a changed original model file is refused on resume, an unfinished refit is redone', async () => {
  const own = join(root, 'refit-models');
  writeTinyWaterModels(own, 12, 0.03);
  const original = readModelSet(own, { check: true });
  const out = join(root, 'refit-out');
  const said: string[] = [];
  const opts = { outDir: out, priors: resolvePriors(['min']), original, keepHyperparameters: true, seed: 1, workers: 1, say: (t: string) => said.push(t) };
  const first = await refitStage(opts);
  assert.deepEqual(
    first.map((r) => r.atom),
    ['O1', 'H2', 'H3'],
  );
  assert.ok(existsSync(join(out, 'models/min/fingerprint.json')));
  said.length = 0;
  await refitStage(opts);
  assert.deepEqual(said, ['refit model sets: all present (resume)']);
  const file = original.models[1]!.source!;
  writeFileSync(file, readFileSync(file, 'utf8') + '\n');
  await assert.rejects(refitStage(opts), /refit min was made from other inputs \(.*H2.*changed since the stage ran\)/);
  rmSync(join(out, 'models/min/fingerprint.json'));
  said.length = 0;
  await refitStage(opts);
  assert.match(said[0]!, /refitting 1 model set \(3 atomic models, hyperparameters kept\)/);
  assert.ok(existsSync(join(out, 'models/min/fingerprint.json')));
});
