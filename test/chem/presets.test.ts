import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignAlf } from '../../src/chem/alf-assign.js';
import { findBonds } from '../../src/chem/connectivity.js';
import { element } from '../../src/chem/elements.js';
import { dihedralRad, distanceA, massesAmu } from '../../src/chem/molecule.js';
import { PRESET_NAMES, PRESET_SPECS, findPresetName, presetMolecule } from '../../src/chem/presets.js';
import { perceiveBondOrders } from '../../src/chem/smiles.js';
import { AtomgpError } from '../../src/errors.js';

const deg = (rad: number): number => (rad * 180) / Math.PI;
/** Signed difference a − b of two angles in degrees, wrapped to [−180, 180). */
const angleDiff = (a: number, b: number): number => ((((a - b + 180) % 360) + 360) % 360) - 180;

function formula(symbols: readonly string[]): string {
  const count = new Map<string, number>();
  for (const s of symbols) count.set(s, (count.get(s) ?? 0) + 1);
  // Hill order: C, H, then alphabetical (no C: all alphabetical).
  const keys = [...count.keys()].sort();
  const order = count.has('C') ? ['C', ...(count.has('H') ? ['H'] : []), ...keys.filter((k) => k !== 'C' && k !== 'H')] : keys;
  return order.map((k) => `${k}${count.get(k)! > 1 ? count.get(k) : ''}`).join('');
}

const FORMULAS: Record<string, string> = {
  water: 'H2O',
  ammonia: 'H3N',
  malondialdehyde: 'C3H4O2',
  glycine: 'C5H10N2O2',
  serine: 'C6H12N2O3',
  aspirin: 'C9H8O4',
  'alanine-dipeptide': 'C6H12N2O2',
};

test('seven presets with the expected formulas, heavy atoms first', () => {
  assert.deepEqual(PRESET_NAMES, ['water', 'ammonia', 'malondialdehyde', 'glycine', 'serine', 'aspirin', 'alanine-dipeptide']);
  for (const name of PRESET_NAMES) {
    const m = presetMolecule(name);
    assert.equal(formula(m.symbols), FORMULAS[name], name);
    const firstH = m.symbols.indexOf('H');
    assert.ok(m.symbols.slice(firstH).every((s) => s === 'H'), `${name}: hydrogens after heavy atoms`);
    assert.equal(m.positionsA.length, 3 * m.symbols.length);
    assert.equal(m.bondOrders.length, m.bonds.length);
    assert.ok(m.description.length > 10 && !m.description.includes('\n'));
    // Centred on the centre of mass.
    const masses = massesAmu(m.symbols);
    for (let d = 0; d < 3; d++) {
      let s = 0;
      for (let a = 0; a < m.symbols.length; a++) s += masses[a]! * m.positionsA[3 * a + d]!;
      assert.ok(Math.abs(s) < 1e-3, `${name}: centre of mass`);
    }
  }
});

test('aliases and names resolve case-insensitively; unknown names list the valid ones', () => {
  const cases: Array<[string, string]> = [
    ['mal', 'malondialdehyde'],
    ['MALONDIALDEHYDE', 'malondialdehyde'],
    ['gly', 'glycine'],
    ['Ace_Gly_NMe', 'glycine'],
    ['ser', 'serine'],
    ['asp', 'aspirin'],
    ['ala2', 'alanine-dipeptide'],
    ['alanine dipeptide', 'alanine-dipeptide'],
    ['H2O', 'water'],
  ];
  for (const [alias, key] of cases) {
    assert.equal(findPresetName(alias), key, alias);
    assert.equal(presetMolecule(alias).name, key);
  }
  assert.equal(findPresetName('benzene'), undefined);
  assert.throws(
    () => presetMolecule('benzene'),
    (e: unknown) => e instanceof AtomgpError && e.message.includes("'benzene'") && PRESET_NAMES.every((n) => e.message.includes(n)),
  );
});

test('every conformer has sane bonds: covalent-rule bonds = stored bonds, lengths fit the radii', () => {
  for (const name of PRESET_NAMES) {
    const m = presetMolecule(name);
    for (const [label, pos] of Object.entries(m.conformers ?? { main: m.positionsA })) {
      const where = `${name} ${label}`;
      assert.deepEqual(findBonds(m.symbols, pos), m.bonds, `${where}: bond graph`);
      m.bonds.forEach(([i, j], b) => {
        const ratio = distanceA(pos, i, j) / (element(m.symbols[i]!).covalentRadiusA + element(m.symbols[j]!).covalentRadiusA);
        // Cordero radii are single-bond radii: single bonds within 12 %, double bonds 5-20 % shorter.
        if (m.bondOrders[b] === 1) assert.ok(Math.abs(ratio - 1) < 0.12, `${where}: bond ${i}-${j} ratio ${ratio.toFixed(3)}`);
        else assert.ok(ratio > 0.8 && ratio < 0.95, `${where}: multiple bond ${i}-${j} ratio ${ratio.toFixed(3)}`);
      });
    }
  }
});

