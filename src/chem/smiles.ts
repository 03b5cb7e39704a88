/**
 * Molecules for a simulation: 3D structures from SMILES (OpenChemLib's conformer generator followed
 * by an MMFF94s minimisation) and from geometries (bonds by the covalent-radius rule, bond orders
 * perceived from valences; io/molecule.ts reads them from XYZ files).
 *
 * OpenChemLib (npm `openchemlib`, BSD-3) is loaded lazily on the first SMILES call, so code that
 * only uses presets or XYZ files never pays for it (~40 ms import, ~1 s JIT warm-up on the first
 * conformer).
 *
 * Atom order of a SMILES-built molecule: heavy atoms in SMILES order, then hydrogens grouped by
 * the heavy atom they sit on, in heavy-atom order (OpenChemLib's own order, kept as is).
 */
import { AtomgpError } from '../errors.js';
import { type Bond, findBonds } from './connectivity.js';
import { findElement } from './elements.js';

/** A molecule ready to simulate: explicit hydrogens, 3D coordinates and a bond graph. */
export interface BuiltMolecule {
  name: string;
  symbols: string[];
  /** Cartesian coordinates x0 y0 z0 x1 …, Å. */
  positionsA: Float64Array;
  /** Bonds as 0-based index pairs [i, j] with i < j, sorted. */
  bonds: Array<[number, number]>;
  /** Bond order of each bond (1, 2, 3; aromatic rings in one Kekulé form). */
  bondOrders: number[];
  smiles?: string;
  /** How the geometry was cleaned: 'MMFF94s' minimisation, or 'none' (no force-field parameters). */
  cleanup?: 'MMFF94s' | 'none';
}

export interface SmilesOptions {
  /** Seed of the conformer generator's random choices (default 1). */
  seed?: number;
  /** Name of the molecule (default: the SMILES string). */
  name?: string;
}

type Ocl = typeof import('openchemlib');
type OclMolecule = InstanceType<Ocl['Molecule']>;

let oclPromise: Promise<Ocl> | undefined;

/** OpenChemLib with its torsion and force-field resources registered (loaded once). */
export function loadOpenChemLib(): Promise<Ocl> {
  oclPromise ??= import('openchemlib').then((ocl) => {
    ocl.Resources.registerFromNodejs();
    return ocl;
  });
  return oclPromise;
}

/** OpenChemLib's Java-compiled exceptions carry a class prefix ("Class$S19: …"): drop it. */
function oclMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  return raw.replace(/^Class\$\S+:\s*/, '');
}

/**
 * A 3D molecule from SMILES: hydrogens made explicit, a conformer from OpenChemLib's torsion
 * library (most likely torsions first; `seed` drives the random choices it makes when those
 * collide), then an MMFF94s minimisation. Same SMILES and seed → the same coordinates.
 * Invalid SMILES → `AtomgpError("invalid SMILES 'xyz': <reason>")`.
 */
export async function moleculeFromSmiles(smiles: string, opts: SmilesOptions = {}): Promise<BuiltMolecule> {
  const ocl = await loadOpenChemLib();
  const mol = conformerFromSmiles(ocl, smiles, opts.seed ?? 1);
  const cleanup = minimiseMmff(ocl, mol) ? 'MMFF94s' : 'none';
  return { ...fromOclMolecule(mol, opts.name ?? smiles), smiles, cleanup };
}

/** Parse, validate and embed a SMILES string (OpenChemLib molecule with explicit H and 3D coordinates). */
export function conformerFromSmiles(ocl: Ocl, smiles: string, seed: number): OclMolecule {
  const invalid = (reason: string) => new AtomgpError(`invalid SMILES '${smiles}': ${reason}`);
  if (smiles.trim() === '') throw invalid('empty string');
  let mol: OclMolecule;
  try {
    mol = ocl.Molecule.fromSmiles(smiles);
    mol.validate();
  } catch (e) {
    throw invalid(oclMessage(e));
  }
  if (mol.getAllAtoms() === 0) throw invalid('no atoms');
  for (let a = 0; a < mol.getAllAtoms(); a++) {
    if (mol.getAtomicNo(a) === 0 || !findElement(mol.getAtomLabel(a))) throw invalid(`atom ${a + 1}: unsupported element '${mol.getAtomLabel(a)}'`);
  }
  if (!Number.isInteger(seed)) throw new AtomgpError(`SMILES seed must be an integer, got ${seed}`);
  let built: OclMolecule | null;
  try {
    built = new ocl.ConformerGenerator(seed).getOneConformerAsMolecule(mol);
  } catch (e) {
    throw invalid(`3D embedding failed: ${oclMessage(e)}`);
  }
  if (!built) throw invalid('3D embedding failed (no collision-free conformer found)');
  return built;
}

/**
 * Minimise `mol` in place with MMFF94s (the variant with planar amide nitrogens, better for
 * conformers). Returns false, leaving the coordinates untouched, when MMFF has no parameters for
 * some atom (metals, hypervalent atoms).
 */
