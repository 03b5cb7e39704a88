/**
 * ichor / FEREBUS training and validation sets (`SYSTEM_ATOM_TRAINING_SET.csv`): a header row,
 * a first unnamed index column, features `f1..fK` (bohr, radians) and one column per property
 * (`iqa` in Ha, multipoles `q00 … q44s`). Column order varies between files, so everything is
 * selected by header name.
 */
import { readFileSync } from 'node:fs';
import { AtomgpError, fileError } from '../errors.js';
import { parseReal } from '../util/numbers.js';

/**
 * Largest magnitude accepted in a feature or property cell. Features are bohr and radians, IQA
 * energies Ha, multipole moments atomic units: anything beyond this is a corrupt cell.
 */
export const MAX_CSV_VALUE = 1e6;

function clip(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

export interface PropertySet {
  /** Row-major n × nFeatures features. */
  x: Float64Array;
  /** The selected property. */
  y: Float64Array;
  n: number;
  nFeatures: number;
  property: string;
  /** Index column values as written (the first column). */
  index: string[];
  source: string;
}

export interface CsvOptions {
  /** Property column to read (default `iqa`). */
  property?: string;
  /** Reject identical feature rows (they make the kernel matrix singular). Default true. */
  rejectDuplicates?: boolean;
  /** Require at least as many points as features (a training set). Default false. */
  requireMorePointsThanFeatures?: boolean;
}

/** Splits one CSV line; quotes are honoured for completeness (ichor never writes them). */
function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',').map((s) => s.trim());
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') {
      if (quoted && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

/** Parses the text of an ichor/FEREBUS CSV; `file` names it in errors. */
export function parsePropertyCsv(text: string, file: string, opts: CsvOptions = {}): PropertySet {
  const property = opts.property ?? 'iqa';
  const lines = text.split(/\r?\n/);
  let headerLine = -1;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '') {
      headerLine = i;
      break;
    }
  }
  if (headerLine < 0) throw fileError(file, undefined, 'empty file: expected a header row ",f1,f2,...,iqa,..."');
  const header = splitCsvLine(lines[headerLine]!);
  const featureCols: number[] = [];
  for (let k = 1; ; k++) {
    const c = header.indexOf(`f${k}`);
    if (c < 0) break;
    featureCols.push(c);
  }
  if (featureCols.length === 0) {
    throw fileError(file, headerLine + 1, `no feature columns: expected headers f1, f2, ... (found: ${clip(header.join(', '), 120)})`);
  }
  for (const h of header) {
    const m = /^f(\d+)$/.exec(h);
    if (m && Number(m[1]) > featureCols.length) {
      throw fileError(file, headerLine + 1, `feature column ${h} present but f${featureCols.length + 1} is missing`);
    }
  }
  const yCol = header.indexOf(property);
  if (yCol < 0) {
    const props = header.filter((h, i) => i > 0 && h !== '' && !/^f\d+$/.test(h));
    throw fileError(
      file,
      headerLine + 1,
      `no column '${property}' (properties in this file: ${clip(props.join(', '), 120) || 'none'})`,
    );
  }
  const nFeatures = featureCols.length;
  const xs: number[] = [];
  const ys: number[] = [];
  const index: string[] = [];
  for (let i = headerLine + 1; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const cells = splitCsvLine(raw);
    if (cells.length !== header.length) {
      throw fileError(file, i + 1, `${cells.length} columns, but the header has ${header.length}`);
    }
    for (let k = 0; k < nFeatures; k++) xs.push(parseCell(cells[featureCols[k]!]!, file, i + 1, header[featureCols[k]!]!));
    ys.push(parseCell(cells[yCol]!, file, i + 1, property));
    index.push(cells[0]!);
  }
  const n = ys.length;
  if (n === 0) throw fileError(file, undefined, 'no data rows after the header');
  if (opts.requireMorePointsThanFeatures && n < nFeatures) {
    throw fileError(file, undefined, `${n} training points for ${nFeatures} features: a GP needs at least as many points as features`);
  }
  const x = Float64Array.from(xs);
  if (opts.rejectDuplicates ?? true) checkDuplicates(x, n, nFeatures, file, headerLine);
  return { x, y: Float64Array.from(ys), n, nFeatures, property, index, source: file };
}

function parseCell(cell: string, file: string, line: number, column: string): number {
  const v = parseReal(cell);
  if (v === undefined) {
    throw fileError(file, line, `column '${column}': '${clip(cell)}' is not a finite number (decimal notation)`);
  }
  if (Math.abs(v) > MAX_CSV_VALUE) throw fileError(file, line, `column '${column}': ${cell} is beyond ±${MAX_CSV_VALUE} (corrupt value?)`);
  return v;
}

/** Identical feature rows make K singular: report the pair (data lines). */
function checkDuplicates(x: Float64Array, n: number, K: number, file: string, headerLine: number): void {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = Array.from(x.subarray(i * K, (i + 1) * K)).join(',');
    const prev = seen.get(key);
    if (prev !== undefined) {
      throw fileError(
        file,
        headerLine + 2 + i,
        `duplicate training point: same features as line ${headerLine + 2 + prev} (remove one; duplicates make the kernel matrix singular)`,
      );
    }
    seen.set(key, i);
  }
}

/** Reads an ichor/FEREBUS CSV file. */
export function readPropertyCsv(path: string, opts: CsvOptions = {}): PropertySet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AtomgpError(`${path}: cannot read CSV (${(err as Error).message})`);
  }
  return parsePropertyCsv(text, path, opts);
}
