/**
 * Distorted starting geometries, seeded and reproducible: the high-energy starts of the robustness
 * benchmark ("SER O-H stretched to 1.5 Å returns to ~0.98 Å within 1 ps").
 *
 * Bond changes keep the rest of the molecule intact:
 * - a bond that is not in a ring (a bridge of the bond graph) is changed by moving the smaller of
 *   the two fragments it separates rigidly along the bond axis, so every other bond, angle and
 *   torsion keeps its value;
 * - a ring bond is changed by moving its two atoms symmetrically along the axis, each carrying the
 *   substituents that hang off it through non-ring bonds (so C–H bonds on a ring stay as they
 *   were; the neighbouring ring bonds and angles change, as they must).
 * Angles i-j-k are bent by rotating the k side about the normal of the i-j-k plane through j.
 *
 * The text grammar of `--distort` is `DISTORTION_GRAMMAR`; atom numbers in it are 1-based, steps
 * are applied left to right.
 */
import { AtomgpError } from '../errors.js';
import { type Bond, findBonds } from '../chem/connectivity.js';
import { angleRad, distanceA } from '../chem/molecule.js';
import { Rng } from '../util/rng.js';

/** How a length (Å) or angle (degrees) changes: set to a value, add a value (may be negative), multiply by a factor. */
export type ChangeMode = 'set' | 'add' | 'scale';

/** Which bonds `bonds:` selects: all of them, every bond to a hydrogen, or bonds between two elements. */
export type BondSelector = { type: 'all' } | { type: 'x-h' } | { type: 'pair'; a: string; b: string };

export type DistortionStep =
  | { kind: 'none' }
  /** Atoms i, j are 0-based; value in Å (set, add) or a factor (scale). */
  | { kind: 'bond'; i: number; j: number; mode: ChangeMode; value: number }
  | { kind: 'bonds'; selector: BondSelector; mode: ChangeMode; value: number }
  /** Random displacements with an exact root-mean-square size per atom, Å. */
  | { kind: 'random'; rmsA: number; distribution: 'gaussian' | 'uniform' }
  /** Angle i-j-k (0-based, j central); value in degrees; `scale` is not allowed. */
  | { kind: 'angle'; i: number; j: number; k: number; mode: Exclude<ChangeMode, 'scale'>; valueDeg: number };

export const DISTORTION_GRAMMAR = [
  'distortion steps, joined by "," and applied left to right (atom numbers 1-based):',
  '  none                  no distortion',
  '  bond:I-J=L            set the bond I-J to L Å          (e.g. bond:7-8=1.5); I, J bonded or in different molecules',
  '  bond:I-J+D, bond:I-J-D  stretch / compress by D Å       (e.g. bond:7-8+0.3)',
  '  bond:I-J*F            multiply its length by F          (e.g. bond:7-8*1.4)',
  '  bonds:SEL OP V        every selected bond; SEL = all | X-H (bonds to hydrogen) | A-B (element pair, e.g. O-H);',
  '                        OP V = "=L", "+D", "-D" or "*F"  (e.g. bonds:O-H*1.5, bonds:all+0.2)',
  '  random:S[:gaussian|:uniform]  random displacements, RMS S Å per atom, seeded (e.g. random:0.05)',
  '  angle:I-J-K+D, angle:I-J-K-D, angle:I-J-K=A  bend the angle at J by D degrees or set it to A degrees,',
  '                        rotating the K side (J-K must be a bond)  (e.g. angle:2-1-3+20)',
].join('\n');

const NUM = String.raw`(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)`;
const BOND_RE = new RegExp(String.raw`^(\d+)-(\d+)([=+*-])${NUM}$`);
const BONDS_RE = new RegExp(`^([A-Za-z]+(?:-[A-Za-z]+)?)([=+*-])${NUM}$`);
const ANGLE_RE = new RegExp(String.raw`^(\d+)-(\d+)-(\d+)([=+-])${NUM}$`);
const RANDOM_RE = new RegExp(`^${NUM}(?::(gaussian|uniform))?$`);

