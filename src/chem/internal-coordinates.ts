/**
 * Internal coordinates with their exact Cartesian gradients: a distance, a bond angle (0..π, at the
 * middle atom) and a dihedral ((−π, π], IUPAC sign). Each returns the value and, with `g` (length
 * 3N), writes the gradient into the entries of its own atoms only — the others are left as they
 * are, so callers either clear `g` first or read just those atoms. Units follow the positions
 * (Å → 1/Å per radian, bohr → 1/bohr). Used by the sampling's collective variables and by the
 * optimiser's model Hessian.
 */
export function distanceWithGradient(x: Float64Array, i: number, j: number, g: Float64Array | undefined): number {
  const dx = x[3 * j]! - x[3 * i]!;
  const dy = x[3 * j + 1]! - x[3 * i + 1]!;
  const dz = x[3 * j + 2]! - x[3 * i + 2]!;
  const r = Math.sqrt(dx * dx + dy * dy + dz * dz);
  if (g && r > 0) {
    g[3 * j] = dx / r;
    g[3 * j + 1] = dy / r;
    g[3 * j + 2] = dz / r;
    g[3 * i] = -dx / r;
    g[3 * i + 1] = -dy / r;
    g[3 * i + 2] = -dz / r;
  }
  return r;
}

export function angleWithGradient(x: Float64Array, i: number, j: number, k: number, g: Float64Array | undefined): number {
  const ux = x[3 * i]! - x[3 * j]!;
  const uy = x[3 * i + 1]! - x[3 * j + 1]!;
  const uz = x[3 * i + 2]! - x[3 * j + 2]!;
  const vx = x[3 * k]! - x[3 * j]!;
  const vy = x[3 * k + 1]! - x[3 * j + 1]!;
  const vz = x[3 * k + 2]! - x[3 * j + 2]!;
  const cx = uy * vz - uz * vy;
  const cy = uz * vx - ux * vz;
  const cz = ux * vy - uy * vx;
  const cross = Math.sqrt(cx * cx + cy * cy + cz * cz);
  const dot = ux * vx + uy * vy + uz * vz;
  // atan2 keeps full precision near 0 and π, where acos of the cosine loses digits.
  const theta = Math.atan2(cross, dot);
  if (g) {
    const ru2 = ux * ux + uy * uy + uz * uz;
    const rv2 = vx * vx + vy * vy + vz * vz;
    // dθ/du = (cosθ û − v̂)/(|u| sinθ) = ((u·v) u/|u|² − v)/|u × v|, likewise for v; singular at sinθ = 0.
    const inv = cross > 1e-300 ? 1 / cross : 0;
    const giX = ((dot / ru2) * ux - vx) * inv;
    const giY = ((dot / ru2) * uy - vy) * inv;
    const giZ = ((dot / ru2) * uz - vz) * inv;
    const gkX = ((dot / rv2) * vx - ux) * inv;
    const gkY = ((dot / rv2) * vy - uy) * inv;
    const gkZ = ((dot / rv2) * vz - uz) * inv;
    g[3 * i] = giX;
    g[3 * i + 1] = giY;
    g[3 * i + 2] = giZ;
    g[3 * k] = gkX;
    g[3 * k + 1] = gkY;
    g[3 * k + 2] = gkZ;
    g[3 * j] = -giX - gkX;
    g[3 * j + 1] = -giY - gkY;
    g[3 * j + 2] = -giZ - gkZ;
  }
  return theta;
}

export function dihedralWithGradient(x: Float64Array, i: number, j: number, k: number, l: number, g: Float64Array | undefined): number {
  const b1x = x[3 * j]! - x[3 * i]!;
  const b1y = x[3 * j + 1]! - x[3 * i + 1]!;
  const b1z = x[3 * j + 2]! - x[3 * i + 2]!;
  const b2x = x[3 * k]! - x[3 * j]!;
  const b2y = x[3 * k + 1]! - x[3 * j + 1]!;
  const b2z = x[3 * k + 2]! - x[3 * j + 2]!;
  const b3x = x[3 * l]! - x[3 * k]!;
  const b3y = x[3 * l + 1]! - x[3 * k + 1]!;
  const b3z = x[3 * l + 2]! - x[3 * k + 2]!;
  // m = b1 × b2, n = b2 × b3
  const mx = b1y * b2z - b1z * b2y;
  const my = b1z * b2x - b1x * b2z;
  const mz = b1x * b2y - b1y * b2x;
  const nx = b2y * b3z - b2z * b3y;
  const ny = b2z * b3x - b2x * b3z;
  const nz = b2x * b3y - b2y * b3x;
  const b2sq = b2x * b2x + b2y * b2y + b2z * b2z;
  const b2len = Math.sqrt(b2sq);
  const yy = b2len * (b1x * nx + b1y * ny + b1z * nz);
  const xx = mx * nx + my * ny + mz * nz;
  let phi = Math.atan2(yy, xx);
  if (phi === -Math.PI) phi = Math.PI;
  if (g) {
    const m2 = mx * mx + my * my + mz * mz;
    const n2 = nx * nx + ny * ny + nz * nz;
    // Blondel & Karplus (1996): singularity-free except for collinear triples (m or n = 0).
    const fi = m2 > 1e-300 ? -b2len / m2 : 0;
    const fl = n2 > 1e-300 ? b2len / n2 : 0;
    const giX = fi * mx;
    const giY = fi * my;
    const giZ = fi * mz;
    const glX = fl * nx;
    const glY = fl * ny;
    const glZ = fl * nz;
    const p = b2sq > 0 ? (b1x * b2x + b1y * b2y + b1z * b2z) / b2sq : 0;
    const q = b2sq > 0 ? (b3x * b2x + b3y * b2y + b3z * b2z) / b2sq : 0;
    // ∂φ/∂r_j = −(1 + p) ∂φ/∂r_i + q ∂φ/∂r_l with p = b1·b2/|b2|², q = b3·b2/|b2|²;
    // translation invariance gives ∂φ/∂r_k = −(∂φ/∂r_i + ∂φ/∂r_j + ∂φ/∂r_l).
    const gjX = -(1 + p) * giX + q * glX;
    const gjY = -(1 + p) * giY + q * glY;
    const gjZ = -(1 + p) * giZ + q * glZ;
    g[3 * i] = giX;
    g[3 * i + 1] = giY;
    g[3 * i + 2] = giZ;
    g[3 * l] = glX;
    g[3 * l + 1] = glY;
    g[3 * l + 2] = glZ;
    g[3 * j] = gjX;
    g[3 * j + 1] = gjY;
    g[3 * j + 2] = gjZ;
    g[3 * k] = -giX - glX - gjX;
    g[3 * k + 1] = -giY - glY - gjY;
    g[3 * k + 2] = -giZ - glZ - gjZ;
  }
  return phi;
}
