/**
 * Frames → per-atom feature rows: the one featuriser of whole data sets (training sets, validation
 * sets, CSV export). Each atom's rows go through its own ALF; positions are Å, features bohr/rad.
 */
import { BOHR_PER_ANGSTROM } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { AlfFeaturizer } from './alf.js';

export interface FeaturizeOptions {
  /** Atom labels for error messages (`O1`); default `atom 1`, `atom 2`, …. */
  labels?: readonly string[];
}

/**
 * ALF features of every atom of every frame. `alfs` are 0-based (central, x-axis, xy-plane atom),
 * one per atom. Returns one Float64Array per atom holding n rows of K features (row-major).
 */
export function featurizeFrames(framesPositionsA: readonly ArrayLike<number>[], alfs: readonly ArrayLike<number>[], opts: FeaturizeOptions = {}): Float64Array[] {
  const nAtoms = alfs.length;
  if (nAtoms === 0) throw new AtomgpError('featurizing frames: no atoms');
  const idx = Array.from({ length: nAtoms }, (_, i) => i);
  const featurizers = alfs.map((alf, a) => new AlfFeaturizer(idx, alf, opts.labels?.[a] ?? `atom ${a + 1}`));
  const K = featurizers[0]!.nFeatures;
  const n = framesPositionsA.length;
  const xs = featurizers.map(() => new Float64Array(n * K));
  const bohr = new Float64Array(3 * nAtoms);
  const row = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const pos = framesPositionsA[i]!;
    if (pos.length !== 3 * nAtoms) throw new AtomgpError(`frame ${i + 1} has ${pos.length / 3} atoms, expected ${nAtoms}`);
    for (let k = 0; k < 3 * nAtoms; k++) bohr[k] = pos[k]! * BOHR_PER_ANGSTROM;
    for (let a = 0; a < nAtoms; a++) {
      featurizers[a]!.compute(bohr, row);
      xs[a]!.set(row, i * K);
    }
  }
  return xs;
}

/** Row views of an n × K feature block (no copy). */
export function featureRows(x: Float64Array, nFeatures: number): Float64Array[] {
  const n = x.length / nFeatures;
  return Array.from({ length: n }, (_, i) => x.subarray(i * nFeatures, (i + 1) * nFeatures));
}
