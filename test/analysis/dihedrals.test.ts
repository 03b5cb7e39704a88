import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectBackbone, dihedralOf, dihedralSeries, ramachandranHistogram, ramachandranRegion } from '../../src/analysis/dihedrals.js';
import type { Bond } from '../../src/chem/connectivity.js';
import { AtomgpError } from '../../src/errors.js';
import { ALANINE_DIPEPTIDE_BONDS, alanineDipeptide } from './builders.js';

const DEG = Math.PI / 180;

/**
 * Bond graph of Ace-(Gly)n-NMe, heavy atoms and amide/α hydrogens, atoms numbered as added:
 * Ace CH3, C', O; per residue N, H, CA, HA1, HA2, C', O; NMe N, H, CH3.
 */
function glycineChain(n: number): { symbols: string[]; bonds: Bond[]; expected: { n: number; ca: number; c: number }[] } {
  const symbols: string[] = [];
  const bonds: Bond[] = [];
  const add = (s: string, ...bondedTo: number[]): number => {
    const k = symbols.length;
    symbols.push(s);
    for (const b of bondedTo) bonds.push([Math.min(b, k), Math.max(b, k)]);
    return k;
  };
  const me = add('C');
  let c = add('C', me);
  add('O', c);
  const expected: { n: number; ca: number; c: number }[] = [];
  for (let r = 0; r < n; r++) {
    const nAtom = add('N', c);
    add('H', nAtom);
    const ca = add('C', nAtom);
    add('H', ca);
    add('H', ca);
    const c2 = add('C', ca);
    add('O', c2);
    expected.push({ n: nAtom, ca, c: c2 });
    c = c2;
  }
  const nMe = add('N', c);
  add('H', nMe);
  add('C', nMe);
  return { symbols, bonds, expected };
}

test('backbone of alanine dipeptide: one residue, φ = C′-N-Cα-C′ and ψ = N-Cα-C′-N', () => {
  const { symbols } = alanineDipeptide(-83, 73);
  const res = detectBackbone(symbols, ALANINE_DIPEPTIDE_BONDS);
  assert.equal(res.length, 1);
  assert.deepEqual(res[0], { n: 3, ca: 5, c: 6, phi: [1, 3, 5, 6], psi: [3, 5, 6, 8] });
});

test('backbone of Ace-(Gly)3-NMe: three residues in chain order, each linked to the next', () => {
  const { symbols, bonds, expected } = glycineChain(3);
  const res = detectBackbone(symbols, bonds);
  assert.deepEqual(
    res.map((r) => ({ n: r.n, ca: r.ca, c: r.c })),
    expected,
  );
  for (let k = 0; k < 3; k++) {
    assert.equal(res[k]!.phi[0], k === 0 ? 1 : expected[k - 1]!.c, 'φ starts at the previous C′');
    assert.equal(res[k]!.psi[3], k === 2 ? symbols.length - 3 : expected[k + 1]!.n, 'ψ ends at the next N');
  }
  // Reversed atom numbering gives the same chain order (N-terminus first).
  const nAt = symbols.length;
  const rev = detectBackbone([...symbols].reverse(), bonds.map(([i, j]) => [nAt - 1 - j, nAt - 1 - i] as const));
  assert.deepEqual(
    rev.map((r) => nAt - 1 - r.ca),
    expected.map((e) => e.ca),
  );
  // Molecules without amides: nothing.
  assert.deepEqual(detectBackbone(['O', 'H', 'H'], [[0, 1], [0, 2]]), []);
  assert.throws(() => detectBackbone(['O', 'H'], [[0, 5]]), AtomgpError);
});

test('dihedral series recover the angles a geometry was built with', () => {
  const cases = [
    [-83, 73],
    [-157, 165],
    [74, -60],
    [180, -180],
  ] as const;
  const frames = cases.map(([phi, psi]) => alanineDipeptide(phi, psi));
  const phi = dihedralSeries(frames, [1, 3, 5, 6]);
  const psi = dihedralSeries(frames, [3, 5, 6, 8]);
  cases.forEach(([p, s], k) => {
    const wrap = (d: number) => (d <= -180 ? d + 360 : d);
    assert.ok(Math.abs(phi[k]! / DEG - wrap(p)) < 1e-9, `φ ${phi[k]! / DEG} vs ${p}`);
    assert.ok(Math.abs(psi[k]! / DEG - wrap(s)) < 1e-9, `ψ ${psi[k]! / DEG} vs ${s}`);
  });
  assert.equal(ramachandranRegion(-83, 73), 'C7eq');
  assert.equal(ramachandranRegion(-157, 165), 'C5');
  assert.equal(ramachandranRegion(195, -170), 'C5', 'periodic distance');
  assert.equal(ramachandranRegion(0, 180), 'other');
  assert.throws(() => dihedralOf(frames[0]!.positionsA, [1, 3, 5, 22]), /atom 23 is outside 1\.\.22/);
  assert.throws(() => dihedralSeries(frames, [1, 3, 3, 6]), AtomgpError);
});

