/**
 * Atom typing and bond-order perception for the built-in force field (builtin-ff.ts): bond orders
 * from connectivity (a Kekulé search, then aromatic six-rings), UFF atom types from elements, bonds
 * and orders, and the input checks both share. Rules and limits: docs/builtin-ff.md.
 */
import { findElement } from '../chem/elements.js';
import { AtomgpError } from '../errors.js';
import { UFF_ELEMENTS } from './uff-params.js';

/** Node budget of the bond-order search (enough for any drug-sized molecule; then the best found). */
const KEKULE_SEARCH_BUDGET = 200_000;

function prefix(): string {
  return 'builtin force field';
}

/** Canonical element symbol of atom i, or a typed error naming the atom (also used by builtin-ff.ts). */
export function elementOf(symbols: readonly string[], i: number): string {
  const e = findElement(symbols[i] ?? '');
  if (!e) throw new AtomgpError(`${prefix()}: atom ${i + 1} has unknown element '${symbols[i]}'`);
  if (!UFF_ELEMENTS.includes(e.symbol)) {
    throw new AtomgpError(`${prefix()}: no parameters for atom ${i + 1} (${e.symbol}); supported elements are ${UFF_ELEMENTS.join(', ')}`);
  }
  return e.symbol;
}

/** Bond indices in range, no self or duplicate bonds, orders (when given) one per bond in [0.5, 3]. */
export function checkBonds(n: number, bonds: ReadonlyArray<readonly [number, number]>, bondOrders: readonly number[] | undefined): void {
  const seen = new Set<number>();
  bonds.forEach((b, k) => {
    const [i, j] = b;
    if (!Number.isInteger(i) || !Number.isInteger(j) || i < 0 || j < 0 || i >= n || j >= n) {
      throw new AtomgpError(`${prefix()}: bond ${k + 1} refers to atoms ${i}, ${j}; expected 0-based indices 0..${n - 1}`);
    }
    if (i === j) throw new AtomgpError(`${prefix()}: bond ${k + 1} joins atom ${i + 1} to itself`);
    const key = Math.min(i, j) * n + Math.max(i, j);
    if (seen.has(key)) throw new AtomgpError(`${prefix()}: bond ${k + 1} (atoms ${i + 1}-${j + 1}) is listed twice`);
    seen.add(key);
  });
  if (bondOrders) {
    if (bondOrders.length !== bonds.length) {
      throw new AtomgpError(`${prefix()}: ${bonds.length} bonds but ${bondOrders.length} bond orders`);
    }
    bondOrders.forEach((o, k) => {
      if (!(Number.isFinite(o) && o >= 0.5 && o <= 3)) {
        throw new AtomgpError(`${prefix()}: bond ${k + 1} has bond order ${o}; expected a number in [0.5, 3] (1, 1.5, 2 or 3)`);
      }
    });
  }
}

/** Per atom: its bonded neighbours and the indices of its bonds. */
export function neighbourLists(n: number, bonds: ReadonlyArray<readonly [number, number]>): { atoms: number[][]; bondIdx: number[][] } {
  const atoms: number[][] = Array.from({ length: n }, () => []);
  const bondIdx: number[][] = Array.from({ length: n }, () => []);
  bonds.forEach(([i, j], k) => {
    atoms[i]!.push(j);
    atoms[j]!.push(i);
    bondIdx[i]!.push(k);
    bondIdx[j]!.push(k);
  });
  return { atoms, bondIdx };
}

/** Usual valence of a neutral closed-shell atom (S hypervalent by its number of neighbours). */
function valenceOf(element: string, degree: number): number {
  switch (element) {
    case 'C':
      return 4;
    case 'N':
      return 3;
    case 'O':
      return 2;
    case 'S':
      return degree <= 2 ? 2 : degree === 3 ? 4 : 6;
    default:
      return 1;
  }
}

/**
 * Bond orders from connectivity alone (neutral closed-shell molecules): each atom's missing valence
 * is filled with double/triple bonds to unsaturated neighbours (a Kekulé structure found by a
 * most-constrained-first search), then six-membered rings of alternating single/double bonds are
 * marked aromatic (order 1.5). Returns one order per bond.
 */
export function perceiveBondOrdersFromBonds(symbols: readonly string[], bonds: ReadonlyArray<readonly [number, number]>): number[] {
  const n = symbols.length;
  checkBonds(n, bonds, undefined);
  const elements = symbols.map((_, i) => elementOf(symbols, i));
  const { atoms: nbr, bondIdx } = neighbourLists(n, bonds);
  const missing = new Int32Array(n);
  for (let i = 0; i < n; i++) missing[i] = Math.max(0, valenceOf(elements[i]!, nbr[i]!.length) - nbr[i]!.length);
  const orders = new Int32Array(bonds.length).fill(1);
  let best = Number.POSITIVE_INFINITY;
  let bestOrders = Int32Array.from(orders);
  let nodes = 0;
  const other = (k: number, i: number): number => (bonds[k]![0] === i ? bonds[k]![1] : bonds[k]![0]);
  const search = (lost: number): void => {
    if (lost >= best || ++nodes > KEKULE_SEARCH_BUDGET) return;
    // Most constrained unsaturated atom: fewest bonds that could still take more order.
    let pick = -1;
    let pickOptions = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      if (missing[i]! === 0) continue;
      let options = 0;
      for (const k of bondIdx[i]!) if (missing[other(k, i)]! > 0 && orders[k]! < 3) options++;
      if (options < pickOptions) {
        pick = i;
        pickOptions = options;
      }
    }
    if (pick < 0) {
      best = lost;
      bestOrders = Int32Array.from(orders);
      return;
    }
    const a = pick;
    for (const k of bondIdx[a]!) {
      const b = other(k, a);
      if (missing[b]! === 0 || orders[k]! >= 3) continue;
      orders[k]!++;
      missing[a]!--;
      missing[b]!--;
      search(lost);
      orders[k]!--;
      missing[a]!++;
      missing[b]!++;
      if (best === 0) return;
    }
    // Leave this atom unsaturated (radical-like) if nothing better exists.
    const m = missing[a]!;
    missing[a] = 0;
    search(lost + m);
    missing[a] = m;
  };
  search(0);
  const result = Array.from(bestOrders, (o) => o as number);
  markAromaticSixRings(elements, nbr, bonds, result);
  return result;
}

