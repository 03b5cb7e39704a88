/**
 * Reading and writing FFLUX `.model` files (FEREBUS, ichor, GPyTorch-trained; formats.md).
 *
 * Reading is strict: every count in [dimensions] and [kernels] is checked against what follows,
 * every number must be a finite real (Fortran forms such as `.4189E-01` and `1.0d-3` included),
 * and every error names the file, the line and what was expected. Writing keeps the layout of
 * the FEREBUS examples (which ichor's and DL_FFLUX's line-by-line readers rely on: fixed key order
 * inside [mean] and [kernel.*], no spaces in `composition`, data blocks ended by a blank line) and
 * writes every number in its shortest round-trip form, so parse(format(m)) reproduces m exactly.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AtomgpError, fileError } from '../errors.js';
import { compositionNames, formatComposition, parseComposition, sameComposition } from '../gp/model/composition.js';
import { KERNEL_TYPES, type GpModel, type KernelSpec, type KernelType, type MeanSpec } from '../gp/model/model.js';
import { formatNumber, parseInteger, parseReal } from '../util/numbers.js';

interface Line {
  /** 1-based line number in the file. */
  no: number;
  /** Trimmed text. */
  text: string;
}

interface Section {
  name: string;
  headerLine: number;
  /** Non-blank, non-`#` lines (for unknown sections: every line, untrimmed at the start). */
  lines: Line[];
}

const KNOWN_SECTIONS = new Set(['system', 'dimensions', 'mean', 'kernels', 'training_data', 'training_data.x', 'training_data.y', 'weights']);
const KERNEL_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Kernel type spellings found in the wild → canonical type (FEREBUS 7.0 wrote `rbf-cylic`). */
const KERNEL_TYPE_ALIASES: Record<string, KernelType> = { 'rbf-cylic': 'rbf-cyclic' };

function isKnownSection(name: string): boolean {
  return KNOWN_SECTIONS.has(name) || name.startsWith('kernel.');
}

/** `# text` → `text` (the `#` and one following space removed). */
function stripComment(t: string): string {
  return t.startsWith('# ') ? t.slice(2) : t.slice(1);
}

/** Splits a file into metadata and sections; blank lines are dropped except inside unknown sections. */
function splitSections(text: string, source: string): { metadata: string[]; sections: Section[]; lastLine: number } {
  const raw = text.split(/\r?\n/);
  // a final newline does not start another line
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  const metadata: string[] = [];
  const sections: Section[] = [];
  const seen = new Map<string, number>();
  let current: Section | undefined;
  for (let i = 0; i < raw.length; i++) {
    const no = i + 1;
    const line = raw[i]!;
    const t = line.trim();
    if (t.startsWith('[') && t.endsWith(']')) {
      const name = t.slice(1, -1).trim();
      if (name === '') throw fileError(source, no, `empty section header '[]'`);
      const prev = seen.get(name);
      if (prev !== undefined) throw fileError(source, no, `section [${name}] appears twice (first at line ${prev})`);
      seen.set(name, no);
      current = { name, headerLine: no, lines: [] };
      sections.push(current);
      continue;
    }
    if (current && !isKnownSection(current.name)) {
      // unknown sections are kept verbatim (trailing blank lines dropped below)
      current.lines.push({ no, text: line.trimEnd() });
      continue;
    }
    if (t === '') continue;
    if (t.startsWith('#')) {
      metadata.push(stripComment(t));
      continue;
    }
    if (!current) {
      throw fileError(source, no, `'${t.slice(0, 40)}' is outside any section (expected '# metadata' lines or a [section] header)`);
    }
    current.lines.push({ no, text: t });
  }
  for (const s of sections) {
    if (isKnownSection(s.name)) continue;
    while (s.lines.length > 0 && s.lines[s.lines.length - 1]!.text.trim() === '') s.lines.pop();
  }
  return { metadata, sections, lastLine: raw.length };
}

interface KeyValue {
  value: string;
  tokens: string[];
  no: number;
}

/** `key value...` lines of a section, in order; duplicate keys are an error. */
function keyValues(section: Section, source: string): Map<string, KeyValue> {
  const out = new Map<string, KeyValue>();
  for (const { no, text } of section.lines) {
    const m = /^(\S+)\s*(.*)$/.exec(text)!;
    const key = m[1]!;
    if (out.has(key)) throw fileError(source, no, `key '${key}' appears twice in [${section.name}] (first at line ${out.get(key)!.no})`);
    const value = m[2]!.trim();
    out.set(key, { value, tokens: value === '' ? [] : value.split(/\s+/), no });
  }
  return out;
}

