/**
 * A molecule from an XYZ / extended-XYZ file: one frame read by the XYZ parser, then bonds and bond
 * orders from the geometry (chem/smiles.ts `moleculeFromGeometry`).
 */
import { type BuiltMolecule, moleculeFromGeometry } from '../chem/smiles.js';
import { AtomgpError } from '../errors.js';
import { readXyz } from './xyz.js';

export interface XyzMoleculeOptions {
  /** 0-based frame of a multi-frame file (default 0). */
  frame?: number;
  /** Name (default: the file name without extension). */
  name?: string;
}

/** Frame `opts.frame` (default 0) of `path` as a molecule with bonds and perceived bond orders. */
export function moleculeFromXyz(path: string, opts: XyzMoleculeOptions = {}): BuiltMolecule {
  const frames = readXyz(path);
  const k = opts.frame ?? 0;
  const frame = frames[k];
  if (!frame) throw new AtomgpError(`${path}: frame ${k} requested, but the file has ${frames.length} frame(s)`);
  const base = path.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
  return moleculeFromGeometry(opts.name ?? base, frame.symbols, frame.positionsA);
}
