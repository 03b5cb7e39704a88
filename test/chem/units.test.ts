import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BOHR_PER_ANGSTROM,
  KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR,
  KCAL_PER_MOL_PER_HARTREE,
  KJ_PER_KCAL,
  KJ_PER_MOL_PER_HARTREE,
} from '../../src/chem/units.js';
import { element, indexFromAtomLabel, symbolFromAtomLabel } from '../../src/chem/elements.js';

test('bohr per Å is 1/0.529177210903 (ichor)', () => {
  assert.ok(Math.abs(BOHR_PER_ANGSTROM * 0.529177210903 - 1) < 1e-15);
});

test('Ha/bohr to kcal/mol/Å matches formats.md (1185.8210465871675)', () => {
  assert.ok(Math.abs(KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR / (KCAL_PER_MOL_PER_HARTREE * BOHR_PER_ANGSTROM) - 1) < 1e-9);
});

test('kJ/mol per Ha is 4.184 × kcal/mol per Ha to 1e-9 relative', () => {
  assert.ok(Math.abs(KJ_PER_MOL_PER_HARTREE / (KCAL_PER_MOL_PER_HARTREE * KJ_PER_KCAL) - 1) < 1e-9);
});

test('atom labels map to elements and indices', () => {
  assert.equal(symbolFromAtomLabel('N1'), 'N');
  assert.equal(symbolFromAtomLabel('H12'), 'H');
  assert.equal(symbolFromAtomLabel('Cl3'), 'Cl');
  assert.equal(symbolFromAtomLabel('Xx1'), undefined);
  assert.equal(indexFromAtomLabel('H12'), 12);
  assert.equal(element('O').massAmu, 15.999);
  assert.equal(element(6).symbol, 'C');
  assert.throws(() => element('Qq'), /unknown element 'Qq'/);
});