class SectionReader {
  readonly kv: Map<string, KeyValue>;
  constructor(
    readonly section: Section,
    readonly source: string,
  ) {
    this.kv = keyValues(section, source);
  }

  private where(): string {
    return `[${this.section.name}] (line ${this.section.headerLine})`;
  }

  get(key: string): KeyValue {
    const v = this.kv.get(key);
    if (!v) throw fileError(this.source, this.section.headerLine, `${this.where()} has no '${key}' line`);
    return v;
  }

  word(key: string): string {
    const v = this.get(key);
    if (v.tokens.length !== 1) throw fileError(this.source, v.no, `'${key}' expects one value, found ${v.tokens.length}`);
    return v.tokens[0]!;
  }

  integer(key: string, min: number): number {
    const v = this.get(key);
    const x = v.tokens.length === 1 ? parseInteger(v.tokens[0]!) : undefined;
    if (x === undefined) throw fileError(this.source, v.no, `'${key}' expects one integer, found '${v.value}'`);
    if (x < min) throw fileError(this.source, v.no, `'${key}' must be at least ${min}, found ${x}`);
    return x;
  }

  integers(key: string): number[] {
    const v = this.get(key);
    return v.tokens.map((t, i) => {
      const x = parseInteger(t);
      if (x === undefined) throw fileError(this.source, v.no, `'${key}' value ${i + 1} '${t}' is not an integer`);
      return x;
    });
  }

  real(key: string): number {
    const v = this.get(key);
    if (v.tokens.length !== 1) throw fileError(this.source, v.no, `'${key}' expects one number, found ${v.tokens.length} values`);
    return realToken(v.tokens[0]!, this.source, v.no, `'${key}'`);
  }

  reals(key: string, expected: number, what: string): number[] {
    const v = this.get(key);
    if (v.tokens.length !== expected) {
      throw fileError(this.source, v.no, `'${key}' has ${v.tokens.length} values, expected ${expected} (${what})`);
    }
    return v.tokens.map((t, i) => realToken(t, this.source, v.no, `'${key}' value ${i + 1}`));
  }

  /** Rejects keys other than `allowed` (a misspelt or foreign key must not be silently ignored). */
  only(allowed: string[]): void {
    for (const [key, v] of this.kv) {
      if (!allowed.includes(key)) {
        throw fileError(this.source, v.no, `unexpected key '${key}' in [${this.section.name}] (expected ${allowed.join(', ')})`);
      }
    }
  }
}

function realToken(token: string, source: string, no: number, what: string): number {
  const x = parseReal(token);
  if (x === undefined) throw fileError(source, no, `${what}: '${token}' is not a finite number`);
  return x;
}

/**
 * Rows of a data block into `out` (nRows × nCols row-major). Too few or too many rows, a wrong
 * column count or a token that is not a number is an error naming the line.
 */
function readBlock(section: Section, source: string, nRows: number, nCols: number, rowsWhat: string, colsWhat: string): Float64Array {
  const { lines } = section;
  if (lines.length < nRows) {
    const last = lines.length > 0 ? lines[lines.length - 1]!.no : section.headerLine;
    throw fileError(
      source,
      last,
      `[${section.name}] ends after ${lines.length} of ${nRows} rows (${rowsWhat}); the file looks truncated`,
    );
  }
  if (lines.length > nRows) {
    throw fileError(source, lines[nRows]!.no, `[${section.name}] has more than ${nRows} rows (${rowsWhat})`);
  }
  const rowTokens = (i: number): string[] => {
    const { no, text } = lines[i]!;
    const tokens = text.split(/\s+/);
    if (tokens.length !== nCols) {
      throw fileError(source, no, `[${section.name}] row ${i + 1} has ${tokens.length} values, expected ${nCols} (${colsWhat})`);
    }
    return tokens;
  };
  // The rows are present and the first has nCols values before anything is allocated, so a
  // corrupt count fails with a message instead of an out-of-memory RangeError.
  if (nRows > 0) rowTokens(0);
  const out = new Float64Array(nRows * nCols);
  for (let i = 0; i < nRows; i++) {
    const { no } = lines[i]!;
    const tokens = rowTokens(i);
    for (let j = 0; j < nCols; j++) {
      const x = parseReal(tokens[j]!);
      if (x === undefined) {
        throw fileError(source, no, `[${section.name}] row ${i + 1}, column ${j + 1}: '${tokens[j]}' is not a finite number`);
      }
      out[i * nCols + j] = x;
    }
  }
  return out;
}

