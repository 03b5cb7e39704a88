/**
 * Model sets: one `.model` file per atom and property in one folder (formats.md). A molecule's
 * energy needs an `iqa` model for every atom; the atom a file belongs to is the number in its
 * label (`N1` → atom 0, `H2` → atom 1, …), as ichor assigns it. Also what a refit of a folder
 * reads (`modelFiles`, `readModelForRefit`); the refit itself is workflows/refit-set.ts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { indexFromAtomLabel, symbolFromAtomLabel } from '../chem/elements.js';
import { AtomgpError } from '../errors.js';
import { assertConsistent, type ConsistencyReport, checkConsistency } from '../gp/assess/consistency.js';
import type { GpModel, PeriodicPrefactor } from '../gp/model/model.js';
import { parseRepulsion, type RepulsionKind } from '../gp/model/repulsion.js';
import { writeFileAtomic } from './atomic-write.js';
import { readModel } from './model.js';

export interface ModelSet {
  dir: string;
  systemName: string;
  nAtoms: number;
  /** Atom labels in atom order, e.g. N1 H2 H3 H4. */
  atoms: string[];
  /** Element symbols from the labels, e.g. N H H H. */
  symbols: string[];
  /** One model per atom, in atom order. */
  models: GpModel[];
  /** Self-consistency check per atom (empty when `check: false`). */
  checks: ConsistencyReport[];
  /** Periodic-kernel convention each model is used with. */
  periodicPrefactors: PeriodicPrefactor[];
  /** Warnings for models accepted only because the user forced the convention. */
  warnings: string[];
}

export interface ReadModelOptions {
  /** Force the periodic convention (the user's `--periodic-convention`); otherwise detected. */
  periodicPrefactor?: PeriodicPrefactor;
  /**
   * Run the self-consistency check (default true). Without it, periodic kernels use the override
   * or DL_FFLUX's convention (4).
   */
  check?: boolean;
}

export interface CheckedModel {
  model: GpModel;
  check: ConsistencyReport | undefined;
  periodicPrefactor: PeriodicPrefactor;
  warning: string | undefined;
}

/** Read one model file and check it (refusing an inconsistent one unless the convention is forced). */
export function readCheckedModel(path: string, opts: ReadModelOptions = {}): CheckedModel {
  const model = readModel(path);
  if (opts.check === false) {
    return { model, check: undefined, periodicPrefactor: opts.periodicPrefactor ?? 4, warning: undefined };
  }
  const check = checkConsistency(model, opts.periodicPrefactor === undefined ? {} : { periodicPrefactor: opts.periodicPrefactor });
  const warning = assertConsistent(model, check);
  return { model, check, periodicPrefactor: check.periodicPrefactor, warning };
}

export interface LoadModelSetOptions {
  /** Model property (default `iqa`). */
  property?: string;
  /** Force the periodic-kernel convention; otherwise detected per model by the consistency check. */
  periodicPrefactor?: PeriodicPrefactor | undefined;
  /** Run the load-time consistency check (default true). */
  check?: boolean;
  /** Receives the warnings of models accepted only because the convention was forced. */
  warn?: (message: string) => void;
}

/**
 * The model set of a folder, ready for `new GpPotential(set)`: one checked `iqa` model per atom
 * (the library's front door; the CLI's `--models DIR` goes through it). Errors name the folder.
 */
export function loadModelSet(dir: string, opts: LoadModelSetOptions = {}): ModelSet {
  if (!existsSync(dir)) throw new AtomgpError(`model folder '${dir}' does not exist`);
  if (!statSync(dir).isDirectory()) throw new AtomgpError(`'${dir}' is not a folder (expected a folder of .model files)`);
  const set = readModelSet(dir, {
    property: opts.property ?? 'iqa',
    ...(opts.periodicPrefactor !== undefined ? { periodicPrefactor: opts.periodicPrefactor } : {}),
    check: opts.check ?? true,
  });
  if (opts.warn) for (const w of set.warnings) opts.warn(w);
  return set;
}

/**
 * Every `*.model` file in `dir` whose [system] property is `property` (default `iqa`), one per
 * atom, in atom order. Missing, duplicate or out-of-range atoms, labels that do not name an
 * element, and files that disagree on the system are errors naming the folder and the atom.
 */
