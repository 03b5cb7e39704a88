/**
 * Bonds, molecules (connected fragments) and periodic images.
 *
 * Bond rule: atoms a and b are bonded when d_ab < s · (r_a + r_b), with r the single-bond
 * covalent radii of Cordero et al. (src/chem/elements.ts) and s = 1.2 by default — the common
 * choice of visualisers and ichor-like tools; it accepts stretched bonds up to 20 % beyond the
 * covalent sum and, for water, keeps hydrogen bonds (≈1.9 Å vs. an O–H threshold of 1.16 Å) out.
 *
 * Cells are `Float64Array(9)` holding the vectors a, b, c as rows (Å), general triclinic.
 * Under a cell, distances use the minimum image: fractional rounding followed by a search of the
 * 26 neighbouring images, which is exact for the moderately skewed cells MD codes accept.
 *
 * The bond search bins atoms into cells at least one cutoff wide (in Cartesian space, or in
 * fractional space under periodic boundaries) and only compares atoms in neighbouring bins:
 * O(N) for liquid-like densities.
 */
import { AtomgpError } from '../errors.js';
import { element } from './elements.js';

/** An unordered bond as an index pair with i < j (0-based). */
export type Bond = readonly [number, number];

/** Scale factor s of the covalent-radius bond rule d < s · (r_a + r_b). */
export const DEFAULT_BOND_SCALE = 1.2;

/** A periodic cell prepared for fast fractional ↔ Cartesian conversion. */
export interface PeriodicCell {
  /** Cell vectors a, b, c as rows, Å. */
  readonly cellA: Float64Array;
  /** Row-major inverse of the matrix whose columns are a, b, c: fractional = inverse · r. */
  readonly inverse: Float64Array;
  /** Distance between opposite faces along a, b, c, Å (the largest sphere fits in the smallest). */
  readonly widthsA: Float64Array;
  /** True when a, b, c are mutually orthogonal: fractional rounding alone is then exact. */
  readonly orthogonal: boolean;
}

/** Prepare a cell (rows a, b, c, Å); throws on a degenerate cell. */
export function periodicCell(cellA: Float64Array): PeriodicCell {
  if (cellA.length !== 9) throw new AtomgpError(`a cell needs 9 numbers (vectors a, b, c), got ${cellA.length}`);
  const ax = cellA[0]!;
  const ay = cellA[1]!;
  const az = cellA[2]!;
  const bx = cellA[3]!;
  const by = cellA[4]!;
  const bz = cellA[5]!;
  const cx = cellA[6]!;
  const cy = cellA[7]!;
  const cz = cellA[8]!;
  // Cross products b×c, c×a, a×b; volume = a·(b×c).
  const bc = [by * cz - bz * cy, bz * cx - bx * cz, bx * cy - by * cx];
  const ca = [cy * az - cz * ay, cz * ax - cx * az, cx * ay - cy * ax];
  const ab = [ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx];
  const volume = ax * bc[0]! + ay * bc[1]! + az * bc[2]!;
  const la = Math.hypot(ax, ay, az);
  const lb = Math.hypot(bx, by, bz);
  const lc = Math.hypot(cx, cy, cz);
  if (!Number.isFinite(volume) || Math.abs(volume) < 1e-9 * la * lb * lc || la === 0 || lb === 0 || lc === 0) {
    throw new AtomgpError(`degenerate cell (vectors a, b, c are not linearly independent): ${Array.from(cellA).join(' ')}`);
  }
  // Rows of the inverse of [a b c] (columns) are (b×c, c×a, a×b) / volume.
  const inverse = Float64Array.of(
    bc[0]! / volume, bc[1]! / volume, bc[2]! / volume,
    ca[0]! / volume, ca[1]! / volume, ca[2]! / volume,
    ab[0]! / volume, ab[1]! / volume, ab[2]! / volume,
  );
  const widthsA = Float64Array.of(
    Math.abs(volume) / Math.hypot(bc[0]!, bc[1]!, bc[2]!),
    Math.abs(volume) / Math.hypot(ca[0]!, ca[1]!, ca[2]!),
    Math.abs(volume) / Math.hypot(ab[0]!, ab[1]!, ab[2]!),
  );
  const tol = 1e-12;
  const orthogonal =
    Math.abs(ax * bx + ay * by + az * bz) <= tol * la * lb &&
    Math.abs(ax * cx + ay * cy + az * cz) <= tol * la * lc &&
    Math.abs(bx * cx + by * cy + bz * cz) <= tol * lb * lc;
  return { cellA: Float64Array.from(cellA), inverse, widthsA, orthogonal };
}

