import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { parseCheckpoint, serializeCheckpoint } from '../../src/dynamics/checkpoint.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type Ensemble } from '../../src/dynamics/integrators.js';
import { MolecularDynamics } from '../../src/dynamics/md.js';
import { type MdRunOptions, runMd } from '../../src/dynamics/run.js';
import { truncateLog, truncateTrajectory } from '../../src/dynamics/reporters.js';
import { AtomgpError } from '../../src/errors.js';
import { readXyz } from '../../src/io/xyz.js';
import { AnalyticPotential, BrokenPotential, type BrokenSpec, waterLikeSpec } from '../../src/potentials/analytic.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-md-run-'));
after(() => rmSync(root, { recursive: true, force: true }));
const { spec, minimumA } = waterLikeSpec();
const symbols = spec.symbols;

function options(ensemble: Ensemble, outDir: string, extra: Partial<MdRunOptions> = {}): MdRunOptions {
  return {
    potential: new AnalyticPotential(spec),
    potentialSpec: { kind: 'analytic', spec },
    symbols,
    massesAmu: massesAmu(symbols),
    startPositionsA: minimumA,
    settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble, timestepFs: 0.5, temperatureK: 400 },
    steps: 400,
    seed: 17,
    outDir,
    mode: 'new',
    trajStride: 7,
    logEvery: 3,
    checkpointEvery: 50,
    ...extra,
  };
}

const read = (dir: string, f: string): string => readFileSync(join(dir, f), 'utf8');

for (const ensemble of ['nve', 'nvt', 'langevin'] as const) {
  test(`${ensemble}: a run resumed from a checkpoint equals the uninterrupted run bit for bit`, () => {
    const whole = join(root, `whole-${ensemble}`);
    const split = join(root, `split-${ensemble}`);
    const a = runMd(options(ensemble, whole));
    // first part stops at 230 (checkpoints at 50..200 and a final one at 230), then is "killed"
    // after more output: simulate records written after the last checkpoint, plus a torn line
    runMd(options(ensemble, split, { steps: 230 }));
    const cp = parseCheckpoint(read(split, 'checkpoint.json'), 'cp');
    assert.equal(cp.state.step, 230);
    appendFileSync(join(split, 'log.csv'), '231,115.5,0.1,0.2,3');
    appendFileSync(join(split, 'trajectory.extxyz'), '3\nProperties=species:S:1:pos:R:3 step=235\nO 0 0');
    const b = runMd(options(ensemble, split, { mode: 'resume' }));
    assert.equal(b.resumedFromStep, 230);
    for (const f of ['log.csv', 'trajectory.extxyz', 'checkpoint.json']) assert.equal(read(split, f), read(whole, f), `${f} differs`);
    assert.equal(a.meanTemperatureK, b.meanTemperatureK);
    assert.equal(a.conservedDriftKcalPerMol, b.conservedDriftKcalPerMol);
    // the trajectory is readable extxyz with one frame per stride
    const frames = readXyz(join(whole, 'trajectory.extxyz'));
    assert.equal(frames.length, Math.floor(400 / 7) + 1);
    assert.equal(frames[3]!.info['step'], 21);
    assert.equal(frames[3]!.info['energy_unit'], 'kcal/mol');
    assert.equal((frames[3]!.arrays['forces'] as Float64Array).length, 9);
    const log = read(whole, 'log.csv').trim().split('\n');
    assert.equal(log[0], 'step,time_fs,epot_kcal_per_mol,ekin_kcal_per_mol,temperature_K,conserved_kcal_per_mol,drift_kcal_per_mol');
    assert.equal(log.length, 1 + Math.floor(400 / 3) + 1);
  });
}

test('checkpoints restore every bit, including NaN, −0 and the RNG state', () => {
  const md = MolecularDynamics.create(new AnalyticPotential(spec), { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'langevin', timestepFs: 0.5, temperatureK: 300 }, minimumA, massesAmu(symbols), 3);
  md.run(10);
  md.state.velocitiesAPerFs[0] = -0;
  md.state.forcesKcalPerMolPerA[1] = Number.NaN;
  md.syncRngState();
  const back = parseCheckpoint(serializeCheckpoint(md.state, { a: 1 }), 'x').state;
  assert.ok(Object.is(back.velocitiesAPerFs[0], -0));
  assert.ok(Number.isNaN(back.forcesKcalPerMolPerA[1]!));
  assert.deepEqual(back.positionsA, md.state.positionsA);
  assert.ok(Number.isNaN(md.state.rngState[8]!) ? Number.isNaN(back.rngState[8]!) : back.rngState[8] === md.state.rngState[8]);
  assert.deepEqual(back.rngState.slice(0, 8), md.state.rngState.slice(0, 8));
  assert.deepEqual(back.stats, md.state.stats);
});