function grammarError(part: string, why: string): AtomgpError {
  return new AtomgpError(`--distort: cannot read '${part}': ${why}\n${DISTORTION_GRAMMAR}`);
}

function modeOf(op: string): ChangeMode {
  return op === '=' ? 'set' : op === '*' ? 'scale' : 'add';
}

function atomIndex(token: string, part: string): number {
  const n = Number(token);
  if (!Number.isSafeInteger(n) || n < 1) throw grammarError(part, `atom numbers start at 1, got '${token}'`);
  return n - 1;
}

/** Parse the `--distort` text (see `DISTORTION_GRAMMAR`); bad text throws an `AtomgpError` quoting the grammar. */
export function parseDistortion(text: string): DistortionStep[] {
  const steps: DistortionStep[] = [];
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) throw grammarError(text, 'empty distortion (use "none")');
  for (const part of parts) {
    if (part === '') throw grammarError(text, 'empty step between commas');
    if (part === 'none') {
      steps.push({ kind: 'none' });
      continue;
    }
    const colon = part.indexOf(':');
    if (colon < 0) throw grammarError(part, 'expected KIND:ARGUMENTS with KIND one of bond, bonds, random, angle, or "none"');
    const kind = part.slice(0, colon);
    const arg = part.slice(colon + 1).replace(/\s+/g, '');
    if (kind === 'bond') {
      const m = BOND_RE.exec(arg);
      if (!m) throw grammarError(part, 'expected bond:I-J=L, bond:I-J+D, bond:I-J-D or bond:I-J*F');
      const i = atomIndex(m[1]!, part);
      const j = atomIndex(m[2]!, part);
      if (i === j) throw grammarError(part, 'a bond needs two different atoms');
      const mode = modeOf(m[3]!);
      const value = (m[3] === '-' ? -1 : 1) * Number(m[4]);
      checkBondValue(mode, value, part);
      steps.push({ kind: 'bond', i, j, mode, value });
    } else if (kind === 'bonds') {
      const m = BONDS_RE.exec(arg);
      if (!m) throw grammarError(part, 'expected bonds:SEL=L, bonds:SEL+D, bonds:SEL-D or bonds:SEL*F with SEL all, X-H or an element pair like O-H');
      const sel = m[1]!;
      let selector: BondSelector;
      if (sel.toLowerCase() === 'all') selector = { type: 'all' };
      else if (sel.toLowerCase() === 'x-h') selector = { type: 'x-h' };
      else if (sel.includes('-')) {
        const [a, b] = sel.split('-') as [string, string];
        selector = { type: 'pair', a: normaliseSymbol(a), b: normaliseSymbol(b) };
      } else throw grammarError(part, `unknown bond selection '${sel}' (expected all, X-H or an element pair like O-H)`);
      const mode = modeOf(m[2]!);
      const value = (m[2] === '-' ? -1 : 1) * Number(m[3]);
      checkBondValue(mode, value, part);
      steps.push({ kind: 'bonds', selector, mode, value });
    } else if (kind === 'random') {
      const m = RANDOM_RE.exec(arg);
      if (!m) throw grammarError(part, 'expected random:S or random:S:gaussian or random:S:uniform (S = RMS displacement, Å)');
      const rmsA = Number(m[1]);
      if (!Number.isFinite(rmsA)) throw grammarError(part, 'the RMS displacement must be a finite number of Å');
      steps.push({ kind: 'random', rmsA, distribution: (m[2] as 'gaussian' | 'uniform' | undefined) ?? 'gaussian' });
    } else if (kind === 'angle') {
      const m = ANGLE_RE.exec(arg);
      if (!m) throw grammarError(part, 'expected angle:I-J-K+D, angle:I-J-K-D or angle:I-J-K=A (degrees, J the central atom)');
      const i = atomIndex(m[1]!, part);
      const j = atomIndex(m[2]!, part);
      const k = atomIndex(m[3]!, part);
      if (i === j || j === k || i === k) throw grammarError(part, 'an angle needs three different atoms');
      const mode = m[4] === '=' ? 'set' : 'add';
      const valueDeg = (m[4] === '-' ? -1 : 1) * Number(m[5]);
      if (!Number.isFinite(valueDeg)) throw grammarError(part, 'the angle must be a finite number of degrees');
      if (mode === 'set' && !(valueDeg > 0 && valueDeg < 180)) throw grammarError(part, `an angle must lie strictly between 0 and 180 degrees, got ${valueDeg}`);
      steps.push({ kind: 'angle', i, j, k, mode, valueDeg });
    } else {
      throw grammarError(part, `unknown kind '${kind}'`);
    }
  }
  return steps;
}

