import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignMolecules, type GeometryFrame } from '../../src/cli/common.js';
import { readModelSet } from '../../src/io/modelset.js';
import { seededUniform } from '../../src/gp/model/synthetic.js';
import { GpPotential, matchMoleculeCopies, moleculeBondsFromModels } from '../../src/potentials/gp.js';
import { createResult } from '../../src/potentials/potential.js';
import { sharedData } from '../helpers/data.js';

const set = readModelSet('examples/water-morse', { property: 'iqa', check: true });
const WATER = [0, 0, 0, 0.75695033, 0.58588228, 0, -0.75695033, 0.58588228, 0];
const BOX_A = 7.5;
const CELL = Float64Array.from([BOX_A, 0, 0, 0, BOX_A, 0, 0, 0, BOX_A]);

/** 2×2×2 waters, randomly rotated and slightly distorted, wrapped into the cell (some cut by its faces). */
function waterBox(seed: number): GeometryFrame {
  const rnd = seededUniform(seed);
  const symbols: string[] = [];
  const pos: number[] = [];
  for (let m = 0; m < 8; m++) {
    const centre = [(m & 1) * 3.75 + 3.5, ((m >> 1) & 1) * 3.75 + 3.6, ((m >> 2) & 1) * 3.75 + 3.4];
    const [a, b, c] = [rnd() * 6.3, rnd() * 6.3, rnd() * 6.3];
    const rot = (v: number[]): number[] => {
      let [x, y, z] = v as [number, number, number];
      [x, y] = [x * Math.cos(a) - y * Math.sin(a), x * Math.sin(a) + y * Math.cos(a)];
      [y, z] = [y * Math.cos(b) - z * Math.sin(b), y * Math.sin(b) + z * Math.cos(b)];
      [x, z] = [x * Math.cos(c) - z * Math.sin(c), x * Math.sin(c) + z * Math.cos(c)];
      return [x, y, z];
    };
    for (let i = 0; i < 3; i++) {
      const r = rot(WATER.slice(3 * i, 3 * i + 3).map((v) => v + 0.04 * (rnd() - 0.5)));
      for (let k = 0; k < 3; k++) {
        const v = centre[k]! + r[k]!;
        pos.push(v - BOX_A * Math.floor(v / BOX_A));
      }
      symbols.push(i === 0 ? 'O' : 'H');
    }
  }
  return { symbols, positionsA: Float64Array.from(pos), cellA: CELL };
}

/** The frame with its atoms in a new order: new atom p is old atom perm[p]. */
function permuted(frame: GeometryFrame, perm: number[]): GeometryFrame {
  const positionsA = new Float64Array(frame.positionsA.length);
  perm.forEach((old, p) => {
    positionsA.set(frame.positionsA.subarray(3 * old, 3 * old + 3), 3 * p);
  });
  return { symbols: perm.map((old) => frame.symbols[old]!), positionsA, ...(frame.cellA ? { cellA: frame.cellA } : {}) };
}

function evaluate(frame: GeometryFrame, mode: 'auto' | 'order' | 'bonds') {
  const bonds = moleculeBondsFromModels(set.models, set.symbols);
  const a = assignMolecules(set.symbols, bonds, frame, mode, 'box');
  const pot = new GpPotential(
    { systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors },
    a.nMolecules,
    { atomOrder: a.atomOrder },
  );
  const out = createResult(pot.nAtoms);
  pot.compute(a.positionsA, out);
  return { out, pot };
}

test('the molecule bond graph comes from the models: water is O1–H2, O1–H3', () => {
  assert.deepEqual(moleculeBondsFromModels(set.models, set.symbols), [
    [0, 1],
    [0, 2],
  ]);
});

test('a shuffled water box gives the ordered box energy, atomic energies and forces (permuted back)', () => {
  const ordered = waterBox(7);
  const ref = evaluate(ordered, 'order');
  // Random order, but each molecule keeps H2 before H3 (the rule for equivalent atoms is file order).
  const rnd = seededUniform(99);
  const perm = Array.from({ length: 24 }, (_, i) => i);
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const where = new Array<number>(24);
  perm.forEach((old, p) => {
    where[old] = p;
  });
  for (let m = 0; m < 8; m++) {
    const [h2, h3] = [3 * m + 1, 3 * m + 2];
    if (where[h2]! > where[h3]!) {
      [perm[where[h2]!], perm[where[h3]!]] = [h3, h2];
      [where[h2], where[h3]] = [where[h3]!, where[h2]!];
    }
  }
  const shuffled = permuted(ordered, perm);
  assert.throws(() => evaluate(shuffled, 'order'), /models expect/);
  const got = evaluate(shuffled, 'auto');
  assert.equal(got.pot.nMolecules, 8);
  assert.ok(Math.abs(got.out.energyHa - ref.out.energyHa) < 1e-12, `${got.out.energyHa} vs ${ref.out.energyHa}`);
  for (let p = 0; p < 24; p++) {
    const old = perm[p]!;
    assert.ok(Math.abs(got.out.atomicEnergiesHa[p]! - ref.out.atomicEnergiesHa[old]!) < 1e-13);
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(got.out.forcesHaPerBohr[3 * p + c]! - ref.out.forcesHaPerBohr[3 * old + c]!) < 1e-12, `atom ${p + 1}`);
    }
  }
  // The ordered box matched by bonds gives the same as taking the order as it is.
  const byBonds = evaluate(ordered, 'bonds');
  assert.ok(Math.abs(byBonds.out.energyHa - ref.out.energyHa) < 1e-12);
});

