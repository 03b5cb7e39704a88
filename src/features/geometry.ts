/**
 * Features → positions: the inverse of the ALF features of one atom. An atom's 3N − 6 features
 * are internal coordinates (two distances and an angle for the frame, then R, θ, φ of every other
 * atom), so one row rebuilds the whole molecule up to a rigid motion.
 */
import { ANGSTROM_PER_BOHR } from '../chem/units.js';
import { AtomgpError } from '../errors.js';

/**
 * Cartesian positions (Å) with the given ALF features (bohr, radians) for the atom `alf[0]`
 * (0-based ALF within an n-atom molecule): the central atom at the origin, the x-axis atom on +x,
 * the xy-plane atom in the xy plane (y > 0), every other atom at (R, θ, φ) in that frame.
 */
export function geometryFromAlfFeatures(features: ArrayLike<number>, alf: readonly number[], nAtoms: number): Float64Array {
  if (nAtoms < 3) throw new AtomgpError(`rebuilding a geometry from ALF features needs at least 3 atoms, got ${nAtoms}`);
  if (features.length !== 3 * nAtoms - 6) throw new AtomgpError(`rebuilding a geometry: ${features.length} features for ${nAtoms} atoms (expected ${3 * nAtoms - 6})`);
  const [a, x, y] = alf as [number, number, number];
  const pos = new Float64Array(3 * nAtoms);
  const put = (i: number, px: number, py: number, pz: number): void => {
    pos[3 * i] = px * ANGSTROM_PER_BOHR;
    pos[3 * i + 1] = py * ANGSTROM_PER_BOHR;
    pos[3 * i + 2] = pz * ANGSTROM_PER_BOHR;
  };
  put(a, 0, 0, 0);
  put(x, features[0]!, 0, 0);
  put(y, features[1]! * Math.cos(features[2]!), features[1]! * Math.sin(features[2]!), 0);
  let k = 3;
  for (let i = 0; i < nAtoms; i++) {
    if (i === a || i === x || i === y) continue;
    const r = features[k]!;
    const theta = features[k + 1]!;
    const phi = features[k + 2]!;
    put(i, r * Math.sin(theta) * Math.cos(phi), r * Math.sin(theta) * Math.sin(phi), r * Math.cos(theta));
    k += 3;
  }
  return pos;
}

/** Largest difference between a feature row and `stored[offset …]`, angles wrapped to ≤ π. */
export function featureMismatch(computed: ArrayLike<number>, stored: ArrayLike<number>, offset = 0): number {
  let worst = 0;
  for (let k = 0; k < computed.length; k++) {
    let d = Math.abs(computed[k]! - stored[offset + k]!);
    if (d > Math.PI) d = Math.abs(d - 2 * Math.PI);
    if (d > worst) worst = d;
  }
  return worst;
}