/** Six-membered rings of C/N with alternating single and double bonds → all ring bonds 1.5 (in place). */
export function markAromaticSixRings(elements: readonly string[], nbr: number[][], bonds: ReadonlyArray<readonly [number, number]>, orders: number[]): void {
  const n = elements.length;
  const bondOf = new Map<number, number>();
  bonds.forEach(([i, j], k) => {
    bondOf.set(Math.min(i, j) * n + Math.max(i, j), k);
  });
  const bondBetween = (i: number, j: number): number => bondOf.get(Math.min(i, j) * n + Math.max(i, j))!;
  const ringAtom = (i: number): boolean => (elements[i] === 'C' || elements[i] === 'N') && nbr[i]!.length <= 3;
  const path: number[] = [];
  const rings: number[][] = [];
  const walk = (start: number, at: number): void => {
    if (path.length === 6) {
      if (nbr[at]!.includes(start) && path[1]! < path[5]!) rings.push([...path]);
      return;
    }
    for (const next of nbr[at]!) {
      if (next <= start || path.includes(next) || !ringAtom(next)) continue;
      path.push(next);
      walk(start, next);
      path.pop();
    }
  };
  for (let s = 0; s < n; s++) {
    if (!ringAtom(s)) continue;
    path.length = 0;
    path.push(s);
    walk(s, s);
  }
  const aromatic: number[] = [];
  for (const ring of rings) {
    const ks = ring.map((a, t) => bondBetween(a, ring[(t + 1) % 6]!));
    const pattern = ks.map((k) => orders[k]!);
    const alternating = pattern.every((o, t) => (o === 1 || o === 2) && o !== pattern[(t + 1) % 6]);
    if (alternating) aromatic.push(...ks);
  }
  for (const k of aromatic) orders[k] = 1.5;
}

/**
 * UFF atom types from elements, bonds and bond orders (rules: docs/builtin-ff.md). Throws an
 * `AtomgpError` naming the atom when no type fits (e.g. a carbon with five bonds).
 */
export function uffAtomTypes(symbols: readonly string[], bonds: ReadonlyArray<readonly [number, number]>, bondOrders: readonly number[]): string[] {
  const n = symbols.length;
  checkBonds(n, bonds, bondOrders);
  const elements = symbols.map((_, i) => elementOf(symbols, i));
  const { atoms: nbr } = neighbourLists(n, bonds);
  const sum = new Float64Array(n);
  const aromatic = new Uint8Array(n);
  const multiple = new Uint8Array(n);
  bonds.forEach(([i, j], k) => {
    const o = bondOrders[k]!;
    sum[i]! += o;
    sum[j]! += o;
    if (Math.abs(o - 1.5) < 1e-9) aromatic[i] = aromatic[j] = 1;
    if (o >= 1.5 - 1e-9) multiple[i] = multiple[j] = 1;
  });
  const types: string[] = [];
  for (let i = 0; i < n; i++) {
    const e = elements[i]!;
    const deg = nbr[i]!.length;
    const pi = sum[i]! - deg; // π-bond count (aromatic bonds count ½)
    const conjugated = nbr[i]!.some((j) => multiple[j] === 1);
    const fail = (why: string): never => {
      throw new AtomgpError(`${prefix()}: no parameters for atom ${i + 1} (${e}) ${why}`);
    };
    let t: string;
    switch (e) {
      case 'H':
      case 'F':
      case 'Cl':
        if (deg > 1) fail(`with ${deg} bonds (expected at most 1)`);
        t = e === 'H' ? 'H_' : e === 'F' ? 'F_' : 'Cl';
        break;
      case 'C':
        if (deg > 4) fail(`with ${deg} bonds (expected at most 4)`);
        if (aromatic[i]) t = 'C_R';
        else if (pi >= 1.75) t = 'C_1';
        else if (pi >= 0.75 || deg === 3) t = 'C_2';
        else t = 'C_3';
        break;
      case 'N':
        if (deg > 4) fail(`with ${deg} bonds (expected at most 4)`);
        if (deg === 4) t = 'N_3';
        else if (aromatic[i]) t = 'N_R';
        else if (pi >= 1.75) t = 'N_1';
        else if (pi >= 0.75) t = deg === 3 ? 'N_R' : 'N_2';
        else t = conjugated && deg >= 2 ? 'N_R' : 'N_3';
        break;
      case 'O':
        if (deg > 3) fail(`with ${deg} bonds (expected at most 3)`);
        if (aromatic[i]) t = 'O_R';
        else if (pi >= 1.75) t = 'O_1';
        else if (pi >= 0.75) t = 'O_2';
        else t = conjugated && deg === 2 ? 'O_R' : 'O_3';
        break;
      default: {
        // S
        if (deg > 4) fail(`with ${deg} bonds (expected at most 4)`);
        if (aromatic[i]) t = 'S_R';
        else if (deg === 4 || sum[i]! >= 5.5) t = 'S_3+6';
        else if (deg === 3 || sum[i]! >= 3.5) t = 'S_3+4';
        else if (deg === 1 && pi >= 0.75) t = 'S_2';
        else t = 'S_3+2';
      }
    }
    types.push(t);
  }
  return types;
}