test('swapping the two H of a molecule in the file changes the total only by the H2/H3 model asymmetry', () => {
  const ordered = waterBox(7);
  const ref = evaluate(ordered, 'order').out.energyHa;
  const perm = Array.from({ length: 24 }, (_, i) => i);
  [perm[1], perm[2]] = [2, 1];
  const swapped = evaluate(permuted(ordered, perm), 'order').out.energyHa;
  const diff = Math.abs(swapped - ref);
  process.stdout.write(`# water box: |ΔE| from swapping H2/H3 of one molecule = ${diff.toExponential(2)} Ha\n`);
  assert.ok(diff < 1e-3, `${diff} Ha`);
});

test('fragments that are not the models’ molecule are errors naming their atoms', () => {
  const box = waterBox(7);
  const bonds = moleculeBondsFromModels(set.models, set.symbols);
  // An extra lone H far from everything.
  const extra: GeometryFrame = {
    symbols: [...box.symbols, 'H'],
    positionsA: Float64Array.from([...box.positionsA, 1.9, 1.9, 5.6]),
    cellA: CELL,
  };
  assert.throws(() => assignMolecules(set.symbols, bonds, extra, 'bonds', 'box.xyz'), /box\.xyz: the bonded fragment of atoms H25 .*1 atom, H,/);
  // Auto mode says why the order did not fit either.
  assert.throws(() => assignMolecules(set.symbols, bonds, extra, 'auto', 'box.xyz'), /has 25 atoms.*matching bonded fragments instead/);
  // An OH plus an H3O-like fragment: element counts right overall, fragments wrong.
  const frame: GeometryFrame = {
    symbols: ['O', 'H', 'O', 'H', 'H', 'H'],
    positionsA: Float64Array.from([0, 0, 0, 0.96, 0, 0, 5, 0, 0, 5.96, 0, 0, 5, 0.96, 0, 4.7, -0.5, 0.8]),
  };
  assert.throws(() => matchMoleculeCopies(set.symbols, bonds, frame.symbols, frame.positionsA, { source: 'f.xyz' }), /atoms O1 H2 .*2 atoms, HO/);
});

const ammonia = sharedData('ammonia/models');
test('ammonia: a molecule listed H first is matched to N1 H2 H3 H4 by its bonds', { skip: !ammonia }, () => {
  const nh3 = readModelSet(ammonia!, { property: 'iqa', check: true });
  const bonds = moleculeBondsFromModels(nh3.models, nh3.symbols);
  assert.deepEqual(bonds, [
    [0, 1],
    [0, 2],
    [0, 3],
  ]);
  const pos = [0, 0, 0.1162, 0, 0.9377, -0.2711, 0.8121, -0.4689, -0.2711, -0.8121, -0.4689, -0.2711];
  const ordered: GeometryFrame = { symbols: ['N', 'H', 'H', 'H'], positionsA: Float64Array.from(pos) };
  const perm = [1, 2, 0, 3];
  const shuffled = permuted(ordered, perm);
  const m = matchMoleculeCopies(nh3.symbols, bonds, shuffled.symbols, shuffled.positionsA);
  assert.deepEqual(Array.from(m.atomOrder), [2, 0, 1, 3]);
  const mk = (order?: Int32Array) =>
    new GpPotential(
      { systemName: nh3.systemName, models: nh3.models, symbols: nh3.symbols, periodicPrefactors: nh3.periodicPrefactors },
      1,
      order ? { atomOrder: order } : {},
    );
  const a = createResult(4);
  const b = createResult(4);
  mk().compute(ordered.positionsA, a);
  mk(m.atomOrder).compute(shuffled.positionsA, b);
  assert.ok(Math.abs(a.energyHa - b.energyHa) < 1e-12);
  perm.forEach((old, p) => {
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(b.forcesHaPerBohr[3 * p + c]! - a.forcesHaPerBohr[3 * old + c]!) < 1e-12);
  });
});
