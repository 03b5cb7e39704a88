import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import {
  type Bond,
  DEFAULT_BOND_SCALE,
  findBonds,
  fragments,
  minimumImage,
  periodicCell,
  unwrapCopies,
  unwrapMolecules,
  wrapIntoCell,
} from '../../src/chem/connectivity.js';
import { angleRad, centreOfMass, dihedralRad, distanceA, massesAmu } from '../../src/chem/molecule.js';
import { parseConfig } from '../../src/io/dlpoly.js';

const DEG = Math.PI / 180;
const R_OH = 0.9572;
const HOH = 104.52 * DEG;

/** Seeded generator (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniformly random rotation matrix (row-major) from a random unit quaternion (Shoemake). */
function randomRotation(r: () => number): number[] {
  const u1 = r();
  const u2 = 2 * Math.PI * r();
  const u3 = 2 * Math.PI * r();
  const a = Math.sqrt(1 - u1);
  const b = Math.sqrt(u1);
  const [w, x, y, z] = [a * Math.sin(u2), a * Math.cos(u2), b * Math.sin(u3), b * Math.cos(u3)];
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

// Water in its own frame: O at the origin, H along x and at 104.52° in the xy plane.
const WATER_LOCAL = [0, 0, 0, R_OH, 0, 0, R_OH * Math.cos(HOH), R_OH * Math.sin(HOH), 0];

/** `count`³ randomly oriented waters on a grid in the cell, shifted at random and wrapped. */
function waterBox(cellA: Float64Array, count: number, seed: number): { symbols: string[]; positionsA: Float64Array } {
  const r = rng(seed);
  const n = count ** 3;
  const symbols: string[] = [];
  const pos = new Float64Array(9 * n);
  const shift = [r(), r(), r()];
  let m = 0;
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < count; j++) {
      for (let k = 0; k < count; k++, m++) {
        const f = [(i + 0.5) / count + shift[0]!, (j + 0.5) / count + shift[1]!, (k + 0.5) / count + shift[2]!];
        const o = [0, 1, 2].map((c) => f[0]! * cellA[c]! + f[1]! * cellA[3 + c]! + f[2]! * cellA[6 + c]!);
        const rot = randomRotation(r);
        for (let a = 0; a < 3; a++) {
          const l = WATER_LOCAL.slice(3 * a, 3 * a + 3);
          for (let c = 0; c < 3; c++) {
            pos[9 * m + 3 * a + c] = o[c]! + rot[3 * c]! * l[0]! + rot[3 * c + 1]! * l[1]! + rot[3 * c + 2]! * l[2]!;
          }
        }
        symbols.push('O', 'H', 'H');
      }
    }
  }
  return { symbols, positionsA: wrapIntoCell(pos, cellA) };
}

/** O(N²) reference: every pair through the minimum image. */
function bruteForceBonds(symbols: string[], pos: Float64Array, cellA?: Float64Array): Bond[] {
  const radius: Record<string, number> = { O: 0.66, H: 0.31 };
  const cell = cellA ? periodicCell(cellA) : undefined;
  const d = new Float64Array(3);
  const out: Bond[] = [];
  for (let i = 0; i < symbols.length; i++) {
    for (let j = i + 1; j < symbols.length; j++) {
      for (let c = 0; c < 3; c++) d[c] = pos[3 * j + c]! - pos[3 * i + c]!;
      if (cell) minimumImage(cell, d);
      const limit = DEFAULT_BOND_SCALE * (radius[symbols[i]!]! + radius[symbols[j]!]!);
      if (Math.hypot(d[0]!, d[1]!, d[2]!) < limit) out.push([i, j]);
    }
  }
  return out;
}

function assertWholeWaters(symbols: string[], pos: Float64Array, frags: number[][], tol: number): void {
  for (const frag of frags) {
    assert.deepEqual(frag.map((a) => symbols[a]), ['O', 'H', 'H']);
    const [o, h1, h2] = frag as [number, number, number];
    assert.ok(Math.abs(distanceA(pos, o, h1) - R_OH) < tol, `O-H ${distanceA(pos, o, h1)}`);
    assert.ok(Math.abs(distanceA(pos, o, h2) - R_OH) < tol);
    assert.ok(Math.abs(angleRad(pos, h1, o, h2) - HOH) < tol);
  }
}