function expectedFeatures(nAtoms: number): number {
  return nAtoms === 2 ? 1 : 3 * nAtoms - 6;
}

/** Parse the text of a `.model` file; `source` (usually the path) names it in error messages. */
export function parseModel(text: string, source: string): GpModel {
  const { metadata, sections, lastLine } = splitSections(text, source);
  const byName = new Map(sections.map((s) => [s.name, s]));
  const need = (name: string, what: string): Section => {
    const s = byName.get(name);
    if (!s) throw fileError(source, lastLine, `file ends without section [${name}] (expected ${what})`);
    return s;
  };

  // [system]
  const sys = new SectionReader(need('system', 'name, atom, property and ALF'), source);
  sys.only(['name', 'atom', 'property', 'ALF']);
  const systemName = sys.word('name');
  const atom = sys.word('atom');
  const property = sys.word('property');
  const alf = sys.integers('ALF');

  // [dimensions]
  const dims = new SectionReader(need('dimensions', 'number_of_atoms, number_of_features, number_of_training_points'), source);
  dims.only(['number_of_atoms', 'number_of_features', 'number_of_training_points']);
  const nAtoms = dims.integer('number_of_atoms', 2);
  const nFeatures = dims.integer('number_of_features', 1);
  const nTrain = dims.integer('number_of_training_points', 1);
  const wantFeatures = expectedFeatures(nAtoms);
  if (nFeatures !== wantFeatures) {
    throw fileError(
      source,
      dims.get('number_of_features').no,
      `number_of_features ${nFeatures} does not match number_of_atoms ${nAtoms} (expected ${wantFeatures} = ${nAtoms === 2 ? '1 for a diatomic' : '3N−6'})`,
    );
  }
  const alfLine = sys.get('ALF').no;
  const alfLength = nAtoms === 2 ? 2 : 3;
  if (alf.length !== alfLength) {
    throw fileError(source, alfLine, `ALF has ${alf.length} atoms, expected ${alfLength} (central, x-axis${alfLength === 3 ? ', xy-plane' : ''})`);
  }
  for (const a of alf) {
    if (a < 1 || a > nAtoms) throw fileError(source, alfLine, `ALF atom ${a} is outside 1..${nAtoms} (number_of_atoms)`);
  }
  if (new Set(alf).size !== alf.length) throw fileError(source, alfLine, `ALF atoms ${alf.join(' ')} are not distinct`);

  // [mean]
  const mean = readMean(new SectionReader(need('mean', 'type zero|constant|linear|quadratic'), source), nFeatures);

  // [kernels] and [kernel.*]
  const ks = new SectionReader(need('kernels', 'number_of_kernels and composition'), source);
  ks.only(['number_of_kernels', 'composition']);
  const nKernels = ks.integer('number_of_kernels', 1);
  const compLine = ks.get('composition');
  const compositionText = compLine.value.replace(/\s+/g, '');
  let composition: GpModel['composition'];
  try {
    composition = parseComposition(compLine.value);
  } catch (e) {
    if (e instanceof AtomgpError) throw fileError(source, compLine.no, e.message);
    throw e;
  }
  const kernelSections = sections.filter((s) => s.name.startsWith('kernel.'));
  if (kernelSections.length !== nKernels) {
    throw fileError(
      source,
      kernelSections.length < nKernels ? lastLine : kernelSections[nKernels]!.headerLine,
      `number_of_kernels is ${nKernels} (line ${ks.get('number_of_kernels').no}) but the file has ${kernelSections.length} [kernel.*] sections`,
    );
  }
  const kernels = kernelSections.map((s) => readKernel(new SectionReader(s, source), nFeatures));
  for (const name of compositionNames(composition)) {
    if (!kernels.some((k) => k.name === name)) {
      throw fileError(
        source,
        compLine.no,
        `composition '${compLine.value}' uses kernel '${name}', but there is no [kernel.${name}] section (found ${kernels.map((k) => k.name).join(', ')})`,
      );
    }
  }

  // [training_data] (optional: descriptive keys only)
  const tdSection = byName.get('training_data');
  const trainingDataInfo: Array<[string, string]> = tdSection
    ? [...keyValues(tdSection, source)].map(([key, v]) => [key, v.value] as [string, string])
    : [];

  // data blocks
  const pointsWhat = `number_of_training_points ${nTrain}`;
  const trainX = readBlock(need('training_data.x', `${nTrain} rows of ${nFeatures} features`), source, nTrain, nFeatures, pointsWhat, `number_of_features ${nFeatures}`);
  const trainY = readBlock(need('training_data.y', `${nTrain} targets`), source, nTrain, 1, pointsWhat, 'one target per line');
  const weights = readBlock(need('weights', `${nTrain} weights`), source, nTrain, 1, pointsWhat, 'one weight per line');

  const extraSections = sections
    .filter((s) => !isKnownSection(s.name))
    .map((s) => ({ name: s.name, lines: s.lines.map((l) => l.text) }));

  return {
    metadata,
    systemName,
    atom,
    property,
    alf,
    nAtoms,
    nFeatures,
    nTrain,
    mean,
    kernels,
    compositionText,
    composition,
    trainingDataInfo,
    trainX,
    trainY,
    weights,
    extraSections,
    source,
  };
}