/**
 * Replace the displacement d[o..o+2] (Å) by its minimum image under `cell`, in place.
 */
export function minimumImage(cell: PeriodicCell, d: Float64Array, o = 0): void {
  const m = cell.inverse;
  const h = cell.cellA;
  const x = d[o]!;
  const y = d[o + 1]!;
  const z = d[o + 2]!;
  const sa = Math.round(m[0]! * x + m[1]! * y + m[2]! * z);
  const sb = Math.round(m[3]! * x + m[4]! * y + m[5]! * z);
  const sc = Math.round(m[6]! * x + m[7]! * y + m[8]! * z);
  let rx = x - sa * h[0]! - sb * h[3]! - sc * h[6]!;
  let ry = y - sa * h[1]! - sb * h[4]! - sc * h[7]!;
  let rz = z - sa * h[2]! - sb * h[5]! - sc * h[8]!;
  if (!cell.orthogonal) {
    // In a skewed cell the rounded image can be beaten by a neighbouring one.
    let best = rx * rx + ry * ry + rz * rz;
    let bx = rx;
    let by = ry;
    let bz = rz;
    for (let i = -1; i <= 1; i++) {
      for (let j = -1; j <= 1; j++) {
        for (let k = -1; k <= 1; k++) {
          if (i === 0 && j === 0 && k === 0) continue;
          const tx = rx + i * h[0]! + j * h[3]! + k * h[6]!;
          const ty = ry + i * h[1]! + j * h[4]! + k * h[7]!;
          const tz = rz + i * h[2]! + j * h[5]! + k * h[8]!;
          const t2 = tx * tx + ty * ty + tz * tz;
          if (t2 < best) {
            best = t2;
            bx = tx;
            by = ty;
            bz = tz;
          }
        }
      }
    }
    rx = bx;
    ry = by;
    rz = bz;
  }
  d[o] = rx;
  d[o + 1] = ry;
  d[o + 2] = rz;
}

/** Positions wrapped into the cell (fractional coordinates in [0, 1)); written to `out` if given. */
export function wrapIntoCell(positionsA: Float64Array, cellA: Float64Array, out = new Float64Array(positionsA.length)): Float64Array {
  const cell = periodicCell(cellA);
  const m = cell.inverse;
  const h = cell.cellA;
  for (let a = 0; a < positionsA.length; a += 3) {
    const x = positionsA[a]!;
    const y = positionsA[a + 1]!;
    const z = positionsA[a + 2]!;
    const fa = m[0]! * x + m[1]! * y + m[2]! * z;
    const fb = m[3]! * x + m[4]! * y + m[5]! * z;
    const fc = m[6]! * x + m[7]! * y + m[8]! * z;
    const sa = fa - Math.floor(fa);
    const sb = fb - Math.floor(fb);
    const sc = fc - Math.floor(fc);
    out[a] = sa * h[0]! + sb * h[3]! + sc * h[6]!;
    out[a + 1] = sa * h[1]! + sb * h[4]! + sc * h[7]!;
    out[a + 2] = sa * h[2]! + sb * h[5]! + sc * h[8]!;
  }
  return out;
}

export interface BondOptions {
  /** Periodic cell (rows a, b, c, Å): bonds are then found through the minimum image. */
  cellA?: Float64Array;
  /** Scale factor s in d < s · (r_a + r_b); default 1.2. */
  scale?: number;
}

function radiiOf(symbols: readonly string[]): Float64Array {
  const r = new Float64Array(symbols.length);
  for (let i = 0; i < symbols.length; i++) {
    try {
      r[i] = element(symbols[i]!).covalentRadiusA;
    } catch {
      throw new AtomgpError(`atom ${i + 1}: unknown element '${symbols[i]}'`);
    }
  }
  return r;
}

/** Bins (counting sort): atoms of bin b are order[start[b] .. start[b+1]). */
function binAtoms(binOf: Int32Array, nBins: number): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(nBins + 1);
  for (let i = 0; i < binOf.length; i++) start[binOf[i]! + 1]!++;
  for (let b = 0; b < nBins; b++) start[b + 1]! += start[b]!;
  const fill = start.slice(0, nBins);
  const order = new Int32Array(binOf.length);
  for (let i = 0; i < binOf.length; i++) order[fill[binOf[i]!]!++] = i;
  return { start, order };
}

/**
 * Covalent bonds by the rule d < s · (r_a + r_b) (minimum image under `cellA`), as pairs
 * [i, j] with i < j, sorted. Linear time in the number of atoms (cell lists).
 */