export function minimiseMmff(ocl: Ocl, mol: OclMolecule, maxIterations = 4000): boolean {
  let ff: InstanceType<Ocl['ForceFieldMMFF94']>;
  try {
    ff = new ocl.ForceFieldMMFF94(mol, 'MMFF94s');
  } catch {
    return false;
  }
  ff.minimise({ maxIts: maxIterations, gradTol: 1e-5, funcTol: 1e-8 });
  return true;
}

/** Symbols, coordinates and bonds of an OpenChemLib molecule (atom order kept). */
export function fromOclMolecule(mol: OclMolecule, name: string): BuiltMolecule {
  const n = mol.getAllAtoms();
  const symbols: string[] = [];
  const positionsA = new Float64Array(3 * n);
  for (let a = 0; a < n; a++) {
    symbols.push(findElement(mol.getAtomicNo(a))!.symbol);
    positionsA[3 * a] = mol.getAtomX(a);
    positionsA[3 * a + 1] = mol.getAtomY(a);
    positionsA[3 * a + 2] = mol.getAtomZ(a);
  }
  const entries: Array<[number, number, number]> = [];
  for (let b = 0; b < mol.getAllBonds(); b++) {
    const i = mol.getBondAtom(0, b);
    const j = mol.getBondAtom(1, b);
    entries.push([Math.min(i, j), Math.max(i, j), mol.getBondOrder(b)]);
  }
  entries.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  return {
    name,
    symbols,
    positionsA,
    bonds: entries.map(([i, j]) => [i, j]),
    bondOrders: entries.map((e) => e[2]),
  };
}

/**
 * A molecule from a geometry (e.g. one frame of an XYZ file, read by io/molecule.ts): bonds by the
 * covalent-radius rule (findBonds), bond orders perceived from valences (perceiveBondOrders), all 1
 * when that fails (radicals, ions, unusual valences).
 */
export function moleculeFromGeometry(name: string, symbols: readonly string[], positionsA: Float64Array): BuiltMolecule {
  const bonds = findBonds(symbols, positionsA).map(([i, j]) => [i, j] as [number, number]);
  const orders = perceiveBondOrders(symbols, bonds, positionsA) ?? bonds.map(() => 1);
  return { name, symbols: [...symbols], positionsA: Float64Array.from(positionsA), bonds, bondOrders: orders };
}

/** Neutral closed-shell valences used by the bond-order perception. */
const VALENCE: Record<string, number> = { H: 1, B: 3, C: 4, N: 3, O: 2, F: 1, Si: 4, P: 3, S: 2, Cl: 1, Br: 1, I: 1 };

/**
 * Bond orders of a neutral closed-shell molecule from its bond graph: every atom's standard
 * valence (C 4, N 3, O 2, H and halogens 1, …) must be met by the sum of its bond orders. Forced
 * choices (an unsaturated atom with a single unsaturated neighbour) are made first; the remaining
 * ambiguity (aromatic rings) is resolved by a depth-first search that tries the shortest bond
 * first when coordinates are given. Returns undefined when no assignment satisfies every valence
 * (ions, radicals, hypervalent atoms, elements without a standard valence).
 */
export function perceiveBondOrders(
  symbols: readonly string[],
  bonds: ReadonlyArray<Bond>,
  positionsA?: Float64Array,
): number[] | undefined {
  const n = symbols.length;
  const deficit = new Int32Array(n);
  for (let a = 0; a < n; a++) {
    const v = VALENCE[findElement(symbols[a]!)?.symbol ?? ''];
    if (v === undefined) return undefined;
    deficit[a] = v;
  }
  for (const [i, j] of bonds) {
    deficit[i]!--;
    deficit[j]!--;
  }
  for (let a = 0; a < n; a++) if (deficit[a]! < 0) return undefined;
  const orders = bonds.map(() => 1);
  const length = (b: number): number => {
    if (!positionsA) return 0;
    const [i, j] = bonds[b]!;
    return Math.hypot(positionsA[3 * i]! - positionsA[3 * j]!, positionsA[3 * i + 1]! - positionsA[3 * j + 1]!, positionsA[3 * i + 2]! - positionsA[3 * j + 2]!);
  };
  // Candidate bonds for raising the order, shortest first (a double bond is shorter than a single).
  const candidates = bonds.map((_, b) => b).filter((b) => deficit[bonds[b]![0]]! > 0 && deficit[bonds[b]![1]]! > 0);
  candidates.sort((p, q) => length(p) - length(q) || p - q);
  let budget = 100_000; // search steps; a pathological graph gives up instead of hanging
  const solve = (): boolean => {
    if (--budget < 0) return false;
    // The first unsaturated atom; its remaining valence must be met by one of its candidate bonds.
    let atom = -1;
    for (let a = 0; a < n; a++) {
      if (deficit[a]! > 0) {
        atom = a;
        break;
      }
    }
    if (atom < 0) return true;
    for (const b of candidates) {
      const [i, j] = bonds[b]!;
      if (i !== atom && j !== atom) continue;
      const other = i === atom ? j : i;
      if (deficit[other]! <= 0 || orders[b]! >= 3) continue;
      orders[b]!++;
      deficit[i]!--;
      deficit[j]!--;
      if (solve()) return true;
      orders[b]!--;
      deficit[i]!++;
      deficit[j]!++;
    }
    return false;
  };
  return solve() ? orders : undefined;
}
