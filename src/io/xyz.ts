/**
 * XYZ and extended XYZ (extxyz) geometries and trajectories, following the grammar ASE reads and
 * writes (ase/io/extxyz.py):
 *
 * - A frame is: a line with the atom count N, a comment line, N atom lines. Files hold frames one
 *   after another; blank lines between frames and at the end are ignored.
 * - The comment line is a list of `key=value` pairs separated by whitespace. Values may be quoted
 *   with "…", '…', {…} or […] (quotes allow spaces); a backslash escapes the next character; a
 *   key without `=value` means true. Values are read as numbers (or arrays of numbers when there
 *   are several, separated by spaces or commas), `T`/`F` as booleans (or arrays of them),
 *   anything else as a string.
 * - `Properties=name:type:ncols:…` describes the atom columns; type R (real), I (integer),
 *   S (string) or L (logical, T/F). The default is `species:S:1:pos:R:3`. `species` are element
 *   symbols (atomic numbers are accepted here too), `pos` are positions in Å.
 * - `Lattice="ax ay az bx by bz cx cy cz"` holds the three cell vectors (Å); `pbc="T T F"` the
 *   periodic directions (true in all three by default when a Lattice is given).
 * - A comment line without any `key=value` pair is a plain-XYZ comment: kept as text only.
 *
 * Units: ASE itself stores energies in eV and forces in eV/Å. atomgp writes its own units and says
 * so in the file (`energy_unit=Ha`, `forces_unit=Ha/bohr`); readers must look at these keys.
 */
import { readFileSync } from 'node:fs';
import { AtomgpError, fileError } from '../errors.js';
import { findElement } from '../chem/elements.js';
import { formatNumber, parseInteger, parseReal } from '../util/numbers.js';
import { writeFileAtomic } from './atomic-write.js';

export type InfoValue = string | number | boolean | number[] | boolean[];
/** Per-atom data, flattened (N × ncols): R → Float64Array, I and L (0/1) → Int32Array, S → string[]. */
export type PerAtomArray = Float64Array | Int32Array | string[];

export interface Frame {
  symbols: string[];
  /** Flat positions, Å, length 3N. */
  positionsA: Float64Array;
  /** Per-frame values from the comment line (without Properties, Lattice and pbc). */
  info: Record<string, InfoValue>;
  /** Per-atom columns other than species and pos (e.g. `forces`), flattened row by row. */
  arrays: Record<string, PerAtomArray>;
  /** Cell vectors a, b, c as rows (ax ay az bx … cz), Å. */
  lattice?: Float64Array;
  pbc?: [boolean, boolean, boolean];
  /** The comment line as it was in the file (plain XYZ: the only place its text is kept). */
  comment: string;
}

/**
 * Largest coordinate magnitude accepted, Å. Far beyond any molecule or simulation cell we model,
 * yet small enough that squared distances stay well inside double precision (a coordinate of 1e8 Å
 * loses every bond length to rounding; 1e300 overflows to NaN).
 */
export const MAX_COORDINATE_A = 1e5;

/** A token for an error message: at most 40 characters. */
function clip(token: string): string {
  return token.length > 40 ? `${token.slice(0, 37)}...` : token;
}

/** Smallest separation `validateGeometry` accepts between two atoms, Å. */
export const MIN_ATOM_SEPARATION_A = 0.01;

// Info values ASE never converts to numbers or booleans.
const UNPROCESSED_KEYS = new Set(['uid']);
// Info values ASE requires to be 9 numbers (3×3 matrices).
const MATRIX_KEYS = new Set(['Lattice', 'virial', 'stress']);
const OPENING_TO_CLOSING: Record<string, string> = { '"': '"', "'": "'", '{': '}', '[': ']' };
// Python-float-like numbers as ASE accepts them in info values (no Fortran D exponents here).
const INFO_NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

interface RawPair {
  key: string;
  value: string | undefined;
}

/**
 * Split a comment line into key/value pairs the way ASE's `key_val_str_to_dict` does. Returns
 * `unterminated` when a quote or bracket is never closed.
 */
