/**
 * Refinement at the conformer minima (workflows/study/refine.ts) on capped glycine with the
 * built-in force field as reference and total-energy labels: a small model trained on sampled
 * frames only, then two rounds that label its optimisation paths and minima on the reference.
 * Checked: the added frames carry the reference's own energies and forces; the training set grows
 * by them; the refit model's minima move towards the reference's (the reference's max |F| at the
 * model's minima and their RMSD from the reference's minima both fall); a resume reuses every round without a reference call.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createPotential } from '../../../src/potentials/factory.js';
import { createResult, type Potential } from '../../../src/potentials/potential.js';
import { readLabelledExtxyz } from '../../../src/sampling/export.js';
import { buildMolecule, DEMO_DEFAULTS, type PipelineSettings, referenceSpec, runPipeline } from '../../../src/workflows/pipeline/index.js';
import { type OptimisationResult, refinementStage } from '../../../src/workflows/study/index.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-refine-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A potential that counts its evaluations. */
function counting(p: Potential): { pot: Potential; calls: () => number } {
  let n = 0;
  const pot: Potential = Object.assign(Object.create(Object.getPrototypeOf(p)) as Potential, p, {
    compute(x: Float64Array, out: ReturnType<typeof createResult>, withForces?: boolean): void {
      n++;
      p.compute(x, out, withForces);
    },
  });
  return { pot, calls: () => n };
}

const worstFmax = (o: OptimisationResult): number => Math.max(...o.entries.map((e) => e.reference_fmax_at_model_minimum_kcal_per_mol_per_A));
const worstRmsd = (o: OptimisationResult): number => Math.max(...o.entries.map((e) => e.rmsd_A));

test('refinement at the conformer minima: reference labels, a growing set, minima closer to the reference, resume without reference calls', async () => {
  const s: PipelineSettings = {
    ...DEMO_DEFAULTS,
    molecule: 'glycine',
    reference: 'builtin',
    labels: 'total',
    priors: ['shift:0.05'],
    nTrain: 60,
    nValid: 10,
    sampleSteps: 4000,
    sampleTemperatureK: 300,
    activeRounds: 0,
    restarts: 1,
    maxIterations: 30,
    mdTemperaturesK: [300],
    mdTimePs: 0.05,
    replicas: 1,
    workers: 1,
  };
  const dir = join(root, 'gly');
  const summary = await runPipeline(s, dir, 'new');
  assert.equal(summary.labels, 'total');
  const { mol } = await buildMolecule(s);
  const ref = await createPotential(referenceSpec(s, mol));
  const bonds = mol.bonds.map(([a, b]) => [a, b] as [number, number]);
  const c = counting(ref);
  const rounds = await refinementStage(s, dir, mol.symbols, bonds, 'shift:0.05', c.pot, { rounds: 2, pathStride: 3 }, false, {});
  assert.equal(rounds.length, 2);
  let nTrain = 60;
  const res = createResult(mol.symbols.length);
  for (const r of rounds) {
    const added = readLabelledExtxyz(join(dir, 'optimisation', `round_0${r.round}`, 'added.extxyz')).frames;
    assert.equal(added.length, r.frames_added);
    assert.ok(r.frames_added >= 4, `round ${r.round}: at least the four minima, got ${r.frames_added}`);
    nTrain += r.frames_added;
    assert.equal(r.n_train, nTrain);
    // the labels are the reference's own (energy, Ha; forces, Ha/bohr; rounded only by the file's digits)
    for (const f of [added[0]!, added[added.length - 1]!]) {
      ref.compute(f.positionsA, res, true);
      assert.ok(Math.abs(res.energyHa - f.energyHa!) < 1e-9, `energy ${f.energyHa} vs ${res.energyHa}`);
      for (let i = 0; i < res.forcesHaPerBohr.length; i++) assert.ok(Math.abs(res.forcesHaPerBohr[i]! - f.forcesHaPerBohr![i]!) < 1e-9);
    }
  }
  // the unrefined table, for comparison: the same starts on the pipeline's model
  const { optimisationStage } = await import('../../../src/workflows/study/optimisation.js');
  const model0 = await createPotential({ kind: 'gp-models', dir: join(dir, 'models', 'shift_0.05'), repulsion: 'zbl' });
  const base = optimisationStage(dir, mol.symbols, bonds, 'shift:0.05', model0, ref, s.seed)!;
  const last = rounds[1]!.optimisation;
  assert.ok(worstFmax(last) < worstFmax(base) / 2, `reference max |F| at the model minima: ${worstFmax(base).toFixed(2)} → ${worstFmax(last).toFixed(2)} kcal/mol/Å`);
  // and they lie closer to the reference's minima from the same starts (a 60-frame model is far from
  // right: its ΔE is not resolved after two rounds, docs/study.md measures that on 1000 geometries)
  assert.ok(worstRmsd(last) < worstRmsd(base), `RMSD to the reference minima: ${worstRmsd(base).toFixed(3)} → ${worstRmsd(last).toFixed(3)} Å`);
  // resume: every round reused, no reference call but the tables' own optimisations on the reference
  const before = c.calls();
  const again = await refinementStage(s, dir, mol.symbols, bonds, 'shift:0.05', c.pot, { rounds: 2, pathStride: 3 }, true, {});
  assert.deepEqual(
    again.map((r) => [r.frames_added, r.n_train, r.optimisation.delta_e_model_kcal_per_mol]),
    rounds.map((r) => [r.frames_added, r.n_train, r.optimisation.delta_e_model_kcal_per_mol]),
  );
  const tableCalls = c.calls() - before;
  // the resume's calls are those of two conformer tables (their reference optimisations), not new labels
  const c2 = counting(ref);
  optimisationStage(dir, mol.symbols, bonds, 'shift:0.05', model0, c2.pot, s.seed);
  assert.equal(tableCalls, 2 * c2.calls());
});