export function findBonds(symbols: readonly string[], positionsA: Float64Array, options: BondOptions = {}): Bond[] {
  const n = symbols.length;
  if (positionsA.length !== 3 * n) throw new AtomgpError(`${n} atoms need ${3 * n} coordinates, got ${positionsA.length}`);
  const scale = options.scale ?? DEFAULT_BOND_SCALE;
  if (!(scale > 0)) throw new AtomgpError(`bond scale factor must be positive, got ${scale}`);
  if (n < 2) return [];
  const radii = radiiOf(symbols);
  let rMax = 0;
  for (let i = 0; i < n; i++) rMax = Math.max(rMax, radii[i]!);
  const cutoff = 2 * scale * rMax;
  const found: number[] = [];
  if (options.cellA) collectPeriodic(positionsA, radii, scale, cutoff, periodicCell(options.cellA), found);
  else collectOpen(positionsA, radii, scale, cutoff, found);
  const bonds: Bond[] = [];
  for (let k = 0; k < found.length; k += 2) bonds.push([found[k]!, found[k + 1]!]);
  bonds.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  // Tiny cells can reach the same neighbour through two images; keep each pair once.
  return bonds.filter((b, k) => k === 0 || b[0] !== bonds[k - 1]![0] || b[1] !== bonds[k - 1]![1]);
}

function collectOpen(pos: Float64Array, radii: Float64Array, scale: number, cutoff: number, found: number[]): void {
  const n = radii.length;
  let minX = Infinity;
  let minY = Infinity;
  let minZ = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  let maxZ = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = pos[3 * i]!;
    const y = pos[3 * i + 1]!;
    const z = pos[3 * i + 2]!;
    if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) throw new AtomgpError(`atom ${i + 1} has a non-finite coordinate`);
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    minZ = Math.min(minZ, z);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
    maxZ = Math.max(maxZ, z);
  }
  // Bins at least one cutoff wide; widened when a sparse system would need too many of them.
  let size = cutoff;
  const maxBins = Math.max(64, 4 * n);
  let nx = 0;
  let ny = 0;
  let nz = 0;
  for (;;) {
    nx = Math.floor((maxX - minX) / size) + 1;
    ny = Math.floor((maxY - minY) / size) + 1;
    nz = Math.floor((maxZ - minZ) / size) + 1;
    if (nx * ny * nz <= maxBins) break;
    size *= 1.5;
  }
  const binOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const ix = Math.min(nx - 1, Math.floor((pos[3 * i]! - minX) / size));
    const iy = Math.min(ny - 1, Math.floor((pos[3 * i + 1]! - minY) / size));
    const iz = Math.min(nz - 1, Math.floor((pos[3 * i + 2]! - minZ) / size));
    binOf[i] = (ix * ny + iy) * nz + iz;
  }
  const { start, order } = binAtoms(binOf, nx * ny * nz);
  for (let i = 0; i < n; i++) {
    const b = binOf[i]!;
    const iz = b % nz;
    const iy = ((b - iz) / nz) % ny;
    const ix = (b - iz - iy * nz) / (ny * nz);
    const xi = pos[3 * i]!;
    const yi = pos[3 * i + 1]!;
    const zi = pos[3 * i + 2]!;
    const ri = radii[i]!;
    for (let jx = Math.max(0, ix - 1); jx <= Math.min(nx - 1, ix + 1); jx++) {
      for (let jy = Math.max(0, iy - 1); jy <= Math.min(ny - 1, iy + 1); jy++) {
        for (let jz = Math.max(0, iz - 1); jz <= Math.min(nz - 1, iz + 1); jz++) {
          const nb = (jx * ny + jy) * nz + jz;
          for (let k = start[nb]!; k < start[nb + 1]!; k++) {
            const j = order[k]!;
            if (j <= i) continue;
            const dx = pos[3 * j]! - xi;
            const dy = pos[3 * j + 1]! - yi;
            const dz = pos[3 * j + 2]! - zi;
            const limit = scale * (ri + radii[j]!);
            if (dx * dx + dy * dy + dz * dz < limit * limit) found.push(i, j);
          }
        }
      }
    }
  }
}