test('an existing output folder is never silently reused; a mismatching resume is refused', () => {
  const dir = join(root, 'guard');
  runMd(options('nvt', dir, { steps: 60 }));
  assert.throws(() => runMd(options('nvt', dir, { steps: 60 })), /--overwrite.*--resume/);
  assert.throws(() => runMd(options('nvt', dir, { mode: 'resume', seed: 18 })), (e: unknown) => e instanceof AtomgpError && /seed: checkpoint 17, now 18/.test(e.message));
  assert.throws(() => runMd(options('nvt', dir, { mode: 'resume', settings: { ...options('nvt', dir).settings, timestepFs: 1 } })), /timestepFs/);
  assert.throws(() => runMd(options('nvt', join(root, 'nothing-here'), { mode: 'resume' })), /cannot resume/);
  const s = runMd(options('nvt', dir, { steps: 60, mode: 'overwrite' }));
  assert.equal(s.stepsCompleted, 60);
  // extending a finished run to more steps continues from its final checkpoint
  const longer = runMd(options('nvt', dir, { steps: 90, mode: 'resume' }));
  assert.equal(longer.resumedFromStep, 60);
  assert.equal(longer.stepsCompleted, 90);
});

test('atoms that do not match the potential are an AtomgpError', () => {
  assert.throws(() => runMd(options('nve', join(root, 'mismatch'), { symbols: ['O', 'H', 'O'] })), /atom 3 .* is O but the potential expects H/);
});

function brokenRun(name: string, broken: BrokenSpec, extra: Partial<MdRunOptions> = {}) {
  const dir = join(root, name);
  const o = options('nve', dir, { potential: new BrokenPotential(new AnalyticPotential(spec), broken), checkpointEvery: 0, ...extra });
  return { dir, summary: runMd(o) };
}

test('monitor: NaN from the potential fails at that step with reason non-finite and keeps the last frames', () => {
  // compute call 0 is the start; call k is step k
  const { dir, summary } = brokenRun('nan', { mode: 'nan', fromCall: 37 });
  assert.equal(summary.survived, false);
  assert.equal(summary.failure!.kind, 'non-finite');
  assert.equal(summary.failure!.step, 37);
  assert.equal(summary.timeToFailureFs, 37 * 0.5);
  assert.equal(summary.stepsCompleted, 37);
  const last = readFileSync(join(dir, 'failure-frames.extxyz'), 'utf8');
  assert.match(last, /step=37 /);
  assert.match(last, /step=28 /);
  assert.match(last, /nan/);
  assert.equal(JSON.parse(read(dir, 'summary.json')).failure.step, 37);
  assert.ok(!existsSync(join(dir, 'checkpoint.json')), 'no checkpoint of a failed state');
});

test('monitor: an energy jump is an energy runaway at that step', () => {
  const { summary } = brokenRun('jump', { mode: 'energy-jump', fromCall: 15, jumpKcalPerMol: 1000 });
  assert.equal(summary.failure!.kind, 'energy-runaway');
  assert.equal(summary.failure!.step, 15);
});

test('monitor: a pulled atom is flagged at the first step its bond exceeds twice its start length', () => {
  const broken: BrokenSpec = { mode: 'stretch', fromCall: 20, atom: 1, forceKcalPerMolPerA: 3000 };
  // reference: the same trajectory without a monitor, bond O1-H2 measured at every step
  const ref = MolecularDynamics.create(new BrokenPotential(new AnalyticPotential(spec), broken), options('nve', '').settings, minimumA, massesAmu(symbols), 17);
  let expected = -1;
  ref.attach((m) => {
    const x = m.state.positionsA;
    const d = Math.hypot(x[3]! - x[0]!, x[4]! - x[1]!, x[5]! - x[2]!);
    if (expected < 0 && d > 2 * 0.9572) expected = m.state.step;
  });
  ref.run(400);
  assert.ok(expected > 20, `reference failure step ${expected}`);
  const { summary } = brokenRun('stretch', broken, { monitor: { energyCriterion: 'per-atom', energyRunawayKcalPerMolPerAtom: 0, conservedDriftKcalPerMolPerAtom: 0 } });
  assert.equal(summary.failure!.kind, 'bond-stretched');
  assert.equal(summary.failure!.step, expected);
  assert.match(summary.failure!.reason, /bond O1-H2/);
  // with --continue-on-failure the run goes on but keeps the first failure
  const cont = brokenRun('stretch-continue', broken, { continueOnFailure: true, monitor: { energyCriterion: 'per-atom', energyRunawayKcalPerMolPerAtom: 0, conservedDriftKcalPerMolPerAtom: 0 } });
  assert.equal(cont.summary.stepsCompleted, 400);
  assert.equal(cont.summary.failure!.step, expected);
});