test('no clashes: 1-3 pairs > 1.4 Å, other non-bonded pairs > 1.7 Å', () => {
  // (The closest 1-4+ contact is malondialdehyde's intramolecular O···H-O bond, 1.85 Å.)
  for (const name of PRESET_NAMES) {
    const m = presetMolecule(name);
    const n = m.symbols.length;
    const adj = Array.from({ length: n }, () => new Set<number>());
    for (const [i, j] of m.bonds) {
      adj[i]!.add(j);
      adj[j]!.add(i);
    }
    for (const [label, pos] of Object.entries(m.conformers ?? { main: m.positionsA })) {
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          if (adj[i]!.has(j)) continue;
          const d = distanceA(pos, i, j);
          const oneThree = [...adj[i]!].some((k) => adj[j]!.has(k));
          assert.ok(d > (oneThree ? 1.4 : 1.7), `${name} ${label}: atoms ${i}-${j} at ${d.toFixed(3)} Å`);
        }
      }
    }
  }
});

test('stored bond orders are the ones perceived from valences (Kekulé aspirin ring)', () => {
  for (const name of PRESET_NAMES) {
    const m = presetMolecule(name);
    assert.deepEqual(perceiveBondOrders(m.symbols, m.bonds, m.positionsA), m.bondOrders, name);
  }
  const aspirin = presetMolecule('aspirin');
  assert.equal(
    aspirin.bondOrders.reduce((s, o) => s + o, 0),
    aspirin.bonds.length + 5, // three ring C=C, two C=O
  );
});

test('alanine dipeptide: C7eq near (−83°, 73°), C5 near (−155°, 160°), L-alanine', () => {
  const m = presetMolecule('ala2');
  assert.ok(m.backbone && m.conformers);
  const { phi, psi } = m.backbone;
  assert.deepEqual(Object.keys(m.conformers), ['C7eq', 'C5']);
  assert.deepEqual(Array.from(m.positionsA), Array.from(m.conformers.C7eq!));
  const angles = (pos: Float64Array) => [deg(dihedralRad(pos, phi[0]!, phi[1]!, phi[2]!, phi[3]!)), deg(dihedralRad(pos, psi[0]!, psi[1]!, psi[2]!, psi[3]!))];
  const [phi7, psi7] = angles(m.conformers.C7eq!);
  assert.ok(Math.abs(angleDiff(phi7!, -83)) < 25 && Math.abs(angleDiff(psi7!, 73)) < 25, `C7eq φ=${phi7} ψ=${psi7}`);
  const [phi5, psi5] = angles(m.conformers.C5!);
  assert.ok(Math.abs(angleDiff(phi5!, -155)) < 30 && Math.abs(angleDiff(psi5!, 160)) < 30, `C5 φ=${phi5} ψ=${psi5}`);
  // C7eq's N-H···O=C hydrogen bond (the 7-ring): acetyl O2 to the NMe amide H.
  const hN = m.bonds.find(([i, j]) => i === 8 && m.symbols[j] === 'H')![1];
  assert.ok(distanceA(m.conformers.C7eq!, 2, hN) < 2.3, 'C7eq hydrogen bond');
  assert.ok(distanceA(m.conformers.C5!, 2, hN) > 3, 'C5 has no 7-ring hydrogen bond');
});

test('peptides: backbone atoms are C-N-Cα-C / N-Cα-C-N, L configuration (S) at Cα', () => {
  for (const name of ['glycine', 'serine', 'alanine-dipeptide']) {
    const m = presetMolecule(name);
    const { phi, psi } = m.backbone!;
    assert.deepEqual(phi.map((a) => m.symbols[a]), ['C', 'N', 'C', 'C'], name);
    assert.deepEqual(psi.map((a) => m.symbols[a]), ['N', 'C', 'C', 'N'], name);
    assert.deepEqual(psi.slice(0, 3), phi.slice(1), name);
    const carbonylO = m.bonds.find(([i, j], b) => m.bondOrders[b] === 2 && (i === phi[3] || j === phi[3]))!;
    assert.ok(carbonylO, `${name}: ψ's C is a carbonyl carbon`);
    assert.deepEqual(m.cvs.slice(0, 2).map((cv) => cv.atoms), [phi, psi]);
    if (name === 'glycine') continue;
    // S at Cα (N > C' > Cβ > H): the triple product (N−Cα)·[(C'−Cα)×(Cβ−Cα)] is positive.
    const ca = phi[2]!;
    const cb = m.bonds.flatMap(([i, j]) => (i === ca ? [j] : j === ca ? [i] : [])).find((a) => m.symbols[a] === 'C' && a !== phi[3])!;
    const v = (a: number) => [0, 1, 2].map((d) => m.positionsA[3 * a + d]! - m.positionsA[3 * ca + d]!);
    const [n, c, b] = [v(phi[1]!), v(phi[3]!), v(cb)];
    const triple = n[0]! * (c[1]! * b[2]! - c[2]! * b[1]!) + n[1]! * (c[2]! * b[0]! - c[0]! * b[2]!) + n[2]! * (c[0]! * b[1]! - c[1]! * b[0]!);
    assert.ok(triple > 0, `${name}: L (S) configuration`);
  }
});