function splitKeyValues(line: string): { pairs: RawPair[]; unterminated: boolean } {
  // Each entry is [key, value parts…]; '=' starts a new part, whitespace a new entry.
  const entries: string[][] = [['']];
  // Whether the current part has begun (a character or an opening quote), so that `a="" b=1`
  // keeps b out of a's empty value.
  let started = false;
  let closing: string | undefined;
  let escaped = false;
  const last = (): string[] => entries[entries.length - 1]!;
  const append = (c: string): void => {
    const e = last();
    e[e.length - 1] += c;
    started = true;
  };
  for (const c of line.trim()) {
    if (escaped) {
      append(c);
      escaped = false;
    } else if (c === '\\') {
      escaped = true;
    } else if (closing !== undefined) {
      if (c === closing) closing = undefined;
      else append(c);
    } else if (c in OPENING_TO_CLOSING) {
      closing = OPENING_TO_CLOSING[c];
      started = true;
    } else if (/\s/.test(c)) {
      if (started) {
        entries.push(['']);
        started = false;
      }
    } else if (c === '=') {
      // `key = value`: the whitespace before '=' opened an empty entry; fold it back.
      if (entries.length > 1 && last().length === 1 && !started) entries.pop();
      last().push('');
      started = false;
    } else {
      append(c);
    }
  }
  const pairs: RawPair[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k]!;
    if (e.length === 1 && e[0] === '' && (k < entries.length - 1 || !started)) continue;
    pairs.push({ key: e[0]!, value: e.length === 1 ? undefined : e.slice(1).join('=') });
  }
  return { pairs, unterminated: closing !== undefined };
}

/** Convert an info value as ASE does: numbers, booleans, arrays of either, else the string. */
function convertInfoValue(key: string, value: string | undefined): InfoValue {
  if (value === undefined) return true;
  if (UNPROCESSED_KEYS.has(key.toLowerCase())) return value;
  const parts = value.match(/[^\s,]+/g) ?? [];
  if (parts.length === 0) return value;
  if (parts.every((p) => INFO_NUMBER_RE.test(p))) {
    const nums = parts.map(Number);
    if (nums.every(Number.isFinite)) return nums.length === 1 ? nums[0]! : nums;
  }
  if (parts.every((p) => p === 'T' || p === 'F')) {
    const bools = parts.map((p) => p === 'T');
    return bools.length === 1 ? bools[0]! : bools;
  }
  if (value.startsWith('_JSON ')) {
    // ASE writes arrays it cannot express otherwise as JSON; keep numeric ones, else the text.
    try {
      const parsed: unknown = JSON.parse(value.slice(6));
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'number')) return parsed as number[];
    } catch {
      // not JSON after all: keep the string
    }
  }
  return value;
}

interface Property {
  /** Name as in the file (`species`, `pos`, `forces`, …). */
  name: string;
  type: 'R' | 'I' | 'S' | 'L';
  ncols: number;
}

function parseProperties(spec: string, source: string, line: number): Property[] {
  const fields = spec.split(':');
  const bad = (why: string): AtomgpError =>
    fileError(source, line, `bad Properties '${spec}': ${why} (expected name:type:ncols triplets, type R, I, S or L, e.g. species:S:1:pos:R:3)`);
  if (fields.length % 3 !== 0) throw bad(`${fields.length} fields is not a multiple of 3`);
  const props: Property[] = [];
  const seen = new Set<string>();
  for (let k = 0; k < fields.length; k += 3) {
    const name = fields[k]!;
    const type = fields[k + 1]!;
    const ncols = parseInteger(fields[k + 2]!);
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) throw bad(`invalid property name '${name}'`);
    if (type !== 'R' && type !== 'I' && type !== 'S' && type !== 'L') throw bad(`unknown type '${type}' for ${name}`);
    if (ncols === undefined || ncols < 1) throw bad(`column count '${fields[k + 2]}' for ${name} is not a positive integer`);
    if (seen.has(name)) throw bad(`property '${name}' appears twice`);
    seen.add(name);
    props.push({ name, type, ncols });
  }
  const pos = props.find((p) => p.name === 'pos');
  if (pos?.type !== 'R' || pos.ncols !== 3) throw bad('it must contain pos:R:3');
  const species = props.find((p) => p.name === 'species');
  if (species && (species.type !== 'S' || species.ncols !== 1)) throw bad('species must be species:S:1');
  const z = props.find((p) => p.name === 'Z');
  if (!species && (z?.type !== 'I' || z.ncols !== 1)) throw bad('it must contain species:S:1 or Z:I:1');
  return props;
}