function checkBondValue(mode: ChangeMode, value: number, part: string): void {
  if (!Number.isFinite(value)) throw grammarError(part, 'the value must be a finite number');
  if (mode === 'set' && !(value > 0)) throw grammarError(part, `a bond length must be positive, got ${value}`);
  if (mode === 'scale' && !(value > 0)) throw grammarError(part, `a scale factor must be positive, got ${value}`);
}

function normaliseSymbol(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
}

/** Text form of steps (the inverse of `parseDistortion`, 1-based), for logs and reports. */
export function formatDistortion(steps: readonly DistortionStep[]): string {
  const op = (mode: ChangeMode, v: number): string => (mode === 'set' ? `=${v}` : mode === 'scale' ? `*${v}` : v < 0 ? `-${-v}` : `+${v}`);
  return steps
    .map((s) => {
      switch (s.kind) {
        case 'none':
          return 'none';
        case 'bond':
          return `bond:${s.i + 1}-${s.j + 1}${op(s.mode, s.value)}`;
        case 'bonds': {
          const sel = s.selector.type === 'all' ? 'all' : s.selector.type === 'x-h' ? 'X-H' : `${s.selector.a}-${s.selector.b}`;
          return `bonds:${sel}${op(s.mode, s.value)}`;
        }
        case 'random':
          return `random:${s.rmsA}${s.distribution === 'uniform' ? ':uniform' : ''}`;
        case 'angle':
          return `angle:${s.i + 1}-${s.j + 1}-${s.k + 1}${op(s.mode, s.valueDeg)}`;
      }
      return '';
    })
    .join(',');
}

// ---------------------------------------------------------------------------------------------
// Bond graph

/** Adjacency of a bond graph in compressed form: neighbours of a are `neighbours[start[a] .. start[a+1])`. */
export interface BondGraph {
  nAtoms: number;
  start: Int32Array;
  neighbours: Int32Array;
  /** For each neighbour slot, the index of its bond in the bond list. */
  bondOf: Int32Array;
}

/** Build the adjacency of `bonds` (0-based pairs); indices outside 0..n−1 throw. */
export function bondGraph(nAtoms: number, bonds: readonly Bond[]): BondGraph {
  const start = new Int32Array(nAtoms + 1);
  for (const [i, j] of bonds) {
    if (!Number.isInteger(i) || !Number.isInteger(j) || i < 0 || j < 0 || i >= nAtoms || j >= nAtoms || i === j) {
      throw new AtomgpError(`bond (${i + 1}, ${j + 1}) refers to an atom outside 1..${nAtoms} (or to one atom twice)`);
    }
    start[i + 1]!++;
    start[j + 1]!++;
  }
  for (let a = 0; a < nAtoms; a++) start[a + 1]! += start[a]!;
  const fill = start.slice(0, nAtoms);
  const neighbours = new Int32Array(start[nAtoms]!);
  const bondOf = new Int32Array(start[nAtoms]!);
  bonds.forEach(([i, j], b) => {
    bondOf[fill[i]!] = b;
    neighbours[fill[i]!++] = j;
    bondOf[fill[j]!] = b;
    neighbours[fill[j]!++] = i;
  });
  return { nAtoms, start, neighbours, bondOf };
}

