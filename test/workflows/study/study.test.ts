/**
 * `atomgp study` end to end on two small molecules (built-in reference; xtb too where it is
 * installed, required under CI): the table agrees with the runs, fidelity is recomputed
 * independently on a frame, a kill -9 mid-study resumes to the study.json of an uninterrupted
 * study, and changed settings are refused.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { KCAL_PER_MOL_PER_HARTREE } from '../../../src/chem/units.js';
import { readXyz } from '../../../src/io/xyz.js';
import { createPotential } from '../../../src/potentials/factory.js';
import { createResult } from '../../../src/potentials/potential.js';
import { buildMolecule, DEMO_DEFAULTS, referenceSpec } from '../../../src/workflows/pipeline/index.js';
import { readStudyConfig, STUDY_DEFAULTS, type StudyRun, type StudySummary, studyHtml, studyTable, validateStudySettings } from '../../../src/workflows/study/index.js';
import { runCli } from '../../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-study-'));
after(() => rmSync(root, { recursive: true, force: true }));

const SMALL = ['--priors', 'shift:0.05,min', '--temperatures-K', '500,1000', '--replicas', '1', '--md-time-ps', '0.5', '--n-train', '60', '--n-valid', '30', '--sample-steps', '6000', '--fidelity-frames', '25', '--workers', '1', '--quiet'];
const read = (dir: string): StudySummary => JSON.parse(readFileSync(join(dir, 'study.json'), 'utf8')) as StudySummary;
/** study.json without wall-clock fields (the speed of each run). */
const comparable = (dir: string): unknown => JSON.parse(readFileSync(join(dir, 'study.json'), 'utf8'), (k, v) => (k === 'steps_per_second' ? undefined : v));