test('collective variables: dihedrals are bonded chains, angles bonded, indices in range', () => {
  for (const spec of PRESET_SPECS) {
    const m = presetMolecule(spec.key);
    assert.ok(m.cvs.length >= 2, spec.key);
    const bonded = (i: number, j: number) => m.bonds.some(([p, q]) => (p === i && q === j) || (p === j && q === i));
    for (const cv of m.cvs) {
      const want = { distance: 2, angle: 3, dihedral: 4 }[cv.kind];
      assert.equal(cv.atoms.length, want, `${spec.key} ${cv.label}`);
      assert.equal(new Set(cv.atoms).size, want);
      assert.ok(cv.atoms.every((a) => Number.isInteger(a) && a >= 0 && a < m.symbols.length));
      if (cv.kind !== 'distance') {
        for (let k = 0; k + 1 < cv.atoms.length; k++) assert.ok(bonded(cv.atoms[k]!, cv.atoms[k + 1]!), `${spec.key} ${cv.label}: chain`);
      }
    }
  }
  // Malondialdehyde: both C-C-C-O torsions and the O-H torsion near 0 (planar Z-enol, H-bonded).
  const mal = presetMolecule('mal');
  for (const cv of mal.cvs) {
    const [i, j, k, l] = cv.atoms as [number, number, number, number];
    assert.ok(Math.abs(deg(dihedralRad(mal.positionsA, i, j, k, l))) < 5, cv.label);
  }
});

test("ALF of every preset follows ichor's rule: X bonded, a uniquely heaviest neighbour wins", () => {
  for (const name of PRESET_NAMES) {
    const m = presetMolecule(name);
    const masses = massesAmu(m.symbols);
    const nb = Array.from({ length: m.symbols.length }, () => [] as number[]);
    for (const [i, j] of m.bonds) {
      nb[i]!.push(j);
      nb[j]!.push(i);
    }
    const alfs = assignAlf(m.symbols, m.bonds);
    alfs.forEach(([a, x, y], k) => {
      assert.equal(a, k + 1);
      const ai = a! - 1;
      const xi = x! - 1;
      const yi = y! - 1;
      assert.ok(nb[ai]!.includes(xi), `${name} atom ${a}: X bonded`);
      const heaviest = Math.max(...nb[ai]!.map((b) => masses[b]!));
      if (nb[ai]!.filter((b) => masses[b] === heaviest).length === 1) assert.equal(masses[xi], heaviest, `${name} atom ${a}: X of highest mass`);
      if (nb[ai]!.length > 1) assert.ok(nb[ai]!.includes(yi), `${name} atom ${a}: Y bonded`);
      else assert.ok(nb[xi]!.includes(yi) && yi !== ai, `${name} atom ${a}: Y bonded to X`);
    });
  }
  // Spot checks: water as formats.md; the alanine-dipeptide Cα (atom 5) takes N4 then C7 (the
  // carbonyl C beats the methyl C at depth 1); the amide N4 takes the carbonyl C2 over Cα.
  assert.deepEqual(assignAlf(presetMolecule('water').symbols, presetMolecule('water').bonds), [
    [1, 2, 3],
    [2, 1, 3],
    [3, 1, 2],
  ]);
  const ala = presetMolecule('ala2');
  const alfs = assignAlf(ala.symbols, ala.bonds);
  assert.deepEqual(alfs[4], [5, 4, 7]);
  assert.deepEqual(alfs[3], [4, 2, 5]);
  // Not lexicographic CIP: the aspirin carboxyl C11's two oxygens tie at depth 0, and at depth 1
  // the ring carbon C10 (4 C = 48.04 amu) outweighs O12 (O + C = 28.01) and O13 (O + C + H =
  // 29.02), so ichor's rule takes X = C10, then Y = O13 (the OH oxygen, heavier at depth 1).
  const asp = presetMolecule('aspirin');
  assert.deepEqual(assignAlf(asp.symbols, asp.bonds)[10], [11, 10, 13]);
});

test('presetMolecule returns fresh arrays', () => {
  const a = presetMolecule('water');
  a.positionsA[0] = 99;
  a.symbols[0] = 'X';
  a.cvs[0]!.atoms[0] = 7;
  const b = presetMolecule('water');
  assert.notEqual(b.positionsA[0], 99);
  assert.equal(b.symbols[0], 'O');
  assert.equal(b.cvs[0]!.atoms[0], 1);
});