/**
 * Which bonds are bridges (not in any ring): removing a bridge splits its fragment in two.
 * Tarjan's low-link method, iterative so long chains cannot overflow the stack.
 */
export function bridgeBonds(graph: BondGraph, nBonds: number): Uint8Array {
  const { nAtoms, start, neighbours, bondOf } = graph;
  const isBridge = new Uint8Array(nBonds);
  const order = new Int32Array(nAtoms).fill(-1);
  const low = new Int32Array(nAtoms);
  const parentBond = new Int32Array(nAtoms).fill(-1);
  const cursor = new Int32Array(nAtoms);
  const stack = new Int32Array(nAtoms);
  let counter = 0;
  for (let root = 0; root < nAtoms; root++) {
    if (order[root] !== -1) continue;
    let top = 0;
    stack[top++] = root;
    order[root] = low[root] = counter++;
    cursor[root] = start[root]!;
    while (top > 0) {
      const a = stack[top - 1]!;
      if (cursor[a]! < start[a + 1]!) {
        const slot = cursor[a]!++;
        const b = neighbours[slot]!;
        const bond = bondOf[slot]!;
        if (bond === parentBond[a]) continue;
        if (order[b] === -1) {
          parentBond[b] = bond;
          order[b] = low[b] = counter++;
          cursor[b] = start[b]!;
          stack[top++] = b;
        } else {
          low[a] = Math.min(low[a]!, order[b]!);
        }
      } else {
        top--;
        if (top > 0) {
          const p = stack[top - 1]!;
          low[p] = Math.min(low[p]!, low[a]!);
          if (low[a]! > order[p]!) isBridge[parentBond[a]!] = 1;
        }
      }
    }
  }
  return isBridge;
}

/** Atoms reachable from `from` without crossing bond `skipBond` (−1: cross everything). */
function reachable(graph: BondGraph, from: number, skipBond: number): Uint8Array {
  const seen = new Uint8Array(graph.nAtoms);
  const queue = new Int32Array(graph.nAtoms);
  let head = 0;
  let tail = 0;
  queue[tail++] = from;
  seen[from] = 1;
  while (head < tail) {
    const a = queue[head++]!;
    for (let s = graph.start[a]!; s < graph.start[a + 1]!; s++) {
      if (graph.bondOf[s] === skipBond) continue;
      const b = graph.neighbours[s]!;
      if (!seen[b]) {
        seen[b] = 1;
        queue[tail++] = b;
      }
    }
  }
  return seen;
}

/** Index of the bond between a and b in the graph, or −1. */
function bondIndex(graph: BondGraph, a: number, b: number): number {
  for (let s = graph.start[a]!; s < graph.start[a + 1]!; s++) if (graph.neighbours[s] === b) return graph.bondOf[s]!;
  return -1;
}

/**
 * Atom `a` with everything hanging off it through bridges other than `exceptBond`: the group that
 * moves with `a` when a ring bond or ring angle at `a` changes.
 */
function ringAtomGroup(graph: BondGraph, isBridge: Uint8Array, a: number, exceptBond: number): Uint8Array {
  const group = new Uint8Array(graph.nAtoms);
  group[a] = 1;
  for (let s = graph.start[a]!; s < graph.start[a + 1]!; s++) {
    const bond = graph.bondOf[s]!;
    if (bond === exceptBond || !isBridge[bond]) continue;
    const side = reachable(graph, graph.neighbours[s]!, bond);
    for (let x = 0; x < graph.nAtoms; x++) if (side[x]) group[x] = 1;
  }
  return group;
}

function countOf(mask: Uint8Array): number {
  let c = 0;
  for (let x = 0; x < mask.length; x++) c += mask[x]!;
  return c;
}

