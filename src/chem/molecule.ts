/**
 * The molecule record and the geometry helpers that dynamics and analysis share. Positions are
 * flat `Float64Array`s in Å (x0 y0 z0 x1 …); atom indices are 0-based.
 */
import { AtomgpError } from '../errors.js';
import { element } from './elements.js';

export interface Molecule {
  symbols: string[];
  /** Flat positions, Å, length 3N. */
  positionsA: Float64Array;
  /** Atomic masses, amu; when absent, standard masses from the element table. */
  masses?: Float64Array;
  name?: string;
}

/** Standard atomic masses (amu) for a list of element symbols; unknown symbols throw. */
export function massesAmu(symbols: readonly string[]): Float64Array {
  const out = new Float64Array(symbols.length);
  for (let i = 0; i < symbols.length; i++) {
    try {
      out[i] = element(symbols[i]!).massAmu;
    } catch {
      throw new AtomgpError(`atom ${i + 1}: unknown element '${symbols[i]}'`);
    }
  }
  return out;
}

/** Mass-weighted centre (Å) of `positionsA`; written into `out` (length 3) when given. */
export function centreOfMass(positionsA: Float64Array, masses: Float64Array, out = new Float64Array(3)): Float64Array {
  let mx = 0;
  let my = 0;
  let mz = 0;
  let total = 0;
  for (let i = 0; i < masses.length; i++) {
    const m = masses[i]!;
    mx += m * positionsA[3 * i]!;
    my += m * positionsA[3 * i + 1]!;
    mz += m * positionsA[3 * i + 2]!;
    total += m;
  }
  out[0] = mx / total;
  out[1] = my / total;
  out[2] = mz / total;
  return out;
}

/** Distance between atoms i and j, Å. */
export function distanceA(pos: Float64Array, i: number, j: number): number {
  const dx = pos[3 * j]! - pos[3 * i]!;
  const dy = pos[3 * j + 1]! - pos[3 * i + 1]!;
  const dz = pos[3 * j + 2]! - pos[3 * i + 2]!;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

/** Angle i-j-k at atom j, radians in [0, π]. */
export function angleRad(pos: Float64Array, i: number, j: number, k: number): number {
  const ax = pos[3 * i]! - pos[3 * j]!;
  const ay = pos[3 * i + 1]! - pos[3 * j + 1]!;
  const az = pos[3 * i + 2]! - pos[3 * j + 2]!;
  const bx = pos[3 * k]! - pos[3 * j]!;
  const by = pos[3 * k + 1]! - pos[3 * j + 1]!;
  const bz = pos[3 * k + 2]! - pos[3 * j + 2]!;
  // atan2(|a×b|, a·b) is accurate near 0 and π, where acos of the cosine loses digits.
  const cx = ay * bz - az * by;
  const cy = az * bx - ax * bz;
  const cz = ax * by - ay * bx;
  return Math.atan2(Math.sqrt(cx * cx + cy * cy + cz * cz), ax * bx + ay * by + az * bz);
}

/**
 * Dihedral (torsion) angle i-j-k-l, radians in (−π, π], IUPAC sign convention: looking along
 * j→k, positive when the near bond j-i must turn clockwise (by less than π) to eclipse the far
 * bond k-l. Computed as atan2(|b2| b1·(b2×b3), (b1×b2)·(b2×b3)) with b1 = j−i, b2 = k−j,
 * b3 = l−k, which stays accurate near 0 and π.
 */
export function dihedralRad(pos: Float64Array, i: number, j: number, k: number, l: number): number {
  const b1x = pos[3 * j]! - pos[3 * i]!;
  const b1y = pos[3 * j + 1]! - pos[3 * i + 1]!;
  const b1z = pos[3 * j + 2]! - pos[3 * i + 2]!;
  const b2x = pos[3 * k]! - pos[3 * j]!;
  const b2y = pos[3 * k + 1]! - pos[3 * j + 1]!;
  const b2z = pos[3 * k + 2]! - pos[3 * j + 2]!;
  const b3x = pos[3 * l]! - pos[3 * k]!;
  const b3y = pos[3 * l + 1]! - pos[3 * k + 1]!;
  const b3z = pos[3 * l + 2]! - pos[3 * k + 2]!;
  // n1 = b1 × b2, n2 = b2 × b3
  const n1x = b1y * b2z - b1z * b2y;
  const n1y = b1z * b2x - b1x * b2z;
  const n1z = b1x * b2y - b1y * b2x;
  const n2x = b2y * b3z - b2z * b3y;
  const n2y = b2z * b3x - b2x * b3z;
  const n2z = b2x * b3y - b2y * b3x;
  const b2len = Math.sqrt(b2x * b2x + b2y * b2y + b2z * b2z);
  const y = b2len * (b1x * n2x + b1y * n2y + b1z * n2z);
  const x = n1x * n2x + n1y * n2y + n1z * n2z;
  const phi = Math.atan2(y, x);
  return phi === -Math.PI ? Math.PI : phi;
}
