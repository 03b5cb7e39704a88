import assert from 'node:assert/strict';
import { test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { StabilityMonitor } from '../../src/dynamics/monitor.js';
import { createState } from '../../src/dynamics/state.js';

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
  const m = new StabilityMonitor(symbols, start, -5, 1);
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