function symbolOf(token: string, source: string, line: number): string {
  const e = findElement(token);
  if (!e) throw fileError(source, line, `unknown element '${clip(token)}' (expected an element symbol or atomic number)`);
  return e.symbol;
}

interface CommentContent {
  info: Record<string, InfoValue>;
  /** No key=value pair: a plain XYZ comment (default columns, free text). */
  plain: boolean;
  props: Property[];
  lattice?: Float64Array;
  pbc?: [boolean, boolean, boolean];
}

const DEFAULT_PROPERTIES = 'species:S:1:pos:R:3';

function parseComment(comment: string, source: string, line: number): CommentContent {
  const { pairs, unterminated } = splitKeyValues(comment);
  const isExtended = pairs.some((p) => p.value !== undefined);
  if (!isExtended || (unterminated && !/\bProperties\s*=/.test(comment))) {
    // Plain XYZ: the comment is free text.
    return { info: {}, props: parseProperties(DEFAULT_PROPERTIES, source, line), plain: true };
  }
  if (unterminated) throw fileError(source, line, 'unterminated quote or bracket in the extended-XYZ comment line');
  const info: Record<string, InfoValue> = {};
  let propertiesSpec = DEFAULT_PROPERTIES;
  let lattice: Float64Array | undefined;
  let pbc: [boolean, boolean, boolean] | undefined;
  for (const { key, value } of pairs) {
    if (key === 'Properties') {
      if (value === undefined || value === '') throw fileError(source, line, 'Properties has no value (expected e.g. Properties=species:S:1:pos:R:3)');
      propertiesSpec = value;
      continue;
    }
    const v = convertInfoValue(key, value);
    if (MATRIX_KEYS.has(key) && !(Array.isArray(v) && v.length === 9 && typeof v[0] === 'number')) {
      throw fileError(source, line, `${key} must be 9 numbers in quotes (3×3 matrix), got '${value ?? ''}'`);
    }
    if (key === 'Lattice') {
      lattice = Float64Array.from(v as number[]);
      if (lattice.some((x) => Math.abs(x) > MAX_COORDINATE_A)) throw fileError(source, line, `Lattice has a component beyond ±${MAX_COORDINATE_A} Å`);
    } else if (key === 'pbc') {
      if (typeof v === 'boolean') pbc = [v, v, v];
      else if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'boolean') pbc = v as [boolean, boolean, boolean];
      else throw fileError(source, line, `pbc must be three T/F flags in quotes (e.g. pbc="T T T"), got '${value ?? ''}'`);
    } else {
      info[key] = v;
    }
  }
  if (lattice && !pbc) pbc = [true, true, true];
  const out: CommentContent = { info, props: parseProperties(propertiesSpec, source, line), plain: false };
  if (lattice) out.lattice = lattice;
  if (pbc) out.pbc = pbc;
  return out;
}