test('study on water and ammonia (built-in reference): table = runs, fidelity recomputed on a frame, kill -9 then --resume equals an uninterrupted study', async () => {
  const whole = join(root, 'whole');
  const w = runCli(['study', '--molecules', 'water,ammonia', '--reference', 'builtin', ...SMALL, '--out', whole]);
  assert.equal(w.code, 0, w.err);
  const s = read(whole);
  assert.equal(s.kind, 'study');
  assert.deepEqual(s.molecules.map((m) => m.folder), ['water', 'ammonia']);
  for (const m of s.molecules) {
    assert.equal(m.runs.length, 4);
    assert.equal(m.table.length, 4);
    for (const c of m.table) {
      const rs = m.runs.filter((r) => r.prior === c.prior && r.temperature_K === c.temperature_K);
      assert.equal(c.runs, rs.length);
      assert.equal(c.survived, rs.filter((r) => r.survived).length);
      assert.equal(c.faithful, rs.filter((r) => r.survived && r.fidelity?.faithful).length);
      assert.ok(c.faithful <= c.survived);
      assert.equal(c.faithful_to_end, rs.filter((r) => r.fidelity?.faithful).length);
      const fids = rs.filter((r) => r.survived && r.fidelity).map((r) => r.fidelity!.energyMeanSignedKcalPerMol);
      if (fids.length > 0) assert.ok(Math.abs(c.energy_mean_signed_kcal_per_mol! - fids.reduce((a, v) => a + v, 0) / fids.length) < 1e-12);
      else assert.equal(c.energy_mean_signed_kcal_per_mol, null);
    }
    for (const r of m.runs) {
      if (r.fidelity === null) continue;
      assert.ok(r.fidelity.frames >= 1 && r.fidelity.frames <= 25);
      assert.equal(r.fidelity.faithful, r.fidelity.energyMaeKcalPerMol <= 1.5 && r.fidelity.fractionWithinBand >= 0.99);
    }
    // observables at 500 K against the reference's own run
    const o = m.observables!;
    assert.equal(o.temperature_K, 500);
    assert.ok(existsSync(join(whole, m.folder, o.reference_run_dir, 'trajectory.extxyz')));
    // every 500 K run with trajectory frames (those with a fidelity) is compared
    assert.equal(o.runs.length, m.runs.filter((r) => r.temperature_K === 500 && r.fidelity !== null).length);
    for (const r of o.runs) {
      assert.ok(r.h_r_mae >= 0 && r.h_r_mae <= 2);
      assert.equal(r.fu_stable, r.max_bond_deviation_A <= 0.5);
    }
    // no hydrogen with a second O/N site within reach in water or ammonia
    assert.equal(o.reference_proton_sites, undefined);
    for (const r of o.runs) assert.equal(r.proton_sites, undefined);
    assert.equal(m.ramachandran, null, 'no peptide backbone');
    assert.equal(m.optimisation, null);
    // distorted starts: O-H = 1.5 Å applies to water only; restoring forces and runs for every prior
    assert.equal(m.distortions.length, 3);
    const oh = m.distortions[0]!;
    assert.equal(oh.applicable, m.folder === 'water');
    for (const d of m.distortions.filter((x) => x.applicable)) {
      assert.ok(d.distorted_bonds.length >= 1);
      assert.equal(d.restoring.length, 2);
      assert.equal(d.runs.length, 2);
      for (const r of d.restoring) assert.ok(r.energy_rise_kcal_per_mol > 0, `${d.distortion} ${r.prior}: a distortion of the minimum is uphill`);
    }
    if (m.folder === 'water') for (const b of oh.distorted_bonds) assert.ok(Math.abs(b.distorted_A - 1.5) < 1e-9);
    // the validation MAE of atomic-label models of these small molecules is far below 1 kcal/mol
    assert.ok(m.validation[0]!.mae_kcal_per_mol < 1, JSON.stringify(m.validation));
  }
  assert.match(w.out, /water \(H2O, 3 atoms, atomic labels; models with the ZBL repulsive prior term\)/);
  assert.ok(existsSync(join(whole, 'study.html')));
  // With a labile hydrogen the report tabulates its site populations.
  const pop = { hydrogen: 'H9', sites: ['O5', 'O1'], fractions: [0.657, 0.343], standard_errors: [0.016, 0.016], blocks: 10, switches: 1391, frames: 10001 };
  const withSites = { ...s, molecules: s.molecules.map((m) => ({ ...m, observables: { ...m.observables!, reference_proton_sites: [pop] } })) };
  assert.match(studyHtml(withSites), /<td>reference<\/td><td>H9<\/td><td>O5, O1<\/td><td>0\.657 ± 0\.016, 0\.343 ± 0\.016<\/td><td class="num">1391<\/td><td class="num">10001<\/td>/);
  assert.doesNotMatch(readFileSync(join(whole, 'study.html'), 'utf8'), /labile hydrogen/);
  assert.match(readFileSync(join(whole, 'study.html'), 'utf8'), /survived and faithful/);

  // fidelity recomputed by hand on the last frame of one run
  const m = s.molecules[1]!;
  const run = m.runs.find((r) => r.fidelity !== null)!;
  const stored = JSON.parse(readFileSync(join(whole, m.folder, 'fidelity', 'fidelity.json'), 'utf8'));
  const rel = run.run_dir.slice(m.folder.length + 1);
  const perFrame = stored.per_frame[rel] as Array<{ modelKcalPerMol: number; referenceKcalPerMol: number }>;
  const traj = readXyz(join(whole, run.run_dir, 'trajectory.extxyz'));
  const last = traj[traj.length - 1]!.positionsA;
  const minimum = readXyz(join(whole, m.folder, 'molecule.xyz'))[0]!.positionsA;
  const gp = await createPotential({ kind: 'gp-models', dir: join(whole, m.folder, 'models', run.prior.replace(':', '_')) });
  const { mol } = await buildMolecule({ ...DEMO_DEFAULTS, molecule: 'ammonia' });
  const ref = await createPotential(referenceSpec({ ...DEMO_DEFAULTS, molecule: 'ammonia' }, mol));
  const e = (p: typeof gp, x: Float64Array): number => {
    const r = createResult(p.nAtoms);
    p.compute(x, r, false);
    return r.energyHa * KCAL_PER_MOL_PER_HARTREE;
  };
  const lastStored = perFrame[perFrame.length - 1]!;
  assert.ok(Math.abs(lastStored.modelKcalPerMol - (e(gp, last) - e(gp, minimum))) < 1e-8);
  assert.ok(Math.abs(lastStored.referenceKcalPerMol - (e(ref, last) - e(ref, minimum))) < 1e-8);

  // kill -9 once the second molecule has started, then resume
  const out = join(root, 'killed');
  const c = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', 'study', '--molecules', 'water,ammonia', '--reference', 'builtin', ...SMALL, '--out', out], { stdio: 'ignore' });
  const closed = new Promise<NodeJS.Signals | null>((res) => c.on('close', (_code, sig) => res(sig)));
  const t0 = Date.now();
  const started = (): boolean => existsSync(join(out, 'ammonia', 'sampling'));
  while (!started() && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(started(), 'the second molecule started');
  c.kill('SIGKILL');
  assert.equal(await closed, 'SIGKILL');
  assert.ok(!existsSync(join(out, 'study.json')));
  const again = runCli(['study', '--molecules', 'water,ammonia', '--reference', 'builtin', ...SMALL, '--out', out]);
  assert.equal(again.code, 2, 'a new study into the folder is refused');
  assert.match(again.err, /already holds a study .*--resume/);
  const resumed = runCli(['study', '--molecules', 'water,ammonia', '--reference', 'builtin', ...SMALL, '--out', out, '--resume']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(comparable(out), comparable(whole));

  // SIGTERM once the second molecule has started: exit 143 with one line, no temporary files; --resume equals the uninterrupted study
  const termed = join(root, 'termed');
  const t = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', 'study', '--molecules', 'water,ammonia', '--reference', 'builtin', ...SMALL, '--out', termed], { stdio: ['ignore', 'ignore', 'pipe'] });
  let termErr = '';
  t.stderr.setEncoding('utf8').on('data', (d: string) => {
    termErr += d;
  });
  const ended = new Promise<number | null>((res) => t.on('close', (status) => res(status)));
  const t1 = Date.now();
  const second = (): boolean => existsSync(join(termed, 'ammonia', 'sampling'));
  while (!second() && t.exitCode === null && Date.now() - t1 < 120_000) await new Promise((r) => setTimeout(r, 10));
  assert.ok(second(), 'the second molecule started');
  t.kill('SIGTERM');
  assert.equal(await ended, 143, termErr);
  assert.match(termErr, /^atomgp study: interrupted by SIGTERM [^\n]*; finished stages kept; rerun with --resume to continue\n$/);
  assert.ok(!existsSync(join(termed, 'study.json')) && !existsSync(join(termed, '.atomgp.lock')));
  assert.deepEqual(readdirSync(termed, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp')), []);
  const termResumed = runCli(['study', '--molecules', 'water,ammonia', '--reference', 'builtin', ...SMALL, '--out', termed, '--resume']);
  assert.equal(termResumed.code, 0, termResumed.err);
  assert.deepEqual(comparable(termed), comparable(whole));

  // changed settings are refused, naming the setting
  const changed = runCli(['study', '--molecules', 'water,ammonia', '--reference', 'builtin', ...SMALL, '--replicas', '2', '--out', out, '--resume']);
  assert.equal(changed.code, 2);
  assert.match(changed.err, /pipeline\.replicas: recorded 1, now 2/);

  // the fidelity frames may change on resume: only the fidelity is redone, over 3 frames, then every saved frame
  const savedFrames = (r: StudyRun): number => readXyz(join(out, r.run_dir, 'trajectory.extxyz')).length;
  const withoutFidelity = (st: StudySummary): unknown => JSON.parse(JSON.stringify(st.molecules), (k, v) => (['fidelity', 'table', 'steps_per_second'].includes(k) ? undefined : v));
  const before = read(out);
  const noFrames = SMALL.filter((x, i) => x !== '--fidelity-frames' && SMALL[i - 1] !== '--fidelity-frames');
  for (const [flag, frames] of [['3', (n: number) => Math.min(3, n)], ['all', (n: number) => n]] as const) {
    const again = runCli(['study', '--molecules', 'water,ammonia', '--reference', 'builtin', ...noFrames, '--fidelity-frames', flag, '--out', out, '--resume']);
    assert.equal(again.code, 0, again.err);
    const st = read(out);
    assert.deepEqual(withoutFidelity(st), withoutFidelity(before), 'models and runs reused');
    assert.equal(st.settings.fidelityFrames, flag === 'all' ? 0 : 3);
    let longer = 0;
    for (const m of st.molecules) {
      for (const r of m.runs) {
        if (r.fidelity === null) continue;
        const n = savedFrames(r);
        assert.equal(r.fidelity.frames, frames(n), `${r.run_dir}: ${n} saved frames`);
        if (n > 3) longer++;
      }
    }
    assert.ok(longer >= 2, 'runs with more saved frames than 3');
  }
});

test('study resume: pipeline settings added later match a record without them (or with their "as before" value); other values are changes', async () => {
  const { flatSettings, studySettingsChanges } = await import('../../../src/workflows/study/run.js');
  const s = structuredClone(STUDY_DEFAULTS);
  const now = flatSettings(s);
  assert.equal(now['pipeline.repulsion'], 'zbl', 'the ZBL term is the default (session 19) and recorded');
  assert.equal(now['pipeline.protonTransfer'], 'auto', 'the proton-transfer check is the default (session 19) and recorded');
  // a record from before the settings existed, and one that wrote them at their "as before" values
  const { 'pipeline.repulsion': _r, 'pipeline.protonTransfer': _p, ...older } = now;
  const none = { ...s, pipeline: { ...s.pipeline, repulsion: 'none' as const, protonTransfer: false } };
  assert.deepEqual(studySettingsChanges(older, none), [], 'a study from before both resumes with repulsion = "none", proton-transfer = false');
  assert.deepEqual(studySettingsChanges({ ...older, 'pipeline.protonTransfer': false, 'pipeline.repulsion': 'none' }, none), []);
  // ... and is refused under the new default; a study recorded with the term is not resumed without it
  assert.deepEqual(studySettingsChanges(older, s), ['pipeline.protonTransfer: recorded false, now "auto"', 'pipeline.repulsion: recorded "none", now "zbl"']);
  assert.deepEqual(studySettingsChanges(now, none), ['pipeline.protonTransfer: recorded "auto", now false', 'pipeline.repulsion: recorded "zbl", now "none"']);
  assert.deepEqual(studySettingsChanges({ ...now, fidelityFrames: 25 }, s), [], 'fidelity frames may change');
  // the conformer refinement (session 21): its rounds may change on resume (each round is recorded
  // on its own), its path stride may not; a record without them stands for the default stride
  assert.equal(now['optimisationRefineRounds'], 2);
  assert.equal(now['optimisationPathStride'], undefined, 'the default stride is not written');
  const { optimisationRefineRounds: _o, ...noRefine } = now;
  assert.deepEqual(studySettingsChanges(noRefine, s), []);
  assert.deepEqual(studySettingsChanges(now, { ...s, optimisationRefineRounds: 5 }), []);
  assert.deepEqual(studySettingsChanges(noRefine, { ...s, optimisationPathStride: 0 }), ['optimisationPathStride: recorded 3, now 0']);
  assert.deepEqual(studySettingsChanges(flatSettings({ ...s, optimisationPathStride: 0 }), s), ['optimisationPathStride: recorded 0, now 3']);
  const f = join(root, 'rep.toml');
  writeFileSync(f, '[pipeline]\nrepulsion = "none"\n');
  assert.equal(readStudyConfig(f).pipeline.repulsion, 'none');
  writeFileSync(f, '[pipeline]\nproton-transfer = false\n');
  assert.equal(readStudyConfig(f).pipeline.protonTransfer, false);
  writeFileSync(f, '[pipeline]\nproton-transfer = "auto"\n');
  assert.equal(readStudyConfig(f).pipeline.protonTransfer, 'auto');
  writeFileSync(f, '[pipeline]\nproton-transfer = "on"\n');
  assert.throws(() => readStudyConfig(f), /\[pipeline\] proton-transfer: expected true, false or "auto", got "on"$/);
  const bad = runCli(['study', '--molecules', 'water', '--reference', 'builtin', '--repulsion', 'hard', '--out', join(root, 'bad-rep')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err.trim(), /^atomgp study: error: --repulsion must be one of none, zbl, got 'hard'$/);
});

test('study settings file: typed keys over the defaults; unknown keys and wrong types are one-line errors', () => {
  const f = join(root, 'study.toml');
  writeFileSync(f, 'molecules = ["water"]\nreference = "builtin"\n[pipeline]\nn-train = 40\npriors = ["min"]\ntemperatures-K = [300.0]\n[fidelity]\nframes = 7\nband-kcal-per-mol = 5.0\n');
  const s = readStudyConfig(f);
  assert.deepEqual(s.molecules, ['water']);
  assert.equal(s.pipeline.nTrain, 40);
  assert.deepEqual(s.pipeline.priors, ['min']);
  assert.deepEqual(s.pipeline.mdTemperaturesK, [300]);
  assert.equal(s.fidelityFrames, 7);
  assert.equal(s.fidelity.bandKcalPerMol, 5);
  assert.equal(s.fidelity.energyMaeKcalPerMol, 1.5);
  assert.equal(STUDY_DEFAULTS.fidelityFrames, 0, 'by default every saved frame');
  writeFileSync(f, '[optimisation]\nrefine-rounds = 3\npath-stride = 0\n');
  assert.equal(readStudyConfig(f).optimisationRefineRounds, 3);
  assert.equal(readStudyConfig(f).optimisationPathStride, 0);
  assert.equal(STUDY_DEFAULTS.optimisationRefineRounds, 2);
  writeFileSync(f, '[optimisation]\nrounds = 3\n');
  assert.throws(() => readStudyConfig(f), /\[optimisation\] has an unknown key 'rounds' \(expected refine-rounds, path-stride\)$/);
  const badRounds = runCli(['study', '--molecules', 'water', '--reference', 'builtin', '--refine-rounds', '-1', '--out', join(root, 'bad4')]);
  assert.equal(badRounds.code, 2);
  assert.equal(badRounds.err.trim().split('\n').length, 1, badRounds.err);
  assert.match(badRounds.err, /--refine-rounds/);
  writeFileSync(f, '[optimisation]\npath-stride = 1.5\n');
  assert.throws(() => validateStudySettings(readStudyConfig(f)), /path-stride must be an integer ≥ 0/);
  writeFileSync(f, '[fidelity]\nframes = "all"\n');
  assert.equal(readStudyConfig(f).fidelityFrames, 0);
  writeFileSync(f, '[fidelity]\nframes = "some"\n');
  assert.throws(() => readStudyConfig(f), /\[fidelity\] frames \(a number or "all"\): expected a number, got string "some"/);
  const badFrames = runCli(['study', '--molecules', 'water', '--reference', 'builtin', '--fidelity-frames', 'most', '--out', join(root, 'bad3')]);
  assert.equal(badFrames.code, 2);
  assert.match(badFrames.err, /--fidelity-frames expects an integer ≥ 1 or "all", got .most./);
  writeFileSync(f, '[pipeline]\nntrain = 40\n');
  assert.throws(() => readStudyConfig(f), /\[pipeline\] has an unknown key 'ntrain'/);
  writeFileSync(f, '[pipeline]\nn-train = "many"\n');
  assert.throws(() => readStudyConfig(f), /n-train: expected a number/);
  writeFileSync(f, 'molecule = "water"\n');
  assert.throws(() => readStudyConfig(f), /unknown key 'molecule'/);
  const bad = runCli(['study', '--config', f, '--out', join(root, 'bad')]);
  assert.equal(bad.code, 2);
  assert.equal(bad.err.trim().split('\n').length, 1);
  const unknown = runCli(['study', '--molecules', 'water,unobtainium', '--reference', 'builtin', '--out', join(root, 'bad2')]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unobtainium/);
});

const hasXtb = spawnSync('xtb', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasXtb && process.env.CI === 'true') throw new Error('xtb is required under CI (the study test on the xtb reference)');
test('study on water with the xtb reference: additive model on totals, fidelity against xtb', { skip: hasXtb ? false : 'xtb not installed' }, () => {
  const out = join(root, 'xtb');
  const r = runCli(['study', '--molecules', 'water', '--reference', 'xtb', ...SMALL, '--out', out]);
  assert.equal(r.code, 0, r.err);
  const s = read(out);
  const m = s.molecules[0]!;
  assert.equal(m.labels, 'total');
  assert.match(m.reference, /xtb|GFN2/i);
  assert.ok(m.validation[0]!.mae_kcal_per_mol < 1, JSON.stringify(m.validation));
  const withFid = m.runs.filter((x) => x.fidelity !== null);
  assert.ok(withFid.length > 0);
  for (const x of withFid) assert.ok(Number.isFinite(x.fidelity!.energyMaeKcalPerMol));
});

test("study on malondialdehyde (built-in reference): the enol H's site populations equal a count over the trajectory", { timeout: 120_000 }, () => {
  const out = join(root, 'mal');
  const r = runCli(['study', '--molecules', 'malondialdehyde', '--reference', 'builtin', ...SMALL, '--priors', 'shift:0.05', '--temperatures-K', '500', '--active-rounds', '0', '--out', out]);
  assert.equal(r.code, 0, r.err);
  const m = read(out).molecules[0]!;
  const o = m.observables!;
  const runs: Array<[string, NonNullable<typeof o.reference_proton_sites>]> = [
    [o.reference_run_dir, o.reference_proton_sites!],
    ...o.runs.map((x) => [x.run_dir, x.proton_sites!] as [string, NonNullable<typeof o.reference_proton_sites>]),
  ];
  assert.ok(runs.length >= 2, 'the reference run and a model run');
  for (const [dir, pops] of runs) {
    assert.equal(pops.length, 1, dir);
    const p = pops[0]!;
    assert.deepEqual([p.hydrogen, ...p.sites], ['H9', 'O5', 'O1']);
    // independently: H9 nearer O5 than O1, frame by frame
    const frames = readXyz(join(out, m.folder, dir, 'trajectory.extxyz')).map((f) => f.positionsA);
    const d = (x: Float64Array, a: number, b: number) => Math.hypot(x[3 * a]! - x[3 * b]!, x[3 * a + 1]! - x[3 * b + 1]!, x[3 * a + 2]! - x[3 * b + 2]!);
    const onO5 = frames.map((x) => d(x, 8, 4) <= d(x, 8, 0));
    assert.equal(p.frames, frames.length);
    assert.equal(p.fractions[0], onO5.filter(Boolean).length / frames.length);
    assert.ok(Math.abs(p.fractions[1]! - (1 - p.fractions[0]!)) < 1e-12);
    assert.equal(p.switches, onO5.slice(1).filter((v, i) => v !== onO5[i]).length);
  }
});

const CHROMIUM = '/usr/bin/chromium';
const chromiumSkip = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `${CHROMIUM} not installed` : false;
test('study on capped glycine: Ramachandran maps; study.html in headless Chromium with sized, labelled figures and no errors', { skip: chromiumSkip, timeout: 180_000 }, async () => {
  const out = join(root, 'gly');
  // 60 geometries: too few for a first active round on glycine's 51 features (a test of its own below)
  const r = runCli(['study', '--molecules', 'glycine', '--reference', 'builtin', ...SMALL, '--temperatures-K', '500', '--active-rounds', '0', '--out', out]);
  assert.equal(r.code, 0, r.err);
  const m = read(out).molecules[0]!;
  const maps = m.ramachandran!;
  assert.ok(maps.length >= 2, 'the sampling map, the reference MD map and the default prior per temperature');
  assert.match(maps[0]!.label, /WTMetaD sampling at 500 K/);
  for (const map of maps) {
    assert.equal(map.counts.reduce((a, b) => a + b, 0), map.frames);
    assert.ok(Math.abs(Object.values(map.regions).reduce((a, b) => a + b, 0) - 1) < 1e-9);
  }
  // the conformer optimisation table of a peptide: 4 starts, energies relative to the C7eq minimum
  const op = m.optimisation!;
  assert.equal(op.entries.length, 4);
  assert.equal(op.entries[0]!.model.energy_kcal_per_mol, 0);
  assert.equal(op.entries[0]!.reference.energy_kcal_per_mol, 0);
  assert.equal(op.delta_e_reference_kcal_per_mol, op.entries[1]!.reference.energy_kcal_per_mol);
  assert.ok(op.entries.every((e) => e.rmsd_A >= 0 && Number.isFinite(e.rmsd_A) && e.rmsd_heavy_A >= 0 && Number.isFinite(e.rmsd_heavy_A)));
  assert.match(op.optimiser, /Lindh/);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30_000 });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(msg.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(pathToFileURL(join(out, 'study.html')).href, { waitUntil: 'load' });
    const figures = (await page.evaluate(`[...document.querySelectorAll('svg.atomgp-figure')].map((svg) => {
      const r = svg.getBoundingClientRect();
      const label = (w) => (svg.querySelector('g[aria-label="' + w + '-axis label"]') || { textContent: '' }).textContent.trim();
      return { width: r.width, height: r.height, x: label('x'), y: label('y') };
    })`)) as Array<{ width: number; height: number; x: string; y: string }>;
    assert.deepEqual(problems, []);
    assert.equal(figures.length, 1 + maps.length, 'the survival matrix and every Ramachandran map');
    for (const f of figures) {
      assert.ok(f.width > 200 && f.height > 150, `figure ${f.width} × ${f.height}`);
      assert.ok(f.x.length > 0 && f.y.length > 0);
    }
    assert.ok(figures.slice(1).every((f) => f.x === 'φ / degrees' && f.y === 'ψ / degrees'));
    const png = await page.screenshot({ fullPage: true });
    assert.ok(png.length > 10_000, 'a rendered page');
  } finally {
    await browser.close();
  }
});

test('the study table: a run stopped by the monitor but faithful up to its end counts in faithful_to_end, not in faithful', () => {
  const fid = (mae: number, faithful: boolean) => ({ energyMaeKcalPerMol: mae, energyMaxAbsKcalPerMol: 3 * mae, energyMeanSignedKcalPerMol: -0.5 * mae, faithful }) as unknown as StudyRun['fidelity'];
  const run = (replica: number, survived: boolean, fidelity: StudyRun['fidelity']): StudyRun =>
    ({ prior: 'shift:0.05', temperature_K: 1000, replica, survived, time_ps: survived ? 10 : 2.4, time_to_failure_ps: survived ? null : 2.4, failure: survived ? null : 'bond-stretched', mean_temperature_K: 1000, run_dir: `r${replica}`, fidelity }) as StudyRun;
  const [c] = studyTable([run(0, true, fid(0.3, true)), run(1, false, fid(0.4, true)), run(2, true, fid(2.5, false)), run(3, false, null)]);
  assert.equal(c!.runs, 4);
  assert.equal(c!.survived, 2);
  assert.equal(c!.faithful, 1);
  assert.equal(c!.faithful_to_end, 2);
  assert.equal(c!.median_time_to_failure_ps, 2.4);
  // the pooled error is over the surviving runs with a fidelity, as before
  assert.ok(Math.abs(c!.energy_mae_kcal_per_mol! - (0.3 + 2.5) / 2) < 1e-12);
  assert.ok(Math.abs(c!.energy_mean_signed_kcal_per_mol! - -0.5 * (0.3 + 2.5) / 2) < 1e-12);
});