function readMean(r: SectionReader, nFeatures: number): MeanSpec {
  const type = r.word('type');
  switch (type) {
    case 'zero':
      r.only(['type']);
      return { type: 'zero' };
    case 'constant':
      r.only(['type', 'value']);
      return { type: 'constant', value: r.real('value') };
    case 'linear':
    case 'quadratic': {
      r.only(['type', 'beta', 'x_min', 'y_min']);
      const what = `one per feature, number_of_features ${nFeatures}`;
      return {
        type,
        beta: Float64Array.from(r.reals('beta', nFeatures, what)),
        xMin: Float64Array.from(r.reals('x_min', nFeatures, what)),
        yMin: r.real('y_min'),
      };
    }
    default:
      throw fileError(r.source, r.get('type').no, `unknown mean type '${type}' (expected zero, constant, linear or quadratic)`);
  }
}

function readKernel(r: SectionReader, nFeatures: number): KernelSpec {
  const s = r.section;
  const name = s.name.slice('kernel.'.length);
  if (!KERNEL_NAME_RE.test(name)) {
    throw fileError(r.source, s.headerLine, `kernel name '${name}' must be a letter or '_' followed by letters, digits or '_'`);
  }
  const typeWord = r.word('type');
  const type = KERNEL_TYPE_ALIASES[typeWord] ?? typeWord;
  if (!(KERNEL_TYPES as readonly string[]).includes(type)) {
    throw fileError(r.source, r.get('type').no, `unsupported kernel type '${typeWord}' (expected ${KERNEL_TYPES.join(', ')})`);
  }
  const nDims = r.integer('number_of_dimensions', 1);
  const activeLine = r.get('active_dimensions').no;
  const activeDims = r.integers('active_dimensions');
  if (activeDims.length !== nDims) {
    throw fileError(r.source, activeLine, `active_dimensions has ${activeDims.length} entries, expected ${nDims} (number_of_dimensions)`);
  }
  for (const d of activeDims) {
    if (d < 1 || d > nFeatures) throw fileError(r.source, activeLine, `active dimension ${d} is outside 1..${nFeatures} (number_of_features)`);
  }
  if (new Set(activeDims).size !== activeDims.length) throw fileError(r.source, activeLine, `active_dimensions repeat a dimension`);
  // ichor's test files spell it `thetas`
  const thetaKey = r.kv.has('theta') || !r.kv.has('thetas') ? 'theta' : 'thetas';
  const theta = r.reals(thetaKey, nDims, `one per active dimension, number_of_dimensions ${nDims}`);
  const thetaLine = r.get(thetaKey).no;
  for (const t of theta) {
    if (t < 0) throw fileError(r.source, thetaLine, `theta ${t} is negative (expected θ ≥ 0)`);
  }
  const known = new Set(['type', 'number_of_dimensions', 'active_dimensions', thetaKey]);
  const extra: Array<[string, string]> = [];
  for (const [key, v] of r.kv) if (!known.has(key)) extra.push([key, v.value]);
  return { name, type: type as KernelType, activeDims, theta, extra };
}