test('continue-on-failure: a failure in the equilibration is the run\'s first failure and the run goes on; a resume keeps it', () => {
  const broken: BrokenSpec = { mode: 'stretch', fromCall: 20, atom: 1, forceKcalPerMolPerA: 3000 };
  const run = (name: string, extra: Partial<MdRunOptions>) =>
    runMd(
      options('nvt', join(root, name), {
        potential: new BrokenPotential(new AnalyticPotential(spec), broken),
        equilibration: { timeFs: 50, frictionPerPs: 10 },
        monitor: { energyCriterion: 'per-atom', energyRunawayKcalPerMolPerAtom: 0, conservedDriftKcalPerMolPerAtom: 0 },
        ...extra,
      }),
    );
  const stop = run('eqfail-stop', {});
  assert.equal(stop.failure?.phase, 'equilibration');
  assert.equal(stop.failure?.kind, 'bond-stretched');
  assert.equal(stop.stepsCompleted, 0);
  const go = run('eqfail-go', { continueOnFailure: true });
  assert.equal(go.stepsCompleted, 400);
  assert.equal(go.survived, false);
  assert.deepEqual(go.failure, stop.failure);
  // Stopped at step 200 and resumed: the equilibration's failure is still the run's.
  run('eqfail-split', { continueOnFailure: true, steps: 200 });
  const b = run('eqfail-split', { continueOnFailure: true, mode: 'resume' });
  assert.equal(b.resumedFromStep, 200);
  assert.equal(b.stepsCompleted, 400);
  assert.deepEqual(b.failure, go.failure);
});

test('truncation keeps complete records up to the checkpoint step only', () => {
  const dir = join(root, 'trunc');
  runMd(options('nve', dir, { steps: 40, checkpointEvery: 0 }));
  const log = join(dir, 'log.csv');
  truncateLog(log, 20);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  assert.equal(lines.at(-1)!.split(',')[0], '18');
  const traj = join(dir, 'trajectory.extxyz');
  writeFileSync(traj, readFileSync(traj, 'utf8') + '3\nstep=99\nO 1 2');
  truncateTrajectory(traj, 14);
  assert.deepEqual(readXyz(traj).map((f) => f.info['step']), [0, 7, 14]);
});

test('a model without a minimum at the intact molecule fails the run at its start (hole, minimum-search) instead of throwing', () => {
  // H2 at 0.74 Å on a spring whose rest length is 3 Å: every optimisation from the start stretches
  // the bond beyond twice its length, so the model has no minimum where the molecule is.
  const potential = new AnalyticPotential({ symbols: ['H', 'H'], harmonicBonds: [{ i: 0, j: 1, kKcalPerMolPerA2: 100, r0A: 3 }] });
  const outDir = mkdtempSync(join(tmpdir(), 'atomgp-nomin-'));
  try {
    const s = runMd({
      potential,
      symbols: ['H', 'H'],
      massesAmu: massesAmu(['H', 'H']),
      startPositionsA: Float64Array.from([0, 0, 0, 0.74, 0, 0]),
      settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: 0.5, temperatureK: 300 },
      steps: 100,
      seed: 1,
      outDir,
      mode: 'new',
      energyMinimum: 'search',
    });
    assert.equal(s.survived, false);
    assert.equal(s.failure?.kind, 'hole');
    assert.equal(s.failure?.phase, 'minimum-search');
    assert.equal(s.stepsCompleted, 0);
    assert.equal(s.timeToFailureFs, 0);
    assert.match(s.failure!.reason, /no minimum at the intact molecule/);
    assert.ok(existsSync(join(outDir, 'summary.json')));
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
