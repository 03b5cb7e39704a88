import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { presetMolecule } from '../../../src/chem/presets.js';
import { BOHR_PER_ANGSTROM } from '../../../src/chem/units.js';
import { AlfFeaturizer } from '../../../src/features/alf.js';
import { parseRepulsion, zblPair } from '../../../src/gp/model/repulsion.js';
import { syntheticMolecule } from '../../../src/gp/model/synthetic.js';
import { GpPotential } from '../../../src/potentials/gp.js';
import { createResult } from '../../../src/potentials/potential.js';
import { runCli } from '../../helpers/cli.js';
import { skipWithoutLammps } from '../../helpers/external.js';

const HA_EV = 27.211386245988;
const Z: Record<string, number> = { H: 1, C: 6, O: 8 };
const BOHR_A = 1 / BOHR_PER_ANGSTROM;

/** Malondialdehyde (C3H4O2) with synthetic GP models trained on displaced copies of its geometry. */
function malondialdehydeModels() {
  const m = presetMolecule('malondialdehyde');
  const alfs = m.symbols.map((_, i) => {
    const others = m.symbols.map((_s, j) => j).filter((j) => j !== i);
    return [i, others[0]!, others[1]!];
  });
  const mol = syntheticMolecule({ nAtoms: m.symbols.length, nTrain: 30, seed: 3, kernel: 'rbf', mean: 'constant', displacementA: 0.1, geometry: { symbols: m.symbols, positionsA: m.positionsA, alfs } });
  const set = { systemName: 'MAL', models: mol.models, symbols: mol.symbols, periodicPrefactors: mol.models.map(() => 4 as const) };
  return { mol, plain: new GpPotential(set), zbl: new GpPotential(set, 1, { repulsion: 'zbl' }) };
}

const dist = (x: Float64Array, i: number, j: number) => Math.hypot(x[3 * i]! - x[3 * j]!, x[3 * i + 1]! - x[3 * j + 1]!, x[3 * i + 2]! - x[3 * j + 2]!);

test('zblPair equals LAMMPS pair_style zbl: forces and energy differences (O–H, C–C, O–O)', { skip: skipWithoutLammps() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-zbl-'));
  const input = join(dir, 'in.zbl');
  // Below the inner cutoff LAMMPS's ZBL is the bare potential plus a constant (its switching shift):
  // forces are the bare ones, energy differences too.
  writeFileSync(
    input,
    [
      'units metal',
      'atom_style atomic',
      'atom_modify map array',
      'boundary f f f',
      'region box block -20 20 -20 20 -20 20',
      'create_box 2 box',
      'create_atoms 1 single 0 0 0',
      'create_atoms 2 single 1.0 0 0',
      'mass * 1.0',
      'pair_style zbl 6.0 7.0',
      'pair_coeff 1 1 $a $a',
      'pair_coeff 1 2 $a $b',
      'pair_coeff 2 2 $b $b',
      'variable i loop 5',
      'label top',
      'variable r equal 0.3+0.5*v_i',
      'set atom 2 x $r',
      'run 0',
      'variable fx equal fx[2]',
      'print "ZBL $r $(pe:%.14g) $(v_fx:%.14g)"',
      'next i',
      'jump SELF top',
    ].join('\n'),
  );
  const out = new Float64Array(2);
  for (const [z1, z2] of [
    [8, 1],
    [6, 6],
    [8, 8],
  ] as const) {
    const r = spawnSync('lmp', ['-in', input, '-var', 'a', String(z1), '-var', 'b', String(z2), '-log', 'none'], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('ZBL '))
      .map((l) => l.split(/\s+/).slice(1).map(Number) as [number, number, number]);
    assert.equal(rows.length, 5);
    const last = rows[rows.length - 1]!;
    zblPair(z1, z2, last[0] * BOHR_PER_ANGSTROM, out);
    const vLast = out[0]! * HA_EV;
    for (const [rA, pe, fx] of rows) {
      zblPair(z1, z2, rA * BOHR_PER_ANGSTROM, out);
      const forceEvA = (-out[1]! * HA_EV) / BOHR_A; // −dV/dr on the second atom, eV/Å
      assert.ok(Math.abs(forceEvA - fx) <= 1e-6 * Math.abs(fx), `Z ${z1}-${z2} r ${rA}: force ${forceEvA} vs LAMMPS ${fx} eV/Å`);
      const dv = out[0]! * HA_EV - vLast;
      const dvLammps = pe - last[1];
      assert.ok(Math.abs(dv - dvLammps) <= 1e-6 * Math.abs(dvLammps) + 1e-12, `Z ${z1}-${z2} r ${rA}: V(r) − V(${last[0]}) ${dv} vs LAMMPS ${dvLammps} eV`);
    }
  }
});

