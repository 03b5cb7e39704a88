/**
 * Torsions over time and the Ramachandran plot. Peptide backbones are found from the bond graph
 * alone (no residue names, no bond orders):
 * - a carbonyl carbon C' is a carbon with three neighbours, one of them an oxygen with no other
 *   neighbour;
 * - an amide nitrogen is a nitrogen bonded to a carbonyl carbon;
 * - a residue is N–Cα–C' where N is an amide nitrogen (bonded to the previous C'), Cα a carbon
 *   bonded to N, and C' a carbonyl carbon bonded to Cα and to the next amide N.
 * Then φ = C'(prev)–N–Cα–C' and ψ = N–Cα–C'–N(next). Ace-X-NMe capped residues (alanine
 * dipeptide, capped glycine/serine) give one residue; longer chains give one per inner residue.
 * Angles are radians in (−π, π] (IUPAC sign, see `dihedralRad`).
 */
import { AtomgpError } from '../errors.js';
import type { Bond } from '../chem/connectivity.js';
import { dihedralRad } from '../chem/molecule.js';
import { bondGraph } from './distort.js';

/** Four 0-based atom indices i-j-k-l. */
export type Quadruple = readonly [number, number, number, number];

export interface BackboneResidue {
  /** 0-based atoms: amide N, Cα, carbonyl C'. */
  n: number;
  ca: number;
  c: number;
  /** C'(prev)–N–Cα–C' */
  phi: Quadruple;
  /** N–Cα–C'–N(next) */
  psi: Quadruple;
}

function checkQuadruple(nAtoms: number, q: Quadruple): void {
  for (const a of q) {
    if (!Number.isInteger(a) || a < 0 || a >= nAtoms) {
      throw new AtomgpError(`dihedral ${q.map((x) => x + 1).join('-')}: atom ${a + 1} is outside 1..${nAtoms}`);
    }
  }
  if (new Set(q).size !== 4) throw new AtomgpError(`dihedral ${q.map((x) => x + 1).join('-')}: needs four different atoms`);
}

/** The dihedral i-j-k-l (radians) of one geometry, with the indices checked. */
export function dihedralOf(positionsA: Float64Array, q: Quadruple): number {
  checkQuadruple(positionsA.length / 3, q);
  return dihedralRad(positionsA, q[0], q[1], q[2], q[3]);
}

/** Dihedral time series (radians) over frames (anything with `positionsA`, e.g. XYZ frames). */
export function dihedralSeries(frames: readonly { positionsA: Float64Array }[], q: Quadruple): Float64Array {
  const out = new Float64Array(frames.length);
  frames.forEach((f, k) => {
    checkQuadruple(f.positionsA.length / 3, q);
    out[k] = dihedralRad(f.positionsA, q[0], q[1], q[2], q[3]);
  });
  return out;
}

