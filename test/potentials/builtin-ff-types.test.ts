import assert from 'node:assert/strict';
import { test } from 'node:test';
import { perceiveBondOrdersFromBonds } from '../../src/potentials/builtin-ff-types.js';

test('bond orders from connectivity: benzene is aromatic, acetylene triple, CO2 two doubles', () => {
  const ring = [0, 1, 2, 3, 4, 5].map((a) => [a, (a + 1) % 6] as [number, number]);
  const ch = [0, 1, 2, 3, 4, 5].map((a) => [a, a + 6] as [number, number]);
  assert.deepEqual(perceiveBondOrdersFromBonds([...Array(6).fill('C'), ...Array(6).fill('H')], [...ring, ...ch]), [...Array(6).fill(1.5), ...Array(6).fill(1)]);
  assert.deepEqual(perceiveBondOrdersFromBonds(['H', 'C', 'C', 'H'], [[0, 1], [1, 2], [2, 3]]), [1, 3, 1]);
  assert.deepEqual(perceiveBondOrdersFromBonds(['O', 'C', 'O'], [[0, 1], [1, 2]]), [2, 2]);
});
