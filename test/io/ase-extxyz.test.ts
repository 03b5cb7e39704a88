/**
 * ASE reads every extended XYZ atomgp writes: `ase.io.read(file, ':')` gives back the energies,
 * forces, per-atom arrays and info values atomgp's own reader sees, number for number. Writers:
 * `formatMdFrame` (md trajectory, failure frames, opt path and optimized geometry), the labelled
 * sets of sampling and the pipeline (`writeLabelledExtxyz`: frames, train, valid) and `writeXyz`
 * (molecule.xyz, robustness starts, periodic frames). Needs python3-ase (skipped without it,
 * unless CI=true).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { formatMdFrame } from '../../src/dynamics/reporters.js';
import { type Frame, readXyz, writeXyz } from '../../src/io/xyz.js';
import { writeLabelledExtxyz } from '../../src/sampling/export.js';
import { runCli } from '../helpers/cli.js';
import { skipWithoutAse, startAse } from '../helpers/external.js';

const noAse = skipWithoutAse();
const root = mkdtempSync(join(tmpdir(), 'atomgp-ase-extxyz-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface AseFrame {
  symbols: string[];
  info: Record<string, unknown>;
  arrays: Record<string, number[] | number[][] | string[]>;
  calc?: Record<string, number | number[] | number[][]>;
  cell: number[];
  pbc: boolean[];
}

/**
 * Per-atom arrays ASE 3.22 hands to its SinglePointCalculator (when the frame has results) instead
 * of `atoms.arrays`; without results it keeps charges and magmoms as `initial_charges`/`initial_magmoms`.
 */
const ASE_CALC_ARRAYS = new Set(['forces', 'charges', 'magmoms', 'energies', 'stresses']);

/** ASE's reading of `file` equals atomgp's: symbols, positions, energy, forces, every array and info value. */
async function assertAseReadsLikeAtomgp(file: string): Promise<number> {
  const out = `${file}.ase.json`;
  const r = await startAse(['dump', file, out]).done;
  assert.equal(r.code, 0, `ASE cannot read ${file}: ${r.err}`);
  const ase = (JSON.parse(readFileSync(out, 'utf8')) as { frames: AseFrame[] }).frames;
  const mine: Frame[] = readXyz(file);
  assert.equal(ase.length, mine.length, `${file}: frame count`);
  for (const [k, m] of mine.entries()) {
    const a = ase[k]!;
    const where = `${file} frame ${k}`;
    assert.deepEqual(a.symbols, m.symbols, where);
    assert.deepEqual((a.arrays.positions as number[][]).flat(), Array.from(m.positionsA), `${where}: positions`);
    for (const [key, value] of Object.entries(m.info)) {
      if (key === 'energy') assert.equal(a.calc?.energy, value, `${where}: energy`);
      else if (Array.isArray(value) || ArrayBuffer.isView(value)) assert.deepEqual(a.info[key], Array.from(value as ArrayLike<number>), `${where}: info ${key}`);
      else assert.equal(a.info[key], value, `${where}: info ${key}`);
    }
    for (const [key, value] of Object.entries(m.arrays)) {
      const theirs = (ASE_CALC_ARRAYS.has(key) ? a.calc?.[key] : undefined) ?? a.arrays[key] ?? a.arrays[`initial_${key}`];
      assert.ok(theirs !== undefined, `${where}: ASE lost the per-atom array '${key}'`);
      assert.deepEqual((theirs as unknown[]).flat(), Array.from(value as ArrayLike<number | string>), `${where}: array ${key}`);
    }
    assert.deepEqual(a.cell, m.lattice ? Array.from(m.lattice) : new Array(9).fill(0), `${where}: cell`);
    assert.deepEqual(a.pbc, m.pbc ?? (m.lattice ? [true, true, true] : [false, false, false]), `${where}: pbc`);
  }
  return mine.length;
}

test('ASE reads atomgp md trajectories and opt paths (formatMdFrame) with energies, forces, velocities and atomic energies intact', { skip: noAse }, async () => {
  const md = runCli(['md', '--models', 'examples/water-morse', '--start', 'examples/water-morse/water.xyz', '--out', join(root, 'md'), '--steps', '40', '--traj-stride', '5', '--equilibrate-ps', '0.01']);
  assert.ok(md.code === 0 || md.code === 1, md.err);
  assert.equal(await assertAseReadsLikeAtomgp(join(root, 'md', 'trajectory.extxyz')), 9);
  const opt = runCli(['opt', '--models', 'examples/water-morse', '--start', 'examples/water-morse/water.xyz', '--out', join(root, 'opt')]);
  assert.equal(opt.code, 0, opt.err);
  assert.ok((await assertAseReadsLikeAtomgp(join(root, 'opt', 'path.extxyz'))) >= 1);
  assert.equal(await assertAseReadsLikeAtomgp(join(root, 'opt', 'optimized.xyz')), 1);
  // A frame with a label and exponents (failure frames use the same writer).
  const file = join(root, 'frame.extxyz');
  const x = Float64Array.from([1e-20, -2.5e-7, 3, 4, 5, 6, -7, 8, 9.000000000000002]);
  writeFileSync(
    file,
    formatMdFrame(
      ['O', 'H', 'H'],
      { step: 7, timeFs: 3.5, epotKcalPerMol: -1.25e-9, positionsA: x, forcesKcalPerMolPerA: x.map((v) => -v), velocitiesAPerFs: x.map((v) => v / 3), atomicEnergiesKcalPerMol: Float64Array.from([1, 2, 3]) },
      { temperatureK: 301.5, conservedKcalPerMol: 12, label: 'hole below "E_min"' },
    ),
  );
  assert.equal(await assertAseReadsLikeAtomgp(file), 1);
});

test('ASE reads atomgp labelled sets (sampling frames, training and validation sets) and writeXyz frames, periodic ones included', { skip: noAse }, async () => {
  const sets = join(root, 'train.extxyz');
  const frames = [0, 1, 2].map((k) => ({
    positionsA: Float64Array.from([0, 0, 0.1 * k, 0, 0.76, -0.47, 0, -0.76, -0.47 + 1e-3 * k]),
    energyHa: -76.4 + 1e-3 * k,
    forcesHaPerBohr: Float64Array.from({ length: 9 }, (_, j) => Math.sin(j + k) * 1e-2),
    atomicEnergiesHa: Float64Array.from([-75.1, -0.65 + k * 1e-9, -0.65]),
    cvValues: k === 0 ? Float64Array.from([1.8]) : Float64Array.from([1.8, 0.96 + k * 1e-3]),
    biasKcalPerMol: 0.25 * k,
    step: 100 * k,
    timeFs: 50 * k,
  }));
  writeLabelledExtxyz(sets, ['O', 'H', 'H'], frames, { reference: 'i-PI client at unix socket /tmp/ipi_x', selection: 'farthest' });
  assert.equal(await assertAseReadsLikeAtomgp(sets), 3);
  const periodic = join(root, 'box.extxyz');
  writeXyz(periodic, [
    { symbols: ['O', 'H', 'H'], positionsA: frames[0]!.positionsA, info: { name: 'water in a box', energy_Ha: -76.4 }, arrays: { charges: Float64Array.from([-0.8, 0.4, 0.4]) }, comment: '', lattice: Float64Array.from([10, 0, 0, 0, 11, 0, 0, 0, 12]) },
    { symbols: ['O', 'H', 'H'], positionsA: frames[1]!.positionsA, info: { name: 'molecule' }, arrays: {}, comment: '' },
  ]);
  assert.equal(await assertAseReadsLikeAtomgp(periodic), 2);
});
