/**
 * Picking training and validation sets from harvested frames.
 *
 * - `random`: a seeded shuffle; the first nTrain frames train, the next nValid validate.
 * - `farthest`: greedy farthest-point sampling (Gonzalez 1985) for the training set in the
 *   inverse-distance descriptor (all 1/r_ij, i < j, in Å⁻¹: invariant to translation and
 *   rotation, and most sensitive to short contacts, where energies change fastest), Euclidean
 *   metric, starting from a seeded random frame; validation frames are drawn at random from the
 *   rest, so they measure the error on frames the sampler produced, not on hand-picked ones.
 */
import { AtomgpError } from '../errors.js';
import { Rng } from '../util/rng.js';

export type SelectionRule = 'random' | 'farthest';
export const SELECTION_RULES: readonly SelectionRule[] = ['random', 'farthest'];

export interface TrainingSelection {
  /** Frame indices of the training set; for `farthest`, in the order they were picked. */
  train: number[];
  /** Frame indices of the validation set (disjoint from `train`). */
  valid: number[];
  rule: SelectionRule;
  /** What the distances of `farthest` were measured in. */
  descriptor: string;
  /**
   * `farthest` only: distance of each picked training frame to the frames picked before it (the
   * first is Infinity); non-increasing, it shows how densely the training set covers the rest.
   */
  pickDistances?: number[];
}

export const INVERSE_DISTANCE_DESCRIPTOR = 'inverse interatomic distances 1/r_ij (i < j), Å⁻¹, Euclidean metric';

/** Inverse interatomic distances 1/r_ij for i < j (Å⁻¹), length N(N−1)/2. */
export function inverseDistanceDescriptor(positionsA: Float64Array, out?: Float64Array): Float64Array {
  const n = positionsA.length / 3;
  const d = out ?? new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = positionsA[3 * j]! - positionsA[3 * i]!;
      const dy = positionsA[3 * j + 1]! - positionsA[3 * i + 1]!;
      const dz = positionsA[3 * j + 2]! - positionsA[3 * i + 2]!;
      d[k++] = 1 / Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return d;
}

/**
 * Greedy farthest-point sampling of `count` rows of `descriptors` (row-major, `dim` columns):
 * start at `first`, then repeatedly take the row farthest (Euclidean) from everything picked so
 * far (ties: lowest index). Returns the picked indices and their pick distances. O(count × rows × dim).
 */
export function farthestPointSampling(
  descriptors: Float64Array,
  dim: number,
  count: number,
  first: number,
): { picked: number[]; distances: number[] } {
  const rows = descriptors.length / dim;
  if (!(Number.isInteger(rows) && count <= rows && first >= 0 && first < rows)) {
    throw new AtomgpError(`farthest-point sampling: cannot pick ${count} of ${rows} rows starting at row ${first}`);
  }
  const minDist2 = new Float64Array(rows).fill(Number.POSITIVE_INFINITY);
  const taken = new Uint8Array(rows);
  const picked: number[] = [];
  const distances: number[] = [];
  let next = first;
  let nextD2 = Number.POSITIVE_INFINITY;
  for (let p = 0; p < count; p++) {
    picked.push(next);
    distances.push(Math.sqrt(nextD2));
    taken[next] = 1;
    const base = next * dim;
    let best = -1;
    let bestD2 = -1;
    for (let r = 0; r < rows; r++) {
      if (taken[r]) continue;
      let s = 0;
      const rb = r * dim;
      for (let c = 0; c < dim; c++) {
        const t = descriptors[rb + c]! - descriptors[base + c]!;
        s += t * t;
      }
      if (s < minDist2[r]!) minDist2[r] = s;
      if (minDist2[r]! > bestD2) {
        bestD2 = minDist2[r]!;
        best = r;
      }
    }
    next = best;
    nextD2 = bestD2;
  }
  return { picked, distances };
}

/**
 * Split `frames` into disjoint training and validation sets by `rule`, reproducibly from `seed`.
 * Fewer than nTrain + nValid frames is an error saying how many were harvested and needed.
 */
export function selectTrainingSets(
  frames: readonly { positionsA: Float64Array }[],
  nTrain: number,
  nValid: number,
  rule: SelectionRule,
  seed: number,
): TrainingSelection {
  if (!Number.isInteger(nTrain) || nTrain < 1) throw new AtomgpError(`number of training frames must be an integer ≥ 1, got ${nTrain}`);
  if (!Number.isInteger(nValid) || nValid < 0) throw new AtomgpError(`number of validation frames must be an integer ≥ 0, got ${nValid}`);
  if (!SELECTION_RULES.includes(rule)) throw new AtomgpError(`unknown selection rule '${rule}', expected ${SELECTION_RULES.join(' or ')}`);
  const nFrames = frames.length;
  if (nTrain + nValid > nFrames) {
    throw new AtomgpError(
      `only ${nFrames} frames were harvested but ${nTrain} training + ${nValid} validation = ${nTrain + nValid} are needed ` +
        '(sample longer, harvest more often, or ask for fewer frames)',
    );
  }
  const rng = new Rng(seed);
  if (rule === 'random') {
    const order = Array.from(rng.permutation(nFrames));
    return { train: order.slice(0, nTrain), valid: order.slice(nTrain, nTrain + nValid), rule, descriptor: 'none (seeded random shuffle)' };
  }
  const nAtoms = frames[0]!.positionsA.length / 3;
  const dim = (nAtoms * (nAtoms - 1)) / 2;
  if (dim === 0) throw new AtomgpError('farthest-point selection needs at least 2 atoms');
  const desc = new Float64Array(nFrames * dim);
  frames.forEach((f, i) => {
    if (f.positionsA.length !== 3 * nAtoms) throw new AtomgpError(`frame ${i + 1} has ${f.positionsA.length / 3} atoms, frame 1 has ${nAtoms}`);
    inverseDistanceDescriptor(f.positionsA, desc.subarray(i * dim, (i + 1) * dim));
  });
  const { picked, distances } = farthestPointSampling(desc, dim, nTrain, rng.int(nFrames));
  const taken = new Set(picked);
  const rest = [];
  for (let i = 0; i < nFrames; i++) if (!taken.has(i)) rest.push(i);
  const perm = rng.permutation(rest.length);
  const valid: number[] = [];
  for (let k = 0; k < nValid; k++) valid.push(rest[perm[k]!]!);
  return { train: picked, valid, rule, descriptor: INVERSE_DISTANCE_DESCRIPTOR, pickDistances: distances };
}
