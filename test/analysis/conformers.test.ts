import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareConformers } from '../../src/analysis/conformers.js';
import { KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { AtomgpError } from '../../src/errors.js';
import { alanineDipeptide } from './builders.js';

test('C7eq vs C5 alanine dipeptide: energy difference, RMSD and backbone angles', () => {
  const c7 = alanineDipeptide(-83, 73);
  const c5 = alanineDipeptide(-157, 165);
  const cmp = compareConformers({ ...c7, energyHa: -0.5, name: 'C7eq' }, { ...c5, energyHa: -0.5 + 0.7 / KCAL_PER_MOL_PER_HARTREE, name: 'C5' });
  assert.ok(Math.abs(cmp.energyDifferenceKcalPerMol! - 0.7) < 1e-9);
  assert.equal(cmp.backbone.length, 1);
  const b = cmp.backbone[0]!;
  assert.deepEqual(b.residue, [3, 5, 6]);
  assert.ok(Math.abs(b.phiADeg + 83) < 1e-9 && Math.abs(b.psiADeg - 73) < 1e-9);
  assert.ok(Math.abs(b.phiBDeg + 157) < 1e-9 && Math.abs(b.psiBDeg - 165) < 1e-9);
  assert.equal(b.regionA, 'C7eq');
  assert.equal(b.regionB, 'C5');
  assert.ok(cmp.rmsdA > 0.3, `different conformers: RMSD ${cmp.rmsdA}`);
  assert.ok(cmp.rmsdHeavyA !== null && cmp.rmsdHeavyA > 0.3);
  // The same structure moved rigidly: RMSD 0 and no energy without energies.
  const moved = Float64Array.from(c7.positionsA, (v, k) => v + [1, -2, 3][k % 3]!);
  const same = compareConformers(c7, { symbols: c7.symbols, positionsA: moved });
  assert.equal(same.energyDifferenceKcalPerMol, null);
  assert.ok(same.rmsdA < 1e-10 && same.rmsdMassWeightedA < 1e-10 && same.rmsdHeavyA! < 1e-10);
  assert.throws(() => compareConformers(c7, { symbols: ['O', 'H', 'H'], positionsA: new Float64Array(9) }), AtomgpError);
});
