/**
 * Validation sets of a model set: ichor/FEREBUS CSVs (`SYSTEM_ATOM_VALIDATION_SET.csv`), one per
 * atom, given as a file or a folder of them; the atom is the file-name token equal to its label.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AtomgpError } from '../errors.js';
import { readPropertyCsv } from './csv.js';

export interface ValidationSet {
  /** Atom label the set belongs to. */
  atom: string;
  file: string;
  /** n × K features, row-major (bohr, rad). */
  x: Float64Array;
  /** Targets (iqa), Ha. */
  y: Float64Array;
  n: number;
}

/** Read the validation CSVs for the atoms of a model set (`atoms` labels, `nFeatures` per row). */
export function readValidationSets(pathOrDir: string, atoms: readonly string[], nFeatures: number): ValidationSet[] {
  if (!existsSync(pathOrDir)) throw new AtomgpError(`--validation: '${pathOrDir}' does not exist (expected a CSV file or a folder of *_VALIDATION_SET.csv files)`);
  const files = statSync(pathOrDir).isDirectory()
    ? readdirSync(pathOrDir)
        .filter((f) => f.toLowerCase().endsWith('.csv'))
        .sort()
        .map((f) => join(pathOrDir, f))
    : [pathOrDir];
  if (files.length === 0) throw new AtomgpError(`--validation: no .csv files in ${pathOrDir}`);
  const out: ValidationSet[] = [];
  for (const file of files) {
    const tokens = basename(file).replace(/\.csv$/i, '').split(/[_.\s-]+/).map((t) => t.toUpperCase());
    const atom = atoms.find((a) => tokens.includes(a.toUpperCase()));
    if (!atom) throw new AtomgpError(`${file}: cannot tell which atom this validation set is for (expected an atom label ${atoms.join(', ')} in the file name, e.g. SYSTEM_${atoms[0]}_VALIDATION_SET.csv)`);
    if (out.some((v) => v.atom === atom)) throw new AtomgpError(`--validation: two validation sets for atom ${atom} (${out.find((v) => v.atom === atom)!.file} and ${file})`);
    const set = readPropertyCsv(file, { property: 'iqa', rejectDuplicates: false });
    if (set.nFeatures !== nFeatures) throw new AtomgpError(`${file}: ${set.nFeatures} features, but the models of this molecule have ${nFeatures}`);
    out.push({ atom, file, x: set.x, y: set.y, n: set.n });
  }
  return out;
}