function parseFrame(lines: string[], start: number, natoms: number, source: string): Frame {
  // lines[start] is the comment line; file line numbers are 1-based.
  const commentLineNo = start + 1;
  if (start >= lines.length) throw fileError(source, commentLineNo, `file ends before the comment line of a frame declaring ${natoms} atoms`);
  const comment = lines[start]!.replace(/\r$/, '');
  const { info, props, lattice, pbc, plain } = parseComment(comment, source, commentLineNo);
  const ncolsTotal = props.reduce((s, p) => s + p.ncols, 0);
  // Every atom needs a line, so a count beyond the rest of the file (a corrupt count such as 2³²)
  // allocates only what the file can fill; the loop below then reports the truncation.
  const capacity = Math.max(0, Math.min(natoms, lines.length - start - 1));
  const symbols: string[] = new Array(capacity);
  const positionsA = new Float64Array(3 * capacity);
  const columns = new Map<string, PerAtomArray>();
  for (const p of props) {
    if (p.name === 'pos' || p.name === 'species') continue;
    const size = capacity * p.ncols;
    columns.set(p.name, p.type === 'R' ? new Float64Array(size) : p.type === 'S' ? new Array<string>(size) : new Int32Array(size));
  }
  const speciesFromZ = !props.some((p) => p.name === 'species');
  for (let a = 0; a < natoms; a++) {
    const idx = start + 1 + a;
    const lineNo = idx + 1;
    if (idx >= lines.length) {
      throw fileError(source, lineNo, `truncated frame: expected ${natoms} atom lines after the comment on line ${commentLineNo}, the file ends after ${a}`);
    }
    const text = lines[idx]!.trim();
    if (text === '') throw fileError(source, lineNo, `expected atom ${a + 1} of ${natoms}, found a blank line (truncated frame?)`);
    const tokens = text.split(/\s+/);
    // More columns than declared is refused too: a plain XYZ with an index column
    // (`H 2 0.93 0 -0.38`) would otherwise be read from the wrong columns. Only a plain XYZ may
    // carry trailing text after x y z (a note, never a number).
    const trailingText = plain && tokens.length > ncolsTotal && parseReal(tokens[ncolsTotal]!) === undefined && !/^[+-]?(\d|\.\d)/.test(tokens[ncolsTotal]!);
    if (tokens.length !== ncolsTotal && !trailingText) {
      const declared = props.map((p) => `${p.name}:${p.type}:${p.ncols}`).join(':');
      const hint = tokens.length > ncolsTotal ? ' (extra columns must be declared in an extended-XYZ Properties= key)' : '';
      throw fileError(source, lineNo, `atom ${a + 1}: expected ${ncolsTotal} columns (${declared}), found ${tokens.length}${hint}`);
    }
    let t = 0;
    for (const p of props) {
      for (let c = 0; c < p.ncols; c++, t++) {
        const tok = tokens[t]!;
        if (p.name === 'species') {
          symbols[a] = symbolOf(tok, source, lineNo);
          continue;
        }
        let num = 0;
        if (p.type === 'R') {
          const x = parseReal(tok);
          if (x === undefined) throw fileError(source, lineNo, `atom ${a + 1}: ${p.name} column ${c + 1} must be a finite number, got '${clip(tok)}'`);
          if (p.name === 'pos' && Math.abs(x) > MAX_COORDINATE_A) {
            throw fileError(source, lineNo, `atom ${a + 1}: ${'xyz'[c]} coordinate ${tok} Å is beyond ±${MAX_COORDINATE_A} Å (not a molecular geometry)`);
          }
          num = x;
        } else if (p.type === 'I') {
          const x = parseInteger(tok);
          if (x === undefined) throw fileError(source, lineNo, `atom ${a + 1}: ${p.name} column ${c + 1} must be an integer, got '${clip(tok)}'`);
          num = x;
        } else if (p.type === 'L') {
          if (tok === 'T' || tok === 'True') num = 1;
          else if (tok === 'F' || tok === 'False') num = 0;
          else throw fileError(source, lineNo, `atom ${a + 1}: ${p.name} column ${c + 1} must be T or F, got '${clip(tok)}'`);
        }
        if (p.name === 'pos') {
          positionsA[3 * a + c] = num;
        } else {
          const col = columns.get(p.name)!;
          if (p.type === 'S') (col as string[])[a * p.ncols + c] = tok;
          else (col as Float64Array | Int32Array)[a * p.ncols + c] = num;
        }
      }
    }
    if (speciesFromZ) symbols[a] = symbolOf(String((columns.get('Z') as Int32Array)[a]), source, lineNo);
  }
  const arrays: Record<string, PerAtomArray> = {};
  for (const [name, col] of columns) arrays[name] = col;
  const frame: Frame = { symbols, positionsA, info, arrays, comment };
  if (lattice) frame.lattice = lattice;
  if (pbc) frame.pbc = pbc;
  return frame;
}

/**
 * Parse all frames of an XYZ / extended-XYZ text. `source` names the file in error messages.
 * Errors (wrong or missing atom count, truncated frame, non-numeric or non-finite numbers, bad
 * Properties, unknown elements) are `AtomgpError`s with file:line.
 */
