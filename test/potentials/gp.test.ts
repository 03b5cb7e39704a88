import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOHR_PER_ANGSTROM } from '../../src/chem/units.js';
import { syntheticMolecule, type SyntheticKernel } from '../../src/gp/model/synthetic.js';
import { GpPotential, moleculeCopies } from '../../src/potentials/gp.js';
import { createResult } from '../../src/potentials/potential.js';

function potentialFor(kernel: SyntheticKernel, nAtoms: number, copies = 1) {
  const mol = syntheticMolecule({ nAtoms, nTrain: 25, seed: 5, kernel, mean: 'quadratic', displacementA: 0.2 });
  const pot = new GpPotential(
    { systemName: 'SYN', models: mol.models, symbols: mol.symbols, periodicPrefactors: mol.models.map(() => 4) },
    copies,
  );
  return { mol, pot };
}

test('GP forces equal minus the central finite-difference gradient (all kernels)', () => {
  for (const kernel of ['rbf', 'rbf-cyclic', 'rbf*periodic', 'rbf+periodic'] as SyntheticKernel[]) {
    const { mol, pot } = potentialFor(kernel, 6);
    const x = mol.positionsA.map((v, i) => v + 0.05 * Math.sin(7 * i));
    const out = createResult(pot.nAtoms);
    pot.compute(x, out);
    const F = Float64Array.from(out.forcesHaPerBohr);
    // Central differences with one Richardson step (error O(h⁴)), h = 2e-4 Å.
    const hA = 2e-4;
    const energyAt = (i: number, delta: number) => {
      const p = Float64Array.from(x);
      p[i] = x[i]! + delta;
      pot.compute(p, out, false);
      return out.energyHa;
    };
    let maxErr = 0;
    let maxF = 0;
    for (let i = 0; i < x.length; i++) {
      const d1 = (energyAt(i, hA) - energyAt(i, -hA)) / (2 * hA * BOHR_PER_ANGSTROM);
      const d2 = (energyAt(i, hA / 2) - energyAt(i, -hA / 2)) / (hA * BOHR_PER_ANGSTROM);
      const fd = -(4 * d2 - d1) / 3; // Ha/bohr
      maxErr = Math.max(maxErr, Math.abs(fd - F[i]!));
      maxF = Math.max(maxF, Math.abs(F[i]!));
    }
    process.stderr.write(`# ${kernel}: max |F − F_FD| = ${maxErr.toExponential(2)}, max |F| = ${maxF.toExponential(2)} Ha/bohr\n`);
    assert.ok(maxF > 1e-4, `${kernel}: forces are not trivially zero (max ${maxF})`);
    assert.ok(maxErr < 1e-8, `${kernel}: max |F − F_FD| = ${maxErr} Ha/bohr`);
  }
});

test('net force and net torque vanish', () => {
  const { mol, pot } = potentialFor('rbf-cyclic', 7);
  const out = createResult(pot.nAtoms);
  pot.compute(mol.positionsA, out);
  const F = out.forcesHaPerBohr;
  const r = mol.positionsA;
  const net = [0, 0, 0];
  const torque = [0, 0, 0];
  for (let i = 0; i < pot.nAtoms; i++) {
    const [x, y, z] = [r[3 * i]!, r[3 * i + 1]!, r[3 * i + 2]!];
    const [fx, fy, fz] = [F[3 * i]!, F[3 * i + 1]!, F[3 * i + 2]!];
    net[0] += fx;
    net[1] += fy;
    net[2] += fz;
    torque[0] += y * fz - z * fy;
    torque[1] += z * fx - x * fz;
    torque[2] += x * fy - y * fx;
  }
  for (const c of [...net, ...torque]) assert.ok(Math.abs(c) < 1e-11, `net force/torque component ${c}`);
});

test('a box of copies gives the sum of independent molecules', () => {
  const { mol, pot } = potentialFor('rbf-cyclic', 3, 1);
  const { pot: box } = potentialFor('rbf-cyclic', 3, 4);
  const one = createResult(3);
  const all = createResult(12);
  const pos = new Float64Array(36);
  let sum = 0;
  for (let m = 0; m < 4; m++) {
    const shifted = mol.positionsA.map((v, i) => v + 10 * m + 0.03 * Math.sin(m + i));
    pot.compute(shifted, one);
    sum += one.energyHa;
    pos.set(shifted, 9 * m);
  }
  box.compute(pos, all);
  assert.ok(Math.abs(all.energyHa - sum) < 1e-12);
});

test('system atoms are matched to models with clear errors', () => {
  assert.equal(moleculeCopies(['O', 'H', 'H'], ['O', 'H', 'H', 'O', 'H', 'H']), 2);
  assert.throws(() => moleculeCopies(['O', 'H', 'H'], ['O', 'H']), /has 2 atoms.*3-atom molecule/);
  assert.throws(() => moleculeCopies(['O', 'H', 'H'], ['O', 'H', 'H', 'H', 'O', 'H']), /atom 4 is H, but the models expect O/);
  const { pot } = potentialFor('rbf', 3);
  const out = createResult(3);
  assert.throws(() => pot.compute(Float64Array.from([0, 0, 0, 1, 0, 0, NaN, 1, 0]), out), /atom 3 is not finite/);
});
