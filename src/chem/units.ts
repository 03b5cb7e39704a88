/**
 * Unit conversions. Constants as in ../shared/docs/formats.md (ichor's Å↔bohr, FFLUX's Ha↔kcal/mol).
 * Names read "X per Y": multiply a value in Y to get X (e.g. `BOHR_PER_ANGSTROM * lengthA`).
 */

/** 1 Å in bohr (ichor: 1 / 0.529177210903). */
export const BOHR_PER_ANGSTROM = 1.8897261246257702;
/** 1 bohr in Å. */
export const ANGSTROM_PER_BOHR = 1 / BOHR_PER_ANGSTROM;
/** DL_FFLUX's bohr radius in Å (differs from ichor's below 1e-9 relative). */
export const DLFFLUX_ANGSTROM_PER_BOHR = 0.52917721067;

/** 1 Ha in kcal/mol. */
export const KCAL_PER_MOL_PER_HARTREE = 627.509474;
/** 1 Ha in kJ/mol. */
export const KJ_PER_MOL_PER_HARTREE = 2625.4996394799;
/** 1 kcal in kJ. */
export const KJ_PER_KCAL = 4.184;
/**
 * 1 Ha/bohr in kcal/mol/Å, the value of formats.md (CODATA 2018 Ha = 627.5094740631 kcal/mol; it
 * differs from KCAL_PER_MOL_PER_HARTREE × BOHR_PER_ANGSTROM by 1e-10 relative).
 */
export const KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR = 1185.8210465871675;

/**
 * DL_FFLUX prints `E_IQA / Ha` as the sum of atomic energies multiplied by this rounded
 * conversion factor (262549.9638285 / 262550). Users comparing with its output need it.
 */
export const DLFFLUX_ENERGY_FACTOR = 262549.9638285 / 262550;

/** Boltzmann constant in kcal/mol/K (CODATA 2018 k_B·N_A / 4184). */
export const BOLTZMANN_KCAL_PER_MOL_PER_K = 0.0019872042586408316;
/** Boltzmann constant in Ha/K. */
export const BOLTZMANN_HARTREE_PER_K = 3.166811563e-6;

/**
 * Acceleration from force: 1 kcal/mol/Å acting on 1 amu gives this many Å/fs².
 * (4184 J/mol / 1e-3 kg/mol / 1e-10 m → 4.184e13 m/s² = 4.184e-4 Å/fs².)
 */
export const A_PER_FS2_PER_KCAL_PER_MOL_PER_A_PER_AMU = 4.184e-4;
