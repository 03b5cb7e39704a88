/**
 * `atomgp fidelity`: the reference re-evaluated along a trajectory and compared with the model, on
 * the example water models against the analytic stand-in they were trained on (and against xtb
 * where it is installed): the figures equal an independent evaluation, --frames spreads frames,
 * bad input is one line with exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { loadModelSet } from '../../src/io/modelset.js';
import { writeXyz } from '../../src/io/xyz.js';
import { AnalyticPotential, waterLikeSpec } from '../../src/potentials/analytic.js';
import { GpPotential } from '../../src/potentials/gp.js';
import { createResult } from '../../src/potentials/potential.js';
import { Rng } from '../../src/util/rng.js';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-fidelity-'));
after(() => rmSync(root, { recursive: true, force: true }));

const { spec, minimumA } = waterLikeSpec();
const specFile = join(root, 'reference.json');
writeFileSync(specFile, JSON.stringify({ kind: 'analytic', spec }));
const minFile = join(root, 'minimum.xyz');
writeXyz(minFile, [{ symbols: ['O', 'H', 'H'], positionsA: Float64Array.from(minimumA), info: {}, arrays: {}, comment: '' }]);
const rng = new Rng(7);
// 30 frames: small displacements, then larger ones where the 80-point example model is worse.
const frames = Array.from({ length: 30 }, (_, k) => ({
  symbols: ['O', 'H', 'H'],
  positionsA: Float64Array.from(minimumA, (v) => v + (k < 20 ? 0.03 : 0.12) * rng.normal()),
  info: { time_fs: 5 * k },
  arrays: {},
  comment: '',
}));
const traj = join(root, 'traj.extxyz');
writeXyz(traj, frames);

test('fidelity of a trajectory: equals an independent evaluation; --frames spreads frames; --json', () => {
  const out = join(root, 'fidelity.json');
  const r = runCli(['fidelity', '--models', 'examples/water-morse', '--potential', specFile, '--minimum', minFile, '--out', out, traj]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /frames {2}E MAE/);
  const res = JSON.parse(readFileSync(out, 'utf8')) as { trajectories: Array<{ frames: number; energyMaeKcalPerMol: number; energyMaxAbsKcalPerMol: number; energyMeanSignedKcalPerMol: number; fractionWithinBand: number; faithful: boolean; perFrame: Array<{ timeFs: number }> }> };
  const t = res.trajectories[0]!;
  // independently: GP and the analytic reference, energies relative to the minimum
  const set = loadModelSet('examples/water-morse');
  const gp = new GpPotential({ systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors });
  const ref = new AnalyticPotential(spec);
  const e = (p: GpPotential | AnalyticPotential, x: Float64Array) => {
    const o = createResult(3);
    p.compute(x, o, false);
    return o.energyHa * KCAL_PER_MOL_PER_HARTREE;
  };
  const errs = frames.map((f) => e(gp, f.positionsA) - e(gp, Float64Array.from(minimumA)) - (e(ref, f.positionsA) - e(ref, Float64Array.from(minimumA))));
  const mae = errs.reduce((a, b) => a + Math.abs(b), 0) / errs.length;
  assert.equal(t.frames, 30);
  assert.ok(Math.abs(t.energyMaeKcalPerMol - mae) < 1e-9, `${t.energyMaeKcalPerMol} vs ${mae}`);
  assert.ok(Math.abs(t.energyMaxAbsKcalPerMol - Math.max(...errs.map(Math.abs))) < 1e-9);
  assert.ok(Math.abs(t.energyMeanSignedKcalPerMol - errs.reduce((a, b) => a + b, 0) / 30) < 1e-9);
  assert.ok(mae > 1e-3, 'the model is not the reference: the comparison measures something');
  assert.equal(t.faithful, t.energyMaeKcalPerMol <= 1.5 && t.fractionWithinBand >= 0.99);
  assert.deepEqual(t.perFrame.map((f) => f.timeFs), frames.map((_, k) => 5 * k));
  const five = runCli(['fidelity', '--models', 'examples/water-morse', '--potential', specFile, '--minimum', minFile, '--frames', '5', '--json', traj]);
  assert.equal(five.code, 0, five.err);
  const j = JSON.parse(five.out.trim()) as { frames: number; file: string; perFrame?: unknown };
  assert.equal(j.frames, 5);
  assert.equal(j.file, traj);
  assert.equal(j.perFrame, undefined);
  // a tighter bound than the error: not faithful, and the reason says which bound
  const tight = runCli(['fidelity', '--models', 'examples/water-morse', '--potential', specFile, '--minimum', minFile, '--energy-mae-kcal-per-mol', String(mae / 2), traj]);
  assert.equal(tight.code, 0, tight.err);
  assert.match(tight.out, /no {8}.*energy MAE .* > /);
});

test('fidelity --repulsion zbl: the model energies are those of the models with the ZBL term', () => {
  // An O–H bond compressed by 0.25-0.45 Å: closer than any training geometry of the example models.
  const squeezed = [0.25, 0.35, 0.45].map((d, k) => {
    const x = Float64Array.from(minimumA);
    const u = [x[3]! - x[0]!, x[4]! - x[1]!, x[5]! - x[2]!];
    const r = Math.hypot(u[0]!, u[1]!, u[2]!);
    for (let c = 0; c < 3; c++) x[3 + c] = x[3 + c]! - (d * u[c]!) / r;
    return { symbols: ['O', 'H', 'H'], positionsA: x, info: { time_fs: k }, arrays: {}, comment: '' };
  });
  const file = join(root, 'squeezed.extxyz');
  writeXyz(file, squeezed);
  const out = join(root, 'fidelity-zbl.json');
  const r = runCli(['fidelity', '--models', 'examples/water-morse', '--repulsion', 'zbl', '--potential', specFile, '--minimum', minFile, '--out', out, file]);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(readFileSync(out, 'utf8')) as { repulsion: string; trajectories: Array<{ energyMeanSignedKcalPerMol: number }> };
  assert.equal(res.repulsion, 'zbl');
  const set = loadModelSet('examples/water-morse');
  const mol = { systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors };
  const ref = new AnalyticPotential(spec);
  const signed = (gp: GpPotential) => {
    const e = (p: GpPotential | AnalyticPotential, x: Float64Array) => {
      const o = createResult(3);
      p.compute(x, o, false);
      return o.energyHa * KCAL_PER_MOL_PER_HARTREE;
    };
    const m = Float64Array.from(minimumA);
    return squeezed.reduce((a, f) => a + e(gp, f.positionsA) - e(gp, m) - (e(ref, f.positionsA) - e(ref, m)), 0) / squeezed.length;
  };
  const withTerm = signed(new GpPotential(mol, 1, { repulsion: 'zbl' }));
  const without = signed(new GpPotential(mol));
  assert.ok(Math.abs(res.trajectories[0]!.energyMeanSignedKcalPerMol - withTerm) < 1e-9, `${res.trajectories[0]!.energyMeanSignedKcalPerMol} vs ${withTerm}`);
  assert.ok(withTerm - without > 1, `the term raises the squeezed frames (${withTerm} vs ${without} kcal/mol)`);
});

test('fidelity refuses to judge an atomgp md run on another surface than it ran on (--repulsion)', () => {
  const run = join(root, 'zbl-run');
  const md = runCli(['md', '--models', 'examples/water-morse', '--repulsion', 'zbl', '--start', minFile, '--steps', '40', '--temperature-K', '300', '--out', run]);
  assert.equal(md.code, 0, md.err);
  const traj = join(run, 'trajectory.extxyz');
  const without = runCli(['fidelity', '--models', 'examples/water-morse', '--potential', specFile, '--minimum', minFile, traj]);
  assert.equal(without.code, 2);
  assert.match(without.err.trim(), /^atomgp fidelity: error: .*trajectory\.extxyz: its run used the models with --repulsion zbl \(.*summary\.json\); give --repulsion zbl to compare the reference with the surface it ran on$/);
  const with_ = runCli(['fidelity', '--models', 'examples/water-morse', '--repulsion', 'zbl', '--potential', specFile, '--minimum', minFile, traj]);
  assert.equal(with_.code, 0, with_.err);
});

test('fidelity: bad input is one line, exit 2', () => {
  const oh = join(root, 'oh.xyz');
  writeFileSync(oh, '2\n\nO 0 0 0\nH 0 0 0.97\n');
  const cases: Array<[string[], RegExp]> = [
    [['--potential', specFile, '--minimum', minFile, traj], /--models DIR is required/],
    [['--models', 'examples/water-morse', '--minimum', minFile, traj], /exactly one of --reference xtb and --potential/],
    [['--models', 'examples/water-morse', '--reference', 'dft', '--minimum', minFile, traj], /--reference expects xtb/],
    [['--models', 'examples/water-morse', '--potential', specFile, traj], /--minimum FILE is required/],
    [['--models', 'examples/water-morse', '--potential', specFile, '--minimum', minFile], /no trajectory given/],
    [['--models', 'examples/water-morse', '--potential', specFile, '--minimum', minFile, oh], /oh\.xyz frame 1: atoms do not match/],
    [['--models', 'examples/water-morse', '--potential', specFile, '--minimum', minFile, '--frames', 'some', traj], /--frames expects an integer ≥ 1 or "all"/],
    [['--models', 'examples/water-morse', '--potential', specFile, '--minimum', minFile, '--within-fraction', '1.5', traj], /fraction within the band must be in \(0, 1\]/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(['fidelity', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});

const hasXtb = spawnSync('xtb', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasXtb && process.env.CI === 'true') throw new Error('xtb is required under CI (atomgp fidelity --reference xtb)');
test('fidelity against GFN2-xTB (--reference xtb)', { skip: hasXtb ? false : 'xtb not installed' }, () => {
  const r = runCli(['fidelity', '--models', 'examples/water-morse', '--reference', 'xtb', '--minimum', minFile, '--frames', '4', '--json', traj]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out.trim()) as { frames: number; energyMaeKcalPerMol: number; forceMaeKcalPerMolPerA: number };
  assert.equal(j.frames, 4);
  assert.ok(Number.isFinite(j.energyMaeKcalPerMol) && j.energyMaeKcalPerMol > 0);
  assert.ok(Number.isFinite(j.forceMaeKcalPerMolPerA));
});
