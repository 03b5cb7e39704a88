/**
 * Atomic Local Frame (ALF) features and their exact gradients (../shared/docs/formats.md).
 *
 * For atom A with ALF (A, X, Y): f1 = |r_X − r_A|, f2 = |r_Y − r_A|, f3 = angle X-A-Y; then for every
 * other atom n in atom order (skipping A, X, Y), with ζ = C (r_n − r_A) in the frame C = rows
 * (e_x, e_y, e_z): R = |ζ|, θ = arccos(ζ_z/R), φ = atan2(ζ_y, ζ_x). Units: bohr and radians.
 * A diatomic has one feature, the distance.
 *
 * `backprop` applies the chain rule in reverse: given g = ∂E/∂f it adds ∂E/∂r for every atom,
 * including the derivatives of the moving frame through r_A, r_X and r_Y. Cost O(N) per atom.
 */
import { AtomgpError } from '../errors.js';

/** Number of ALF features for an N-atom molecule: 3N − 6 (N > 2), 1 (N = 2). */
export function featureCount(nAtoms: number): number {
  if (nAtoms < 2) throw new AtomgpError(`an ALF needs at least 2 atoms, got ${nAtoms}`);
  return nAtoms === 2 ? 1 : 3 * nAtoms - 6;
}

/** Smallest |sin| of the X-A-Y angle accepted before the frame is called collinear. */
const MIN_SIN_ALF_ANGLE = 1e-6;

/**
 * Features of one atom of one molecule. `atomIndex[i]` is the position (in the flat 3N array of
 * the whole system) of the molecule's i-th atom, so molecules inside larger systems (a water box)
 * are handled without copying. The ALF is given 0-based within the molecule.
 */
export class AlfFeaturizer {
  readonly nFeatures: number;
  readonly label: string;
  private readonly a: number;
  private readonly x: number;
  private readonly y: number;
  /** Global atom indices of the "other" atoms, in feature order. */
  readonly others: Int32Array;
  // Workspace filled by compute(), read by backprop().
  private readonly u = new Float64Array(3);
  private readonly b = new Float64Array(3);
  private readonly v = new Float64Array(3);
  private readonly frame = new Float64Array(9);
  private readonly gFrame = new Float64Array(9);
  private lenU = 0;
  private lenB = 0;
  private lenV = 0;
  private cosAngle = 0;

  constructor(atomIndex: ArrayLike<number>, alf: ArrayLike<number>, label = 'atom') {
    const n = atomIndex.length;
    this.nFeatures = featureCount(n);
    this.label = label;
    const need = n === 2 ? 2 : 3;
    if (alf.length < need) throw new AtomgpError(`${label}: ALF needs ${need} atoms, got ${alf.length}`);
    for (let i = 0; i < need; i++) {
      const k = alf[i]!;
      if (!Number.isInteger(k) || k < 0 || k >= n) {
        throw new AtomgpError(`${label}: ALF atom ${k + 1} is outside 1..${n}`);
      }
    }
    if (alf[0] === alf[1] || (need === 3 && (alf[0] === alf[2] || alf[1] === alf[2]))) {
      throw new AtomgpError(`${label}: ALF atoms must be distinct, got ${Array.from(alf, (k) => k + 1).join(' ')}`);
    }
    this.a = atomIndex[alf[0]!]!;
    this.x = atomIndex[alf[1]!]!;
    this.y = need === 3 ? atomIndex[alf[2]!]! : -1;
    const others: number[] = [];
    if (need === 3) {
      for (let i = 0; i < n; i++) if (i !== alf[0] && i !== alf[1] && i !== alf[2]) others.push(atomIndex[i]!);
    }
    this.others = Int32Array.from(others);
  }

