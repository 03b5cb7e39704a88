import assert from 'node:assert/strict';
import { test } from 'node:test';
import { angleRad, distanceA } from '../../src/chem/molecule.js';
import { presetMolecule } from '../../src/chem/presets.js';
import { moleculeFromSmiles, perceiveBondOrders } from '../../src/chem/smiles.js';
import { AtomgpError } from '../../src/errors.js';

function formula(symbols: readonly string[]): string {
  const count = new Map<string, number>();
  for (const s of symbols) count.set(s, (count.get(s) ?? 0) + 1);
  return ['C', 'H', 'N', 'O'].filter((e) => count.has(e)).map((e) => `${e}${count.get(e)}`).join('');
}


test('water from SMILES: explicit hydrogens, MMFF geometry', async () => {
  const m = await moleculeFromSmiles('O');
  assert.deepEqual(m.symbols, ['O', 'H', 'H']);
  assert.deepEqual(m.bonds, [[0, 1], [0, 2]]);
  assert.deepEqual(m.bondOrders, [1, 1]);
  assert.equal(m.cleanup, 'MMFF94s');
  assert.equal(m.name, 'O');
  assert.equal(m.smiles, 'O');
  // MMFF94 water: r(O-H) = 0.969 Å, angle 103.7°.
  assert.ok(Math.abs(distanceA(m.positionsA, 0, 1) - 0.969) < 0.01);
  assert.ok(Math.abs((angleRad(m.positionsA, 1, 0, 2) * 180) / Math.PI - 103.7) < 1.5);
});

test('acetic acid: formula, bond count, one C=O shorter than the C-O', async () => {
  const m = await moleculeFromSmiles('CC(=O)O', { name: 'acetic acid' });
  assert.equal(m.name, 'acetic acid');
  assert.equal(formula(m.symbols), 'C2H4O2');
  assert.equal(m.bonds.length, 7);
  assert.deepEqual(m.symbols.slice(0, 4), ['C', 'C', 'O', 'O']);
  const co = m.bonds.findIndex(([i, j]) => i === 1 && j === 2);
  const cOH = m.bonds.findIndex(([i, j]) => i === 1 && j === 3);
  assert.equal(m.bondOrders[co], 2);
  assert.equal(m.bondOrders[cOH], 1);
  assert.ok(distanceA(m.positionsA, 1, 2) < distanceA(m.positionsA, 1, 3) - 0.08);
  // Deterministic for a seed: the same coordinates bit for bit.
  const again = await moleculeFromSmiles('CC(=O)O', { seed: 1 });
  assert.deepEqual(Array.from(again.positionsA), Array.from(m.positionsA));
});

test('aspirin from SMILES: C9H8O4, 21 bonds, same topology as the preset', async () => {
  const a = await moleculeFromSmiles('CC(=O)Oc1ccccc1C(=O)O', { seed: 7 });
  assert.equal(formula(a.symbols), 'C9H8O4');
  assert.equal(a.bonds.length, 21);
  const preset = presetMolecule('aspirin');
  assert.deepEqual(a.symbols, preset.symbols);
  assert.deepEqual(a.bonds, preset.bonds);
  assert.deepEqual(a.bondOrders, preset.bondOrders);
});

test('invalid SMILES give an AtomgpError naming the string and the reason', async () => {
  for (const [smiles, reason] of [
    ['xyz', /unknown|label/i],
    ['C1CC', /ring closure/i],
    ['C(C)(C)(C)(C)C', /valence/i],
    ['', /empty/],
  ] as const) {
    await assert.rejects(moleculeFromSmiles(smiles), (e: unknown) => {
      assert.ok(e instanceof AtomgpError, String(e));
      assert.ok(e.message.startsWith(`invalid SMILES '${smiles}': `), e.message);
      assert.match(e.message, reason);
      assert.ok(!e.message.includes('Class$'), e.message);
      return true;
    });
  }
});

test('bond-order perception: formaldehyde, acetonitrile, benzene Kekulé; ions and radicals refused', () => {
  assert.deepEqual(perceiveBondOrders(['C', 'O', 'H', 'H'], [[0, 1], [0, 2], [0, 3]]), [2, 1, 1]);
  assert.deepEqual(perceiveBondOrders(['C', 'C', 'N', 'H', 'H', 'H'], [[0, 1], [1, 2], [0, 3], [0, 4], [0, 5]]), [1, 3, 1, 1, 1]);
  const ring: Array<[number, number]> = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [0, 5]];
  const benzene = perceiveBondOrders(['C', 'C', 'C', 'C', 'C', 'C', 'H', 'H', 'H', 'H', 'H', 'H'], [...ring, ...ring.map((_, k) => [k, 6 + k] as [number, number])]);
  assert.ok(benzene);
  assert.deepEqual(benzene.slice(0, 6).sort(), [1, 1, 1, 2, 2, 2]);
  for (let a = 0; a < 6; a++) {
    // Every ring carbon has exactly one double bond.
    const doubles: number = ring.filter(([i, j], k) => (i === a || j === a) && benzene[k] === 2).length;
    assert.equal(doubles, 1);
  }
  assert.equal(perceiveBondOrders(['N', 'H', 'H', 'H', 'H'], [[0, 1], [0, 2], [0, 3], [0, 4]]), undefined); // NH4+
  assert.equal(perceiveBondOrders(['C', 'H', 'H', 'H'], [[0, 1], [0, 2], [0, 3]]), undefined); // CH3 radical
});
