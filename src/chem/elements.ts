/**
 * Elements: symbols, standard atomic masses (amu; IUPAC 2021 abridged/conventional values, as ASE
 * uses) and single-bond covalent radii (Å; Cordero et al., Dalton Trans. 2008, 2832).
 */
import { AtomgpError } from '../errors.js';

export interface Element {
  readonly z: number;
  readonly symbol: string;
  readonly massAmu: number;
  readonly covalentRadiusA: number;
}

// z, symbol, mass (amu), covalent radius (Å)
const TABLE: ReadonlyArray<readonly [number, string, number, number]> = [
  [1, 'H', 1.008, 0.31],
  [2, 'He', 4.0026, 0.28],
  [3, 'Li', 6.94, 1.28],
  [4, 'Be', 9.0122, 0.96],
  [5, 'B', 10.81, 0.84],
  [6, 'C', 12.011, 0.76],
  [7, 'N', 14.007, 0.71],
  [8, 'O', 15.999, 0.66],
  [9, 'F', 18.998, 0.57],
  [10, 'Ne', 20.18, 0.58],
  [11, 'Na', 22.99, 1.66],
  [12, 'Mg', 24.305, 1.41],
  [13, 'Al', 26.982, 1.21],
  [14, 'Si', 28.085, 1.11],
  [15, 'P', 30.974, 1.07],
  [16, 'S', 32.06, 1.05],
  [17, 'Cl', 35.45, 1.02],
  [18, 'Ar', 39.95, 1.06],
  [19, 'K', 39.098, 2.03],
  [20, 'Ca', 40.078, 1.76],
  [21, 'Sc', 44.956, 1.7],
  [22, 'Ti', 47.867, 1.6],
  [23, 'V', 50.942, 1.53],
  [24, 'Cr', 51.996, 1.39],
  [25, 'Mn', 54.938, 1.39],
  [26, 'Fe', 55.845, 1.32],
  [27, 'Co', 58.933, 1.26],
  [28, 'Ni', 58.693, 1.24],
  [29, 'Cu', 63.546, 1.32],
  [30, 'Zn', 65.38, 1.22],
  [31, 'Ga', 69.723, 1.22],
  [32, 'Ge', 72.63, 1.2],
  [33, 'As', 74.922, 1.19],
  [34, 'Se', 78.971, 1.2],
  [35, 'Br', 79.904, 1.2],
  [36, 'Kr', 83.798, 1.16],
  [53, 'I', 126.9, 1.39],
];

const BY_SYMBOL = new Map<string, Element>();
const BY_Z = new Map<number, Element>();
for (const [z, symbol, massAmu, covalentRadiusA] of TABLE) {
  const e: Element = { z, symbol, massAmu, covalentRadiusA };
  BY_SYMBOL.set(symbol.toLowerCase(), e);
  BY_Z.set(z, e);
}

/** Look up an element by symbol (case-insensitive) or atomic number; undefined if unknown. */
export function findElement(symbolOrZ: string | number): Element | undefined {
  if (typeof symbolOrZ === 'number') return BY_Z.get(symbolOrZ);
  const s = symbolOrZ.trim();
  if (/^\d+$/.test(s)) return BY_Z.get(Number(s));
  return BY_SYMBOL.get(s.toLowerCase());
}

/** Look up an element; throws a clear error if unknown. */
export function element(symbolOrZ: string | number): Element {
  const e = findElement(symbolOrZ);
  if (!e) throw new AtomgpError(`unknown element '${symbolOrZ}'`);
  return e;
}

/**
 * Element symbol of an atom label as used by FFLUX tools: `O1` → `O`, `H12` → `H`, `Cl3` → `Cl`.
 * Returns undefined if the label does not start with a known element.
 */
export function symbolFromAtomLabel(label: string): string | undefined {
  const m = /^([A-Za-z][a-z]?)(\d*)$/.exec(label.trim());
  return m ? findElement(m[1]!)?.symbol : undefined;
}

/** 1-based atom index from an atom label (`N1` → 1, `H12` → 12); undefined if there is none. */
export function indexFromAtomLabel(label: string): number | undefined {
  const m = /(\d+)$/.exec(label.trim());
  return m ? Number(m[1]) : undefined;
}