  /** Features of the atom at `posBohr` (flat, bohr) into `out` (length nFeatures). */
  compute(posBohr: Float64Array, out: Float64Array): void {
    const a3 = 3 * this.a;
    const ax = posBohr[a3]!;
    const ay = posBohr[a3 + 1]!;
    const az = posBohr[a3 + 2]!;
    const u = this.u;
    const x3 = 3 * this.x;
    u[0] = posBohr[x3]! - ax;
    u[1] = posBohr[x3 + 1]! - ay;
    u[2] = posBohr[x3 + 2]! - az;
    const uu = u[0]! * u[0]! + u[1]! * u[1]! + u[2]! * u[2]!;
    const lenU = Math.sqrt(uu);
    this.lenU = lenU;
    if (!(lenU > 1e-8)) {
      throw new AtomgpError(`${this.label}: ALF atoms coincide or coordinates are not finite (|r_X − r_A| = ${lenU} bohr)`);
    }
    out[0] = lenU;
    if (this.y < 0) return;

    const b = this.b;
    const y3 = 3 * this.y;
    b[0] = posBohr[y3]! - ax;
    b[1] = posBohr[y3 + 1]! - ay;
    b[2] = posBohr[y3 + 2]! - az;
    const lenB = Math.sqrt(b[0]! * b[0]! + b[1]! * b[1]! + b[2]! * b[2]!);
    this.lenB = lenB;
    if (!(lenB > 1e-8)) {
      throw new AtomgpError(`${this.label}: ALF atoms coincide or coordinates are not finite (|r_Y − r_A| = ${lenB} bohr)`);
    }
    const ub = u[0]! * b[0]! + u[1]! * b[1]! + u[2]! * b[2]!;
    let c = ub / (lenU * lenB);
    if (c > 1) c = 1;
    else if (c < -1) c = -1;
    this.cosAngle = c;
    if (Math.sqrt(1 - c * c) < MIN_SIN_ALF_ANGLE) {
      throw new AtomgpError(
        `${this.label}: the ALF is collinear (angle X-A-Y = ${((Math.acos(c) * 180) / Math.PI).toFixed(6)}°); its frame is undefined`,
      );
    }
    out[1] = lenB;
    out[2] = Math.acos(c);

    // Frame: e_x = u/|u|; e_y = v/|v| with v = b − (u·b/|u|²) u; e_z = e_x × e_y.
    const v = this.v;
    const s = ub / uu;
    v[0] = b[0]! - s * u[0]!;
    v[1] = b[1]! - s * u[1]!;
    v[2] = b[2]! - s * u[2]!;
    const lenV = Math.sqrt(v[0]! * v[0]! + v[1]! * v[1]! + v[2]! * v[2]!);
    this.lenV = lenV;
    const C = this.frame;
    C[0] = u[0]! / lenU;
    C[1] = u[1]! / lenU;
    C[2] = u[2]! / lenU;
    C[3] = v[0]! / lenV;
    C[4] = v[1]! / lenV;
    C[5] = v[2]! / lenV;
    C[6] = C[1]! * C[5]! - C[2]! * C[4]!;
    C[7] = C[2]! * C[3]! - C[0]! * C[5]!;
    C[8] = C[0]! * C[4]! - C[1]! * C[3]!;

    const others = this.others;
    for (let k = 0; k < others.length; k++) {
      const n3 = 3 * others[k]!;
      const dx = posBohr[n3]! - ax;
      const dy = posBohr[n3 + 1]! - ay;
      const dz = posBohr[n3 + 2]! - az;
      const zx = C[0]! * dx + C[1]! * dy + C[2]! * dz;
      const zy = C[3]! * dx + C[4]! * dy + C[5]! * dz;
      const zz = C[6]! * dx + C[7]! * dy + C[8]! * dz;
      const R = Math.sqrt(dx * dx + dy * dy + dz * dz);
      if (!(R > 1e-8)) {
        throw new AtomgpError(`${this.label}: another atom coincides with the central atom (distance ${R} bohr)`);
      }
      let ct = zz / R;
      if (ct > 1) ct = 1;
      else if (ct < -1) ct = -1;
      const f = 3 + 3 * k;
      out[f] = R;
      out[f + 1] = Math.acos(ct);
      out[f + 2] = Math.atan2(zy, zx);
    }
  }

