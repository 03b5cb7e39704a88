import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setBondLength } from '../../src/analysis/distort.js';
import { massesAmu } from '../../src/chem/molecule.js';
import { StabilityMonitor } from '../../src/dynamics/monitor.js';
import { createState } from '../../src/dynamics/state.js';
import { AtomgpError } from '../../src/errors.js';
import { waterLikeSpec } from '../../src/potentials/analytic.js';

// water dimer: O1 H2 H3 and O4 H5 H6, 2.9 Å apart
const symbols = ['O', 'H', 'H', 'O', 'H', 'H'];
const start = Float64Array.from([0, 0, 0, 0.96, 0, 0, -0.24, 0.93, 0, 2.9, 0, 0, 3.2, 0.9, 0, 3.2, -0.9, 0.1]);

function stateAt(x: Float64Array, epot = 0) {
  const s = createState(x, massesAmu(symbols), 0);
  s.epotKcalPerMol = epot;
  s.step = 12;
  s.timeFs = 6;
  return s;
}

test('monitor finds the start bonds and fragments', () => {
  const m = new StabilityMonitor(symbols, start, 0, 0);
  assert.deepEqual(m.bonds, [
    [0, 1],
    [0, 2],
    [3, 4],
    [3, 5],
  ]);
  assert.equal(m.fragments.length, 2);
  assert.equal(m.check(stateAt(start), 0), undefined);
});

test('monitor reasons: close contact, fragments apart, energy runaway, conserved drift', () => {
  const m = new StabilityMonitor(symbols, start, -5, 1, { energyCriterion: 'per-atom' });
  const close = Float64Array.from(start);
  for (const a of [3, 4, 5]) close[3 * a]! -= 2.6; // the second molecule onto the first, bonds intact
  const f = m.check(stateAt(close), 1);
  assert.equal(f?.kind, 'close-contact');
  assert.match(f!.reason, /O1 and O4 are 0.300 Å apart/);
  assert.equal(f!.step, 12);
  const apart = Float64Array.from(start);
  for (const a of [3, 4, 5]) apart[3 * a]! += 10.5;
  assert.equal(m.check(stateAt(apart), 1)?.kind, 'fragments-apart');
  for (const a of [3, 4, 5]) apart[3 * a]! -= 1; // 9.5 Å further: allowed
  assert.equal(m.check(stateAt(apart), 1), undefined);
  assert.equal(m.check(stateAt(start, -5 + 50 * 6 + 1), 1)?.kind, 'energy-runaway');
  assert.equal(m.check(stateAt(start, -5 + 50 * 6 - 1), 1), undefined);
  assert.equal(m.check(stateAt(start, -5), 1 + 61)?.kind, 'conserved-drift');
  assert.equal(m.check(stateAt(start, -5), Number.NaN)?.kind, 'conserved-drift');
  const nan = stateAt(start);
  nan.velocitiesAPerFs[7] = Number.POSITIVE_INFINITY;
  assert.match(m.check(nan, 1)!.reason, /atom H3/);
});

test('a check switched off (0) is skipped', () => {
  const m = new StabilityMonitor(symbols, start, 0, 0, { bondStretchFactor: 0, minNonBondedA: 0 });
  const x = Float64Array.from(start);
  x[3] = 3; // O1-H2 stretched to 3 Å
  assert.equal(m.check(stateAt(x), 0), undefined);
  const strict = new StabilityMonitor(symbols, start, 0, 0);
  assert.equal(strict.check(stateAt(x), 0)?.kind, 'bond-stretched');
});

// water monomer at the analytic minimum (O-H 0.9572 Å), and the same with O1-H2 stretched to 1.8×
const water = ['O', 'H', 'H'];
const { minimumA: waterMin } = waterLikeSpec();
const waterBonds: [number, number][] = [
  [0, 1],
  [0, 2],
];
const stretched = setBondLength(Float64Array.from(waterMin), waterBonds, 0, 1, 1.8 * 0.9572);
const withOH2 = (lengthA: number) => setBondLength(Float64Array.from(waterMin), waterBonds, 0, 1, lengthA);
function waterState(x: Float64Array, epot = 0) {
  const s = createState(x, massesAmu(water), 0);
  s.epotKcalPerMol = epot;
  return s;
}