export function readModelSet(dir: string, opts: ReadModelOptions & { property?: string } = {}): ModelSet {
  const property = opts.property ?? 'iqa';
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new AtomgpError(`${dir}: not a folder (expected a folder of .model files)`);
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.model'))
      .sort();
  } catch (e) {
    if (e instanceof AtomgpError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new AtomgpError(`${dir}: cannot read model folder (${code})`);
  }
  const entries: Array<{ path: string; index: number; checked: CheckedModel }> = [];
  const otherProperties = new Set<string>();
  for (const name of names) {
    const path = join(dir, name);
    // parse first (cheap), check only the files that belong to the set
    const checked = readCheckedModel(path, { ...opts, check: false });
    const model = checked.model;
    if (model.property !== property) {
      otherProperties.add(model.property);
      continue;
    }
    const index = indexFromAtomLabel(model.atom);
    if (index === undefined || index < 1) {
      throw new AtomgpError(`${path}: atom label '${model.atom}' has no atom number (expected e.g. O1, H2)`);
    }
    if (symbolFromAtomLabel(model.atom) === undefined) {
      throw new AtomgpError(`${path}: atom label '${model.atom}' does not start with an element symbol (expected e.g. O1, H2, Cl3)`);
    }
    entries.push({ path, index, checked });
  }
  if (entries.length === 0) {
    const found = otherProperties.size > 0 ? ` (found properties ${[...otherProperties].sort().join(', ')})` : names.length === 0 ? ' (no .model files)' : '';
    throw new AtomgpError(`${dir}: no '${property}' models in this folder${found}`);
  }
  const first = entries[0]!.checked.model;
  for (const { path, checked } of entries) {
    const m = checked.model;
    if (m.systemName !== first.systemName || m.nAtoms !== first.nAtoms) {
      throw new AtomgpError(
        `${dir}: models disagree on the system: ${entries[0]!.path} is ${first.systemName} with ${first.nAtoms} atoms, ${path} is ${m.systemName} with ${m.nAtoms} atoms`,
      );
    }
  }
  const nAtoms = first.nAtoms;
  const byAtom = new Array<(typeof entries)[number] | undefined>(nAtoms);
  for (const e of entries) {
    const label = e.checked.model.atom;
    if (e.index > nAtoms) {
      throw new AtomgpError(`${e.path}: atom ${label} is beyond the ${nAtoms} atoms of ${first.systemName} (number_of_atoms)`);
    }
    const prev = byAtom[e.index - 1];
    if (prev) {
      throw new AtomgpError(`${dir}: two '${property}' models for atom ${e.index}: ${prev.path} (${prev.checked.model.atom}) and ${e.path} (${label})`);
    }
    if (e.checked.model.alf[0] !== e.index) {
      throw new AtomgpError(`${e.path}: ALF ${e.checked.model.alf.join(' ')} of atom ${label} must start with its own atom number ${e.index}`);
    }
    byAtom[e.index - 1] = e;
  }
  const missing: number[] = [];
  for (let i = 0; i < nAtoms; i++) if (!byAtom[i]) missing.push(i + 1);
  if (missing.length > 0) {
    const found = entries
      .map((e) => e.checked.model.atom)
      .sort((a, b) => indexFromAtomLabel(a)! - indexFromAtomLabel(b)!)
      .join(', ');
    throw new AtomgpError(
      `${dir}: no '${property}' model for atom${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${first.systemName} ` +
        `(${nAtoms} atoms; found ${found}); every atom needs one`,
    );
  }
  const ordered = byAtom as Array<(typeof entries)[number]>;
  const models = ordered.map((e) => e.checked.model);
  const checks: ConsistencyReport[] = [];
  const periodicPrefactors: PeriodicPrefactor[] = [];
  const warnings: string[] = [];
  for (const model of models) {
    if (opts.check === false) {
      periodicPrefactors.push(opts.periodicPrefactor ?? 4);
      continue;
    }
    const check = checkConsistency(model, opts.periodicPrefactor === undefined ? {} : { periodicPrefactor: opts.periodicPrefactor });
    const warning = assertConsistent(model, check);
    if (warning) warnings.push(warning);
    checks.push(check);
    periodicPrefactors.push(check.periodicPrefactor);
  }
  const atoms = models.map((m) => m.atom);
  return {
    dir,
    systemName: first.systemName,
    nAtoms,
    atoms,
    symbols: atoms.map((a) => symbolFromAtomLabel(a)!),
    models,
    checks,
    periodicPrefactors,
    warnings,
  };
}

/** Read a model for refitting; a file without training data gets the message users need. */
export function readModelForRefit(path: string): GpModel {
  try {
    return readModel(path);
  } catch (e) {
    if (e instanceof AtomgpError && /\[training_data\.x\]/.test(e.message)) {
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        // readModel already said why it cannot be read
      }
      if (!/^\s*\[training_data\.x\]/m.test(text)) throw new AtomgpError(`cannot refit: ${path} has no [training_data.x]`);
    }
    throw e;
  }
}

/** `.model` files of a folder (sorted), or the file itself. */
export function modelFiles(fileOrDir: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(fileOrDir).isDirectory();
  } catch {
    throw new AtomgpError(`${fileOrDir}: does not exist (expected a .model file or a folder of them)`);
  }
  if (!isDir) return [fileOrDir];
  const names = readdirSync(fileOrDir)
    .filter((n) => n.endsWith('.model'))
    .sort();
  if (names.length === 0) throw new AtomgpError(`${fileOrDir}: no .model files in this folder`);
  return names.map((n) => join(fileOrDir, n));
}

/**
 * `potential.json` in a model folder: the terms atomgp adds to the models' prior mean when the folder
 * is used as a potential, written by the pipeline beside the models it trained (FFLUX readers ignore
 * it; the `.model` files are unchanged). `{"repulsion": "zbl"}`: the ZBL contact term
 * (gp/model/repulsion.ts). A folder without the file has no added terms.
 */
export const MODEL_SET_TERMS_FILE = 'potential.json';

export interface ModelSetTerms {
  repulsion: RepulsionKind;
}

/** The added terms a model folder records (`repulsion: 'none'` without a `potential.json`); a one-line error on a malformed file. */
export function readModelSetTerms(dir: string): ModelSetTerms {
  const file = join(dir, MODEL_SET_TERMS_FILE);
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(file)) return { repulsion: 'none' };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new AtomgpError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new AtomgpError(`${file}: expected an object such as {"repulsion": "zbl"}`);
  const unknownKeys = Object.keys(raw).filter((k) => k !== 'repulsion');
  if (unknownKeys.length > 0) throw new AtomgpError(`${file}: unknown key '${unknownKeys[0]}' (known: repulsion)`);
  const r = (raw as { repulsion?: unknown }).repulsion;
  return { repulsion: r === undefined ? 'none' : parseRepulsion(r, `${file}: repulsion`) };
}

/** Record the added terms of a model folder (atomically). */
export function writeModelSetTerms(dir: string, terms: ModelSetTerms): void {
  writeFileAtomic(join(dir, MODEL_SET_TERMS_FILE), `${JSON.stringify({ repulsion: terms.repulsion }, null, 1)}\n`);
}
