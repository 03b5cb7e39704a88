/**
 * Compare two optimised structures of one molecule (same atoms, same order), as the paper does for
 * alanine dipeptide (C7eq vs C5: energy difference, RMSD to the DFT geometry, backbone angles).
 */
import { AtomgpError } from '../errors.js';
import { type Bond, findBonds } from '../chem/connectivity.js';
import { KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { massesAmu } from '../chem/molecule.js';
import { detectBackbone, dihedralOf, ramachandranRegion } from './dihedrals.js';
import { kabschRmsd } from './kabsch.js';

export interface Conformer {
  symbols: readonly string[];
  positionsA: Float64Array;
  /** Total energy, Ha (optional: without it the energy difference is null). */
  energyHa?: number;
  name?: string;
}

export interface BackboneComparison {
  /** 0-based N, Cα, C' of the residue. */
  residue: [number, number, number];
  phiADeg: number;
  psiADeg: number;
  phiBDeg: number;
  psiBDeg: number;
  regionA: string;
  regionB: string;
}

export interface ConformerComparison {
  /** E(b) − E(a), kcal/mol; null when either energy is missing. */
  energyDifferenceKcalPerMol: number | null;
  /** RMSD after optimal superposition, all atoms (unweighted), Å. */
  rmsdA: number;
  /** The same over heavy atoms only (null when fewer than 3 heavy atoms). */
  rmsdHeavyA: number | null;
  /** Mass-weighted RMSD, Å. */
  rmsdMassWeightedA: number;
  backbone: BackboneComparison[];
}

function heavySubset(positionsA: Float64Array, heavy: number[]): Float64Array {
  const out = new Float64Array(3 * heavy.length);
  heavy.forEach((a, k) => {
    out.set(positionsA.subarray(3 * a, 3 * a + 3), 3 * k);
  });
  return out;
}

/**
 * Energy difference, RMSD after superposition and, when a peptide backbone is found, φ/ψ of both
 * structures. `bonds` default to the covalent-radius rule on structure a.
 */
export function compareConformers(a: Conformer, b: Conformer, bonds?: readonly Bond[]): ConformerComparison {
  const na = a.symbols.length;
  if (b.symbols.length !== na || a.symbols.some((s, k) => s !== b.symbols[k])) {
    throw new AtomgpError(
      `conformers ${a.name ?? 'a'} and ${b.name ?? 'b'} must have the same atoms in the same order (${a.symbols.join('')} vs ${b.symbols.join('')})`,
    );
  }
  if (a.positionsA.length !== 3 * na || b.positionsA.length !== 3 * na) throw new AtomgpError(`conformers: ${na} atoms need ${3 * na} coordinates each`);
  const g = bonds ?? findBonds(a.symbols, a.positionsA);
  const masses = massesAmu(a.symbols);
  const heavy = a.symbols.map((s, k) => (s === 'H' ? -1 : k)).filter((k) => k >= 0);
  const backbone = detectBackbone(a.symbols, g).map((r): BackboneComparison => {
    const deg = 180 / Math.PI;
    const phiADeg = dihedralOf(a.positionsA, r.phi) * deg;
    const psiADeg = dihedralOf(a.positionsA, r.psi) * deg;
    const phiBDeg = dihedralOf(b.positionsA, r.phi) * deg;
    const psiBDeg = dihedralOf(b.positionsA, r.psi) * deg;
    return {
      residue: [r.n, r.ca, r.c],
      phiADeg,
      psiADeg,
      phiBDeg,
      psiBDeg,
      regionA: ramachandranRegion(phiADeg, psiADeg),
      regionB: ramachandranRegion(phiBDeg, psiBDeg),
    };
  });
  const energyDifferenceKcalPerMol =
    a.energyHa !== undefined && b.energyHa !== undefined ? (b.energyHa - a.energyHa) * KCAL_PER_MOL_PER_HARTREE : null;
  return {
    energyDifferenceKcalPerMol,
    rmsdA: kabschRmsd(a.positionsA, b.positionsA),
    rmsdHeavyA: heavy.length >= 3 ? kabschRmsd(heavySubset(a.positionsA, heavy), heavySubset(b.positionsA, heavy)) : null,
    rmsdMassWeightedA: kabschRmsd(a.positionsA, b.positionsA, masses),
    backbone,
  };
}