test('a start with O1-H2 stretched to 1.8× is monitored against the undistorted length when a reference is given', () => {
  // From the distorted start alone, 1.723 Å is no O-H bond (1.2 × (0.66 + 0.31) = 1.164 Å): H2 is a fragment of its own.
  const fromStart = new StabilityMonitor(water, stretched, 0, 0);
  assert.deepEqual(fromStart.bonds, [[0, 2]]);
  assert.equal(fromStart.fragments.length, 2);
  assert.equal(fromStart.check(waterState(withOH2(1.92)), 0), undefined, 'not even watched');

  // Reference geometry: both bonds, 0.9572 Å each, one fragment; fails beyond 2 × 0.9572 = 1.9144 Å.
  const ref = new StabilityMonitor(water, stretched, 0, 0, {}, { positionsA: waterMin });
  assert.deepEqual(ref.bonds, waterBonds);
  assert.equal(ref.fragments.length, 1);
  for (const l of ref.bondReferenceA) assert.ok(Math.abs(l - 0.9572) < 1e-12, `reference length ${l}`);
  assert.equal(ref.check(waterState(stretched), 0), undefined, 'the distorted start itself (1.80×) is fine');
  assert.equal(ref.check(waterState(withOH2(1.91)), 0), undefined);
  const f = ref.check(waterState(withOH2(1.92)), 0);
  assert.equal(f?.kind, 'bond-stretched');
  assert.match(f!.reason, /bond O1-H2 is 1\.920 Å, more than 2× its reference length 0\.957 Å/);

  // Explicit bonds with explicit lengths: the same criterion.
  const explicit = new StabilityMonitor(water, stretched, 0, 0, {}, { bonds: [[1, 0], [0, 2]], lengthsA: [0.9572, 0.9572] });
  assert.deepEqual(explicit.bonds, waterBonds, 'stored as [min, max]');
  assert.equal(explicit.check(waterState(withOH2(1.91)), 0), undefined);
  assert.equal(explicit.check(waterState(withOH2(1.92)), 0)?.kind, 'bond-stretched');

  // Explicit bonds but lengths from the distorted start: 2 × 1.7230 = 3.4459 Å, the wrong criterion.
  const wrong = new StabilityMonitor(water, stretched, 0, 0, {}, { bonds: waterBonds });
  assert.ok(Math.abs(wrong.bondReferenceA[0]! - 1.72296) < 1e-9, `start length ${wrong.bondReferenceA[0]}`);
  assert.equal(wrong.check(waterState(withOH2(1.92)), 0), undefined);
  assert.equal(wrong.check(waterState(withOH2(3.44)), 0), undefined);
  assert.equal(wrong.check(waterState(withOH2(3.45)), 0)?.kind, 'bond-stretched');
});

test('a bad monitor reference is an AtomgpError naming what is wrong', () => {
  const make = (r: object) => () => new StabilityMonitor(water, waterMin, 0, 0, {}, r);
  assert.throws(make({ positionsA: [0, 0, 0] }), (e: Error) => e instanceof AtomgpError && /1 atoms, the start has 3/.test(e.message));
  assert.throws(make({ positionsA: [0, 0, 0, 1, 0, 0, Number.NaN, 0, 0] }), /atom 3 has a non-finite coordinate/);
  assert.throws(make({ bonds: [[0, 0]] }), /bond \(1, 1\) is not a pair of two different atoms within 1\.\.3/);
  assert.throws(make({ bonds: [[0, 3]] }), /bond \(1, 4\)/);
  assert.throws(make({ bonds: waterBonds, lengthsA: [1] }), /2 bonds but 1 reference lengths/);
  assert.throws(make({ bonds: waterBonds, lengthsA: [1, -1] }), /bond O1-H3 has reference length -1/);
  assert.throws(make({ epotKcalPerMol: Number.NaN }), /not a finite number/);
  assert.throws(() => new StabilityMonitor(water, waterMin, 0, 0, { energyRunawayDirection: 'down' as 'up' }), /both or up, got 'down'/);
});