export function parseXyz(text: string, source: string): Frame[] {
  const lines = text.split('\n');
  // Trailing blank lines are padding, not a truncated frame's missing atoms.
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const frames: Frame[] = [];
  let i = 0;
  while (i < lines.length) {
    const head = lines[i]!.trim();
    if (head === '') {
      i++;
      continue;
    }
    const natoms = parseInteger(head);
    if (natoms === undefined || natoms < 0) {
      throw fileError(source, i + 1, `expected the number of atoms (a non-negative integer) to start frame ${frames.length + 1}, got '${head.slice(0, 60)}'`);
    }
    frames.push(parseFrame(lines, i + 1, natoms, source));
    i += 2 + natoms;
  }
  if (frames.length === 0) throw fileError(source, undefined, 'no XYZ frame found (empty file?)');
  return frames;
}

/** Read every frame of an XYZ / extended-XYZ file. */
export function readXyz(path: string): Frame[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AtomgpError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseXyz(text, path);
}

export interface XyzWriteOptions {
  /** Plain XYZ: `frame.comment` as the comment line, only symbols and positions. */
  plain?: boolean;
  /**
   * Fixed decimals for per-atom reals (e.g. 10 gives %.10f). Default: the shortest text that
   * reads back bit-identical, so write → read round-trips exactly.
   */
  decimals?: number;
}