test('bonds of an isolated water and a chain; fragments sorted and ordered by first atom', () => {
  const water = Float64Array.from(WATER_LOCAL);
  assert.deepEqual(findBonds(['O', 'H', 'H'], water), [[0, 1], [0, 2]]);
  // Stretching an O-H beyond 1.2 × (0.66 + 0.31) = 1.164 Å breaks it.
  const stretched = Float64Array.from(WATER_LOCAL);
  stretched[3] = 1.17;
  assert.deepEqual(findBonds(['O', 'H', 'H'], stretched), [[0, 2]]);
  assert.deepEqual(findBonds(['O', 'H', 'H'], stretched, { scale: 1.25 }), [[0, 1], [0, 2]]);
  assert.deepEqual(
    fragments(7, [[5, 6], [0, 4], [2, 4], [3, 6]]),
    [[0, 2, 4], [1], [3, 5, 6]],
  );
  assert.deepEqual(fragments(0, []), []);
  assert.throws(() => fragments(3, [[0, 3]]), /outside 0\.\.2/);
  assert.throws(() => findBonds(['O', 'Qq'], new Float64Array(6)), /atom 2: unknown element 'Qq'/);
});

test('minimum image in a skewed cell equals a brute-force search over images', () => {
  const cell = periodicCell(Float64Array.of(10, 0, 0, 6, 8, 0, -3, 4, 7));
  assert.equal(cell.orthogonal, false);
  const r = rng(11);
  const h = cell.cellA;
  const d = new Float64Array(3);
  for (let trial = 0; trial < 500; trial++) {
    const v = [(r() - 0.5) * 40, (r() - 0.5) * 40, (r() - 0.5) * 40];
    d.set(v);
    minimumImage(cell, d);
    let best = Infinity;
    for (let i = -6; i <= 6; i++) {
      for (let j = -6; j <= 6; j++) {
        for (let k = -6; k <= 6; k++) {
          const x = v[0]! + i * h[0]! + j * h[3]! + k * h[6]!;
          const y = v[1]! + i * h[1]! + j * h[4]! + k * h[7]!;
          const z = v[2]! + i * h[2]! + j * h[5]! + k * h[8]!;
          best = Math.min(best, Math.hypot(x, y, z));
        }
      }
    }
    assert.ok(Math.abs(Math.hypot(d[0]!, d[1]!, d[2]!) - best) < 1e-9, `trial ${trial}`);
  }
  assert.throws(() => periodicCell(Float64Array.of(1, 0, 0, 2, 0, 0, 0, 0, 1)), /degenerate cell/);
});

test('a water split across a cubic boundary is made whole with exact bond lengths', () => {
  const L = 12;
  const cellA = Float64Array.of(L, 0, 0, 0, L, 0, 0, 0, L);
  const whole = Float64Array.from(WATER_LOCAL.map((v, k) => v + [11.9, 6, 6][k % 3]!));
  const split = wrapIntoCell(whole, cellA);
  assert.ok(split[3]! < 1, 'H1 wrapped to the other side');
  assert.deepEqual(findBonds(['O', 'H', 'H'], split), [[0, 2]], 'without the cell the split bond is missed');
  const bonds = findBonds(['O', 'H', 'H'], split, { cellA });
  assert.deepEqual(bonds, [[0, 1], [0, 2]]);
  for (const topology of [{ bonds }, { fragments: fragments(3, bonds) }]) {
    const un = unwrapMolecules(split, cellA, topology);
    assert.ok(Math.abs(distanceA(un, 0, 1) - R_OH) < 1e-12);
    assert.ok(Math.abs(distanceA(un, 0, 2) - R_OH) < 1e-12);
    for (let k = 0; k < 9; k++) assert.ok(Math.abs(un[k]! - whole[k]!) < 1e-12);
  }
  // No cell: positions are copied unchanged.
  assert.deepEqual(Array.from(unwrapMolecules(split, undefined, { bonds })), Array.from(split));
});

test('the CONFIG water split across x is whole after unwrapping', () => {
  const text = `split water\n0 1 3\n12 0 0\n0 12 0\n0 0 12\nOW 1\n11.9 6 6\nHW1 2\n0.8572 6 6\nHW2 3\n11.6600127916 6.9266272065 6\n`;
  const c = parseConfig(text, 'CONFIG');
  const bonds = findBonds(c.symbols, c.positionsA, { cellA: c.cellA! });
  const un = unwrapMolecules(c.positionsA, c.cellA!, { bonds });
  assert.ok(Math.abs(distanceA(un, 0, 1) - 0.9572) < 1e-12);
  assert.ok(Math.abs(distanceA(un, 0, 2) - 0.9572) < 1e-10);
  assert.ok(Math.abs(angleRad(un, 1, 0, 2) - HOH) < 1e-10);
});

