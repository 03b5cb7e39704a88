/**
 * UFF atom-type parameters (Rappé, Casewit, Colwell, Goddard, Skiff, J. Am. Chem. Soc. 1992, 114,
 * 10024, Table 1), only the types the built-in force field assigns (H, C, N, O, F, S, Cl).
 *
 * Type names follow the paper: element (padded with `_` to two characters), then the hybridisation
 * digit (1 linear, 2 trigonal, 3 tetrahedral, R resonant/aromatic), then for S the formal oxidation
 * state (`+2`, `+4`, `+6`).
 */

export interface UffAtomType {
  /** Single-bond radius r_I, Å. */
  bondRadiusA: number;
  /** Natural angle θ0 at this atom as a centre, degrees. */
  theta0Deg: number;
  /** van der Waals distance x_I, Å (LJ minimum for an I–I pair). */
  vdwDistanceA: number;
  /** van der Waals well depth D_I, kcal/mol. */
  vdwDepthKcalPerMol: number;
  /** Effective charge Z*_I, e (enters bond and angle force constants). */
  effectiveCharge: number;
  /** sp3 torsional barrier V_I, kcal/mol. */
  torsionSp3KcalPerMol: number;
  /** sp2 torsional constant U_I, kcal/mol (by period: 2.0 for the second row, 1.25 for the third). */
  torsionSp2KcalPerMol: number;
  /** GMP electronegativity χ_I, eV (enters the bond-length correction). */
  electronegativityEv: number;
}

// r_I, θ0, x_I, D_I, Z*_I, V_I, U_I, χ_I
const ROWS: ReadonlyArray<readonly [string, number, number, number, number, number, number, number, number]> = [
  ['H_', 0.354, 180.0, 2.886, 0.044, 0.712, 0.0, 0.0, 4.528],
  ['C_3', 0.757, 109.47, 3.851, 0.105, 1.912, 2.119, 2.0, 5.343],
  ['C_R', 0.729, 120.0, 3.851, 0.105, 1.912, 0.0, 2.0, 5.343],
  ['C_2', 0.732, 120.0, 3.851, 0.105, 1.912, 0.0, 2.0, 5.343],
  ['C_1', 0.706, 180.0, 3.851, 0.105, 1.912, 0.0, 2.0, 5.343],
  ['N_3', 0.7, 106.7, 3.66, 0.069, 2.544, 0.45, 2.0, 6.899],
  ['N_R', 0.699, 120.0, 3.66, 0.069, 2.544, 0.0, 2.0, 6.899],
  ['N_2', 0.685, 111.2, 3.66, 0.069, 2.544, 0.0, 2.0, 6.899],
  ['N_1', 0.656, 180.0, 3.66, 0.069, 2.544, 0.0, 2.0, 6.899],
  ['O_3', 0.658, 104.51, 3.5, 0.06, 2.3, 0.018, 2.0, 8.741],
  ['O_R', 0.68, 110.0, 3.5, 0.06, 2.3, 0.0, 2.0, 8.741],
  ['O_2', 0.634, 120.0, 3.5, 0.06, 2.3, 0.0, 2.0, 8.741],
  ['O_1', 0.639, 180.0, 3.5, 0.06, 2.3, 0.0, 2.0, 8.741],
  ['F_', 0.668, 180.0, 3.364, 0.05, 1.735, 0.0, 2.0, 10.874],
  ['S_3+2', 1.064, 92.1, 4.035, 0.274, 2.703, 0.484, 1.25, 6.928],
  ['S_3+4', 1.049, 103.2, 4.035, 0.274, 2.703, 0.484, 1.25, 6.928],
  ['S_3+6', 1.027, 109.47, 4.035, 0.274, 2.703, 0.484, 1.25, 6.928],
  ['S_R', 1.077, 92.2, 4.035, 0.274, 2.703, 0.0, 1.25, 6.928],
  ['S_2', 0.854, 120.0, 4.035, 0.274, 2.703, 0.0, 1.25, 6.928],
  ['Cl', 1.044, 180.0, 3.947, 0.227, 2.348, 0.0, 1.25, 8.564],
];