test('each distance feature is the distance to its stated partner, and the closest approach is the training minimum', () => {
  const { mol, zbl } = malondialdehydeModels();
  const n = mol.symbols.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  const x = mol.positionsA.map((v, i) => (v + 0.07 * Math.sin(3 * i)) * BOHR_PER_ANGSTROM);
  for (let a = 0; a < n; a++) {
    const model = mol.models[a]!;
    const rep = zbl.repulsion![a]!;
    assert.equal(rep.features.length, n - 1, 'every other atom once');
    assert.deepEqual([...rep.partners].sort((p, q) => p - q), idx.filter((i) => i !== a));
    const fz = new AlfFeaturizer(idx, model.alf.map((k) => k - 1));
    const f = new Float64Array(model.nFeatures);
    fz.compute(x, f);
    for (let j = 0; j < rep.features.length; j++) {
      assert.ok(Math.abs(f[rep.features[j]!]! - dist(x, a, rep.partners[j]!)) < 1e-12, `atom ${a} feature ${rep.features[j]}`);
      let lo = Number.POSITIVE_INFINITY;
      for (let p = 0; p < model.nTrain; p++) lo = Math.min(lo, model.trainX[p * model.nFeatures + rep.features[j]!]!);
      assert.equal(rep.loBohr[j], lo);
    }
  }
});

test('the repulsive term is zero on every training point and changes no prediction inside the training ranges', () => {
  const { mol, plain, zbl } = malondialdehydeModels();
  for (let a = 0; a < mol.models.length; a++) {
    const model = mol.models[a]!;
    const rep = zbl.repulsion![a]!;
    const g = new Float64Array(model.nFeatures);
    for (let p = 0; p < model.nTrain; p++) {
      assert.equal(rep.evaluate(model.trainX.subarray(p * model.nFeatures, (p + 1) * model.nFeatures), g), 0);
    }
    assert.ok(g.every((v) => v === 0));
  }
  const o1 = createResult(plain.nAtoms);
  const o2 = createResult(zbl.nAtoms);
  plain.compute(mol.positionsA, o1);
  zbl.compute(mol.positionsA, o2);
  assert.equal(o2.energyHa, o1.energyHa);
  assert.deepEqual(o2.forcesHaPerBohr, o1.forcesHaPerBohr);
});

