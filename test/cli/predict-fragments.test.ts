import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const MODELS = 'examples/water-morse';
const WATER = [
  ['O', 0, 0, 0],
  ['H', 0.75695033, 0.58588228, 0],
  ['H', -0.75695033, 0.58588228, 0],
] as const;
const L = 6;

/** Four waters in a 6 Å cubic cell, the second and fourth cut by the cell faces (wrapped). */
function box(): Array<[string, number, number, number]> {
  const atoms: Array<[string, number, number, number]> = [];
  const centres = [
    [1.5, 1.5, 1.5],
    [5.7, 3.0, 0.2],
    [3.0, 4.5, 3.0],
    [0.3, 5.8, 4.5],
  ];
  centres.forEach(([cx, cy, cz], m) => {
    for (const [s, x, y, z] of WATER) {
      const c = Math.cos(m);
      const sn = Math.sin(m);
      const p = [cx! + c * x - sn * y, cy! + sn * x + c * y, cz! + z + 0.01 * m];
      atoms.push([s, ...(p.map((v) => v - L * Math.floor(v / L)) as [number, number, number])]);
    }
  });
  return atoms;
}

function extxyz(atoms: Array<[string, number, number, number]>): string {
  const head = `Lattice="${L} 0 0 0 ${L} 0 0 0 ${L}" Properties=species:S:1:pos:R:3 pbc="T T T"`;
  return `${atoms.length}\n${head}\n${atoms.map((a) => `${a[0]} ${a[1].toFixed(10)} ${a[2].toFixed(10)} ${a[3].toFixed(10)}`).join('\n')}\n`;
}

test('predict: a water box listed in any order gives the ordered result in the file order, with --variance', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-frag-'));
  const atoms = box();
  // O atoms first, then all H (each molecule's H in their original order).
  const perm = [0, 3, 6, 9, 1, 2, 4, 5, 7, 8, 10, 11];
  writeFileSync(join(dir, 'ordered.xyz'), extxyz(atoms));
  writeFileSync(join(dir, 'shuffled.xyz'), extxyz(perm.map((i) => atoms[i]!)));
  const a = runCli(['predict', '--json', '--models', MODELS, join(dir, 'ordered.xyz')]);
  const b = runCli(['predict', '--json', '--variance', '--models', MODELS, join(dir, 'shuffled.xyz')]);
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  const ra = JSON.parse(a.out);
  const rb = JSON.parse(b.out);
  assert.equal(rb.n_molecules, 4);
  assert.ok(Math.abs(ra.energy_Ha - rb.energy_Ha) < 1e-12);
  perm.forEach((old, p) => {
    assert.equal(rb.atom_labels[p], ra.atom_labels[old]);
    assert.ok(Math.abs(rb.atomic_energies_Ha[p] - ra.atomic_energies_Ha[old]) < 1e-13);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(rb.forces_Ha_per_bohr[p][c] - ra.forces_Ha_per_bohr[old][c]) < 1e-12);
  });
  assert.equal(ra.atomic_std_Ha, undefined);
  assert.equal(rb.atomic_std_Ha.length, 12);
  for (const s of rb.atomic_std_Ha) assert.ok(s >= 0 && s < 1e-2, `std ${s} Ha`);
});

test('predict: an unmatched fragment is one clear error line naming its atoms', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-frag-'));
  const atoms = box();
  atoms.push(['H', 3, 3, 0.9]);
  writeFileSync(join(dir, 'extra.xyz'), extxyz(atoms));
  const r = runCli(['predict', '--match', 'bonds', '--models', MODELS, join(dir, 'extra.xyz')]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /extra\.xyz: the bonded fragment of atoms H13 does not match the models' molecule H2O \(1 atom/);
  assert.equal(r.err.trim().split('\n').length, 1);
});