test('atomgp study with refinement on capped glycine (built-in reference, total labels): rounds in study.json, the CLI text and study.html', async () => {
  const { runCli } = await import('../../helpers/cli.js');
  const { readFileSync, writeFileSync } = await import('node:fs');
  const cfg = join(root, 'gly.toml');
  writeFileSync(
    cfg,
    [
      'molecules = ["glycine"]',
      'reference = "builtin"',
      '[pipeline]',
      'labels = "total"',
      'priors = ["shift:0.05"]',
      'n-train = 60',
      'n-valid = 10',
      'sample-steps = 4000',
      'active-rounds = 0',
      'restarts = 1',
      'max-iterations = 30',
      'temperatures-K = [300.0]',
      'md-time-ps = 0.05',
      'replicas = 1',
      'workers = 1',
      '[observables]',
      'temperature-K = 0.0',
      '[distortions]',
      'starts = []',
      '[optimisation]',
      'refine-rounds = 1',
      'path-stride = 0',
      '',
    ].join('\n'),
  );
  writeFileSync(join(root, 'gly3.toml'), readFileSync(cfg, 'utf8').replace('path-stride = 0', 'path-stride = 3'));
  const out = join(root, 'study');
  const r = runCli(['study', '--config', cfg, '--out', out]);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as { molecules: Array<{ refinement: Array<{ round: number; frames_added: number; n_train: number; optimisation: OptimisationResult }> }> };
  const rounds = s.molecules[0]!.refinement;
  assert.equal(rounds.length, 1);
  // path-stride 0: the minima only, one per start
  assert.equal(rounds[0]!.frames_added, 4);
  assert.equal(rounds[0]!.n_train, 64);
  assert.match(r.out, /refinement round 1 \(4 reference frames, 64 training geometries\): ΔE\(C5 − C7eq\) -?\d+\.\d\d vs -?\d+\.\d\d kcal\/mol/);
  const html = readFileSync(join(out, 'study.html'), 'utf8');
  assert.match(html, /Refinement at the conformer minima/);
  assert.match(html, /refinement round 1/);
  // more rounds on resume: round 1 reused as it was, round 2 added
  const more = runCli(['study', '--config', cfg, '--out', out, '--resume', '--refine-rounds', '2']);
  assert.equal(more.code, 0, more.err);
  const s2 = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as typeof s;
  const r2 = s2.molecules[0]!.refinement;
  assert.equal(r2.length, 2);
  const noWall = (x: unknown): unknown => JSON.parse(JSON.stringify(x), (k, v) => (k === 'wall_s' || k === 'wall_time_ratio' ? undefined : v));
  assert.deepEqual(noWall(r2[0]), noWall(rounds[0]));
  assert.equal(r2[1]!.n_train, 64 + r2[1]!.frames_added);
  // the path stride may not change on resume
  const stride = runCli(['study', '--config', cfg.replace('gly.toml', 'gly3.toml'), '--out', out, '--resume']);
  assert.equal(stride.code, 2);
});