function translate(pos: Float64Array, mask: Uint8Array, dx: number, dy: number, dz: number): void {
  for (let x = 0; x < mask.length; x++) {
    if (!mask[x]) continue;
    pos[3 * x]! += dx;
    pos[3 * x + 1]! += dy;
    pos[3 * x + 2]! += dz;
  }
}

/** Context shared by the bond moves of one step: graph, bridges, and the moving groups per bond. */
interface Topology {
  graph: BondGraph;
  bonds: readonly Bond[];
  isBridge: Uint8Array;
}

function topologyOf(nAtoms: number, bonds: readonly Bond[]): Topology {
  const graph = bondGraph(nAtoms, bonds);
  return { graph, bonds, isBridge: bridgeBonds(graph, bonds.length) };
}

function changeDistance(pos: Float64Array, topo: Topology, i: number, j: number, targetA: number, what: string): void {
  const dx = pos[3 * j]! - pos[3 * i]!;
  const dy = pos[3 * j + 1]! - pos[3 * i + 1]!;
  const dz = pos[3 * j + 2]! - pos[3 * i + 2]!;
  const r = Math.sqrt(dx * dx + dy * dy + dz * dz);
  if (!(r > 1e-8)) throw new AtomgpError(`${what}: atoms ${i + 1} and ${j + 1} coincide, the bond direction is undefined`);
  const ux = dx / r;
  const uy = dy / r;
  const uz = dz / r;
  const delta = targetA - r;
  const { graph, isBridge } = topo;
  const b = bondIndex(graph, i, j);
  const sideJ = reachable(graph, j, b);
  if (b < 0 && sideJ[i]) {
    throw new AtomgpError(`${what}: atoms ${i + 1} and ${j + 1} are not bonded but belong to one molecule; only bonds or distances between molecules can be set`);
  }
  if (!sideJ[i]) {
    // Bridge (or separate fragments): rigidly move the smaller side; j's side on a tie.
    const sideI = reachable(graph, i, b);
    if (countOf(sideJ) <= countOf(sideI)) translate(pos, sideJ, delta * ux, delta * uy, delta * uz);
    else translate(pos, sideI, -delta * ux, -delta * uy, -delta * uz);
  } else {
    // Ring bond (or i, j joined by another path): both ends move half-way, with their substituents.
    const h = 0.5 * delta;
    translate(pos, ringAtomGroup(graph, isBridge, i, b), -h * ux, -h * uy, -h * uz);
    translate(pos, ringAtomGroup(graph, isBridge, j, b), h * ux, h * uy, h * uz);
  }
  // Groups move along u, so the i→j direction is kept and the new distance is r + delta up to rounding.
}

/** True when atoms i and j (0-based) are joined by a path other than their bond: a ring bond. */
export function isRingPair(nAtoms: number, bonds: readonly Bond[], i: number, j: number): boolean {
  checkAtom(nAtoms, 'ring test', i, j);
  const graph = bondGraph(nAtoms, bonds);
  return reachable(graph, j, bondIndex(graph, i, j))[i] === 1;
}

function checkAtom(n: number, what: string, ...idx: number[]): void {
  for (const a of idx) {
    if (!Number.isInteger(a) || a < 0 || a >= n) throw new AtomgpError(`${what}: atom ${a + 1} is outside 1..${n}`);
  }
}

function targetLength(mode: ChangeMode, value: number, currentA: number): number {
  return mode === 'set' ? value : mode === 'add' ? currentA + value : currentA * value;
}

/**
 * Set the distance i-j (0-based) to `targetA`, moving the smaller fragment (bridge) or both ends
 * (ring bond) as described above. Works in place on `positionsA` and returns it.
 */
