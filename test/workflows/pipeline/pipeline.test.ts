import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AtomgpError } from '../../../src/errors.js';
import { DEMO_DEFAULTS, type DemoSummary, type PipelineSettings, runPipeline, validateSettings } from '../../../src/workflows/pipeline/index.js';
import { runCli } from '../../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-pipeline-'));
after(() => rmSync(root, { recursive: true, force: true }));

// A small but complete run: water on the built-in force field, atomic labels, two priors.
const small: PipelineSettings = {
  ...DEMO_DEFAULTS,
  molecule: 'water',
  sampleSteps: 12_000,
  harvestEvery: 20,
  nTrain: 150,
  nValid: 100,
  restarts: 1,
  maxIterations: 60,
  thetaMin: 0.3,
  priors: ['shift:0.05', 'min'],
  priorMode: 'retrain',
  mdTemperaturesK: [1000],
  mdTimePs: 1,
  replicas: 1,
  workers: 1,
};

test('pipeline on water (built-in reference): sample, train two priors, validate below 0.5 kcal/mol, NVT check, report', async () => {
  const out = join(root, 'water');
  const s = await runPipeline(small, out, 'new');
  assert.equal(s.kind, 'demo');
  assert.equal(s.molecule, 'water');
  assert.equal(s.labels, 'atomic');
  assert.equal(s.n_train, 150);
  assert.equal(s.n_valid, 100);
  assert.equal(s.n_features, 3);
  assert.equal(s.default_prior, 'shift:0.05');
  // energies of water on the built-in force field near 500 K span several kcal/mol; the GP is far better
  assert.ok(s.validation_mae_kcal_per_mol < 0.5, `MAE ${s.validation_mae_kcal_per_mol} kcal/mol`);
  assert.equal(s.validation.length, 2);
  assert.equal(s.validation[0]!.abs_errors_kcal_per_mol.length, 100);
  assert.equal(s.runs.length, 2);
  for (const r of s.runs) assert.equal(r.temperature_K, 1000);
  assert.ok(s.runs.find((r) => r.prior === 'shift:0.05')!.survived, JSON.stringify(s.runs));
  for (const f of ['molecule.xyz', 'sampling/frames.extxyz', 'data/train.extxyz', 'data/valid.extxyz', 'demo.json', 'report.html']) {
    assert.ok(existsSync(join(out, f)), `${f} missing`);
  }
  assert.ok(existsSync(join(out, 'data/csv/WATER_O1_TRAINING_SET.csv')));
  assert.ok(existsSync(join(out, 'models/shift_0.05/WATER_iqa_H2.model')));
  // per-atom models: weights refit on the atomic energies and the forces of every training frame
  assert.match(readFileSync(join(out, 'models/min/WATER_iqa_H2.model'), 'utf8'), /^# force_fit energies\+forces sigma_energy_Ha=0.0001 sigma_force_Ha_per_bohr=0.001 force_frames=150 nugget=1e-8 jitter=\S+$/m);
  const written = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as DemoSummary;
  assert.equal(written.validation_mae_kcal_per_mol, s.validation_mae_kcal_per_mol);
  assert.equal(written.sampling.cv_values.length, s.n_frames);

  // resume reuses every finished stage and gives the same validation
  const again = await runPipeline(small, out, 'resume');
  assert.equal(again.validation_mae_kcal_per_mol, s.validation_mae_kcal_per_mol);
  // a new run into the same folder is refused
  await assert.rejects(runPipeline(small, out, 'new'), /already holds a pipeline run/);
});

test('pipeline from total energies (additive GP) recovers molecular energies of water', async () => {
  const out = join(root, 'total');
  const s = await runPipeline(
    { ...small, labels: 'total', priors: ['max'], mdTimePs: 0.2, sampleSteps: 8000, nTrain: 100, nValid: 60, gaussian: true, gaussianMethod: 'PBE0', gaussianBasis: 'def2-TZVP' },
    out,
    'new',
  );
  assert.equal(s.labels, 'total');
  assert.ok(s.validation_mae_kcal_per_mol < 1, `MAE ${s.validation_mae_kcal_per_mol} kcal/mol`);
  // --gaussian: one single-point input per selected frame, geometry identical to the training set's
  const gjf = readdirSync(join(out, 'data/gaussian/train')).filter((f) => f.endsWith('.gjf')).sort();
  assert.equal(gjf.length, 100);
  assert.equal(readdirSync(join(out, 'data/gaussian/valid')).length, 60);
  const first = readFileSync(join(out, 'data/gaussian/train', gjf[0]!), 'utf8').split('\n');
  assert.equal(first[0], '#p PBE0/def2-TZVP nosymm output=wfn');
  const train = readFileSync(join(out, 'data/train.extxyz'), 'utf8').split('\n');
  const xyzO = train[2]!.trim().split(/\s+/).slice(1, 4).map(Number);
  const gjfO = first[5]!.trim().split(/\s+/).slice(1, 4).map(Number);
  for (let d = 0; d < 3; d++) assert.ok(Math.abs(xyzO[d]! - gjfO[d]!) < 1e-7, `O coordinate ${d}: ${xyzO[d]} vs ${gjfO[d]}`);
  // the weights were refit on the energies and forces of every training frame (the default)
  const model = readFileSync(join(out, 'models/max/WATER_iqa_O1.model'), 'utf8');
  // … with the split observation (total labels): each atom an equal share of the deviation from the prior ± 0.005 Ha
  assert.match(model, /^# force_fit energies\+forces sigma_energy_Ha=0.0001 sigma_force_Ha_per_bohr=0.001 force_frames=100 nugget=1e-8 jitter=\S+ split_sigma_Ha=0.005$/m);
  // round 1 searches θ from scratch (its restarts); rounds 2-3 and the final model start from the previous round's θ
  assert.match(readFileSync(join(out, 'active/round_01/models/WATER_iqa_O1.model'), 'utf8'), /^# optimiser lbfgsb starts=1 seed=1 stall=0.05\/10 iterations=\d+ evaluations=\d+$/m);
  for (const f of ['active/round_02/models', 'active/round_03/models', 'models/max']) {
    assert.match(readFileSync(join(out, f, 'WATER_iqa_O1.model'), 'utf8'), /^# optimiser lbfgsb starts=1 seed=1 warm-start stall=0.05\/10 iterations=\d+ evaluations=\d+$/m, f);
  }
});

test('pipeline settings: unknown molecule, two sources, too few frames and bad numbers are clear errors', () => {
  assert.throws(() => validateSettings({ ...small, molecule: 'unobtainium' }), /unknown molecule 'unobtainium'.*malondialdehyde/);
  assert.throws(() => validateSettings({ ...small, smiles: 'O' }), /exactly one of/);
  assert.throws(() => validateSettings({ ...small, sampleSteps: 100 }), /gives 6 frames, fewer than 150 training \+ 100 validation/);
  assert.throws(() => validateSettings({ ...small, priors: ['sideways'] }), AtomgpError);
  assert.throws(() => validateSettings({ ...small, mdTemperaturesK: [-5] }), /temperatures-K/);
  assert.throws(() => validateSettings({ ...small, bondWallFactor: 0.9 }), /--bond-wall must be 0/);
  assert.throws(() => validateSettings({ ...small, forceSigmaHaPerBohr: -1 }), /--force-sigma-Ha-per-bohr must be a number ≥ 0 \(0: energies only\), got -1/);
  assert.throws(() => validateSettings({ ...small, energySigmaHa: 0 }), /--energy-sigma-Ha must be a number > 0, got 0/);
});

test('atomgp pipeline CLI: invalid SMILES and unknown molecule exit 2 with one line, no stack trace', () => {
  const bad = runCli(['pipeline', '--smiles', 'C1CC(', '--out', join(root, 'bad')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /invalid SMILES/);
  assert.doesNotMatch(bad.err, /\n\s+at /);
  const unknown = runCli(['demo', '--molecule', 'unobtainium', '--out', join(root, 'bad2')]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown molecule/);
});

/** demo.json without its wall-clock fields (timings, training wall times, atomgp_version stays). */
function withoutWallClock(s: DemoSummary): unknown {
  return {
    ...s,
    timings_s: undefined,
    training: s.training.map((t) => ({ ...t, atoms: t.atoms.map((a) => ({ ...a, wall_time_s: undefined })) })),
  };
}

test('pipeline resume: interrupted anywhere, the resumed summary equals an uninterrupted run (but wall-clock fields); changed settings are refused', async () => {
  const s: PipelineSettings = { ...small, priorMode: 'same-hyperparameters', sampleSteps: 8000, nTrain: 100, nValid: 60, mdTimePs: 0.2, mdTemperaturesK: [300, 1000] };
  const whole = await runPipeline(s, join(root, 'whole'), 'new');
  assert.ok(whole.sampling.hills > 0, 'hills deposited');
  assert.equal(whole.training.length, 2);
  assert.equal(whole.training[1]!.atoms.length, 3);
  // interrupt at the second prior's training, then at the MD stage, resuming after each
  const out = join(root, 'interrupted');
  const stopAt = (prefix: string) => ({
    log: (line: string) => {
      if (line.startsWith(prefix)) throw new Error(`stopped at: ${line}`);
    },
  });
  await assert.rejects(runPipeline(s, out, 'new', stopAt('training shift:0.05')), /stopped at/);
  assert.ok(!existsSync(join(out, 'models/min/fingerprint.json')));
  await assert.rejects(runPipeline(s, out, 'resume', stopAt('md min')), /stopped at/);
  const logged: string[] = [];
  const resumed = await runPipeline(s, out, 'resume', { log: (l) => logged.push(l) });
  assert.ok(logged.some((l) => /sampling: reusing/.test(l)), logged.join('\n'));
  assert.ok(logged.some((l) => /training shift:0.05: reusing/.test(l)), logged.join('\n'));
  assert.deepEqual(withoutWallClock(resumed), withoutWallClock(whole));
  const written = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as DemoSummary;
  assert.equal(written.sampling.hills, whole.sampling.hills);
  assert.deepEqual(
    written.training.map((t) => [t.prior, t.atoms.map((a) => a.atom)]),
    [
      ['shift:0.05', ['O1', 'H2', 'H3']],
      ['min', ['O1', 'H2', 'H3']],
    ],
  );
  // a resume with any changed setting is refused, naming it, and changes nothing
  const before = readFileSync(join(out, 'demo.json'), 'utf8');
  await assert.rejects(runPipeline({ ...s, seed: 2 }, out, 'resume'), /--seed: recorded 1, now 2/);
  await assert.rejects(runPipeline({ ...s, nTrain: 90 }, out, 'resume'), /data .*--n-train: recorded 100, now 90/);
  await assert.rejects(runPipeline({ ...s, mdTemperaturesK: [300] }, out, 'resume'), /active round 1 .*--temperatures-K: recorded \[300,1000\], now \[300\]/);
  await assert.rejects(runPipeline({ ...s, priors: ['shift:0.05', 'max'] }, out, 'resume'), /--priors changed .*min/);
  await assert.rejects(runPipeline({ ...s, thetaMin: 0.5 }, out, 'resume'), /active round 1 .*--theta-min: recorded 0.3, now 0.5/);
  await assert.rejects(runPipeline({ ...s, repulsion: 'none' }, out, 'resume'), /active round 1 .*--repulsion: recorded "zbl", now "none"/);
  assert.equal(readFileSync(join(out, 'demo.json'), 'utf8'), before);
  // an input file changed behind the run's back is refused too
  const frames = join(out, 'sampling/frames.extxyz');
  writeFileSync(frames, readFileSync(frames, 'utf8').replace(/energy=(-?[0-9.]+)/, 'energy=$10'));
  await assert.rejects(runPipeline(s, out, 'resume'), /data was made with other inputs \(sampling\/frames.extxyz changed since the stage ran\)/);
  // the CLI: exit 2 with one line (it used to exit 0 and mix seed-2 settings into seed-1 stages)
  const cli = runCli(['pipeline', '--molecule', 'water', '--out', out, '--resume', '--seed', '2', '--sample-steps', '8000', '--harvest-every', '20', '--n-train', '100', '--n-valid', '60']);
  assert.equal(cli.code, 2);
  assert.match(cli.err, /cannot resume .*--seed: recorded 1, now 2/);
  assert.equal(cli.err.trim().split('\n').length, 1, cli.err);
});

test('stage records: a setting added later is recorded only when it differs from its "as before" value', async () => {
  const { pick } = await import('../../../src/workflows/pipeline/resume.js');
  const { TRAINING_KEYS } = await import('../../../src/workflows/pipeline/train.js');
  // the split observation off (0) is how stages were made before it existed: not recorded, so they resume
  assert.equal('splitSigmaHa' in pick({ ...DEMO_DEFAULTS, splitSigmaHa: 0 }, TRAINING_KEYS), false);
  // any other value is recorded, and a stage made without it is refused
  assert.equal(pick({ ...DEMO_DEFAULTS }, TRAINING_KEYS)['splitSigmaHa'], 0.005);
  assert.equal(pick({ ...DEMO_DEFAULTS, forceSigmaHaPerBohr: 0 }, TRAINING_KEYS)['forceSigmaHaPerBohr'], 0);
  assert.throws(() => validateSettings({ ...small, splitSigmaHa: -1 }), /--split-sigma-Ha must be a number ≥ 0 \(0: off\), got -1/);
  // proton-transfer sampling off is how samplings were made before it existed (stages see the resolved choice, never 'auto')
  const { SAMPLING_KEYS } = await import('../../../src/workflows/pipeline/sample.js');
  assert.equal('protonTransfer' in pick({ ...DEMO_DEFAULTS, protonTransfer: false }, SAMPLING_KEYS), false);
  assert.equal(pick({ ...DEMO_DEFAULTS, protonTransfer: true }, SAMPLING_KEYS)['protonTransfer'], true);
});

test('--repulsion zbl (the default): the NVT runs, validation and active rounds use the models with the ZBL term; the model folders record it', async () => {
  const { createPotential } = await import('../../../src/potentials/factory.js');
  const { readLabelledExtxyz } = await import('../../../src/sampling/export.js');
  const { createResult } = await import('../../../src/potentials/potential.js');
  const { KCAL_PER_MOL_PER_HARTREE } = await import('../../../src/chem/units.js');
  const s: PipelineSettings = { ...small, priors: ['shift:0.05'], sampleSteps: 6000, nTrain: 80, nValid: 60, mdTimePs: 0.2, activeRounds: 1, activeTimePs: 0.2, activeFraction: 0.25 };
  const plainOut = join(root, 'rep-none');
  const zblOut = join(root, 'rep-zbl');
  assert.equal(DEMO_DEFAULTS.repulsion, 'zbl');
  const plain = await runPipeline({ ...s, repulsion: 'none' }, plainOut, 'new');
  const zbl = await runPipeline(s, zblOut, 'new');
  const run = JSON.parse(readFileSync(join(zblOut, zbl.runs[0]!.run_dir, 'summary.json'), 'utf8')) as { potential: string; potentialSpec: { repulsion?: string } };
  assert.match(run.potential, /ZBL repulsion beyond the training data/);
  assert.equal(run.potentialSpec.repulsion, 'zbl');
  const plainRun = JSON.parse(readFileSync(join(plainOut, plain.runs[0]!.run_dir, 'summary.json'), 'utf8')) as { potential: string };
  assert.doesNotMatch(plainRun.potential, /ZBL/);
  // The reported validation is that of the models with the term, computed independently here.
  const valid = readLabelledExtxyz(join(zblOut, 'data/valid.extxyz')).frames;
  const dir = join(zblOut, 'models/shift_0.05');
  const withTerm = await createPotential({ kind: 'gp-models', dir, repulsion: 'zbl' });
  const res = createResult(3);
  let abs = 0;
  for (const f of valid) {
    withTerm.compute(f.positionsA, res, false);
    abs += Math.abs(res.energyHa - f.energyHa!);
  }
  assert.ok(Math.abs((abs / valid.length) * KCAL_PER_MOL_PER_HARTREE - zbl.validation[0]!.mae_kcal_per_mol) < 1e-9);
  // The active round recorded the setting; the sampling, which never uses the models, did not.
  const round = JSON.parse(readFileSync(join(zblOut, 'active/round_01/fingerprint.json'), 'utf8')) as { settings: Record<string, unknown> };
  assert.equal(round.settings['repulsion'], 'zbl');
  const sampling = JSON.parse(readFileSync(join(zblOut, 'sampling/fingerprint.json'), 'utf8')) as { settings: Record<string, unknown> };
  assert.equal('repulsion' in sampling.settings, false);
  assert.throws(() => validateSettings({ ...small, repulsion: 'soft' as 'zbl' }), /^AtomgpError: --repulsion must be one of none, zbl, got 'soft'$/);
  // Each model folder says which term the pipeline used with it, and `atomgp md --models DIR` uses that unless told otherwise.
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'potential.json'), 'utf8')), { repulsion: 'zbl' });
  assert.deepEqual(JSON.parse(readFileSync(join(plainOut, 'models/shift_0.05/potential.json'), 'utf8')), { repulsion: 'none' });
  assert.deepEqual(JSON.parse(readFileSync(join(zblOut, 'active/round_01/models/potential.json'), 'utf8')), { repulsion: 'zbl' });
  const mdRun = (models: string, name: string, extra: string[] = []) => {
    const out = join(root, name);
    const r = runCli(['md', '--models', models, '--start', join(zblOut, 'molecule.xyz'), '--temperature-K', '300', '--steps', '4', '--out', out, ...extra]);
    assert.equal(r.code, 0, r.err);
    return (JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { potentialSpec: { repulsion?: string } }).potentialSpec.repulsion;
  };
  assert.equal(mdRun(dir, 'md-rec'), 'zbl');
  assert.equal(mdRun(dir, 'md-off', ['--repulsion', 'none']), undefined);
  assert.equal(mdRun(join(plainOut, 'models/shift_0.05'), 'md-plain'), undefined);
  writeFileSync(join(plainOut, 'models/shift_0.05/potential.json'), '{"repulsion": "hard"}\n');
  const bad = runCli(['md', '--models', join(plainOut, 'models/shift_0.05'), '--start', join(zblOut, 'molecule.xyz'), '--temperature-K', '300', '--steps', '4', '--out', join(root, 'md-bad')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err.trim(), /^atomgp md: error: .*potential\.json: repulsion must be one of none, zbl, got 'hard'$/);
});

test('--proton-transfer: a CV d(O5, H9) − d(H9, O1) beside the torsions, recorded by the sampling; refused without a labile H', async () => {
  const out = join(root, 'pt-mal');
  const summary = await runPipeline({ ...small, molecule: 'malondialdehyde', protonTransfer: true, priors: ['shift:0.05'], sampleSteps: 6000, nTrain: 100, nValid: 50, mdTimePs: 0.2 }, out, 'new');
  const labels = summary.sampling.cv_labels;
  assert.equal(labels.at(-1), 'proton O5-H9-O1');
  const record = JSON.parse(readFileSync(join(out, 'sampling', 'fingerprint.json'), 'utf8'));
  assert.equal(record.settings.protonTransfer, true);
  // the active rounds' exploration runs let H9 change partner (their verdicts are not the study's)
  const explored = JSON.parse(readFileSync(join(out, 'active', 'round_01', 'runs', 'T1000_r00', 'summary.json'), 'utf8'));
  assert.deepEqual(explored.monitorReference.labileHydrogens, [[4, 8, 0]]);
  const checked = JSON.parse(readFileSync(join(out, 'runs', 'shift_0.05', 'T1000_r00', 'summary.json'), 'utf8'));
  assert.equal(checked.monitorReference, undefined, 'the NVT checks keep the strict bond criteria');
  await assert.rejects(runPipeline({ ...small, protonTransfer: true }, join(root, 'pt-water'), 'new'), /water: --proton-transfer needs an O- or N-bonded hydrogen with another O or N within 2\.5 Å at the minimum; there is none/);
});

test('--proton-transfer auto (the default): checked on the reference, the resolved choice recorded; the built-in field never transfers, so nothing changes', async () => {
  assert.equal(DEMO_DEFAULTS.protonTransfer, 'auto');
  const out = join(root, 'pt-auto');
  const logged: string[] = [];
  const s: PipelineSettings = { ...small, molecule: 'malondialdehyde', priors: ['shift:0.05'], sampleSteps: 6000, nTrain: 100, nValid: 50, mdTimePs: 0.2, activeRounds: 0 };
  const summary = await runPipeline(s, out, 'new', { log: (l) => logged.push(l) });
  assert.ok(logged.includes('proton transfer O5-H9···O1: no tautomer (the hydrogen returns to its donor): not sampled'), logged.join('\n'));
  assert.ok(!summary.sampling.cv_labels.some((l) => l.startsWith('proton')));
  assert.equal(summary.settings.protonTransfer, false, 'the summary shows the resolved choice');
  const record = JSON.parse(readFileSync(join(out, 'sampling', 'fingerprint.json'), 'utf8'));
  assert.equal('protonTransfer' in record.settings, false, 'recorded as a run made before the setting existed');
  // auto resumes what it resolved; forcing the transfer on is a change of the sampling
  await runPipeline(s, out, 'resume');
  await assert.rejects(runPipeline({ ...s, protonTransfer: true }, out, 'resume'), /sampling .*--proton-transfer: recorded false, now true/);
  assert.throws(() => validateSettings({ ...small, protonTransfer: 'yes' as 'auto' }), /^AtomgpError: --proton-transfer must be true, false or auto, got 'yes'$/);
  const both = runCli(['pipeline', '--molecule', 'water', '--proton-transfer', '--no-proton-transfer', '--out', join(root, 'pt-both')]);
  assert.equal(both.code, 2);
  assert.match(both.err.trim(), /^atomgp pipeline: error: --proton-transfer and --no-proton-transfer exclude each other$/);
});
