/**
 * DL_POLY `CONFIG` files (the geometry input of DL_POLY / DL_FFLUX):
 *
 *     title (up to 72 characters)
 *     levcfg imcon [natoms [energy]]          levcfg 0: positions, 1: + velocities, 2: + forces
 *     ax ay az                                 three cell vectors (Å), only when imcon > 0
 *     bx by bz
 *     cx cy cz
 *     name [index ...]                         per atom: a name line, then levcfg + 1 lines
 *     x y z                                    positions, Å
 *     vx vy vz                                 velocities, Å/ps (levcfg ≥ 1)
 *     fx fy fz                                 forces, DL_POLY units 10 J/mol/Å (levcfg 2)
 *
 * imcon: 0 none, 1 cubic, 2 orthorhombic, 3 parallelepiped, 6 slab (x, y periodic). DL_POLY's
 * truncated octahedron (4), rhombic dodecahedron (5) and hexagonal prism (7) have images that a
 * plain cell matrix does not describe, so they are refused rather than handled wrongly.
 * The reader accepts Fortran number forms (`1.0D+00`) and extra columns; the atom count on line 2
 * is optional (DL_POLY Classic) but checked when present.
 */
import { readFileSync } from 'node:fs';
import { AtomgpError, fileError } from '../errors.js';
import { findElement, symbolFromAtomLabel } from '../chem/elements.js';
import { parseInteger, parseReal } from '../util/numbers.js';
import { MAX_COORDINATE_A } from './xyz.js';

export interface DlpolyConfig {
  title: string;
  /** 0: positions only; 1: + velocities; 2: + velocities and forces. */
  levcfg: number;
  /** Periodic boundary key (0, 1, 2, 3 or 6). */
  imcon: number;
  /** Cell vectors a, b, c as rows (ax ay az bx … cz), Å; present when imcon > 0. */
  cellA?: Float64Array;
  /** Atom names as in the file (`O1`, `OW`, `HW1`, …). */
  names: string[];
  /** Element symbols derived from the names. */
  symbols: string[];
  /** Flat positions, Å. */
  positionsA: Float64Array;
  /** Flat velocities, Å/ps (levcfg ≥ 1). */
  velocities?: Float64Array;
  /** Flat forces, DL_POLY internal units 10 J/mol/Å (levcfg 2). */
  forces?: Float64Array;
}

export interface ConfigReadOptions {
  /** Explicit atom-name → element mapping, used before the automatic rule (e.g. { CA: 'Ca' }). */
  elements?: Record<string, string>;
}

const SUPPORTED_IMCON = new Set([0, 1, 2, 3, 6]);

/**
 * Element symbol of a DL_POLY atom name: a FFLUX label (`O1`, `Cl3`), else the first two letters
 * when the second is lower case (`Na+`, `Cl-`), else the first letter (`OW`, `HW1`, `CA` → C).
 * Upper-case two-letter element names (`CL`) are ambiguous: use `ConfigReadOptions.elements`.
 */
export function elementFromAtomName(name: string): string | undefined {
  const label = symbolFromAtomLabel(name);
  if (label) return label;
  const m = /^([A-Za-z])([a-z]?)/.exec(name.trim());
  if (!m) return undefined;
  if (m[2]) {
    const two = findElement(m[1]! + m[2]);
    if (two) return two.symbol;
  }
  return findElement(m[1]!.toUpperCase())?.symbol;
}

function realsOnLine(lines: string[], idx: number, count: number, what: string, source: string, maxAbs = Number.POSITIVE_INFINITY): number[] {
  const lineNo = idx + 1;
  if (idx >= lines.length) throw fileError(source, lineNo, `file ends where ${what} was expected`);
  const tokens = lines[idx]!.trim().split(/\s+/).filter((t) => t !== '');
  if (tokens.length < count) throw fileError(source, lineNo, `expected ${count} numbers for ${what}, found ${tokens.length}`);
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const x = parseReal(tokens[k]!);
    if (x === undefined) throw fileError(source, lineNo, `${what}: '${tokens[k]!.slice(0, 40)}' is not a finite number`);
    if (Math.abs(x) > maxAbs) throw fileError(source, lineNo, `${what}: ${tokens[k]} Å is beyond ±${maxAbs} Å (not a molecular geometry)`);
    out.push(x);
  }
  return out;
}