export function setBondLength(positionsA: Float64Array, bonds: readonly Bond[], i: number, j: number, targetA: number): Float64Array {
  const n = positionsA.length / 3;
  checkAtom(n, 'bond', i, j);
  if (!(targetA > 0) || !Number.isFinite(targetA)) throw new AtomgpError(`bond ${i + 1}-${j + 1}: the new length must be a positive number of Å, got ${targetA}`);
  const topo = topologyOf(n, bonds);
  changeDistance(positionsA, topo, i, j, targetA, `bond ${i + 1}-${j + 1}`);
  return positionsA;
}

function selects(selector: BondSelector, a: string, b: string): boolean {
  switch (selector.type) {
    case 'all':
      return true;
    case 'x-h':
      return a === 'H' || b === 'H';
    case 'pair':
      return (a === selector.a && b === selector.b) || (a === selector.b && b === selector.a);
  }
}

/** Bonds picked by a selector (indices into `bonds`). */
export function selectBonds(symbols: readonly string[], bonds: readonly Bond[], selector: BondSelector): number[] {
  const out: number[] = [];
  bonds.forEach(([i, j], b) => {
    if (selects(selector, normaliseSymbol(symbols[i]!), normaliseSymbol(symbols[j]!))) out.push(b);
  });
  return out;
}

/**
 * Change every selected bond: targets are taken from the lengths before the step. Bridges are set
 * exactly one after the other (moving a side rigidly leaves the other bonds alone); ring bonds
 * then are iterated (SHAKE-like sweeps of symmetric moves) until all targets hold.
 */
export function changeBonds(positionsA: Float64Array, bonds: readonly Bond[], selected: readonly number[], mode: ChangeMode, value: number): Float64Array {
  const n = positionsA.length / 3;
  const topo = topologyOf(n, bonds);
  const targets = selected.map((b) => {
    const [i, j] = bonds[b]!;
    const t = targetLength(mode, value, distanceA(positionsA, i, j));
    if (!(t > 0)) throw new AtomgpError(`bond ${i + 1}-${j + 1}: the change would make its length ${t} Å (must stay positive)`);
    return t;
  });
  const ring: number[] = [];
  selected.forEach((b, k) => {
    const [i, j] = bonds[b]!;
    if (topo.isBridge[b]) changeDistance(positionsA, topo, i, j, targets[k]!, `bond ${i + 1}-${j + 1}`);
    else ring.push(k);
  });
  if (ring.length === 0) return positionsA;
  const maxSweeps = 10000;
  let longest = 1;
  for (const t of targets) longest = Math.max(longest, t);
  for (let sweep = 0; ; sweep++) {
    let worst = 0;
    for (const k of ring) {
      const [i, j] = bonds[selected[k]!]!;
      const err = Math.abs(distanceA(positionsA, i, j) - targets[k]!);
      worst = Math.max(worst, err);
      if (err > 0) changeDistance(positionsA, topo, i, j, targets[k]!, `bond ${i + 1}-${j + 1}`);
    }
    if (worst <= 1e-13 * longest) break;
    if (sweep >= maxSweeps) {
      throw new AtomgpError(`ring bonds cannot all take the requested lengths (still ${worst.toExponential(2)} Å off after ${maxSweeps} sweeps)`);
    }
  }
  return positionsA;
}

/**
 * Add seeded random displacements whose root-mean-square length per atom is exactly `rmsA`:
 * components drawn from a standard normal (gaussian) or from U(−1, 1) (uniform), then scaled.
 */
export function randomDisplacement(positionsA: Float64Array, rmsA: number, rng: Rng, distribution: 'gaussian' | 'uniform' = 'gaussian'): Float64Array {
  if (!(rmsA >= 0) || !Number.isFinite(rmsA)) throw new AtomgpError(`random displacement: the RMS size must be a non-negative number of Å, got ${rmsA}`);
  const n = positionsA.length / 3;
  if (n === 0 || rmsA === 0) return positionsA;
  const d = new Float64Array(positionsA.length);
  let sum2 = 0;
  for (let k = 0; k < d.length; k++) {
    const x = distribution === 'gaussian' ? rng.normal() : rng.uniformIn(-1, 1);
    d[k] = x;
    sum2 += x * x;
  }
  const scale = rmsA / Math.sqrt(sum2 / n);
  for (let k = 0; k < d.length; k++) positionsA[k]! += scale * d[k]!;
  return positionsA;
}

