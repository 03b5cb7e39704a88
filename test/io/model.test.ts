import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatModel, parseModel, readModel, writeModel } from '../../src/io/model.js';
import { formatNumber, parseInteger, parseReal } from '../../src/util/numbers.js';
import { AtomgpError } from '../../src/errors.js';
import type { GpModel } from '../../src/gp/model/model.js';
import { sharedData } from '../helpers/data.js';

// ---- numbers ---------------------------------------------------------------------------------

test('Fortran and JS number spellings parse to the exact double', () => {
  assert.equal(parseReal('.4189E-01'), 0.04189);
  assert.equal(parseReal('-.5D+00'), -0.5);
  assert.equal(parseReal('1.0d-3'), 0.001);
  assert.equal(parseReal('1.0D3'), 1000);
  assert.equal(parseReal('.1000000000000000E-09'), 1e-10);
  assert.equal(parseReal('.1843899491873891E-26'), 1.843899491873891e-27);
  assert.equal(parseReal('.1234-100'), 0.1234e-100); // Fortran drops the E for 3-digit exponents
  assert.equal(parseReal('+2.'), 2);
  assert.equal(parseReal('-54.957345922642006'), -54.957345922642006);
  assert.equal(parseReal('3e5'), 300000);
  assert.ok(Object.is(parseReal('-0'), -0));
});

test('non-numbers, NaN and infinities are rejected', () => {
  for (const bad of ['', 'NaN', 'nan', 'inf', 'Infinity', '-Infinity', '0x10', '1e400', '1.2.3', 'abc', '1e', '.', '-', '1,5', '1 2', 'e5', '1-10']) {
    assert.equal(parseReal(bad), undefined, `'${bad}' must be rejected`);
  }
  assert.equal(parseInteger('12'), 12);
  assert.equal(parseInteger('-3'), -3);
  for (const bad of ['1.0', '1e3', '', 'x', '99999999999999999999']) assert.equal(parseInteger(bad), undefined);
});

test('formatNumber reads back bit-identical, −0 included', () => {
  const xs = [0.1 + 0.2, -0, 5e-324, 1.7976931348623157e308, 1e-10, -54.957345922642006, 2 ** -1074 * 3, 123456789.12345678, 1 / 3];
  for (const x of xs) assert.ok(Object.is(parseReal(formatNumber(x)), x), `${x}`);
  assert.equal(formatNumber(-0), '-0');
  assert.throws(() => formatNumber(Number.NaN), RangeError);
});

// ---- a small synthetic model ----------------------------------------------------------------

/** A 3-atom model (3 features) with 2 training points; lines numbered as the array index + 1. */
function tinyLines(): string[] {
  return [
    '# [metadata]', //                            1
    '# program test', //                          2
    '# nugget 1D-10', //                          3
    '', //                                        4
    '[system]', //                                5
    'name WATER', //                              6
    'atom O1', //                                 7
    'property iqa', //                            8
    'ALF 1 2 3', //                               9
    '', //                                        10
    '[dimensions]', //                            11
    'number_of_atoms 3', //                       12
    'number_of_features 3', //                    13
    'number_of_training_points 2', //             14
    '', //                                        15
    '[mean]', //                                  16
    'type constant', //                           17
    'value -.7531066127914140D+02', //            18
    '', //                                        19
    '[kernels]', //                               20
    'number_of_kernels 2', //                     21
    'composition k1 * k2', //                     22
    '', //                                        23
    '[kernel.k1]', //                             24
    'type rbf', //                                25
    'number_of_dimensions 2', //                  26
    'active_dimensions 1 2', //                   27
    'theta .12E+01 1.6462845', //                 28
    '', //                                        29
    '[kernel.k2]', //                             30
    'type rbf-cylic', //                          31
    'number_of_dimensions 1', //                  32
    'active_dimensions 3', //                     33
    'thetas 0.45', //                             34
    'lengthscale_note kept', //                   35
    '', //                                        36
    '[training_data]', //                         37
    'units.x bohr bohr radians', //               38
    'units.y Ha', //                              39
    'scaling.x none', //                          40
    '', //                                        41
    '[notes]', //                                 42
    'anything  goes here', //                     43
    '', //                                        44
    '[training_data.x]', //                       45
    '1.84 1.85 1.78', //                          46
    '1.88 1.90 1.56', //                          47
    '', //                                        48
    '[training_data.y]', //                       49
    '-75.456', //                                 50
    '-75.451', //                                 51
    '', //                                        52
    '[weights]', //                               53
    '17432.67038253311', //                       54
    '-.6007127501663607E+05', //                  55
  ];
}
const tiny = (): string => tinyLines().join('\n') + '\n';