test('a water split across a triclinic boundary (atoms in different images) is made whole', () => {
  const cellA = Float64Array.of(10, 0, 0, 4, 9, 0, -2, 3, 8);
  const h = cellA;
  const whole = Float64Array.from(WATER_LOCAL.map((v, k) => v + [0.3, -0.2, 0.1][k % 3]!));
  const images = [[1, 0, -1], [-2, 1, 0], [0, -1, 2]];
  const scattered = new Float64Array(9);
  for (let a = 0; a < 3; a++) {
    const [i, j, k] = images[a]!;
    for (let c = 0; c < 3; c++) scattered[3 * a + c] = whole[3 * a + c]! + i! * h[c]! + j! * h[3 + c]! + k! * h[6 + c]!;
  }
  const bonds = findBonds(['O', 'H', 'H'], scattered, { cellA });
  assert.deepEqual(bonds, [[0, 1], [0, 2]]);
  const un = unwrapMolecules(scattered, cellA, { bonds });
  assert.ok(Math.abs(distanceA(un, 0, 1) - R_OH) < 1e-12);
  assert.ok(Math.abs(distanceA(un, 0, 2) - R_OH) < 1e-12);
  assert.ok(Math.abs(angleRad(un, 1, 0, 2) - HOH) < 1e-12);
  // The oxygen stays where it was; the hydrogens join it.
  for (let c = 0; c < 3; c++) assert.equal(un[c], scattered[c]);
});

test('unwrapCopies in a strongly skewed cell puts each atom at the true nearest image of its copy’s first atom, where per-axis rounding does not', () => {
  // b is 18° from a: rounding the fractional coordinates often picks a longer image.
  const cellA = Float64Array.of(10, 0, 0, 9, 3, 0, 4, 2, 6);
  const cell = periodicCell(cellA);
  const h = cellA;
  const m = cell.inverse;
  const frac = (v: readonly number[], r: number): number => m[3 * r]! * v[0]! + m[3 * r + 1]! * v[1]! + m[3 * r + 2]! * v[2]!;
  const cart = (f: readonly number[]): number[] => [0, 1, 2].map((c) => f[0]! * h[c]! + f[1]! * h[3 + c]! + f[2]! * h[6 + c]!);
  const bruteForceNearest = (v: readonly number[]): number => {
    let best = Infinity;
    for (let i = -2; i <= 2; i++) {
      for (let j = -2; j <= 2; j++) {
        for (let k = -2; k <= 2; k++) {
          const t = cart([i, j, k]);
          best = Math.min(best, Math.hypot(v[0]! + t[0]!, v[1]! + t[1]!, v[2]! + t[2]!));
        }
      }
    }
    return best;
  };
  const perCopy = 3;
  const copies = 40;
  const r = rng(15);
  const pos = new Float64Array(3 * perCopy * copies);
  for (let c = 0; c < copies; c++) {
    const first = cart([r(), r(), r()]);
    for (let a = 0; a < perCopy; a++) {
      // Copy 0 is compact (already whole); the others have atoms up to 1.5 cells away.
      const off = a === 0 ? [0, 0, 0] : c === 0 ? [0.3 * r(), -0.2 * r(), 0.1 * r()] : cart([3 * r() - 1.5, 3 * r() - 1.5, 3 * r() - 1.5]);
      for (let k = 0; k < 3; k++) pos[3 * (c * perCopy + a) + k] = first[k]! + off[k]!;
    }
  }
  const un = unwrapCopies(pos, cellA, perCopy);
  let roundingWrong = 0;
  for (let c = 0; c < copies; c++) {
    const o = 3 * c * perCopy;
    for (let k = 0; k < 3; k++) assert.equal(un[o + k], pos[o + k], 'first atoms stay put');
    for (let a = 1; a < perCopy; a++) {
      const p = o + 3 * a;
      const v = [0, 1, 2].map((k) => pos[p + k]! - pos[o + k]!);
      const u = [0, 1, 2].map((k) => un[p + k]! - un[o + k]!);
      const best = bruteForceNearest(v);
      assert.ok(Math.abs(Math.hypot(u[0]!, u[1]!, u[2]!) - best) < 1e-9, `copy ${c} atom ${a}: |d| ${Math.hypot(u[0]!, u[1]!, u[2]!)} vs nearest ${best} Å`);
      // The atom moved by a lattice translation only.
      const t = [0, 1, 2].map((k) => v[k]! - u[k]!);
      for (let q = 0; q < 3; q++) assert.ok(Math.abs(frac(t, q) - Math.round(frac(t, q))) < 1e-9, `copy ${c} atom ${a}: not a lattice translation`);
      if (c === 0) for (let k = 0; k < 3; k++) assert.equal(un[p + k], pos[p + k], 'an atom already at its nearest image keeps its coordinates');
      // Per-axis rounding of the fractional coordinates (the former CLI unwrap).
      const s = [0, 1, 2].map((q) => Math.round(frac(v, q)));
      const sh = cart(s);
      const rounded = Math.hypot(v[0]! - sh[0]!, v[1]! - sh[1]!, v[2]! - sh[2]!);
      if (rounded > best + 1e-6) roundingWrong++;
    }
  }
  assert.ok(roundingWrong >= 10, `per-axis rounding picked a farther image for ${roundingWrong} of ${2 * (copies - 1)} atoms`);
  assert.throws(() => unwrapCopies(pos, cellA, 0), /atoms per copy/);
});