/**
 * Bend the angle i-j-k (0-based, j central) by `deltaDeg` (positive opens it), rotating the k
 * side about the normal of the i-j-k plane through j. When k's side is tied back to i or j by a
 * ring, only k and its substituents move (the ring bonds at k then change). In place.
 */
export function bendAngle(positionsA: Float64Array, bonds: readonly Bond[], i: number, j: number, k: number, deltaDeg: number): Float64Array {
  const n = positionsA.length / 3;
  const what = `angle ${i + 1}-${j + 1}-${k + 1}`;
  checkAtom(n, what, i, j, k);
  if (i === j || j === k || i === k) throw new AtomgpError(`${what}: an angle needs three different atoms`);
  const theta = angleRad(positionsA, i, j, k);
  const newTheta = theta + (deltaDeg * Math.PI) / 180;
  if (!(newTheta > 0 && newTheta < Math.PI)) {
    throw new AtomgpError(`${what}: bending ${((theta * 180) / Math.PI).toFixed(3)}° by ${deltaDeg}° leaves the range (0°, 180°)`);
  }
  const topo = topologyOf(n, bonds);
  const b = bondIndex(topo.graph, j, k);
  if (b < 0) throw new AtomgpError(`${what}: atoms ${j + 1} and ${k + 1} are not bonded (the side of atom ${k + 1} is rotated about atom ${j + 1})`);
  let moving = reachable(topo.graph, k, b);
  if (moving[j] || moving[i]) moving = ringAtomGroup(topo.graph, topo.isBridge, k, b);
  if (moving[j] || moving[i]) throw new AtomgpError(`${what}: atom ${i + 1} would move with atom ${k + 1}; bend an angle between bonded atoms`);
  const p = positionsA;
  const ax = p[3 * i]! - p[3 * j]!;
  const ay = p[3 * i + 1]! - p[3 * j + 1]!;
  const az = p[3 * i + 2]! - p[3 * j + 2]!;
  const bx = p[3 * k]! - p[3 * j]!;
  const by = p[3 * k + 1]! - p[3 * j + 1]!;
  const bz = p[3 * k + 2]! - p[3 * j + 2]!;
  let nx = ay * bz - az * by;
  let ny = az * bx - ax * bz;
  let nz = ax * by - ay * bx;
  let nn = Math.sqrt(nx * nx + ny * ny + nz * nz);
  if (nn < 1e-12 * Math.hypot(ax, ay, az) * Math.hypot(bx, by, bz)) {
    // Linear angle: any axis perpendicular to j→k will do; take the one least aligned with it.
    const ex = Math.abs(bx) <= Math.abs(by) && Math.abs(bx) <= Math.abs(bz) ? 1 : 0;
    const ey = ex === 0 && Math.abs(by) <= Math.abs(bz) ? 1 : 0;
    const ez = ex === 0 && ey === 0 ? 1 : 0;
    nx = by * ez - bz * ey;
    ny = bz * ex - bx * ez;
    nz = bx * ey - by * ex;
    nn = Math.sqrt(nx * nx + ny * ny + nz * nz);
  }
  // Rotating about a × b by +δ turns b away from a: the angle grows by δ.
  rotateAbout(p, moving, j, nx / nn, ny / nn, nz / nn, newTheta - theta);
  return p;
}

