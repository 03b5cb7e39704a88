/**
 * Atomic local frames (ALF) for a new molecule, by the rule ichor uses by default (its
 * "Cahn-Ingold-Prelog" ALF calculator), re-implemented from its description:
 *
 * - Priority of a candidate atom c at depth d: the sum of the masses of the atoms reached from c
 *   by d rounds of expansion over bonds. Each round walks the list built so far, in list order, and
 *   appends every bonded atom of each entry that is not yet in the list *as it stood before the
 *   round*; so an atom reached through two entries in the same round is appended (and counted)
 *   twice, which ichor does too (this only happens in rings). The expansion may pass back through
 *   the central atom.
 * - The winner among candidates: depth 0, 1, 2, … until one candidate holds the maximum alone, or
 *   the priorities stop changing from one depth to the next; then the first candidate (in the
 *   order below) with the maximum.
 * - Candidates for X: the central atom's bonded atoms in ascending index order. Candidates for Y:
 *   the remaining bonded atoms, compared afresh from depth 0. When the central atom has a single
 *   neighbour (X), Y is chosen among X's bonded atoms other than the central atom.
 * - A molecule of two atoms gets (A, X) only; one atom, or an atom without a bonded atom (or, for
 *   Y, a lone diatomic fragment), is an error.
 *
 * Note: the ammonia example models in the shared data (ichor's example set) use ALFs 3 2 4 and
 * 4 2 3 for H3 and H4: X is H2, an atom not bonded to them. Those frames come from ichor's other
 * ("sequence") ALF calculator (X, Y = previous, next atom; the first atom 2 3, the last atom the two
 * before it), which `assignAlfSequence` reproduces. Models must always be used with the ALF stored
 * in their file.
 */
import { AtomgpError } from '../errors.js';
import { massesAmu } from './molecule.js';

/**
 * ALF (central, x-axis, xy-plane atom) of every atom, **1-based** as in a `.model` file's `ALF`
 * line, by ichor's Cahn-Ingold-Prelog-like mass priority over bonded neighbours. Two entries per
 * atom for a diatomic molecule. `massesAmu` defaults to standard atomic masses (ichor uses
 * monoisotopic ones; the two only disagree on near-exact ties between different elements).
 */
export function assignAlf(
  symbols: readonly string[],
  bonds: ReadonlyArray<readonly [number, number]>,
  massesAmuIn?: Float64Array,
): number[][] {
  const n = symbols.length;
  if (n < 2) throw new AtomgpError(`an atomic local frame needs at least 2 atoms, got ${n}`);
  const masses = massesAmuIn ?? massesAmu(symbols);
  if (masses.length !== n) throw new AtomgpError(`${n} atoms need ${n} masses, got ${masses.length}`);
  const neighbours = adjacency(n, bonds);
  const out: number[][] = [];
  for (let a = 0; a < n; a++) {
    const bonded = neighbours[a]!;
    if (bonded.length === 0) {
      throw new AtomgpError(`atom ${a + 1} (${symbols[a]}) has no bonded neighbour: its atomic local frame is undefined`);
    }
    const x = highestPriority(bonded, neighbours, masses);
    if (n === 2) {
      out.push([a + 1, x + 1]);
      continue;
    }
    let yCandidates = bonded.filter((b) => b !== x);
    if (yCandidates.length === 0) yCandidates = neighbours[x]!.filter((b) => b !== a);
    if (yCandidates.length === 0) {
      throw new AtomgpError(
        `atom ${a + 1} (${symbols[a]}) and its only neighbour, atom ${x + 1} (${symbols[x]}), have no other bonded atom: no xy-plane atom for the local frame`,
      );
    }
    const y = highestPriority(yCandidates, neighbours, masses);
    out.push([a + 1, x + 1, y + 1]);
  }
  return out;
}

/**
 * ichor's "sequence" ALF (1-based): atom i gets X = i−1, Y = i+1; the first atom 2, 3; the last
 * atom the two before it (n−2, n−1); with 2 atoms, each the other. Independent of the bonds.
 */
export function assignAlfSequence(nAtoms: number): number[][] {
  if (!Number.isInteger(nAtoms) || nAtoms < 2) throw new AtomgpError(`an atomic local frame needs at least 2 atoms, got ${nAtoms}`);
  const out: number[][] = [];
  for (let i = 1; i <= nAtoms; i++) {
    if (nAtoms === 2) out.push([i, 3 - i]);
    else if (i === 1) out.push([1, 2, 3]);
    else if (i === nAtoms) out.push([i, i - 2, i - 1]);
    else out.push([i, i - 1, i + 1]);
  }
  return out;
}

function adjacency(n: number, bonds: ReadonlyArray<readonly [number, number]>): number[][] {
  const neighbours: number[][] = Array.from({ length: n }, () => []);
  for (const [i, j] of bonds) {
    if (!Number.isInteger(i) || !Number.isInteger(j) || i < 0 || j < 0 || i >= n || j >= n || i === j) {
      throw new AtomgpError(`bond (${i}, ${j}) is not a pair of distinct atoms in 0..${n - 1}`);
    }
    if (!neighbours[i]!.includes(j)) neighbours[i]!.push(j);
    if (!neighbours[j]!.includes(i)) neighbours[j]!.push(i);
  }
  for (const list of neighbours) list.sort((p, q) => p - q);
  return neighbours;
}

/** Mass sum of the atoms reached from `start` in `depth` rounds of expansion (see the file comment). */
function priority(start: number, depth: number, neighbours: readonly number[][], masses: Float64Array): number {
  const reached = [start];
  const member = new Set<number>([start]);
  for (let round = 0; round < depth; round++) {
    const added: number[] = [];
    for (const atom of reached) {
      for (const b of neighbours[atom]!) if (!member.has(b)) added.push(b);
    }
    if (added.length === 0) break;
    for (const b of added) {
      reached.push(b);
      member.add(b);
    }
  }
  // Summed in list order, so equal sums of the same multiset compare equal bit for bit.
  let sum = 0;
  for (const atom of reached) sum += masses[atom]!;
  return sum;
}

/** The candidate of highest priority: deepen until the maximum is unique or nothing changes. */
function highestPriority(candidates: readonly number[], neighbours: readonly number[][], masses: Float64Array): number {
  let previous: number[] | undefined;
  for (let depth = 0; ; depth++) {
    const current = candidates.map((c) => priority(c, depth, neighbours, masses));
    const max = Math.max(...current);
    const unique = current.filter((p) => p === max).length === 1;
    const stalled = previous !== undefined && current.every((p, k) => p === previous![k]);
    if (unique || stalled) return candidates[current.indexOf(max)]!;
    previous = current;
  }
}