/** Read and parse a `.model` file. */
export function readModel(path: string): GpModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new AtomgpError(`${path}: cannot read model file (${code})`);
  }
  return parseModel(text, path);
}

function num(x: number, what: string): string {
  if (!Number.isFinite(x)) throw new AtomgpError(`cannot write model: ${what} is ${x}`);
  return formatNumber(x);
}

function numbers(xs: ArrayLike<number>, from: number, to: number, what: string): string {
  const parts = new Array<string>(to - from);
  for (let i = from; i < to; i++) parts[i - from] = num(xs[i]!, what);
  return parts.join(' ');
}

/** Text of a `.model` file in the canonical section order and FEREBUS layout. */
export function formatModel(model: GpModel): string {
  const { nTrain, nFeatures } = model;
  const name = model.source ? ` (${model.source})` : '';
  if (model.trainX.length !== nTrain * nFeatures || model.trainY.length !== nTrain || model.weights.length !== nTrain) {
    throw new AtomgpError(
      `cannot write model${name}: ${nTrain} training points × ${nFeatures} features need x of length ${nTrain * nFeatures} and y, weights of length ${nTrain}; have ${model.trainX.length}, ${model.trainY.length}, ${model.weights.length}`,
    );
  }
  const out: string[] = [];
  for (const m of model.metadata) out.push(`# ${m}`);
  if (out.length > 0) out.push('');
  out.push('[system]', `name ${model.systemName}`, `atom ${model.atom}`, `property ${model.property}`, `ALF ${model.alf.join(' ')}`, '');
  out.push(
    '[dimensions]',
    `number_of_atoms ${model.nAtoms}`,
    `number_of_features ${nFeatures}`,
    `number_of_training_points ${nTrain}`,
    '',
  );
  out.push('[mean]', `type ${model.mean.type}`);
  const mean = model.mean;
  if (mean.type === 'constant') out.push(`value ${num(mean.value, 'mean value')}`);
  else if (mean.type === 'linear' || mean.type === 'quadratic') {
    out.push(
      `beta ${numbers(mean.beta, 0, mean.beta.length, 'mean beta')}`,
      `x_min ${numbers(mean.xMin, 0, mean.xMin.length, 'mean x_min')}`,
      `y_min ${num(mean.yMin, 'mean y_min')}`,
    );
  }
  out.push('');
  // keep the text as written when it still means the stored tree; no spaces (ichor splits on them)
  let compositionText = model.compositionText.replace(/\s+/g, '');
  try {
    if (!sameComposition(parseComposition(compositionText), model.composition)) compositionText = formatComposition(model.composition);
  } catch {
    compositionText = formatComposition(model.composition);
  }
  out.push('[kernels]', `number_of_kernels ${model.kernels.length}`, `composition ${compositionText}`, '');
  for (const k of model.kernels) {
    out.push(
      `[kernel.${k.name}]`,
      `type ${k.type}`,
      `number_of_dimensions ${k.activeDims.length}`,
      `active_dimensions ${k.activeDims.join(' ')}`,
      `theta ${numbers(k.theta, 0, k.theta.length, `kernel ${k.name} theta`)}`,
    );
    for (const [key, value] of k.extra) out.push(value === '' ? key : `${key} ${value}`);
    out.push('');
  }
  for (const s of model.extraSections) out.push(`[${s.name}]`, ...s.lines, '');
  if (model.trainingDataInfo.length > 0) {
    out.push('[training_data]');
    for (const [key, value] of model.trainingDataInfo) out.push(value === '' ? key : `${key} ${value}`);
    out.push('');
  }
  out.push('[training_data.x]');
  for (let i = 0; i < nTrain; i++) out.push(numbers(model.trainX, i * nFeatures, (i + 1) * nFeatures, 'training x'));
  out.push('', '[training_data.y]');
  for (let i = 0; i < nTrain; i++) out.push(num(model.trainY[i]!, 'training y'));
  out.push('', '[weights]');
  for (let i = 0; i < nTrain; i++) out.push(num(model.weights[i]!, 'weight'));
  // FEREBUS ends with a blank line; ichor's reader stops a block at one
  out.push('', '');
  return out.join('\n');
}

/** Write a model atomically: a temporary file in the same folder, then a rename over `path`. */
export function writeModel(path: string, model: GpModel): void {
  const text = formatModel(model);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, text, 'utf8');
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file may not exist
    }
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new AtomgpError(`${path}: cannot write model file (${code})`);
  }
}