function collectPeriodic(pos: Float64Array, radii: Float64Array, scale: number, cutoff: number, cell: PeriodicCell, found: number[]): void {
  const n = radii.length;
  const w = cell.widthsA;
  if (Math.min(w[0]!, w[1]!, w[2]!) < cutoff) {
    throw new AtomgpError(
      `cell too small for the bond search: its narrowest width ${Math.min(w[0]!, w[1]!, w[2]!).toFixed(3)} Å is below the bond cutoff ${cutoff.toFixed(3)} Å`,
    );
  }
  const na = Math.max(1, Math.floor(w[0]! / cutoff));
  const nb = Math.max(1, Math.floor(w[1]! / cutoff));
  const nc = Math.max(1, Math.floor(w[2]! / cutoff));
  const wrapped = wrapIntoCell(pos, cell.cellA);
  const m = cell.inverse;
  const h = cell.cellA;
  const binOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const x = wrapped[3 * i]!;
    const y = wrapped[3 * i + 1]!;
    const z = wrapped[3 * i + 2]!;
    if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) throw new AtomgpError(`atom ${i + 1} has a non-finite coordinate`);
    const ia = Math.min(na - 1, Math.max(0, Math.floor((m[0]! * x + m[1]! * y + m[2]! * z) * na)));
    const ib = Math.min(nb - 1, Math.max(0, Math.floor((m[3]! * x + m[4]! * y + m[5]! * z) * nb)));
    const ic = Math.min(nc - 1, Math.max(0, Math.floor((m[6]! * x + m[7]! * y + m[8]! * z) * nc)));
    binOf[i] = (ia * nb + ib) * nc + ic;
  }
  const { start, order } = binAtoms(binOf, na * nb * nc);
  for (let i = 0; i < n; i++) {
    const bin = binOf[i]!;
    const ic = bin % nc;
    const ib = ((bin - ic) / nc) % nb;
    const ia = (bin - ic - ib * nc) / (nb * nc);
    const xi = wrapped[3 * i]!;
    const yi = wrapped[3 * i + 1]!;
    const zi = wrapped[3 * i + 2]!;
    const ri = radii[i]!;
    // Neighbour bin ia+oa is bin (ia+oa) mod na in the image shifted by floor((ia+oa)/na) cells.
    for (let oa = -1; oa <= 1; oa++) {
      const ja = ia + oa;
      const sa = Math.floor(ja / na);
      for (let ob = -1; ob <= 1; ob++) {
        const jb = ib + ob;
        const sb = Math.floor(jb / nb);
        for (let oc = -1; oc <= 1; oc++) {
          const jc = ic + oc;
          const sc = Math.floor(jc / nc);
          const nbBin = ((ja - sa * na) * nb + (jb - sb * nb)) * nc + (jc - sc * nc);
          const tx = sa * h[0]! + sb * h[3]! + sc * h[6]! - xi;
          const ty = sa * h[1]! + sb * h[4]! + sc * h[7]! - yi;
          const tz = sa * h[2]! + sb * h[5]! + sc * h[8]! - zi;
          for (let k = start[nbBin]!; k < start[nbBin + 1]!; k++) {
            const j = order[k]!;
            if (j <= i) continue;
            const dx = wrapped[3 * j]! + tx;
            const dy = wrapped[3 * j + 1]! + ty;
            const dz = wrapped[3 * j + 2]! + tz;
            const limit = scale * (ri + radii[j]!);
            if (dx * dx + dy * dy + dz * dz < limit * limit) found.push(i, j);
          }
        }
      }
    }
  }
}

/**
 * Connected components of the bond graph: arrays of atom indices, each sorted ascending, ordered
 * by their first atom. Atoms without bonds form one-atom fragments.
 */
export function fragments(nAtoms: number, bonds: readonly Bond[]): number[][] {
  const parent = new Int32Array(nAtoms);
  for (let i = 0; i < nAtoms; i++) parent[i] = i;
  const root = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  for (const [i, j] of bonds) {
    if (i < 0 || j < 0 || i >= nAtoms || j >= nAtoms) throw new AtomgpError(`bond (${i}, ${j}) refers to an atom outside 0..${nAtoms - 1}`);
    const ri = root(i);
    const rj = root(j);
    if (ri !== rj) parent[Math.max(ri, rj)] = Math.min(ri, rj);
  }
  const index = new Map<number, number>();
  const out: number[][] = [];
  for (let i = 0; i < nAtoms; i++) {
    const r = root(i);
    let k = index.get(r);
    if (k === undefined) {
      k = out.length;
      index.set(r, k);
      out.push([]);
    }
    out[k]!.push(i);
  }
  return out;
}

/** How atoms group into molecules: a bond list (preferred) or fragments (atom index lists). */
export type MoleculeTopology = { bonds: readonly Bond[] } | { fragments: readonly (readonly number[])[] };