test('a pair pushed closer than any training geometry pays W = V(r) − V(r_lo) − V′(r_lo)(r − r_lo), half from each atom; forces are its gradient', () => {
  const { mol, plain, zbl } = malondialdehydeModels();
  const m = presetMolecule('malondialdehyde');
  const O = m.symbols.indexOf('O');
  const O2 = m.symbols.lastIndexOf('O');
  assert.notEqual(O, O2);
  // Move the second oxygen 0.8 Å towards the first: only that pair (and some of its neighbours) gets closer.
  const x = Float64Array.from(mol.positionsA);
  const r0 = dist(x, O, O2);
  for (let c = 0; c < 3; c++) x[3 * O2 + c] = x[3 * O2 + c]! + (0.8 * (x[3 * O + c]! - x[3 * O2 + c]!)) / r0;
  const o1 = createResult(plain.nAtoms);
  const o2 = createResult(zbl.nAtoms);
  plain.compute(x, o1);
  zbl.compute(x, o2);
  // Independent sum over the pairs: each atom's half with its own closest approach for that pair.
  const pair = new Float64Array(2);
  let want = 0;
  let pairsIn = 0;
  for (let a = 0; a < mol.models.length; a++) {
    const rep = zbl.repulsion![a]!;
    for (let j = 0; j < rep.partners.length; j++) {
      const b = rep.partners[j]!;
      const r = dist(x, a, b) * BOHR_PER_ANGSTROM;
      const lo = rep.loBohr[j]!;
      if (r >= lo) continue;
      pairsIn++;
      const [zA, zB] = [Z[zbl.symbols[a]!]!, Z[zbl.symbols[b]!]!];
      zblPair(zA, zB, lo, pair);
      const [vLo, dvLo] = [pair[0]!, pair[1]!];
      zblPair(zA, zB, r, pair);
      want += 0.5 * (pair[0]! - vLo - dvLo * (r - lo));
    }
  }
  assert.ok(pairsIn >= 2, `the O–O pair seen from both oxygens (${pairsIn} shares)`);
  const added = o2.energyHa - o1.energyHa;
  assert.ok(added > 0.01, `a 0.8 Å O···O compression costs more than 6 kcal/mol (${added * 627.5})`);
  assert.ok(Math.abs(added - want) < 1e-12, `${added} vs ${want} Ha`);
  // Forces: central differences with one Richardson step.
  const hA = 2e-4;
  const e = (i: number, d: number) => {
    const p = Float64Array.from(x);
    p[i] = x[i]! + d;
    zbl.compute(p, o1, false);
    return o1.energyHa;
  };
  let maxErr = 0;
  for (let i = 0; i < x.length; i++) {
    const d1 = (e(i, hA) - e(i, -hA)) / (2 * hA * BOHR_PER_ANGSTROM);
    const d2 = (e(i, hA / 2) - e(i, -hA / 2)) / (hA * BOHR_PER_ANGSTROM);
    maxErr = Math.max(maxErr, Math.abs(-(4 * d2 - d1) / 3 - o2.forcesHaPerBohr[i]!));
  }
  assert.ok(maxErr < 1e-8, `max |F − F_FD| = ${maxErr} Ha/bohr`);
  // The repulsion pushes the two oxygens apart: the extra force on O2 points away from O.
  let push = 0;
  for (let c = 0; c < 3; c++) push += (o2.forcesHaPerBohr[3 * O2 + c]! - plainForce(plain, x)[3 * O2 + c]!) * (x[3 * O2 + c]! - x[3 * O + c]!);
  assert.ok(push > 0, `extra force on the moved oxygen points away from the other (${push})`);
});

function plainForce(pot: GpPotential, x: Float64Array): Float64Array {
  const o = createResult(pot.nAtoms);
  pot.compute(x, o);
  return o.forcesHaPerBohr;
}

test('a repulsion choice that is not none or zbl is a one-line error, in code and on the command line', () => {
  assert.equal(parseRepulsion('zbl'), 'zbl');
  assert.throws(() => parseRepulsion('lj', '--repulsion'), /^AtomgpError: --repulsion must be one of none, zbl, got 'lj'$/);
  const { mol } = malondialdehydeModels();
  const set = { systemName: 'MAL', models: mol.models, symbols: mol.symbols, periodicPrefactors: mol.models.map(() => 4 as const) };
  assert.throws(() => new GpPotential(set, 1, { repulsion: 'ZBL' as 'zbl' }), /repulsion must be one of none, zbl, got 'ZBL'/);
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-rep-'));
  const start = join(dir, 'start.xyz');
  writeFileSync(start, '2\n\nH 0 0 0\nH 0 0 0.74\n');
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ kind: 'analytic', spec: { terms: [] } }));
  const bad = runCli(['md', '--models', dir, '--repulsion', 'lj', '--start', start, '--steps', '1', '--out', join(dir, 'o')]);
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err.trim(), /^atomgp md: error: --repulsion must be one of none, zbl, got 'lj'$/);
  const notGp = runCli(['md', '--potential', spec, '--repulsion', 'zbl', '--start', start, '--steps', '1', '--out', join(dir, 'o2')]);
  assert.equal(notGp.code, 2, notGp.err);
  assert.match(notGp.err.trim(), /^atomgp md: error: --repulsion applies to --models \(a GP model folder\)$/);
});