function edited(edit: (lines: string[]) => void): string {
  const lines = tinyLines();
  edit(lines);
  return lines.join('\n') + '\n';
}

function sameModel(a: GpModel, b: GpModel): void {
  const bytes = (x: Float64Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const plain = (m: GpModel) => {
    const { trainX, trainY, weights, mean, source: _source, ...rest } = m;
    const meanPlain =
      mean.type === 'linear' || mean.type === 'quadratic'
        ? { ...mean, beta: bytes(mean.beta).toString('hex'), xMin: bytes(mean.xMin).toString('hex') }
        : mean;
    return { ...rest, mean: meanPlain, x: bytes(trainX).toString('hex'), y: bytes(trainY).toString('hex'), w: bytes(weights).toString('hex') };
  };
  assert.deepStrictEqual(plain(a), plain(b));
}

test('the synthetic model parses every section and key', () => {
  const m = parseModel(tiny(), 'tiny.model');
  assert.deepEqual(m.metadata, ['[metadata]', 'program test', 'nugget 1D-10']);
  assert.equal(m.systemName, 'WATER');
  assert.equal(m.atom, 'O1');
  assert.equal(m.property, 'iqa');
  assert.deepEqual(m.alf, [1, 2, 3]);
  assert.equal(m.nAtoms, 3);
  assert.equal(m.nFeatures, 3);
  assert.equal(m.nTrain, 2);
  assert.deepEqual(m.mean, { type: 'constant', value: -75.3106612791414 });
  assert.equal(m.compositionText, 'k1*k2');
  assert.deepEqual(m.composition, { op: '*', left: { op: 'kernel', name: 'k1' }, right: { op: 'kernel', name: 'k2' } });
  assert.deepEqual(m.kernels[0], { name: 'k1', type: 'rbf', activeDims: [1, 2], theta: [1.2, 1.6462845], extra: [] });
  // FEREBUS 7.0's `rbf-cylic` typo and ichor's `thetas` are read as rbf-cyclic / theta
  assert.deepEqual(m.kernels[1], { name: 'k2', type: 'rbf-cyclic', activeDims: [3], theta: [0.45], extra: [['lengthscale_note', 'kept']] });
  assert.deepEqual(m.trainingDataInfo, [
    ['units.x', 'bohr bohr radians'],
    ['units.y', 'Ha'],
    ['scaling.x', 'none'],
  ]);
  assert.deepEqual(m.extraSections, [{ name: 'notes', lines: ['anything  goes here'] }]);
  assert.deepEqual([...m.trainX], [1.84, 1.85, 1.78, 1.88, 1.9, 1.56]);
  assert.deepEqual([...m.trainY], [-75.456, -75.451]);
  assert.deepEqual([...m.weights], [17432.67038253311, -60071.27501663607]);
  assert.equal(m.source, 'tiny.model');
});

test('the synthetic model survives format → parse exactly, in FFLUX layout', () => {
  const m = parseModel(tiny(), 'tiny.model');
  const text = formatModel(m);
  sameModel(parseModel(text, 'again'), m);
  const lines = text.split('\n');
  assert.equal(lines[0], '# [metadata]');
  // ichor reads `composition` with split()[-1] and kernel keys by position
  assert.ok(lines.includes('composition k1*k2'));
  const k2 = lines.indexOf('[kernel.k2]');
  assert.deepEqual(lines.slice(k2, k2 + 6), ['[kernel.k2]', 'type rbf-cyclic', 'number_of_dimensions 1', 'active_dimensions 3', 'theta 0.45', 'lengthscale_note kept']);
  // data blocks end with a blank line, the file with a blank line like FEREBUS's
  assert.ok(text.endsWith('\n-60071.27501663607\n\n'));
  const order = ['[system]', '[dimensions]', '[mean]', '[kernels]', '[kernel.k1]', '[kernel.k2]', '[notes]', '[training_data]', '[training_data.x]', '[training_data.y]', '[weights]'];
  assert.deepEqual(
    lines.filter((l) => l.startsWith('[')),
    order,
  );
});

test('linear and quadratic means round-trip', () => {
  for (const type of ['linear', 'quadratic']) {
    const text = edited((l) => l.splice(16, 2, `type ${type}`, 'beta 0.1 -2D-1 .3', 'x_min 1.8 1.9 1.7', 'y_min -75.46'));
    const m = parseModel(text, 'm');
    assert.equal(m.mean.type, type);
    if (m.mean.type !== 'linear' && m.mean.type !== 'quadratic') throw new Error('unreachable');
    assert.deepEqual([...m.mean.beta], [0.1, -0.2, 0.3]);
    assert.deepEqual([...m.mean.xMin], [1.8, 1.9, 1.7]);
    assert.equal(m.mean.yMin, -75.46);
    sameModel(parseModel(formatModel(m), 'again'), m);
  }
  const zero = parseModel(edited((l) => l.splice(16, 2, 'type zero')), 'z');
  assert.deepEqual(zero.mean, { type: 'zero' });
});

test('writeModel writes atomically and reads back the same model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-model-'));
  try {
    const m = parseModel(tiny(), 'tiny.model');
    const path = join(dir, 'WATER_iqa_O1.model');
    writeModel(path, m);
    writeModel(path, m); // over an existing file
    sameModel(readModel(path), m);
    assert.deepEqual(readdirSync(dir), ['WATER_iqa_O1.model']); // no temporary left behind
    assert.throws(() => writeModel(join(dir, 'no', 'such', 'dir.model'), m), /cannot write model file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- malformed input -------------------------------------------------------------------------

const broken: Array<[string, (l: string[]) => void, RegExp]> = [
  ['truncated weights', (l) => l.splice(54), /^bad\.model:54: \[weights\] ends after 1 of 2 rows \(number_of_training_points 2\); the file looks truncated/],
  ['missing [weights]', (l) => l.splice(52), /^bad\.model:52: file ends without section \[weights\]/],
  ['missing [mean]', (l) => l.splice(15, 4), /^bad\.model:\d+: file ends without section \[mean\]/],
  ['too many rows', (l) => l.splice(47, 0, '1 2 3'), /^bad\.model:48: \[training_data\.x\] has more than 2 rows/],
  ['short row', (l) => (l[46] = '1.88 1.90'), /^bad\.model:47: \[training_data\.x\] row 2 has 2 values, expected 3 \(number_of_features 3\)/],
  ['garbage number', (l) => (l[49] = '-75.4x56'), /^bad\.model:50: \[training_data\.y\] row 1, column 1: '-75\.4x56' is not a finite number/],
  ['NaN weight', (l) => (l[53] = 'NaN'), /^bad\.model:54: .*'NaN' is not a finite number/],
  ['infinite theta', (l) => (l[27] = 'theta inf 1'), /^bad\.model:28: 'theta' value 1: 'inf' is not a finite number/],
  ['negative theta', (l) => (l[27] = 'theta -1 1'), /^bad\.model:28: theta -1 is negative/],
  ['theta count', (l) => (l[27] = 'theta 1 2 3'), /^bad\.model:28: 'theta' has 3 values, expected 2/],
  ['active dims count', (l) => (l[26] = 'active_dimensions 1 2 3'), /^bad\.model:27: active_dimensions has 3 entries, expected 2 \(number_of_dimensions\)/],
  ['active dim range', (l) => (l[26] = 'active_dimensions 1 4'), /^bad\.model:27: active dimension 4 is outside 1\.\.3/],
  ['kernel count', (l) => (l[20] = 'number_of_kernels 3'), /^bad\.model:\d+: number_of_kernels is 3 \(line 21\) but the file has 2 \[kernel\.\*\] sections/],
  ['undefined kernel', (l) => (l[21] = 'composition k1*k3'), /^bad\.model:22: composition 'k1\*k3' uses kernel 'k3', but there is no \[kernel\.k3\] section/],
  ['dangling operator', (l) => (l[21] = 'composition k1*'), /^bad\.model:22: kernel composition 'k1\*': expected a kernel name or '\(', found end of expression/],
  ['ALF range', (l) => (l[8] = 'ALF 1 2 4'), /^bad\.model:9: ALF atom 4 is outside 1\.\.3/],
  ['ALF repeated', (l) => (l[8] = 'ALF 1 2 2'), /^bad\.model:9: ALF atoms 1 2 2 are not distinct/],
  ['ALF length', (l) => (l[8] = 'ALF 1 2'), /^bad\.model:9: ALF has 2 atoms, expected 3/],
  ['features vs atoms', (l) => (l[11] = 'number_of_atoms 4'), /^bad\.model:13: number_of_features 3 does not match number_of_atoms 4 \(expected 6 = 3N−6\)/],
  ['non-integer count', (l) => (l[13] = 'number_of_training_points 2.5'), /^bad\.model:14: 'number_of_training_points' expects one integer, found '2\.5'/],
  ['unknown mean', (l) => (l[16] = 'type cubic'), /^bad\.model:17: unknown mean type 'cubic'/],
  ['unknown kernel type', (l) => (l[24] = 'type matern'), /^bad\.model:25: unsupported kernel type 'matern'/],
  ['misspelt key', (l) => (l[12] = 'number_of_feature 3'), /^bad\.model:13: unexpected key 'number_of_feature' in \[dimensions\]/],
  ['duplicate section', (l) => l.splice(15, 0, '[system]'), /^bad\.model:16: section \[system\] appears twice \(first at line 5\)/],
  ['duplicate key', (l) => l.splice(7, 0, 'atom H2'), /^bad\.model:8: key 'atom' appears twice in \[system\] \(first at line 7\)/],
  ['text before any section', (l) => (l[3] = 'hello'), /^bad\.model:4: 'hello' is outside any section/],
  ['missing key', (l) => l.splice(7, 1), /^bad\.model:5: \[system\] \(line 5\) has no 'property' line/],
];

for (const [name, edit, expected] of broken) {
  test(`malformed model (${name}) gives a located AtomgpError`, () => {
    assert.throws(
      () => parseModel(edited(edit), 'bad.model'),
      (e: unknown) => e instanceof AtomgpError && expected.test(e.message),
    );
  });
}

test('diatomic models have one feature and a two-atom ALF', () => {
  const text = edited((l) => {
    l[8] = 'ALF 1 2';
    l[11] = 'number_of_atoms 2';
    l[12] = 'number_of_features 1';
    l[20] = 'number_of_kernels 1';
    l[21] = 'composition k1';
    l[25] = 'number_of_dimensions 1';
    l[26] = 'active_dimensions 1';
    l[27] = 'theta 1.2';
    l.splice(29, 7);
    l[30] = 'units.x bohr';
  });
  const m = parseModel(text.replace('1.84 1.85 1.78', '1.84').replace('1.88 1.90 1.56', '1.88'), 'hf.model');
  assert.equal(m.nFeatures, 1);
  assert.deepEqual(m.alf, [1, 2]);
});

// ---- the shared reference models ------------------------------------------------------------

const dataDir = sharedData('.');
const expectedCounts: Array<[string, number, number, number, string, string[]]> = [
  // path, atoms, features, training points, composition, kernel types
  ['ammonia/models/AMMONIA_iqa_N1.model', 4, 6, 500, '(k1*k2)', ['rbf', 'periodic']],
  ['ammonia/models/AMMONIA_iqa_H2.model', 4, 6, 500, '(k1*k2)', ['rbf', 'periodic']],
  ['ammonia/models/AMMONIA_iqa_H3.model', 4, 6, 500, '(k1*k2)', ['rbf', 'periodic']],
  ['ammonia/models/AMMONIA_iqa_H4.model', 4, 6, 500, '(k1*k2)', ['rbf', 'periodic']],
  ...(['marginal', 'concentrated'] as const).flatMap((kind): Array<[string, number, number, number, string, string[]]> => [
    [`ferebus-benchmark/water/${kind}/WATER_iqa_O1.model`, 3, 3, 59, 'k1', ['rbf']],
    [`ferebus-benchmark/ammonia/${kind}/AMMONIA_iqa_N1.model`, 4, 6, 421, 'k1', ['rbf']],
    [`ferebus-benchmark/methanol/${kind}/METHANOL_iqa_C1.model`, 6, 12, 636, 'k1', ['rbf']],
    [`ferebus-benchmark/glycine/${kind}/GLYCINE_iqa_C1.model`, 19, 51, 2130, 'k1', ['rbf']],
  ]),
];

test('every shared model file parses with the right counts and round-trips bit-identically', { skip: !dataDir }, () => {
  for (const [rel, nAtoms, nFeatures, nTrain, comp, types] of expectedCounts) {
    const path = join(dataDir!, rel);
    const m = readModel(path);
    assert.equal(m.nAtoms, nAtoms, rel);
    assert.equal(m.nFeatures, nFeatures, rel);
    assert.equal(m.nTrain, nTrain, rel);
    assert.equal(m.trainX.length, nTrain * nFeatures, rel);
    assert.equal(m.compositionText, comp, rel);
    assert.deepEqual(
      m.kernels.map((k) => k.type),
      types,
      rel,
    );
    assert.equal(m.mean.type, 'constant', rel);
    assert.equal(m.property, 'iqa', rel);
    assert.equal(m.source, path);
    sameModel(parseModel(formatModel(m), rel), m);
  }
});

test('reference values are read exactly (ammonia N1, FEREBUS water Fortran numbers)', { skip: !dataDir }, () => {
  const n1 = readModel(join(dataDir!, 'ammonia/models/AMMONIA_iqa_N1.model'));
  assert.deepEqual(n1.metadata, ['metadata', 'program gpytorch', 'noise 4.871637964590164e-08']);
  assert.deepEqual(n1.mean, { type: 'constant', value: -54.957345922642006 });
  assert.deepEqual(n1.kernels[1]!.theta, [0.07607371392544794]);
  assert.deepEqual(n1.kernels[1]!.activeDims, [6]);
  assert.equal(n1.trainX[0], 1.9315016386587285);
  assert.equal(n1.trainX[5], -2.337699127989348);
  assert.equal(n1.trainY[0], -54.958475354);
  assert.equal(n1.weights[0], 1.9000182614750174);
  assert.equal(n1.weights[499], 2.8827451162083784);
  const water = readModel(join(dataDir!, 'ferebus-benchmark/water/marginal/WATER_iqa_O1.model'));
  assert.deepEqual(water.kernels[0]!.theta, [0.1605573071857844, 0.4397382828158453, 0.1919100381533123]);
  assert.equal(water.metadata[3], 'nugget .1000000000000000E-09');
  assert.equal(water.trainY[0], -75.45618852600001);
});

test('a truncated real file names the line where it stops', { skip: !dataDir }, () => {
  const path = join(dataDir!, 'ammonia/models/AMMONIA_iqa_N1.model');
  const lines = readFileSync(path, 'utf8').split('\n');
  // cut inside [training_data.y] (header at line 543): 100 targets survive
  const cut = lines.slice(0, 643).join('\n') + '\n';
  assert.throws(
    () => parseModel(cut, 'cut.model'),
    /^AtomgpError: cut\.model:643: \[training_data\.y\] ends after 100 of 500 rows/,
  );
  // cut in the middle of row 260 (line 301), no final newline
  const partial = lines.slice(0, 300).join('\n') + '\n' + lines[300]!.slice(0, 20);
  assert.throws(() => parseModel(partial, 'cut.model'), /cut\.model:301: \[training_data\.x\] ends after 260 of 500 rows/);
  // the same half row inside a complete block is caught by its column count
  const halfRow = [...lines.slice(0, 300), lines[300]!.slice(0, 20), ...lines.slice(301)].join('\n');
  assert.throws(() => parseModel(halfRow, 'cut.model'), /cut\.model:301: \[training_data\.x\] row 260 has 2 values, expected 6/);
});