/**
 * Make every molecule whole under periodic boundaries (e.g. a DL_POLY CONFIG where molecules are
 * split across faces of the box). With `bonds`, each molecule is walked from its lowest-numbered
 * atom, which stays put, and every bonded neighbour is placed at the minimum image of its bond, so
 * molecules of any size come out whole. With `fragments`, every atom is placed at the minimum
 * image relative to the fragment's first atom (correct while molecules span less than half the
 * cell). Without a cell, positions are copied unchanged. Returns `out` (a new array by default).
 */
export function unwrapMolecules(
  positionsA: Float64Array,
  cellA: Float64Array | undefined,
  topology: MoleculeTopology,
  out = new Float64Array(positionsA.length),
): Float64Array {
  if (out !== positionsA) out.set(positionsA);
  if (!cellA) return out;
  const cell = periodicCell(cellA);
  const n = positionsA.length / 3;
  const d = new Float64Array(3);
  const place = (child: number, anchor: number): void => {
    // child ← anchor (already placed) + minimum image of the original displacement.
    d[0] = positionsA[3 * child]! - positionsA[3 * anchor]!;
    d[1] = positionsA[3 * child + 1]! - positionsA[3 * anchor + 1]!;
    d[2] = positionsA[3 * child + 2]! - positionsA[3 * anchor + 2]!;
    minimumImage(cell, d);
    out[3 * child] = out[3 * anchor]! + d[0]!;
    out[3 * child + 1] = out[3 * anchor + 1]! + d[1]!;
    out[3 * child + 2] = out[3 * anchor + 2]! + d[2]!;
  };
  if ('fragments' in topology) {
    for (const frag of topology.fragments) {
      for (let k = 1; k < frag.length; k++) place(frag[k]!, frag[0]!);
    }
    return out;
  }
  // Adjacency in CSR form, then a breadth-first walk per molecule.
  const degree = new Int32Array(n + 1);
  for (const [i, j] of topology.bonds) {
    if (i < 0 || j < 0 || i >= n || j >= n) throw new AtomgpError(`bond (${i}, ${j}) refers to an atom outside 0..${n - 1}`);
    degree[i + 1]!++;
    degree[j + 1]!++;
  }
  for (let i = 0; i < n; i++) degree[i + 1]! += degree[i]!;
  const fill = degree.slice(0, n);
  const neighbours = new Int32Array(degree[n]!);
  for (const [i, j] of topology.bonds) {
    neighbours[fill[i]!++] = j;
    neighbours[fill[j]!++] = i;
  }
  const visited = new Uint8Array(n);
  const queue = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    if (visited[s]) continue;
    visited[s] = 1;
    let head = 0;
    let tail = 0;
    queue[tail++] = s;
    while (head < tail) {
      const a = queue[head++]!;
      for (let k = degree[a]!; k < degree[a + 1]!; k++) {
        const b = neighbours[k]!;
        if (visited[b]) continue;
        visited[b] = 1;
        place(b, a);
        queue[tail++] = b;
      }
    }
  }
  return out;
}

/**
 * Make every copy of an n-atom molecule whole (copies stored one after another, `atomsPerCopy`
 * atoms each; a trailing partial copy is treated the same way): each atom is moved by a lattice
 * translation to the image nearest its copy's first atom (`minimumImage`, so also in skewed cells),
 * and atoms already there keep their coordinates bit for bit. Returns a new array.
 */
export function unwrapCopies(positionsA: Float64Array, cellA: Float64Array, atomsPerCopy: number): Float64Array {
  if (!(Number.isInteger(atomsPerCopy) && atomsPerCopy > 0)) throw new AtomgpError(`atoms per copy must be a positive integer, got ${atomsPerCopy}`);
  const cell = periodicCell(cellA);
  const out = Float64Array.from(positionsA);
  const nAtoms = positionsA.length / 3;
  const d = new Float64Array(3);
  for (let first = 0; first < nAtoms; first += atomsPerCopy) {
    const o = 3 * first;
    for (let i = first + 1; i < first + atomsPerCopy && i < nAtoms; i++) {
      const p = 3 * i;
      for (let k = 0; k < 3; k++) d[k] = positionsA[p + k]! - positionsA[o + k]!;
      minimumImage(cell, d);
      // Subtract the lattice translation (raw − nearest-image displacement): exactly 0 when none.
      for (let k = 0; k < 3; k++) out[p + k] = positionsA[p + k]! - (positionsA[p + k]! - positionsA[o + k]! - d[k]!);
    }
  }
  return out;
}