test('Ramachandran histogram: bins (lo, hi] over (−π, π], wrapping and normalisation', () => {
  const P = Math.PI;
  // 4 bins of width π/2: (−π, −π/2] (−π/2, 0] (0, π/2] (π/2, π]
  const phi = [-P / 4, P, 0, P / 2, (3 * P) / 4, -P / 4 + 2 * P, -P];
  const psi = [P / 4, -P, 0, 0.1, (-3 * P) / 4, P / 4, -P / 2];
  const h = ramachandranHistogram(phi, psi, 4);
  const expected = new Float64Array(16);
  const at = (i: number, j: number) => expected[i * 4 + j]!++;
  at(1, 2); // (−π/4, π/4)
  at(3, 3); // (π, −π ≡ π)
  at(1, 1); // (0, 0)
  at(2, 2); // (π/2, 0.1)
  at(3, 0); // (3π/4, −3π/4)
  at(1, 2); // wrapped copy of the first
  at(3, 0); // (−π ≡ π, −π/2)
  assert.deepEqual(h.counts, expected);
  assert.equal(h.total, 7);
  assert.ok(Math.abs(h.widthRad - P / 2) < 1e-15);
  const n = ramachandranHistogram(phi, psi, 4, true);
  assert.ok(Math.abs(n.counts.reduce((a, b) => a + b, 0) - 1) < 1e-15);
  assert.equal(n.counts[1 * 4 + 2], 2 / 7);
  assert.throws(() => ramachandranHistogram([0], [Number.NaN], 4), /pair 1/);
  assert.throws(() => ramachandranHistogram([0], [0, 1], 4), AtomgpError);
  assert.throws(() => ramachandranHistogram([0], [0], 0), AtomgpError);
});

test('setDihedral turns one side of a bond to the target angle; bond lengths and the other side are unchanged', async () => {
  const { presetMolecule } = await import('../../src/chem/presets.js');
  const { setDihedral, detectBackbone, dihedralOf } = await import('../../src/analysis/dihedrals.js');
  const m = presetMolecule('alanine-dipeptide');
  const bonds = m.bonds.map(([a, b]) => [a, b] as [number, number]);
  const [res] = detectBackbone(m.symbols, bonds);
  for (const [phiDeg, psiDeg] of [[-83, 73], [-157, 165], [60, -60]] as const) {
    let x = setDihedral(m.positionsA, bonds, res!.phi, (phiDeg * Math.PI) / 180);
    x = setDihedral(x, bonds, res!.psi, (psiDeg * Math.PI) / 180);
    assert.ok(Math.abs((dihedralOf(x, res!.phi) * 180) / Math.PI - phiDeg) < 1e-9, `φ ${(dihedralOf(x, res!.phi) * 180) / Math.PI}`);
    assert.ok(Math.abs((dihedralOf(x, res!.psi) * 180) / Math.PI - psiDeg) < 1e-9);
    for (const [a, b] of bonds) {
      const d0 = Math.hypot(m.positionsA[3 * a]! - m.positionsA[3 * b]!, m.positionsA[3 * a + 1]! - m.positionsA[3 * b + 1]!, m.positionsA[3 * a + 2]! - m.positionsA[3 * b + 2]!);
      const d1 = Math.hypot(x[3 * a]! - x[3 * b]!, x[3 * a + 1]! - x[3 * b + 1]!, x[3 * a + 2]! - x[3 * b + 2]!);
      assert.ok(Math.abs(d1 - d0) < 1e-9);
    }
  }
  // the N-side atom of φ (j) does not move
  const x = setDihedral(m.positionsA, bonds, res!.phi, 1);
  const j = res!.phi[1];
  assert.deepEqual(Array.from(x.subarray(3 * j, 3 * j + 3)), Array.from(m.positionsA.subarray(3 * j, 3 * j + 3)));
});
