/**
 * Hand-built test molecules for the analysis tests: geometries from internal coordinates (NeRF:
 * each atom placed from three earlier ones by a bond length, an angle and a dihedral).
 */
import type { Bond } from '../../src/chem/connectivity.js';

const DEG = Math.PI / 180;

/**
 * Position of atom d with |cd| = bond, angle b-c-d = angleDeg and dihedral a-b-c-d = dihedralDeg
 * (IUPAC sign, as `dihedralRad` measures it).
 */
export function place(pos: number[], a: number, b: number, c: number, bond: number, angleDeg: number, dihedralDeg: number): void {
  const p = (i: number) => [pos[3 * i]!, pos[3 * i + 1]!, pos[3 * i + 2]!] as const;
  const [ax, ay, az] = p(a);
  const [bx, by, bz] = p(b);
  const [cx, cy, cz] = p(c);
  // bc unit, n = ab × bc unit, m = n × bc
  let bcx = cx - bx;
  let bcy = cy - by;
  let bcz = cz - bz;
  const lbc = Math.hypot(bcx, bcy, bcz);
  bcx /= lbc;
  bcy /= lbc;
  bcz /= lbc;
  const abx = bx - ax;
  const aby = by - ay;
  const abz = bz - az;
  let nx = aby * bcz - abz * bcy;
  let ny = abz * bcx - abx * bcz;
  let nz = abx * bcy - aby * bcx;
  const ln = Math.hypot(nx, ny, nz);
  nx /= ln;
  ny /= ln;
  nz /= ln;
  const mx = ny * bcz - nz * bcy;
  const my = nz * bcx - nx * bcz;
  const mz = nx * bcy - ny * bcx;
  const th = angleDeg * DEG;
  const ph = dihedralDeg * DEG;
  const d2x = -bond * Math.cos(th);
  const d2y = bond * Math.sin(th) * Math.cos(ph);
  const d2z = bond * Math.sin(th) * Math.sin(ph);
  pos.push(cx + d2x * bcx + d2y * mx + d2z * nx, cy + d2x * bcy + d2y * my + d2z * ny, cz + d2x * bcz + d2y * mz + d2z * nz);
}

/**
 * Alanine dipeptide (Ace-Ala-NMe), 22 atoms, with backbone angles φ, ψ (degrees).
 * Atoms (0-based): 0 CH3(Ace) 1 C'(Ace) 2 O 3 N 4 H(N) 5 CA 6 C' 7 O 8 N 9 H(N) 10 CH3(NMe)
 * 11 HA 12 CB 13-15 HB 16-18 H(Ace CH3) 19-21 H(NMe CH3). φ = 1-3-5-6, ψ = 3-5-6-8.
 */
export function alanineDipeptide(phiDeg: number, psiDeg: number): { symbols: string[]; positionsA: Float64Array } {
  const pos: number[] = [0, 0, 0, 1.52, 0, 0];
  const a121 = 121 * DEG;
  pos.push(1.52 - 1.23 * Math.cos(a121), 1.23 * Math.sin(a121), 0); // 2 O
  place(pos, 2, 0, 1, 1.33, 115, 180); // 3 N
  place(pos, 0, 1, 3, 1.01, 120, 0); // 4 H
  place(pos, 2, 1, 3, 1.46, 122, 0); // 5 CA
  place(pos, 1, 3, 5, 1.53, 110, phiDeg); // 6 C'
  place(pos, 3, 5, 6, 1.23, 121, psiDeg + 180); // 7 O
  place(pos, 3, 5, 6, 1.33, 115, psiDeg); // 8 N
  place(pos, 5, 6, 8, 1.01, 120, 0); // 9 H
  place(pos, 5, 6, 8, 1.46, 122, 180); // 10 CH3
  place(pos, 6, 3, 5, 1.09, 109.5, -118); // 11 HA
  place(pos, 6, 3, 5, 1.53, 110, 122); // 12 CB
  for (const d of [60, 180, 300]) place(pos, 3, 5, 12, 1.09, 110, d); // 13-15
  for (const d of [0, 120, 240]) place(pos, 3, 1, 0, 1.09, 110, d); // 16-18
  for (const d of [60, 180, 300]) place(pos, 6, 8, 10, 1.09, 110, d); // 19-21
  const symbols = ['C', 'C', 'O', 'N', 'H', 'C', 'C', 'O', 'N', 'H', 'C', 'H', 'C', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H', 'H'];
  return { symbols, positionsA: Float64Array.from(pos) };
}

/** The bonds of `alanineDipeptide` (0-based, i < j). */
export const ALANINE_DIPEPTIDE_BONDS: Bond[] = [
  [0, 1], [1, 2], [1, 3], [3, 4], [3, 5], [5, 6], [6, 7], [6, 8], [8, 9], [8, 10], [5, 11], [5, 12],
  [12, 13], [12, 14], [12, 15], [0, 16], [0, 17], [0, 18], [10, 19], [10, 20], [10, 21],
];

/** Benzene, planar regular hexagon: C 0-5 (C–C 1.39 Å), H 6-11 (C–H 1.09 Å). */
export function benzene(): { symbols: string[]; positionsA: Float64Array; bonds: Bond[] } {
  const pos: number[] = [];
  for (let k = 0; k < 6; k++) pos.push(1.39 * Math.cos((k * Math.PI) / 3), 1.39 * Math.sin((k * Math.PI) / 3), 0);
  for (let k = 0; k < 6; k++) pos.push(2.48 * Math.cos((k * Math.PI) / 3), 2.48 * Math.sin((k * Math.PI) / 3), 0);
  const bonds: Bond[] = [];
  for (let k = 0; k < 6; k++) bonds.push([Math.min(k, (k + 1) % 6), Math.max(k, (k + 1) % 6)] as const);
  for (let k = 0; k < 6; k++) bonds.push([k, k + 6]);
  return { symbols: [...'CCCCCC'.split(''), ...'HHHHHH'.split('')], positionsA: Float64Array.from(pos), bonds };
}