export const UFF_ATOM_TYPES: ReadonlyMap<string, UffAtomType> = new Map(
  ROWS.map(([name, r, t, x, d, z, v, u, chi]) => [
    name,
    {
      bondRadiusA: r,
      theta0Deg: t,
      vdwDistanceA: x,
      vdwDepthKcalPerMol: d,
      effectiveCharge: z,
      torsionSp3KcalPerMol: v,
      torsionSp2KcalPerMol: u,
      electronegativityEv: chi,
    },
  ]),
);

/** Elements the built-in force field has types for. */
export const UFF_ELEMENTS: readonly string[] = ['H', 'C', 'N', 'O', 'F', 'S', 'Cl'];

/** λ of the bond-order correction r_BO = −λ (r_I + r_J) ln n (paper, eq 3). */
export const UFF_BOND_ORDER_LAMBDA = 0.1332;

/** 2 × 332.06 kcal·Å/mol/e²: prefactor of the bond (eq 6) and angle (eq 13) force constants. */
export const UFF_FORCE_CONSTANT_PREFACTOR = 664.12;

/** sp3–sp3 barriers of the group-16 special case (two sp3 O/S centres, n = 2, φ0 = 90°), kcal/mol. */
export const UFF_GROUP16_SP3_TORSION_KCAL_PER_MOL: Readonly<Record<string, number>> = { O: 2.0, S: 6.8 };

/** Inversion force constant at sp2 C, N, O, kcal/mol (shared by the three terms of a centre). */
export const UFF_INVERSION_KCAL_PER_MOL = 6;
/** Inversion force constant at an sp2 C bonded to an sp2 oxygen (carbonyl), kcal/mol. */
export const UFF_INVERSION_CARBONYL_KCAL_PER_MOL = 50;

/**
 * UFF natural bond length r_IJ = r_I + r_J + r_BO − r_EN (Å) for bond order n, with
 * r_BO = −λ (r_I + r_J) ln n and r_EN = r_I r_J (√χ_I − √χ_J)² / (χ_I r_I + χ_J r_J).
 * (The paper prints "+ r_EN"; the electronegativity correction shortens polar bonds, which is how
 * UFF is used in practice and what reproduces e.g. O–H ≈ 0.99 Å.)
 */
export function uffBondLengthA(a: UffAtomType, b: UffAtomType, bondOrder: number): number {
  const ra = a.bondRadiusA;
  const rb = b.bondRadiusA;
  const rBO = -UFF_BOND_ORDER_LAMBDA * (ra + rb) * Math.log(bondOrder);
  const d = Math.sqrt(a.electronegativityEv) - Math.sqrt(b.electronegativityEv);
  const rEN = (ra * rb * d * d) / (a.electronegativityEv * ra + b.electronegativityEv * rb);
  return ra + rb + rBO - rEN;
}

/** UFF harmonic bond force constant k_IJ = 664.12 Z*_I Z*_J / r_IJ³, kcal/mol/Å² (E = ½ k Δr²). */
export function uffBondForceConstant(a: UffAtomType, b: UffAtomType, r0A: number): number {
  return (UFF_FORCE_CONSTANT_PREFACTOR * a.effectiveCharge * b.effectiveCharge) / (r0A * r0A * r0A);
}

/**
 * UFF angle force constant for I–J–K (kcal/mol/rad²; the curvature d²E/dθ² at θ0):
 * K = 664.12 Z*_I Z*_K / r_IK⁵ · [3 r_IJ r_JK (1 − cos²θ0) − r_IK² cos θ0],
 * r_IK² = r_IJ² + r_JK² − 2 r_IJ r_JK cos θ0.
 */
export function uffAngleForceConstant(zI: number, zK: number, rIJ: number, rJK: number, theta0Rad: number): number {
  const c = Math.cos(theta0Rad);
  const rIK2 = rIJ * rIJ + rJK * rJK - 2 * rIJ * rJK * c;
  const rIK = Math.sqrt(rIK2);
  return ((UFF_FORCE_CONSTANT_PREFACTOR * zI * zK) / rIK ** 5) * (3 * rIJ * rJK * (1 - c * c) - rIK2 * c);
}