/** Peptide backbone residues with both φ and ψ defined, in chain order (N-terminus first). */
export function detectBackbone(symbols: readonly string[], bonds: readonly Bond[]): BackboneResidue[] {
  const n = symbols.length;
  const g = bondGraph(n, bonds);
  const el = symbols.map((s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase());
  const nbrs = (a: number): number[] => Array.from(g.neighbours.subarray(g.start[a]!, g.start[a + 1]!));
  const degree = (a: number): number => g.start[a + 1]! - g.start[a]!;
  const isCarbonyl = new Uint8Array(n);
  for (let a = 0; a < n; a++) {
    if (el[a] !== 'C' || degree(a) !== 3) continue;
    if (nbrs(a).some((o) => el[o] === 'O' && degree(o) === 1)) isCarbonyl[a] = 1;
  }
  const isAmideN = new Uint8Array(n);
  for (let a = 0; a < n; a++) {
    if (el[a] === 'N' && nbrs(a).some((c) => isCarbonyl[c])) isAmideN[a] = 1;
  }
  const residues: BackboneResidue[] = [];
  for (let nAtom = 0; nAtom < n; nAtom++) {
    if (!isAmideN[nAtom]) continue;
    const prevCs = nbrs(nAtom).filter((c) => isCarbonyl[c]);
    for (const ca of nbrs(nAtom)) {
      if (el[ca] !== 'C' || isCarbonyl[ca]) continue;
      for (const c of nbrs(ca)) {
        if (!isCarbonyl[c]) continue;
        const nexts = nbrs(c).filter((x) => isAmideN[x] && x !== nAtom);
        const prev = prevCs.find((p) => p !== c);
        if (nexts.length === 0 || prev === undefined) continue;
        const next = nexts[0]!;
        residues.push({ n: nAtom, ca, c, phi: [prev, nAtom, ca, c], psi: [nAtom, ca, c, next] });
      }
    }
  }
  // Chain order: walk from residues whose N is not any residue's ψ end.
  const byN = new Map<number, BackboneResidue>();
  for (const r of residues) if (!byN.has(r.n)) byN.set(r.n, r);
  const isNext = new Set(residues.map((r) => r.psi[3]));
  const ordered: BackboneResidue[] = [];
  const used = new Set<BackboneResidue>();
  const starts = residues.filter((r) => !isNext.has(r.n)).sort((a, b) => a.n - b.n);
  for (const s of starts) {
    let r: BackboneResidue | undefined = s;
    while (r && !used.has(r)) {
      used.add(r);
      ordered.push(r);
      r = byN.get(r.psi[3]);
    }
  }
  // Cyclic peptides have no start: append what is left in atom order.
  for (const r of residues.sort((a, b) => a.n - b.n)) if (!used.has(r)) ordered.push(r);
  return ordered;
}

export interface RamachandranHistogram {
  bins: number;
  /** Bin width, radians (2π / bins). Bin b covers (−π + b·w, −π + (b + 1)·w]. */
  widthRad: number;
  /** bins × bins, row-major: counts[iPhi * bins + iPsi]; fractions summing to 1 when normalised. */
  counts: Float64Array;
  /** Number of (φ, ψ) pairs counted. */
  total: number;
}

/** Bin of an angle in (−π, π] (other finite values are wrapped into it first). */
function binOf(x: number, bins: number): number {
  let y = x;
  if (y <= -Math.PI || y > Math.PI) y -= 2 * Math.PI * Math.ceil((y - Math.PI) / (2 * Math.PI));
  const b = Math.ceil(((y + Math.PI) * bins) / (2 * Math.PI)) - 1;
  return Math.min(bins - 1, Math.max(0, b));
}

/**
 * 2D histogram of (φ, ψ) over (−π, π]²: bins half-open on the left, (lo, hi], so π falls in the
 * last bin and −π (which is the same angle) too. `normalise` divides by the number of pairs.
 */
export function ramachandranHistogram(phiRad: ArrayLike<number>, psiRad: ArrayLike<number>, bins: number, normalise = false): RamachandranHistogram {
  if (phiRad.length !== psiRad.length) throw new AtomgpError(`Ramachandran: ${phiRad.length} φ values but ${psiRad.length} ψ values`);
  if (!Number.isInteger(bins) || bins < 1) throw new AtomgpError(`Ramachandran: the number of bins must be a positive integer, got ${bins}`);
  const counts = new Float64Array(bins * bins);
  for (let k = 0; k < phiRad.length; k++) {
    const phi = phiRad[k]!;
    const psi = psiRad[k]!;
    if (!Number.isFinite(phi) || !Number.isFinite(psi)) throw new AtomgpError(`Ramachandran: pair ${k + 1} is not finite (φ = ${phi}, ψ = ${psi})`);
    counts[binOf(phi, bins) * bins + binOf(psi, bins)]!++;
  }
  const total = phiRad.length;
  if (normalise && total > 0) for (let b = 0; b < counts.length; b++) counts[b]! /= total;
  return { bins, widthRad: (2 * Math.PI) / bins, counts, total };
}

/** Named regions of the alanine-dipeptide map (degrees, centres from the usual gas-phase minima). */
export const RAMACHANDRAN_REGIONS: Record<string, readonly [number, number]> = {
  C7eq: [-83, 73],
  C5: [-157, 165],
  C7ax: [74, -60],
  alphaR: [-65, -40],
  alphaL: [65, 40],
  PII: [-75, 150],
};

/**
 * Name of the nearest region centre (periodic distance in the (φ, ψ) torus, degrees), or 'other'
 * when none is within `radiusDeg`.
 */
export function ramachandranRegion(phiDeg: number, psiDeg: number, radiusDeg = 40): string {
  const wrap = (d: number): number => ((((d + 180) % 360) + 360) % 360) - 180;
  let best = 'other';
  let bestD = radiusDeg;
  for (const [name, [p, s]] of Object.entries(RAMACHANDRAN_REGIONS)) {
    const d = Math.hypot(wrap(phiDeg - p), wrap(psiDeg - s));
    if (d <= bestD) {
      bestD = d;
      best = name;
    }
  }
  return best;
}

/**
 * A copy of the geometry with the dihedral i-j-k-l set to `targetRad`, by rotating the atoms on
 * l's side of the j–k bond (the component holding k when the bond is cut) about the j→k axis.
 * The j–k bond must not be in a ring. Bond lengths and angles are unchanged.
 */
export function setDihedral(positionsA: Float64Array, bonds: readonly Bond[], q: Quadruple, targetRad: number): Float64Array {
  const n = positionsA.length / 3;
  checkQuadruple(n, q);
  const [, j, k] = q;
  const nb: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of bonds) {
    nb[a]!.push(b);
    nb[b]!.push(a);
  }
  if (!nb[j]!.includes(k)) throw new AtomgpError(`dihedral ${q.map((x) => x + 1).join('-')}: atoms ${j + 1} and ${k + 1} are not bonded`);
  // The side of k with the j–k bond cut.
  const side = new Uint8Array(n);
  side[k] = 1;
  const stack = [k];
  while (stack.length > 0) {
    const a = stack.pop()!;
    for (const b of nb[a]!) {
      if ((a === k && b === j) || side[b]) continue;
      if (b === j) throw new AtomgpError(`dihedral ${q.map((x) => x + 1).join('-')}: the bond ${j + 1}-${k + 1} is in a ring and cannot be turned`);
      side[b] = 1;
      stack.push(b);
    }
  }
  const delta = targetRad - dihedralOf(positionsA, q);
  const out = Float64Array.from(positionsA);
  const ox = positionsA[3 * k]!;
  const oy = positionsA[3 * k + 1]!;
  const oz = positionsA[3 * k + 2]!;
  let ux = ox - positionsA[3 * j]!;
  let uy = oy - positionsA[3 * j + 1]!;
  let uz = oz - positionsA[3 * j + 2]!;
  const len = Math.hypot(ux, uy, uz);
  ux /= len;
  uy /= len;
  uz /= len;
  const c = Math.cos(delta);
  const s = Math.sin(delta);
  for (let a = 0; a < n; a++) {
    if (!side[a] || a === k) continue;
    const px = positionsA[3 * a]! - ox;
    const py = positionsA[3 * a + 1]! - oy;
    const pz = positionsA[3 * a + 2]! - oz;
    // Rodrigues: p cos + (u × p) sin + u (u·p)(1 − cos)
    const dot = ux * px + uy * py + uz * pz;
    out[3 * a] = ox + px * c + (uy * pz - uz * py) * s + ux * dot * (1 - c);
    out[3 * a + 1] = oy + py * c + (uz * px - ux * pz) * s + uy * dot * (1 - c);
    out[3 * a + 2] = oz + pz * c + (ux * py - uy * px) * s + uz * dot * (1 - c);
  }
  return out;
}
