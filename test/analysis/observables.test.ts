import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { densityMae, distanceDensity, maxBondDeviationA, protonSites, sitePopulation } from '../../src/analysis/observables.js';

// Two atoms on the x axis at known separations: h(r) is a histogram of those separations.
const pair = (r: number): Float64Array => Float64Array.of(0, 0, 0, r, 0, 0);

test('h(r): a normalised density of the pair distances; MAE 0 for equal, 2 for disjoint distributions', () => {
  const a = distanceDensity([pair(1.01), pair(1.02), pair(1.51), pair(20)], 12, 0.1);
  assert.equal(a.density.length, 120);
  assert.ok(Math.abs(a.density[10]! - 2 / 3 / 0.1) < 1e-12, `${a.density[10]}`);
  assert.ok(Math.abs(a.density[15]! - 1 / 3 / 0.1) < 1e-12);
  assert.equal(a.beyondFraction, 0.25);
  assert.ok(Math.abs(a.density.reduce((s, v) => s + v * 0.1, 0) - 1) < 1e-12);
  assert.equal(densityMae(a, a), 0);
  const b = distanceDensity([pair(3.05)], 12, 0.1);
  assert.ok(Math.abs(densityMae(a, b) - 2) < 1e-12);
  // half the mass moved: MAE 1
  const c = distanceDensity([pair(1.05), pair(3.05)], 12, 0.1);
  const d = distanceDensity([pair(1.05), pair(5.05)], 12, 0.1);
  assert.ok(Math.abs(densityMae(c, d) - 1) < 1e-12);
  assert.throws(() => densityMae(a, distanceDensity([pair(1)], 12, 0.05)), /different bins/);
  // three atoms: three pairs per frame
  const tri = distanceDensity([Float64Array.of(0, 0, 0, 1.05, 0, 0, 0, 2.05, 0)], 12, 0.1);
  assert.ok(Math.abs(tri.density[10]! * 0.1 - 1 / 3) < 1e-12);
  assert.ok(Math.abs(tri.density[20]! * 0.1 - 1 / 3) < 1e-12);
});

test('largest bond deviation over frames (Fu et al.\'s 0.5 Å criterion)', () => {
  const dev = maxBondDeviationA([pair(1.0), pair(1.3), pair(0.8)], [[0, 1]], [1.0]);
  assert.ok(Math.abs(dev - 0.3) < 1e-12);
  assert.throws(() => maxBondDeviationA([pair(1)], [[0, 1]], []), /equilibrium/);
});

// O1–H2···O3 on the x axis (H-bond 1.7 Å), a C4–H5 and an O6–H7 whose nearest O/N is 2.6 Å away.
const SYMBOLS = ['O', 'H', 'O', 'C', 'H', 'O', 'H'];
const hbond = (hX: number): Float64Array => Float64Array.of(0, 0, 0, hX, 0, 0, 2.68, 0, 0, 0, 5, 0, 1.09, 5, 0, 0, -3.58, 0, 0, -2.6, 0);
const BONDS: Array<[number, number]> = [[0, 1], [3, 4], [5, 6]];

test('proton sites: an O/N-bonded H with an O/N acceptor within 2.5 Å; C–H and unaccepted O–H are not sites', () => {
  assert.deepEqual(protonSites(SYMBOLS, hbond(0.98), BONDS), [{ hydrogen: 1, sites: [0, 2] }]);
  // A wider cut-off takes O6–H7's acceptor O1 (2.6 Å) too.
  assert.deepEqual(protonSites(SYMBOLS, hbond(0.98), BONDS, 2.7), [{ hydrogen: 1, sites: [0, 2] }, { hydrogen: 6, sites: [5, 0] }]);
});

test('site populations: fractions, site changes and block standard errors equal hand-computed values', () => {
  // 70 frames on O1, then 30 on O3: with 10 blocks, 7 block fractions are 1 and 3 are 0.
  const frames = Array.from({ length: 100 }, (_, f) => hbond(f < 70 ? 0.98 : 1.7));
  const p = sitePopulation(frames, { hydrogen: 1, sites: [0, 2] }, 10);
  assert.deepEqual(p.fractions, [0.7, 0.3]);
  assert.equal(p.switches, 1);
  const se = Math.sqrt((7 * 0.3 ** 2 + 3 * 0.7 ** 2) / 9 / 10);
  assert.ok(Math.abs(p.standardErrors[0]! - se) < 1e-12 && Math.abs(p.standardErrors[1]! - se) < 1e-12, `${p.standardErrors}`);
  // A change of site every frame: half and half in every block, so no block-to-block spread.
  const flip = sitePopulation(Array.from({ length: 100 }, (_, f) => hbond(f % 2 ? 1.7 : 0.98)), { hydrogen: 1, sites: [0, 2] }, 10);
  assert.deepEqual(flip.fractions, [0.5, 0.5]);
  assert.equal(flip.switches, 99);
  assert.deepEqual(flip.standardErrors, [0, 0]);
  // The midpoint is nearer O1 only just before it (1.34 Å of 2.68).
  assert.deepEqual(sitePopulation([hbond(1.33), hbond(1.35)], { hydrogen: 1, sites: [0, 2] }, 2).fractions, [0.5, 0.5]);
});

test('site populations refuse fewer frames than blocks, one site and fewer than two blocks', () => {
  const is = (pattern: RegExp) => (e: unknown) => e instanceof AtomgpError && pattern.test(e.message);
  assert.throws(() => sitePopulation([hbond(1)], { hydrogen: 1, sites: [0, 2] }, 10), is(/1 frames for 10 blocks/));
  assert.throws(() => sitePopulation([hbond(1), hbond(1)], { hydrogen: 1, sites: [0] }, 2), is(/hydrogen 2 has 1 site/));
  assert.throws(() => sitePopulation([hbond(1), hbond(1)], { hydrogen: 1, sites: [0, 2] }, 1), is(/at least 2 needed/));
});