/** Parse the text of a DL_POLY CONFIG file; `source` names it in error messages. */
export function parseConfig(text: string, source: string, options: ConfigReadOptions = {}): DlpolyConfig {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length < 2) throw fileError(source, undefined, 'too short for a CONFIG file (expected a title line and a "levcfg imcon [natoms]" line)');
  const title = lines[0]!.trimEnd();
  const header = lines[1]!.trim().split(/\s+/);
  const levcfg = parseInteger(header[0] ?? '');
  const imcon = parseInteger(header[1] ?? '');
  if (levcfg === undefined || levcfg < 0 || levcfg > 2) {
    throw fileError(source, 2, `expected levcfg (0, 1 or 2) as the first number, got '${header[0] ?? ''}'`);
  }
  if (imcon === undefined || !SUPPORTED_IMCON.has(imcon)) {
    throw fileError(source, 2, `expected imcon 0, 1, 2, 3 or 6 as the second number, got '${header[1] ?? ''}'` +
      (imcon !== undefined && imcon >= 4 && imcon <= 7 ? ' (truncated octahedron, rhombic dodecahedron and hexagonal prism cells are not supported)' : ''));
  }
  let declared: number | undefined;
  if (header.length >= 3) {
    declared = parseInteger(header[2]!);
    if (declared === undefined || declared < 0) throw fileError(source, 2, `expected the number of atoms as the third number, got '${header[2]}'`);
  }
  let idx = 2;
  let cellA: Float64Array | undefined;
  if (imcon > 0) {
    cellA = new Float64Array(9);
    for (let v = 0; v < 3; v++) cellA.set(realsOnLine(lines, idx + v, 3, `cell vector ${'abc'[v]}`, source, MAX_COORDINATE_A), 3 * v);
    idx += 3;
  }
  const linesPerAtom = 2 + levcfg;
  const available = Math.floor((lines.length - idx) / linesPerAtom);
  const natoms = declared ?? available;
  if (declared !== undefined && (lines.length - idx) < declared * linesPerAtom) {
    throw fileError(source, lines.length + 1, `truncated: line 2 declares ${declared} atoms with ${linesPerAtom} lines each, the file ends after ${available} atoms`);
  }
  if (declared === undefined && (lines.length - idx) % linesPerAtom !== 0) {
    throw fileError(source, lines.length + 1, `truncated: ${lines.length - idx} atom lines is not a multiple of ${linesPerAtom} (levcfg ${levcfg})`);
  }
  if (declared !== undefined && lines.length - idx > declared * linesPerAtom) {
    throw fileError(source, idx + declared * linesPerAtom + 1, `line 2 declares ${declared} atoms but the file continues after the last of them`);
  }
  const names: string[] = new Array(natoms);
  const symbols: string[] = new Array(natoms);
  const positionsA = new Float64Array(3 * natoms);
  const velocities = levcfg >= 1 ? new Float64Array(3 * natoms) : undefined;
  const forces = levcfg >= 2 ? new Float64Array(3 * natoms) : undefined;
  const elementOf = new Map<string, string | undefined>();
  for (let a = 0; a < natoms; a++) {
    const nameLine = lines[idx]!.trim();
    if (nameLine === '') throw fileError(source, idx + 1, `expected the name line of atom ${a + 1}, found a blank line`);
    const name = nameLine.split(/\s+/)[0]!;
    if (parseReal(name) !== undefined) {
      throw fileError(source, idx + 1, `expected the name line of atom ${a + 1} (e.g. 'O1  ${a + 1}'), found numbers (wrong levcfg or atom count?)`);
    }
    let symbol = elementOf.get(name);
    if (!elementOf.has(name)) {
      const explicit = options.elements?.[name];
      symbol = explicit !== undefined ? findElement(explicit)?.symbol : elementFromAtomName(name);
      elementOf.set(name, symbol);
    }
    if (symbol === undefined) {
      throw fileError(source, idx + 1, `cannot tell the element of atom ${a + 1} named '${name}' (give an explicit name → element mapping)`);
    }
    names[a] = name;
    symbols[a] = symbol;
    positionsA.set(realsOnLine(lines, idx + 1, 3, `position of atom ${a + 1} (${name})`, source, MAX_COORDINATE_A), 3 * a);
    if (velocities) velocities.set(realsOnLine(lines, idx + 2, 3, `velocity of atom ${a + 1} (${name})`, source), 3 * a);
    if (forces) forces.set(realsOnLine(lines, idx + 3, 3, `force on atom ${a + 1} (${name})`, source), 3 * a);
    idx += linesPerAtom;
  }
  const config: DlpolyConfig = { title, levcfg, imcon, names, symbols, positionsA };
  if (cellA) config.cellA = cellA;
  if (velocities) config.velocities = velocities;
  if (forces) config.forces = forces;
  return config;
}