for (const [label, cellA] of [
  ['cubic', Float64Array.of(21.73, 0, 0, 0, 21.73, 0, 0, 0, 21.73)],
  ['triclinic', Float64Array.of(21.73, 0, 0, 0.3 * 21.73, 0.95 * 21.73, 0, 0.2 * 21.73, 0.25 * 21.73, 0.9 * 21.73)],
] as const) {
  test(`343 waters in a ${label} box: 686 bonds, 343 O,H,H fragments, all whole after unwrapping`, (t) => {
    const { symbols, positionsA } = waterBox(cellA, 7, 2024);
    assert.equal(symbols.length, 1029);
    // Wrapping really split molecules.
    let splitBonds = 0;
    for (let m = 0; m < 343; m++) {
      if (distanceA(positionsA, 3 * m, 3 * m + 1) > 2 || distanceA(positionsA, 3 * m, 3 * m + 2) > 2) splitBonds++;
    }
    assert.ok(splitBonds > 20, `${splitBonds} molecules split`);

    const t0 = performance.now();
    const bonds = findBonds(symbols, positionsA, { cellA });
    const t1 = performance.now();
    assert.equal(bonds.length, 686);
    assert.deepEqual(bonds, bruteForceBonds(symbols, positionsA, cellA));
    const t2 = performance.now();
    const frags = fragments(symbols.length, bonds);
    assert.equal(frags.length, 343);
    for (let m = 0; m < 343; m++) assert.deepEqual(frags[m], [3 * m, 3 * m + 1, 3 * m + 2]);
    const un = unwrapMolecules(positionsA, cellA, { bonds });
    assertWholeWaters(symbols, un, frags, 1e-9);
    // Once whole, the bonds are found without the cell as well.
    assert.deepEqual(findBonds(symbols, un), bonds);
    t.diagnostic(`findBonds (periodic, 1029 atoms): ${(t1 - t0).toFixed(2)} ms; brute force O(N²): ${(t2 - t1).toFixed(1)} ms`);
  });
}

test('bond search scales linearly: 27000 atoms (9000 waters) in well under a second', (t) => {
  const L = 21.73 * (9000 / 343) ** (1 / 3);
  const cellA = Float64Array.of(L, 0, 0, 0, L, 0, 0, 0, L);
  const { symbols, positionsA } = waterBox(cellA, 21, 5); // 21³ = 9261 waters
  for (let rep = 0; rep < 2; rep++) {
    // warm up the JIT
    unwrapMolecules(positionsA, cellA, { bonds: findBonds(symbols, positionsA, { cellA }) });
  }
  const t0 = performance.now();
  const bonds = findBonds(symbols, positionsA, { cellA });
  const t1 = performance.now();
  const un = unwrapMolecules(positionsA, cellA, { bonds });
  const t2 = performance.now();
  const open = findBonds(symbols, un);
  const t3 = performance.now();
  assert.equal(bonds.length, 2 * 9261);
  assert.deepEqual(open, bonds);
  t.diagnostic(
    `27783 atoms: findBonds periodic ${(t1 - t0).toFixed(1)} ms, unwrap ${(t2 - t1).toFixed(1)} ms, findBonds open ${(t3 - t2).toFixed(1)} ms`,
  );
  assert.ok(t1 - t0 < 1000 && t3 - t2 < 1000, 'bond search too slow');
});