/** Rodrigues rotation of the masked atoms by `angle` about the unit axis (ux, uy, uz) through atom `centre`. */
function rotateAbout(p: Float64Array, mask: Uint8Array, centre: number, ux: number, uy: number, uz: number, angle: number): void {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  const r00 = c + ux * ux * t;
  const r01 = ux * uy * t - uz * s;
  const r02 = ux * uz * t + uy * s;
  const r10 = uy * ux * t + uz * s;
  const r11 = c + uy * uy * t;
  const r12 = uy * uz * t - ux * s;
  const r20 = uz * ux * t - uy * s;
  const r21 = uz * uy * t + ux * s;
  const r22 = c + uz * uz * t;
  const cx = p[3 * centre]!;
  const cy = p[3 * centre + 1]!;
  const cz = p[3 * centre + 2]!;
  for (let a = 0; a < mask.length; a++) {
    if (!mask[a]) continue;
    const x = p[3 * a]! - cx;
    const y = p[3 * a + 1]! - cy;
    const z = p[3 * a + 2]! - cz;
    p[3 * a] = cx + r00 * x + r01 * y + r02 * z;
    p[3 * a + 1] = cy + r10 * x + r11 * y + r12 * z;
    p[3 * a + 2] = cz + r20 * x + r21 * y + r22 * z;
  }
}

/**
 * Apply distortion steps to a copy of `positionsA` (Å). `bonds` (0-based pairs, e.g. from
 * `findBonds` on the undistorted geometry) define the fragments that move; `seed` drives the
 * random steps (one generator for the whole list, so a list is reproducible as a whole).
 */
export function applyDistortion(
  symbols: readonly string[],
  positionsA: Float64Array,
  bonds: readonly Bond[],
  steps: readonly DistortionStep[],
  seed: number,
): Float64Array {
  const n = symbols.length;
  if (positionsA.length !== 3 * n) throw new AtomgpError(`distortion: ${n} atoms need ${3 * n} coordinates, got ${positionsA.length}`);
  const out = Float64Array.from(positionsA);
  const rng = new Rng(seed);
  for (const step of steps) {
    switch (step.kind) {
      case 'none':
        break;
      case 'bond': {
        const what = `bond:${step.i + 1}-${step.j + 1}`;
        checkAtom(n, what, step.i, step.j);
        const t = targetLength(step.mode, step.value, distanceA(out, step.i, step.j));
        if (!(t > 0)) throw new AtomgpError(`${what}: the change would make the length ${t} Å (must stay positive)`);
        changeDistance(out, topologyOf(n, bonds), step.i, step.j, t, what);
        break;
      }
      case 'bonds': {
        const selected = selectBonds(symbols, bonds, step.selector);
        if (selected.length === 0) {
          const present = [...new Set(bonds.map(([i, j]) => [symbols[i], symbols[j]].sort().join('-')))].join(', ') || 'none';
          throw new AtomgpError(`${formatDistortion([step])}: no bond of this molecule matches (bond types present: ${present})`);
        }
        changeBonds(out, bonds, selected, step.mode, step.value);
        break;
      }
      case 'random':
        randomDisplacement(out, step.rmsA, rng, step.distribution);
        break;
      case 'angle': {
        const what = `angle:${step.i + 1}-${step.j + 1}-${step.k + 1}`;
        checkAtom(n, what, step.i, step.j, step.k);
        const delta = step.mode === 'set' ? step.valueDeg - (angleRad(out, step.i, step.j, step.k) * 180) / Math.PI : step.valueDeg;
        bendAngle(out, bonds, step.i, step.j, step.k, delta);
        break;
      }
    }
  }
  return out;
}


/**
 * The `--distort` option in one call: parse `text`, take bonds from the covalent-radius rule on
 * the undistorted geometry (unless given), apply with `seed`.
 */
export function distortFromText(symbols: readonly string[], positionsA: Float64Array, text: string, seed: number, bonds?: readonly Bond[]): Float64Array {
  const steps = parseDistortion(text);
  return applyDistortion(symbols, positionsA, bonds ?? findBonds(symbols, positionsA), steps, seed);
}