/** Read a DL_POLY CONFIG file. */
export function readConfig(path: string, options: ConfigReadOptions = {}): DlpolyConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AtomgpError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseConfig(text, path, options);
}

export interface ConfigWriteInput {
  title: string;
  levcfg: number;
  imcon: number;
  cellA?: Float64Array;
  /** Atom names; defaults to `symbols`. */
  names?: readonly string[];
  symbols: readonly string[];
  positionsA: Float64Array;
  velocities?: Float64Array;
  forces?: Float64Array;
}

export interface ConfigWriteOptions {
  /** Decimals of the f20.x number fields (default 10, DL_POLY 4's own precision). */
  decimals?: number;
}

/**
 * Format a CONFIG file in DL_POLY 4's fixed layout (title a72; 3i10; cell and vectors 3f20.10;
 * name a8 + index i10), readable by DL_POLY Classic's fixed-format reads as well. Titles longer
 * than 72 characters are cut, as DL_POLY would read them.
 */
export function formatConfig(config: ConfigWriteInput, options: ConfigWriteOptions = {}): string {
  const n = config.symbols.length;
  const decimals = options.decimals ?? 10;
  const { levcfg, imcon } = config;
  const fail = (msg: string): AtomgpError => new AtomgpError(`cannot write CONFIG: ${msg}`);
  if (!(levcfg === 0 || levcfg === 1 || levcfg === 2)) throw fail(`levcfg must be 0, 1 or 2, got ${levcfg}`);
  if (!SUPPORTED_IMCON.has(imcon)) throw fail(`imcon must be 0, 1, 2, 3 or 6, got ${imcon}`);
  if (config.positionsA.length !== 3 * n) throw fail(`${n} atoms need ${3 * n} position values, got ${config.positionsA.length}`);
  if (imcon > 0 && config.cellA?.length !== 9) throw fail(`imcon ${imcon} needs a cell (9 numbers)`);
  if (levcfg >= 1 && config.velocities?.length !== 3 * n) throw fail(`levcfg ${levcfg} needs velocities for all ${n} atoms`);
  if (levcfg >= 2 && config.forces?.length !== 3 * n) throw fail(`levcfg 2 needs forces for all ${n} atoms`);
  const names = config.names ?? config.symbols;
  if (names.length !== n) throw fail(`${names.length} names for ${n} atoms`);
  const num = (x: number): string => {
    if (!Number.isFinite(x)) throw fail(`non-finite number ${x}`);
    return x.toFixed(decimals).padStart(20);
  };
  const vec = (v: Float64Array, a: number): string => num(v[3 * a]!) + num(v[3 * a + 1]!) + num(v[3 * a + 2]!);
  const out: string[] = [config.title.replace(/[\r\n]+/g, ' ').slice(0, 72)];
  out.push(String(levcfg).padStart(10) + String(imcon).padStart(10) + String(n).padStart(10));
  if (imcon > 0) for (let v = 0; v < 3; v++) out.push(vec(config.cellA!, v));
  for (let a = 0; a < n; a++) {
    const name = names[a]!;
    if (name === '' || /\s/.test(name)) throw fail(`atom ${a + 1} name '${name}' must be non-empty without spaces`);
    out.push(name.padEnd(8) + String(a + 1).padStart(10));
    out.push(vec(config.positionsA, a));
    if (levcfg >= 1) out.push(vec(config.velocities!, a));
    if (levcfg >= 2) out.push(vec(config.forces!, a));
  }
  return out.join('\n') + '\n';
}
