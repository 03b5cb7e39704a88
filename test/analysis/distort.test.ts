import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyDistortion,
  bridgeBonds,
  bondGraph,
  changeBonds,
  distortFromText,
  DISTORTION_GRAMMAR,
  formatDistortion,
  isRingPair,
  parseDistortion,
  selectBonds,
  setBondLength,
} from '../../src/analysis/distort.js';
import { type Bond, findBonds } from '../../src/chem/connectivity.js';
import { angleRad, dihedralRad, distanceA } from '../../src/chem/molecule.js';
import { AtomgpError } from '../../src/errors.js';
import { waterLikeSpec } from '../../src/potentials/analytic.js';
import { ALANINE_DIPEPTIDE_BONDS, alanineDipeptide, benzene } from './builders.js';

const DEG = Math.PI / 180;

function lengths(pos: Float64Array, bonds: readonly Bond[]): number[] {
  return bonds.map(([i, j]) => distanceA(pos, i, j));
}

function allDistances(pos: Float64Array, atoms: readonly number[]): number[] {
  const out: number[] = [];
  for (let a = 0; a < atoms.length; a++) for (let b = a + 1; b < atoms.length; b++) out.push(distanceA(pos, atoms[a]!, atoms[b]!));
  return out;
}

function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (|Δ| = ${Math.abs(actual - expected)}, tol ${tol})`);
}

test('the hand-built alanine dipeptide has the bonds the covalent-radius rule finds', () => {
  const { symbols, positionsA } = alanineDipeptide(-83, 73);
  assert.deepEqual(findBonds(symbols, positionsA), [...ALANINE_DIPEPTIDE_BONDS].sort((p, q) => p[0] - q[0] || p[1] - q[1]));
  assertClose(dihedralRad(positionsA, 1, 3, 5, 6) / DEG, -83, 1e-10, 'φ');
  assertClose(dihedralRad(positionsA, 3, 5, 6, 8) / DEG, 73, 1e-10, 'ψ');
});

test('bridges and ring bonds are told apart (Tarjan) on benzene and alanine dipeptide', () => {
  const bz = benzene();
  const isBridge = bridgeBonds(bondGraph(12, bz.bonds), bz.bonds.length);
  assert.deepEqual(Array.from(isBridge), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  assert.equal(isRingPair(12, bz.bonds, 0, 1), true);
  assert.equal(isRingPair(12, bz.bonds, 0, 6), false);
  const ala = bridgeBonds(bondGraph(22, ALANINE_DIPEPTIDE_BONDS), ALANINE_DIPEPTIDE_BONDS.length);
  assert.ok(ala.every((b) => b === 1), 'an acyclic molecule has only bridges');
});

test('bond:I-J=L sets a bridge exactly and moves the smaller side rigidly', () => {
  const { symbols, positionsA } = alanineDipeptide(-83, 73);
  const before = lengths(positionsA, ALANINE_DIPEPTIDE_BONDS);
  // C'(Ace)–N (atoms 2-4, 1-based): the Ace side (6 atoms) is smaller than the rest (16).
  const out = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, parseDistortion('bond:2-4=1.75'), 1);
  assertClose(distanceA(out, 1, 3), 1.75, 1e-12, 'C′–N');
  const after = lengths(out, ALANINE_DIPEPTIDE_BONDS);
  ALANINE_DIPEPTIDE_BONDS.forEach(([i, j], b) => {
    if (i === 1 && j === 3) return;
    assertClose(after[b]!, before[b]!, 1e-12, `bond ${i + 1}-${j + 1}`);
  });
  // The N side did not move; the Ace side moved rigidly (all its internal distances kept).
  const aceSide = [0, 1, 2, 16, 17, 18];
  for (let a = 0; a < 22; a++) {
    if (aceSide.includes(a)) continue;
    for (let c = 0; c < 3; c++) assert.equal(out[3 * a + c], positionsA[3 * a + c], `atom ${a + 1} must not move`);
  }
  const d0 = allDistances(positionsA, aceSide);
  allDistances(out, aceSide).forEach((d, k) => {
    assertClose(d, d0[k]!, 1e-12, 'Ace internal distance');
  });
  // Stretch by Δ and by a factor.
  const plus = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, parseDistortion('bond:4-5+0.5'), 1);
  assertClose(distanceA(plus, 3, 4), 1.01 + 0.5, 1e-12, 'N–H + 0.5');
  const minus = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, parseDistortion('bond:4-5-0.2'), 1);
  assertClose(distanceA(minus, 3, 4), 1.01 - 0.2, 1e-12, 'N–H − 0.2');
  const times = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, parseDistortion('bond:5-4*1.4'), 1);
  assertClose(distanceA(times, 3, 4), 1.01 * 1.4, 1e-12, 'N–H × 1.4');
  // Only the hydrogen moved.
  for (let a = 0; a < 22; a++) if (a !== 4) assert.equal(times[3 * a], positionsA[3 * a]);
});

test('with several molecules, the smaller side is judged within the molecule; an intermolecular distance moves the smaller molecule', () => {
  const { symbols, positionsA } = alanineDipeptide(-83, 73);
  const { spec, minimumA } = waterLikeSpec();
  // Four waters far away: more atoms outside the bond's molecule than on its larger side.
  const waters = [8, 12, 16, 20].flatMap((x) => Array.from(minimumA, (v, k) => v + (k % 3 === 0 ? x : 0)));
  const allSymbols = [...symbols, ...spec.symbols, ...spec.symbols, ...spec.symbols, ...spec.symbols];
  const all = Float64Array.of(...positionsA, ...waters);
  const bonds: Bond[] = [...ALANINE_DIPEPTIDE_BONDS];
  for (let w = 0; w < 4; w++) bonds.push([22 + 3 * w, 23 + 3 * w], [22 + 3 * w, 24 + 3 * w]);
  const out = applyDistortion(allSymbols, all, bonds, parseDistortion('bond:2-4=1.6'), 1);
  assertClose(distanceA(out, 1, 3), 1.6, 1e-12, 'C′–N');
  for (const a of [3, 5, 10, 22]) assert.equal(out[3 * a], all[3 * a], `atom ${a + 1} stays`);
  // O(water)–N distance set to 3 Å: the water (3 atoms) moves as a whole.
  const far = applyDistortion(allSymbols, all, bonds, parseDistortion('bond:4-23=3'), 1);
  assertClose(distanceA(far, 3, 22), 3, 1e-12, 'N…O');
  assertClose(distanceA(far, 22, 23), 0.9572, 1e-12, 'water O–H');
  for (let a = 0; a < 22; a++) assert.equal(far[3 * a + 1], all[3 * a + 1]);
});

test('a ring bond moves both ends symmetrically with their substituents', () => {
  const bz = benzene();
  const out = Float64Array.from(bz.positionsA);
  setBondLength(out, bz.bonds, 0, 1, 1.6);
  assertClose(distanceA(out, 0, 1), 1.6, 1e-12, 'C1–C2');
  // Midpoint of the bond is unchanged; C–H bonds unchanged; atoms 3..6 did not move.
  for (let c = 0; c < 3; c++) assertClose(out[c]! + out[3 + c]!, bz.positionsA[c]! + bz.positionsA[3 + c]!, 1e-12, 'midpoint');
  for (let k = 0; k < 6; k++) assertClose(distanceA(out, k, k + 6), 1.09, 1e-12, `C${k + 1}–H`);
  for (const a of [2, 3, 4, 5, 8, 9, 10, 11]) for (let c = 0; c < 3; c++) assert.equal(out[3 * a + c], bz.positionsA[3 * a + c]);
});

test('bonds:SEL changes every selected bond exactly, including coupled ring bonds', () => {
  const { symbols, positionsA } = alanineDipeptide(-157, 165);
  const before = lengths(positionsA, ALANINE_DIPEPTIDE_BONDS);
  const xh = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, parseDistortion('bonds:X-H*1.3'), 1);
  const all = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, parseDistortion('bonds:all+0.2'), 1);
  const nh = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, parseDistortion('bonds:h-n=1.2'), 1);
  ALANINE_DIPEPTIDE_BONDS.forEach(([i, j], b) => {
    const hasH = symbols[i] === 'H' || symbols[j] === 'H';
    assertClose(distanceA(xh, i, j), hasH ? before[b]! * 1.3 : before[b]!, 1e-12, `X-H*1.3 bond ${i + 1}-${j + 1}`);
    assertClose(distanceA(all, i, j), before[b]! + 0.2, 1e-12, `all+0.2 bond ${i + 1}-${j + 1}`);
    const isNH = [symbols[i], symbols[j]].sort().join('') === 'HN';
    assertClose(distanceA(nh, i, j), isNH ? 1.2 : before[b]!, 1e-12, `N-H=1.2 bond ${i + 1}-${j + 1}`);
  });
  assert.deepEqual(selectBonds(symbols, ALANINE_DIPEPTIDE_BONDS, { type: 'pair', a: 'C', b: 'O' }), [1, 6]);
  // Benzene: all C–C +0.1 needs the coupled (iterated) ring moves; C–H must stay.
  const bz = benzene();
  const cc = Float64Array.from(bz.positionsA);
  changeBonds(cc, bz.bonds, selectBonds(bz.symbols, bz.bonds, { type: 'pair', a: 'C', b: 'C' }), 'add', 0.1);
  bz.bonds.forEach(([i, j]) => {
    assertClose(distanceA(cc, i, j), j >= 6 ? 1.09 : 1.49, 1e-12, `benzene bond ${i + 1}-${j + 1}`);
  });
  const scaled = applyDistortion(bz.symbols, bz.positionsA, bz.bonds, parseDistortion('bonds:all*0.9'), 1);
  bz.bonds.forEach(([i, j]) => {
    assertClose(distanceA(scaled, i, j), (j >= 6 ? 1.09 : 1.39) * 0.9, 1e-12, `benzene ×0.9 ${i + 1}-${j + 1}`);
  });
});

test('random:S is reproducible from the seed and has exactly the requested RMS', () => {
  const { symbols, positionsA } = alanineDipeptide(-83, 73);
  for (const text of ['random:0.05', 'random:0.05:uniform']) {
    const steps = parseDistortion(text);
    const a = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, steps, 42);
    const b = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, steps, 42);
    const c = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, steps, 43);
    assert.deepEqual(a, b, `${text}: same seed, same geometry`);
    assert.notDeepEqual(a, c, `${text}: another seed, another geometry`);
    let sum2 = 0;
    for (let k = 0; k < a.length; k++) sum2 += (a[k]! - positionsA[k]!) ** 2;
    assertClose(Math.sqrt(sum2 / 22), 0.05, 1e-12, `${text}: RMS displacement per atom`);
  }
  const steps = parseDistortion('bond:4-5=1.5,random:0.01');
  assert.deepEqual(
    applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, steps, 7),
    applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, steps, 7),
  );
});

test('angle:I-J-K bends by the requested degrees and keeps every bond', () => {
  const { spec, minimumA } = waterLikeSpec();
  const bonds: Bond[] = [
    [0, 1],
    [0, 2],
  ];
  const w = applyDistortion(spec.symbols, minimumA, bonds, parseDistortion('angle:2-1-3+20'), 1);
  assertClose(angleRad(w, 1, 0, 2) / DEG, 124.52, 1e-10, 'H–O–H');
  assertClose(distanceA(w, 0, 1), 0.9572, 1e-12, 'O–H1');
  assertClose(distanceA(w, 0, 2), 0.9572, 1e-12, 'O–H2');
  const set = applyDistortion(spec.symbols, minimumA, bonds, parseDistortion('angle:2-1-3=90'), 1);
  assertClose(angleRad(set, 1, 0, 2) / DEG, 90, 1e-10, 'H–O–H set');
  const { symbols, positionsA } = alanineDipeptide(-83, 73);
  const before = lengths(positionsA, ALANINE_DIPEPTIDE_BONDS);
  const a = applyDistortion(symbols, positionsA, ALANINE_DIPEPTIDE_BONDS, parseDistortion('angle:4-6-7-15'), 1);
  assertClose(angleRad(a, 3, 5, 6) / DEG, angleRad(positionsA, 3, 5, 6) / DEG - 15, 1e-10, 'N–CA–C');
  lengths(a, ALANINE_DIPEPTIDE_BONDS).forEach((l, b) => {
    assertClose(l, before[b]!, 1e-12, `bond ${b}`);
  });
  // A ring angle: only the k atom (with its H) moves; the angle is still exact.
  const bz = benzene();
  const r = applyDistortion(bz.symbols, bz.positionsA, bz.bonds, parseDistortion('angle:1-2-3+5'), 1);
  assertClose(angleRad(r, 0, 1, 2) / DEG, 125, 1e-10, 'ring angle');
  assertClose(distanceA(r, 2, 8), 1.09, 1e-12, 'C3–H kept');
  assert.throws(() => applyDistortion(spec.symbols, minimumA, bonds, parseDistortion('angle:2-1-3+80'), 1), AtomgpError);
  assert.throws(() => applyDistortion(spec.symbols, minimumA, bonds, parseDistortion('angle:1-2-3+10'), 1), /atoms 2 and 3 are not bonded/);
});

test('parseDistortion reads the grammar, round-trips through formatDistortion, and explains bad text', () => {
  assert.deepEqual(parseDistortion('bond:7-8=1.5, bonds:O-H*1.5,bonds:all+0.2,random:0.05,angle:2-1-3+20,none'), [
    { kind: 'bond', i: 6, j: 7, mode: 'set', value: 1.5 },
    { kind: 'bonds', selector: { type: 'pair', a: 'O', b: 'H' }, mode: 'scale', value: 1.5 },
    { kind: 'bonds', selector: { type: 'all' }, mode: 'add', value: 0.2 },
    { kind: 'random', rmsA: 0.05, distribution: 'gaussian' },
    { kind: 'angle', i: 1, j: 0, k: 2, mode: 'add', valueDeg: 20 },
    { kind: 'none' },
  ]);
  assert.deepEqual(parseDistortion('bond:1-2-0.1')[0], { kind: 'bond', i: 0, j: 1, mode: 'add', value: -0.1 });
  assert.deepEqual(parseDistortion('bonds:X-H-0.05')[0], { kind: 'bonds', selector: { type: 'x-h' }, mode: 'add', value: -0.05 });
  const text = 'bond:7-8=1.5,bonds:O-H*1.5,bonds:X-H-0.1,random:0.05:uniform,angle:2-1-3-20';
  assert.equal(formatDistortion(parseDistortion(text)), text);
  const ala = alanineDipeptide(-83, 73);
  const viaText = distortFromText(ala.symbols, ala.positionsA, 'bond:4-5=1.5,random:0.02', 9);
  assert.deepEqual(viaText, applyDistortion(ala.symbols, ala.positionsA, ALANINE_DIPEPTIDE_BONDS, parseDistortion('bond:4-5=1.5,random:0.02'), 9));
  for (const bad of ['', 'bond:7=1.5', 'bond:0-1=1', 'bond:1-2=0', 'bonds:OH*2', 'random:x', 'angle:1-2-3=190', 'twist:1-2-3-4+5', 'bond:1-1=2', 'bond:1-2=1.5,,none']) {
    assert.throws(
      () => parseDistortion(bad),
      (e: unknown) => e instanceof AtomgpError && e.message.includes(DISTORTION_GRAMMAR),
      `'${bad}' must be rejected with the grammar`,
    );
  }
  const { spec, minimumA } = waterLikeSpec();
  const bonds: Bond[] = [
    [0, 1],
    [0, 2],
  ];
  assert.throws(() => applyDistortion(spec.symbols, minimumA, bonds, parseDistortion('bond:1-4=1.5'), 1), /atom 4 is outside 1\.\.3/);
  assert.throws(() => applyDistortion(spec.symbols, minimumA, bonds, parseDistortion('bonds:C-H*1.2'), 1), /no bond of this molecule matches.*H-O/);
  assert.throws(() => applyDistortion(spec.symbols, minimumA, bonds, parseDistortion('bond:1-2-1'), 1), /must stay positive/);
  assert.throws(() => applyDistortion(spec.symbols, minimumA, bonds, parseDistortion('bond:2-3=2'), 1), /not bonded but belong to one molecule/);
});
