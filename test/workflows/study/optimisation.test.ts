import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { presetMolecule } from '../../../src/chem/presets.js';
import { writeXyz } from '../../../src/io/xyz.js';
import { BuiltinForceField, builtinForceFieldSpec } from '../../../src/potentials/builtin-ff.js';
import { optimisationStage } from '../../../src/workflows/study/optimisation.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-opt-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('conformer optimisation: the same surface as model and reference gives RMSD 0 and equal ΔE; C7eq and C5 starts keep their basins', () => {
  const m = presetMolecule('alanine-dipeptide');
  const bonds = m.bonds.map(([a, b]) => [a, b] as [number, number]);
  writeXyz(join(root, 'molecule.xyz'), [{ symbols: [...m.symbols], positionsA: m.positionsA, info: {}, arrays: {}, comment: '' }]);
  const spec = builtinForceFieldSpec([...m.symbols], m.positionsA, bonds, [...m.bondOrders]);
  const ff = new BuiltinForceField(spec);
  const r = optimisationStage(root, m.symbols, bonds, 'self', ff, new BuiltinForceField(spec), 7)!;
  assert.equal(r.entries.length, 4);
  assert.equal(r.optimiser, 'L-BFGS preconditioned by the Lindh model Hessian');
  assert.equal(r.delta_e_model_kcal_per_mol, r.delta_e_reference_kcal_per_mol);
  for (const e of r.entries) {
    assert.ok(e.rmsd_A < 1e-9 && e.rmsd_heavy_A < 1e-9, `${e.start}: RMSD ${e.rmsd_A}, heavy atoms ${e.rmsd_heavy_A}`);
    assert.equal(e.model.steps, e.reference.steps);
    assert.equal(e.model.steps_to_fmax_1, e.reference.steps_to_fmax_1);
    assert.ok(e.model.converged);
  }
  assert.equal(r.entries[0]!.model.energy_kcal_per_mol, 0);
  // the starts' basins: C7eq near φ −83°, C5 near φ −157° (within 40°)
  assert.ok(Math.abs(r.entries[0]!.reference.phi_deg + 83) < 40, `C7eq φ ${r.entries[0]!.reference.phi_deg}`);
  assert.ok(Math.abs(r.entries[1]!.reference.phi_deg + 157) < 40, `C5 φ ${r.entries[1]!.reference.phi_deg}`);
  // perturbed starts are different starts
  assert.notEqual(r.entries[2]!.model.steps, 0);
  assert.equal(optimisationStage(root, ['O', 'H', 'H'], [[0, 1], [0, 2]], 'self', ff, ff, 1), null, 'no backbone: no table');
});