test('energy runaway: the band [min(E_start, E_ref) − L, max(E_start, E_ref) + L], upward-only on request', () => {
  // E_start 60 kcal/mol (distorted), E_ref 0 (undistorted), L = 10 × 3 = 30 kcal/mol.
  const o = { energyRunawayKcalPerMolPerAtom: 10, energyCriterion: 'per-atom' as const };
  const legacy = new StabilityMonitor(water, waterMin, 60, 0, o);
  assert.equal(legacy.check(waterState(waterMin, 31), 0), undefined);
  const fell = legacy.check(waterState(waterMin, 29), 0);
  assert.equal(fell?.kind, 'energy-runaway', 'without a reference, relaxing from a high start is a "runaway"');
  assert.match(fell!.reason, /fell 31\.00 kcal\/mol below that of the start \(60\.00 kcal\/mol; limit 10 kcal\/mol per atom × 3\)/);

  const both = new StabilityMonitor(water, waterMin, 60, 0, o, { epotKcalPerMol: 0 });
  for (const e of [60, 29, 0, -29.9, 89.9]) assert.equal(both.check(waterState(waterMin, e), 0), undefined, `E_pot ${e}`);
  assert.match(both.check(waterState(waterMin, -30.1), 0)!.reason, /fell 30\.10 kcal\/mol below that of the reference geometry \(0\.00/);
  assert.match(both.check(waterState(waterMin, 90.1), 0)!.reason, /rose 30\.10 kcal\/mol above that of the start \(60\.00/);

  const up = new StabilityMonitor(water, waterMin, 60, 0, { ...o, energyRunawayDirection: 'up' }, { epotKcalPerMol: 0 });
  assert.equal(up.check(waterState(waterMin, -1e4), 0), undefined, 'a fall never fails upward-only');
  assert.equal(up.check(waterState(waterMin, 90.1), 0)?.kind, 'energy-runaway');

  // A reference above the start (a start below the reference energy): the band widens upwards.
  const low = new StabilityMonitor(water, waterMin, 60, 0, o, { epotKcalPerMol: 100 });
  assert.equal(low.check(waterState(waterMin, 129.9), 0), undefined);
  assert.match(low.check(waterState(waterMin, 130.1), 0)!.reason, /above that of the reference geometry/);
  assert.match(low.check(waterState(waterMin, 29.9), 0)!.reason, /below that of the start/);
});

test('bond formed: two non-bonded heavy atoms within 1.2 × their covalent radii fail; pairs with H and bonded pairs do not', () => {
  // O1-C2-O3 (C-O 1.253 Å, O···O 2.2 Å) and H4 on O1 (0.97 Å), H5 3.0 Å away from everything.
  const sym = ['O', 'C', 'O', 'H', 'H'];
  const x0 = Float64Array.from([-1.1, 0.6, 0, 0, 0, 0, 1.1, 0.6, 0, -1.1, 1.57, 0, 0, -3, 0]);
  const m = new StabilityMonitor(sym, x0, 0, 0);
  assert.deepEqual(m.bonds, [
    [0, 1],
    [0, 3],
    [1, 2],
  ]);
  const at = (x: Float64Array) => {
    const s = createState(x, massesAmu(sym), 0);
    s.step = 7;
    return m.check(s, 0);
  };
  const squeeze = (dOO: number) => {
    const x = Float64Array.from(x0);
    x[0] = -dOO / 2;
    x[6] = dOO / 2;
    x[9] = -dOO / 2;
    return x;
  };
  // O covalent radius 0.66 Å: the limit is 1.2 × 1.32 = 1.584 Å.
  assert.equal(at(squeeze(1.59)), undefined);
  const f = at(squeeze(1.57));
  assert.equal(f?.kind, 'bond-formed');
  assert.match(f!.reason, /heavy atoms O1 and O3, not bonded in the reference, are 1\.570 Å apart: within 1\.2× their covalent radii \(1\.584 Å\)/);
  // H5 brought to 1.0 Å of O3 (an O-H distance, a proton transfer's): no new heavy-atom bond.
  const h = Float64Array.from(x0);
  h.set([1.1, -0.4, 0], 12);
  assert.equal(at(h), undefined);
  // Switched off; and a factor of 1.1 (limit 1.452 Å) lets 1.57 Å pass.
  const off = new StabilityMonitor(sym, x0, 0, 0, { newBondFactor: 0 });
  const tight = new StabilityMonitor(sym, x0, 0, 0, { newBondFactor: 1.1 });
  const s = createState(squeeze(1.57), massesAmu(sym), 0);
  assert.equal(off.check(s, 0), undefined);
  assert.equal(tight.check(s, 0), undefined);
  assert.throws(() => new StabilityMonitor(sym, x0, 0, 0, { newBondFactor: -1 }), /new-bond factor must be a number ≥ 0/);
});

test('a labile hydrogen may move to its acceptor; beyond the stretch limit from both it fails, naming the nearer partner', () => {
  // O1–H2···O4 (water dimer, H2 on the O1–O4 line); H2 labile between O1 and O4
  const m = new StabilityMonitor(symbols, start, 0, 0, { energyCriterion: 'per-atom', fragmentSeparationA: 0 }, { labileHydrogens: [[0, 1, 3]] });
  const plain = new StabilityMonitor(symbols, start, 0, 0, { energyCriterion: 'per-atom', fragmentSeparationA: 0 });
  const moved = Float64Array.from(start);
  moved[3] = 1.95; // H2 0.95 Å from O4, 1.95 Å from O1 (> 2 × 0.96 Å)
  assert.equal(m.check(stateAt(moved), 0), undefined);
  assert.equal(plain.check(stateAt(moved), 0)?.kind, 'bond-stretched');
  const away = Float64Array.from(start);
  away[3] = 1.45;
  away[4] = 2.2; // 2.65 Å from O1, 2.66 Å from O4: bonded to neither
  const f = m.check(stateAt(away), 0);
  assert.equal(f?.kind, 'bond-stretched');
  assert.match(f!.reason, /bond O1-H2 is 2\.6\d\d Å, more than 2× its reference length 0\.960 Å/);
  const squeezed = Float64Array.from(start);
  squeezed[3] = 2.3; // 0.60 Å from O4: compressed against the acceptor
  const c = m.check(stateAt(squeezed), 0);
  assert.equal(c?.kind, 'bond-compressed');
  assert.match(c!.reason, /bond H2-O4 is 0\.600 Å, less than 0\.7× its reference length 0\.960 Å/);
  assert.throws(() => new StabilityMonitor(symbols, start, 0, 0, {}, { labileHydrogens: [[0, 4, 3]] }), /labile hydrogen 5 is not bonded to donor 1/);
});