const NEEDS_QUOTES = /[\s"'{}[\]=\\]/;

/** Quote a key or string value when ASE's reader would otherwise split or reinterpret it. */
function escapeText(s: string): string {
  const oneLine = s.replace(/[\r\n]+/g, ' ');
  if (oneLine !== '' && !NEEDS_QUOTES.test(oneLine)) return oneLine;
  return '"' + oneLine.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

function formatInfoValue(v: InfoValue): string {
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return escapeText(v);
  const parts = (v as Array<number | boolean>).map((x) => (typeof x === 'boolean' ? (x ? 'T' : 'F') : formatNumber(x)));
  return '"' + parts.join(' ') + '"';
}

const RESERVED_INFO = new Set(['Properties', 'Lattice', 'pbc']);

/** Format one frame as extended XYZ (or plain XYZ with `plain`), ending with a newline. */
export function formatXyzFrame(frame: Frame, options: XyzWriteOptions = {}): string {
  const n = frame.symbols.length;
  if (frame.positionsA.length !== 3 * n) {
    throw new AtomgpError(`cannot write XYZ frame: ${n} symbols but ${frame.positionsA.length} position values (expected ${3 * n})`);
  }
  const real = options.decimals === undefined ? formatNumber : (x: number): string => {
    if (!Number.isFinite(x)) throw new AtomgpError(`cannot write non-finite number ${x} to XYZ`);
    return x.toFixed(options.decimals);
  };
  const columns: Array<{ name: string; type: 'R' | 'I' | 'S'; ncols: number; data: PerAtomArray }> = [];
  if (!options.plain && n > 0) {
    for (const [name, data] of Object.entries(frame.arrays)) {
      if (name === 'species' || name === 'pos' || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
        throw new AtomgpError(`cannot write per-atom array '${name}' to extended XYZ (reserved or invalid name)`);
      }
      if (data.length % n !== 0 || data.length === 0) {
        throw new AtomgpError(`cannot write per-atom array '${name}': length ${data.length} is not a multiple of ${n} atoms`);
      }
      const type = data instanceof Float64Array ? 'R' : data instanceof Int32Array ? 'I' : 'S';
      if (type === 'S' && (data as string[]).some((s) => s === '' || /\s/.test(s))) {
        throw new AtomgpError(`cannot write per-atom array '${name}': strings must be non-empty without spaces`);
      }
      columns.push({ name, type, ncols: data.length / n, data });
    }
  }
  let comment: string;
  if (options.plain) {
    comment = frame.comment.replace(/[\r\n]+/g, ' ');
  } else {
    const parts: string[] = [];
    if (frame.lattice) {
      if (frame.lattice.length !== 9) throw new AtomgpError(`cannot write Lattice: expected 9 numbers, got ${frame.lattice.length}`);
      parts.push(`Lattice="${Array.from(frame.lattice, formatNumber).join(' ')}"`);
    }
    parts.push('Properties=species:S:1:pos:R:3' + columns.map((c) => `:${c.name}:${c.type}:${c.ncols}`).join(''));
    for (const [key, value] of Object.entries(frame.info)) {
      if (RESERVED_INFO.has(key)) continue;
      parts.push(`${escapeText(key)}=${formatInfoValue(value)}`);
    }
    const pbc = frame.pbc ?? (frame.lattice ? [true, true, true] : [false, false, false]);
    parts.push(`pbc="${pbc.map((p) => (p ? 'T' : 'F')).join(' ')}"`);
    comment = parts.join(' ');
  }
  const out: string[] = [String(n), comment];
  const p = frame.positionsA;
  for (let a = 0; a < n; a++) {
    let row = frame.symbols[a]!.padEnd(2);
    for (let c = 0; c < 3; c++) row += ' ' + real(p[3 * a + c]!).padStart(16);
    for (const col of columns) {
      for (let c = 0; c < col.ncols; c++) {
        const v = col.data[a * col.ncols + c]!;
        row += ' ' + (col.type === 'S' ? (v as string) : col.type === 'I' ? String(v) : real(v as number).padStart(16));
      }
    }
    out.push(row);
  }
  return out.join('\n') + '\n';
}

/** Format several frames as one multi-frame (extended) XYZ text. */
export function formatExtxyz(frames: readonly Frame[], options: XyzWriteOptions = {}): string {
  return frames.map((f) => formatXyzFrame(f, options)).join('');
}

/** Write frames to `path` atomically (see `writeFileAtomic`). */
export function writeXyz(path: string, frames: readonly Frame[], options: XyzWriteOptions = {}): void {
  writeFileAtomic(path, formatExtxyz(frames, options));
}

/**
 * Check a geometry before it is used: 3N finite coordinates and no two atoms closer than
 * `minSeparationA` (default 0.01 Å). Errors name `source` and the atoms (1-based, with symbol).
 */
export function validateGeometry(
  symbols: readonly string[],
  positionsA: Float64Array,
  source: string,
  minSeparationA = MIN_ATOM_SEPARATION_A,
): void {
  const n = symbols.length;
  if (positionsA.length !== 3 * n) {
    throw new AtomgpError(`${source}: ${n} atoms need ${3 * n} coordinates, got ${positionsA.length}`);
  }
  const axis = 'xyz';
  for (let a = 0; a < n; a++) {
    for (let c = 0; c < 3; c++) {
      const v = positionsA[3 * a + c]!;
      if (!Number.isFinite(v)) throw new AtomgpError(`${source}: atom ${a + 1} (${symbols[a]}) has a non-finite ${axis[c]} coordinate (${v})`);
      if (Math.abs(v) > MAX_COORDINATE_A) {
        throw new AtomgpError(`${source}: atom ${a + 1} (${symbols[a]}) has ${axis[c]} = ${v} Å, beyond ±${MAX_COORDINATE_A} Å (not a molecular geometry)`);
      }
    }
  }
  // Sweep along x: only atoms within minSeparation in x can be that close (O(N log N)).
  const order = Array.from({ length: n }, (_, a) => a).sort((a, b) => positionsA[3 * a]! - positionsA[3 * b]!);
  const min2 = minSeparationA * minSeparationA;
  for (let s = 0; s < n; s++) {
    const a = order[s]!;
    const xa = positionsA[3 * a]!;
    for (let t = s + 1; t < n; t++) {
      const b = order[t]!;
      const dx = positionsA[3 * b]! - xa;
      if (dx >= minSeparationA) break;
      const dy = positionsA[3 * b + 1]! - positionsA[3 * a + 1]!;
      const dz = positionsA[3 * b + 2]! - positionsA[3 * a + 2]!;
      const d2 = dx * dx + dy * dy + dz * dz;
      if (d2 < min2) {
        const [i, j] = a < b ? [a, b] : [b, a];
        throw new AtomgpError(
          `${source}: atoms ${i + 1} (${symbols[i]}) and ${j + 1} (${symbols[j]}) are ${Math.sqrt(d2).toExponential(2)} Å apart ` +
            `(coincident atoms; the minimum separation is ${minSeparationA} Å)`,
        );
      }
    }
  }
}