  /**
   * Adds ∂E/∂r (Ha/bohr if E in Ha) to `gradBohr` (flat, whole system) given g = ∂E/∂f. Must be
   * called after `compute` with the same positions.
   */
  backprop(posBohr: Float64Array, g: Float64Array, gradBohr: Float64Array): void {
    const a3 = 3 * this.a;
    const x3 = 3 * this.x;
    const u = this.u;
    const lenU = this.lenU;
    // f1 = |u|
    const g1 = g[0]! / lenU;
    let gux = g1 * u[0]!;
    let guy = g1 * u[1]!;
    let guz = g1 * u[2]!;
    if (this.y < 0) {
      gradBohr[x3] = gradBohr[x3]! + gux;
      gradBohr[x3 + 1] = gradBohr[x3 + 1]! + guy;
      gradBohr[x3 + 2] = gradBohr[x3 + 2]! + guz;
      gradBohr[a3] = gradBohr[a3]! - gux;
      gradBohr[a3 + 1] = gradBohr[a3 + 1]! - guy;
      gradBohr[a3 + 2] = gradBohr[a3 + 2]! - guz;
      return;
    }
    const y3 = 3 * this.y;
    const b = this.b;
    const lenB = this.lenB;
    // f2 = |b|
    const g2 = g[1]! / lenB;
    let gbx = g2 * b[0]!;
    let gby = g2 * b[1]!;
    let gbz = g2 * b[2]!;
    // f3 = acos(c), c = u·b/(|u||b|): ∂c/∂u = b/(|u||b|) − c u/|u|², ∂c/∂b = u/(|u||b|) − c b/|b|²
    const c = this.cosAngle;
    const gc = -g[2]! / Math.sqrt(1 - c * c);
    const inv = 1 / (lenU * lenB);
    const cu = c / (lenU * lenU);
    const cb = c / (lenB * lenB);
    gux += gc * (b[0]! * inv - cu * u[0]!);
    guy += gc * (b[1]! * inv - cu * u[1]!);
    guz += gc * (b[2]! * inv - cu * u[2]!);
    gbx += gc * (u[0]! * inv - cb * b[0]!);
    gby += gc * (u[1]! * inv - cb * b[1]!);
    gbz += gc * (u[2]! * inv - cb * b[2]!);

    // Spherical features of the other atoms; dE/dC accumulated in gFrame.
    const C = this.frame;
    const GC = this.gFrame;
    GC.fill(0);
    const ax = posBohr[a3]!;
    const ay = posBohr[a3 + 1]!;
    const az = posBohr[a3 + 2]!;
    let gax = 0;
    let gay = 0;
    let gaz = 0;
    const others = this.others;
    for (let k = 0; k < others.length; k++) {
      const f = 3 + 3 * k;
      const gR = g[f]!;
      const gT = g[f + 1]!;
      const gP = g[f + 2]!;
      const n3 = 3 * others[k]!;
      const dx = posBohr[n3]! - ax;
      const dy = posBohr[n3 + 1]! - ay;
      const dz = posBohr[n3 + 2]! - az;
      const zx = C[0]! * dx + C[1]! * dy + C[2]! * dz;
      const zy = C[3]! * dx + C[4]! * dy + C[5]! * dz;
      const zz = C[6]! * dx + C[7]! * dy + C[8]! * dz;
      const R2 = dx * dx + dy * dy + dz * dz;
      const R = Math.sqrt(R2);
      const rho2 = zx * zx + zy * zy;
      const rho = Math.sqrt(rho2);
      // θ = atan2(ρ, ζ_z): ∂θ/∂ζ = (ζ_x ζ_z, ζ_y ζ_z, −ρ²)/(R² ρ); φ: ∂φ/∂ζ = (−ζ_y, ζ_x, 0)/ρ².
      // On the z-axis (ρ = 0) θ ∈ {0, π} is stationary in the transverse directions and φ is
      // undefined; both contribute nothing there.
      let lx = 0;
      let ly = 0;
      let lz = 0;
      if (rho > 1e-300) {
        const tScale = gT / (R2 * rho);
        const pScale = gP / rho2;
        lx = tScale * zx * zz - pScale * zy;
        ly = tScale * zy * zz + pScale * zx;
        lz = -tScale * rho2;
      }
      // ζ = C d → ∂E/∂d = Cᵀ gζ (+ the R term, which does not involve the frame).
      const gR_R = gR / R;
      const gdx = C[0]! * lx + C[3]! * ly + C[6]! * lz + gR_R * dx;
      const gdy = C[1]! * lx + C[4]! * ly + C[7]! * lz + gR_R * dy;
      const gdz = C[2]! * lx + C[5]! * ly + C[8]! * lz + gR_R * dz;
      gradBohr[n3] = gradBohr[n3]! + gdx;
      gradBohr[n3 + 1] = gradBohr[n3 + 1]! + gdy;
      gradBohr[n3 + 2] = gradBohr[n3 + 2]! + gdz;
      gax -= gdx;
      gay -= gdy;
      gaz -= gdz;
      // ∂E/∂C_ij += gζ_i d_j
      GC[0] = GC[0]! + lx * dx;
      GC[1] = GC[1]! + lx * dy;
      GC[2] = GC[2]! + lx * dz;
      GC[3] = GC[3]! + ly * dx;
      GC[4] = GC[4]! + ly * dy;
      GC[5] = GC[5]! + ly * dz;
      GC[6] = GC[6]! + lz * dx;
      GC[7] = GC[7]! + lz * dy;
      GC[8] = GC[8]! + lz * dz;
    }

    if (others.length > 0) {
      // e_z = e_x × e_y: ∂/∂e_x += e_y × g_z, ∂/∂e_y += g_z × e_x.
      const exx = C[0]!;
      const exy = C[1]!;
      const exz = C[2]!;
      const eyx = C[3]!;
      const eyy = C[4]!;
      const eyz = C[5]!;
      const gzx = GC[6]!;
      const gzy = GC[7]!;
      const gzz = GC[8]!;
      const gex0 = GC[0]! + (eyy * gzz - eyz * gzy);
      const gex1 = GC[1]! + (eyz * gzx - eyx * gzz);
      const gex2 = GC[2]! + (eyx * gzy - eyy * gzx);
      const gey0 = GC[3]! + (gzy * exz - gzz * exy);
      const gey1 = GC[4]! + (gzz * exx - gzx * exz);
      const gey2 = GC[5]! + (gzx * exy - gzy * exx);
      // e_x = u/|u|: ∂/∂u = (g − e_x (e_x·g))/|u|
      const px = exx * gex0 + exy * gex1 + exz * gex2;
      gux += (gex0 - exx * px) / lenU;
      guy += (gex1 - exy * px) / lenU;
      guz += (gex2 - exz * px) / lenU;
      // e_y = v/|v|: gv = (g − e_y (e_y·g))/|v|
      const py = eyx * gey0 + eyy * gey1 + eyz * gey2;
      const lenV = this.lenV;
      const gvx = (gey0 - eyx * py) / lenV;
      const gvy = (gey1 - eyy * py) / lenV;
      const gvz = (gey2 - eyz * py) / lenV;
      // v = b − (s/q) u, s = u·b, q = u·u:
      //   ∂/∂b = gv − u (u·gv)/q;  ∂/∂u = −[(gv·u) b + s gv]/q + 2 s (gv·u) u/q²
      const q = lenU * lenU;
      const s = u[0]! * b[0]! + u[1]! * b[1]! + u[2]! * b[2]!;
      const gvu = gvx * u[0]! + gvy * u[1]! + gvz * u[2]!;
      gbx += gvx - (u[0]! * gvu) / q;
      gby += gvy - (u[1]! * gvu) / q;
      gbz += gvz - (u[2]! * gvu) / q;
      const t2 = (2 * s * gvu) / (q * q);
      gux += -(gvu * b[0]! + s * gvx) / q + t2 * u[0]!;
      guy += -(gvu * b[1]! + s * gvy) / q + t2 * u[1]!;
      guz += -(gvu * b[2]! + s * gvz) / q + t2 * u[2]!;
    }

    gradBohr[x3] = gradBohr[x3]! + gux;
    gradBohr[x3 + 1] = gradBohr[x3 + 1]! + guy;
    gradBohr[x3 + 2] = gradBohr[x3 + 2]! + guz;
    gradBohr[y3] = gradBohr[y3]! + gbx;
    gradBohr[y3 + 1] = gradBohr[y3 + 1]! + gby;
    gradBohr[y3 + 2] = gradBohr[y3 + 2]! + gbz;
    gradBohr[a3] = gradBohr[a3]! + gax - gux - gbx;
    gradBohr[a3 + 1] = gradBohr[a3 + 1]! + gay - guy - gby;
    gradBohr[a3 + 2] = gradBohr[a3 + 2]! + gaz - guz - gbz;
  }
}

/** Convenience: features of every atom of one molecule (positions bohr), ALFs 0-based. Allocates. */
export function computeFeatures(positionsBohr: Float64Array, alfs: ArrayLike<number>[]): Float64Array[] {
  const n = positionsBohr.length / 3;
  const idx = Array.from({ length: n }, (_, i) => i);
  return alfs.map((alf, i) => {
    const fz = new AlfFeaturizer(idx, alf, `atom ${i + 1}`);
    const out = new Float64Array(fz.nFeatures);
    fz.compute(positionsBohr, out);
    return out;
  });
}
