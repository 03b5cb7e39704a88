import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { BOHR_PER_ANGSTROM } from '../../src/chem/units.js';
import { AtomgpError } from '../../src/errors.js';
import { computeFeatures } from '../../src/features/alf.js';
import { readPropertyCsv } from '../../src/io/csv.js';
import { AnalyticPotential, waterLikeSpec } from '../../src/potentials/analytic.js';
import {
  formatGaussianInput,
  parseLabelledExtxyz,
  readLabelledExtxyz,
  writeFerebusCsvSets,
  writeGaussianInputs,
  writeLabelledExtxyz,
} from '../../src/sampling/export.js';
import { selectTrainingSets } from '../../src/sampling/select.js';
import { runWtmetad } from '../../src/sampling/wtmetad.js';

const dir = mkdtempSync(join(tmpdir(), 'atomgp-sampling-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A short WTMetaD run on a flexible water model, biasing the H-O-H angle: 41 labelled frames.
const { spec, minimumA } = waterLikeSpec();
const symbols = ['O', 'H', 'H'];
const run = runWtmetad({
  potential: new AnalyticPotential(spec),
  symbols,
  massesAmu: massesAmu(symbols),
  startPositionsA: minimumA,
  cvs: [{ kind: 'angle', atoms: [1, 0, 2], label: 'HOH' }],
  temperatureK: 300,
  biasFactor: 8,
  hillHeightKcalPerMol: 0.5,
  hillWidths: [0.05],
  strideSteps: 20,
  timestepFs: 0.5,
  steps: 800,
  harvestEvery: 20,
  seed: 7,
});
const frames = run.frames;
const ALFS = [
  [1, 2, 3],
  [2, 1, 3],
  [3, 1, 2],
];

test('the water run harvests 41 frames with finite labels', () => {
  assert.equal(run.completed, true);
  assert.equal(frames.length, 41);
  assert.ok(frames.every((f) => Number.isFinite(f.energyHa) && f.atomicEnergiesHa.length === 3), 'labels finite');
});

test('extxyz round trip keeps positions, energies, forces, atomic energies, CVs and steps bit for bit', () => {
  const path = join(dir, 'frames.extxyz');
  writeLabelledExtxyz(path, symbols, frames, { source: 'wtmetad test' });
  const text = readFileSync(path, 'utf8');
  const head = text.split('\n')[1]!;
  assert.match(head, /Properties=species:S:1:pos:R:3:forces:R:3:atomic_energies:R:1 /);
  assert.match(head, / energy=-?[0-9.e-]+ energy_unit=Ha forces_unit=Ha\/bohr atomic_energies_unit=Ha step=0 time_fs=0 bias_kcal_per_mol=0 cv=/);
  const back = readLabelledExtxyz(path);
  assert.deepEqual(back.symbols, symbols);
  assert.equal(back.frames.length, frames.length);
  back.frames.forEach((b, k) => {
    const f = frames[k]!;
    assert.deepEqual(Array.from(b.positionsA), Array.from(f.positionsA));
    assert.equal(b.energyHa, f.energyHa);
    assert.deepEqual(Array.from(b.forcesHaPerBohr!), Array.from(f.forcesHaPerBohr));
    assert.deepEqual(Array.from(b.atomicEnergiesHa!), Array.from(f.atomicEnergiesHa));
    assert.deepEqual(Array.from(b.cvValues!), Array.from(f.cvValues));
    assert.equal(b.step, f.step);
    assert.equal(b.timeFs, f.timeFs);
    assert.equal(b.biasKcalPerMol, f.biasKcalPerMol);
  });
});

test('extxyz labels in other units are refused with the frame named', () => {
  const text = '3\nenergy=-2.5 energy_unit=eV pbc="F F F"\nO 0 0 0\nH 1 0 0\nH 0 1 0\n';
  assert.throws(
    () => parseLabelledExtxyz(text, 'ase.extxyz'),
    (e: unknown) => e instanceof AtomgpError && /ase\.extxyz: frame 1 has an energy but energy_unit=eV; atomgp reads labels in Ha/.test(e.message),
  );
  const noUnit = '3\nProperties=species:S:1:pos:R:3:forces:R:3 pbc="F F F"\nO 0 0 0 0 0 0\nH 1 0 0 0 0 0\nH 0 1 0 0 0 0\n';
  assert.throws(() => parseLabelledExtxyz(noUnit, 'f.xyz'), /frame 1 has forces but no forces_unit key/);
  const mixed = '3\nx=1\nO 0 0 0\nH 1 0 0\nH 0 1 0\n3\nx=1\nO 0 0 0\nH 1 0 0\nC 0 1 0\n';
  assert.throws(() => parseLabelledExtxyz(mixed, 'm.xyz'), /frame 2 has atoms O H C, frame 1 has O H H/);
});

test('ichor/FEREBUS CSV sets round-trip through readPropertyCsv: ALF features and atomic energies', () => {
  const sel = selectTrainingSets(frames, 25, 10, 'farthest', 2);
  const out = writeFerebusCsvSets(dir, 'WATER', symbols, ALFS, frames, sel.train, sel.valid);
  assert.equal(out.nFeatures, 3);
  assert.deepEqual(
    out.files.map((f) => f.slice(dir.length + 1)),
    ['WATER_O1', 'WATER_H2', 'WATER_H3'].map((s) => `${s}_TRAINING_SET.csv`).concat(['WATER_O1', 'WATER_H2', 'WATER_H3'].map((s) => `${s}_VALIDATION_SET.csv`)),
  );
  const firstLines = readFileSync(out.files[0]!, 'utf8').split('\n');
  assert.equal(firstLines[0], ',f1,f2,f3,iqa');
  assert.match(firstLines[1]!, /^0,/);
  for (const [set, indices] of [
    ['TRAINING', sel.train],
    ['VALIDATION', sel.valid],
  ] as const) {
    for (let a = 0; a < 3; a++) {
      const name = `${symbols[a]}${a + 1}`;
      const csv = readPropertyCsv(join(dir, `WATER_${name}_${set}_SET.csv`), { requireMorePointsThanFeatures: true });
      assert.equal(csv.n, indices.length);
      assert.equal(csv.nFeatures, 3);
      indices.forEach((fi, r) => {
        const posBohr = Float64Array.from(frames[fi]!.positionsA, (v) => v * BOHR_PER_ANGSTROM);
        const feats = computeFeatures(posBohr, ALFS.map((t) => t.map((k) => k - 1)))[a]!;
        assert.deepEqual(Array.from(csv.x.subarray(3 * r, 3 * r + 3)), Array.from(feats));
        assert.equal(csv.y[r], frames[fi]!.atomicEnergiesHa[a]);
      });
    }
  }
  // O1's f1 is an O-H distance in bohr (~1.8), f3 the H-O-H angle in radians (~1.8)
  const o1 = readPropertyCsv(join(dir, 'WATER_O1_TRAINING_SET.csv'));
  assert.ok(o1.x[0]! > 1.5 && o1.x[0]! < 2.2 && o1.x[2]! > 1.5 && o1.x[2]! < 2.1, `O1 features ${o1.x.subarray(0, 3)}`);
});

test('CSV export: bad ALFs, missing atomic energies and bad system names are AtomgpErrors', () => {
  assert.throws(() => writeFerebusCsvSets(dir, 'W', symbols, [[1, 2, 3], [2, 1, 3]], frames, [0]), /2 ALFs for 3 atoms/);
  assert.throws(() => writeFerebusCsvSets(dir, 'W', symbols, [[1, 2, 3], [1, 2, 3], [3, 1, 2]], frames, [0]), /ALF of H2: must start with the atom itself \(2\)/);
  assert.throws(() => writeFerebusCsvSets(dir, 'W', symbols, [[1, 2, 4], [2, 1, 3], [3, 1, 2]], frames, [0]), /ALF of O1: atom 4 is outside 1\.\.3 \(ALF atoms are 1-based\)/);
  const bare = [{ positionsA: frames[0]!.positionsA }];
  assert.throws(() => writeFerebusCsvSets(dir, 'W', symbols, ALFS, bare, [0]), /frame 1 has no atomic energies/);
  assert.throws(() => writeFerebusCsvSets(dir, '../evil', symbols, ALFS, frames, [0]), /system name '..\/evil'/);
});

test('Gaussian inputs: route, charge/multiplicity, Å coordinates, wfn name; one file per frame', () => {
  const x = Float64Array.from([0, 0, 0.1173, 0, 0.7572, -0.4692, 0, -0.7572, -0.4692]);
  const gjf = formatGaussianInput(symbols, x, 'WATER0001', { nproc: 2, memory: '1GB' });
  assert.equal(
    gjf,
    [
      '%nproc=2',
      '%mem=1GB',
      '#p B3LYP/6-31+G(d,p) nosymm output=wfn',
      '',
      'WATER0001',
      '',
      '0 1',
      'O        0.00000000       0.00000000       0.11730000',
      'H        0.00000000       0.75720000      -0.46920000',
      'H        0.00000000      -0.75720000      -0.46920000',
      '',
      'WATER0001.wfn',
      '',
      '',
    ].join('\n'),
  );
  assert.match(formatGaussianInput(symbols, x, 'W', { charge: 1, multiplicity: 2, method: 'M062X', basisSet: 'def2TZVP' }), /#p M062X\/def2TZVP nosymm output=wfn\n\nW\n\n1 2\n/);
  assert.throws(() => formatGaussianInput(symbols, x, 'W', { charge: 1 }), /charge 1 and multiplicity 1 are impossible together for 9 electrons/);
  const paths = writeGaussianInputs(dir, 'WATER', symbols, frames, {}, [3, 7, 9]);
  assert.deepEqual(
    paths.map((p) => p.slice(dir.length + 1)),
    ['WATER0001.gjf', 'WATER0002.gjf', 'WATER0003.gjf'],
  );
  const second = readFileSync(paths[1]!, 'utf8');
  assert.match(second, /\nWATER0002\.wfn\n/);
  const ox = frames[7]!.positionsA[0]!.toFixed(8);
  assert.ok(second.includes(ox), 'frame 8 coordinates (Å) written');
});