test('cells narrower than the bond cutoff are refused', () => {
  assert.throws(
    () => findBonds(['O', 'O'], Float64Array.of(0, 0, 0, 1, 0, 0), { cellA: Float64Array.of(1.2, 0, 0, 0, 10, 0, 0, 0, 10) }),
    /cell too small.*1\.200 Å.*1\.584 Å/,
  );
});

test('dihedral angles follow the IUPAC sign convention, range (−π, π]', () => {
  // i on +x, j at the origin, k on +z, l rotated by φ about z (counter-clockwise seen from +z).
  // Looking from j towards k the near bond turns clockwise by φ onto the far bond: dihedral +φ.
  for (const phiDeg of [60, -60, 90, -90, 120, 179.9, -179.9, 0, 1e-7]) {
    const phi = phiDeg * DEG;
    const pos = Float64Array.of(1.1, 0, 0, 0, 0, 0, 0, 0, 1.5, 0.9 * Math.cos(phi), 0.9 * Math.sin(phi), 1.5);
    assert.ok(Math.abs(dihedralRad(pos, 0, 1, 2, 3) - phi) < 1e-12, `${phiDeg}°`);
    // Reversing the atom order keeps the dihedral; a mirror image flips its sign.
    assert.ok(Math.abs(dihedralRad(pos, 3, 2, 1, 0) - phi) < 1e-12);
    const mirrored = pos.map((v, k) => (k % 3 === 1 ? -v : v));
    assert.ok(Math.abs(dihedralRad(mirrored, 0, 1, 2, 3) + phi) < 1e-12);
  }
  // Anti (trans) gives exactly +π, never −π.
  const anti = Float64Array.of(1, 0, 0, 0, 0, 0, 0, 0, 1.5, -1, 0, 1.5);
  assert.equal(dihedralRad(anti, 0, 1, 2, 3), Math.PI);
  assert.equal(dihedralRad(anti.map((v) => -v), 0, 1, 2, 3), Math.PI);
  // Staggered ethane from tetrahedral geometry: H-C-C-H dihedrals of ±60° and 180°.
  const cc = 1.54;
  const ch = 1.09;
  const tet = Math.acos(-1 / 3);
  const hOn = (z: number, sign: number, az: number): number[] => [
    ch * Math.sin(tet) * Math.cos(az), ch * Math.sin(tet) * Math.sin(az), z + sign * ch * Math.cos(Math.PI - tet),
  ];
  const ethane = Float64Array.from([
    0, 0, 0, 0, 0, cc,
    ...hOn(0, -1, 0), ...hOn(0, -1, 120 * DEG), ...hOn(0, -1, 240 * DEG),
    ...hOn(cc, 1, 60 * DEG), ...hOn(cc, 1, 180 * DEG), ...hOn(cc, 1, 300 * DEG),
  ]);
  assert.ok(Math.abs(angleRad(ethane, 2, 0, 1) - tet) < 1e-12);
  assert.ok(Math.abs(dihedralRad(ethane, 2, 0, 1, 5) - 60 * DEG) < 1e-12);
  assert.ok(Math.abs(dihedralRad(ethane, 2, 0, 1, 7) + 60 * DEG) < 1e-12);
  assert.ok(Math.abs(dihedralRad(ethane, 2, 0, 1, 6) - Math.PI) < 1e-12);
});

test('distances, angles, masses and centre of mass', () => {
  const water = Float64Array.from(WATER_LOCAL);
  assert.ok(Math.abs(distanceA(water, 0, 1) - R_OH) < 1e-15);
  assert.ok(Math.abs(distanceA(water, 1, 2) - 2 * R_OH * Math.sin(HOH / 2)) < 1e-15);
  assert.ok(Math.abs(angleRad(water, 1, 0, 2) - HOH) < 1e-14);
  assert.equal(angleRad(Float64Array.of(1, 0, 0, 0, 0, 0, -2, 0, 0), 0, 1, 2), Math.PI);
  const masses = massesAmu(['O', 'H', 'H']);
  assert.deepEqual(Array.from(masses), [15.999, 1.008, 1.008]);
  const com = centreOfMass(water, masses);
  const total = 15.999 + 2 * 1.008;
  assert.ok(Math.abs(com[0]! - (1.008 * (R_OH + R_OH * Math.cos(HOH))) / total) < 1e-15);
  assert.ok(Math.abs(com[1]! - (1.008 * R_OH * Math.sin(HOH)) / total) < 1e-15);
  assert.equal(com[2], 0);
  assert.throws(() => massesAmu(['O', 'Xx']), /atom 2: unknown element 'Xx'/);
});
