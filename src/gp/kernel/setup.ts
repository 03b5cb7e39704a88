/**
 * A kernel choice (one kernel type over all features, or leaves with active dimensions combined
 * by a product expression) compiled into leaf specs and the flat list of exponential terms that
 * the likelihood works on; shared by the per-atom trainer and the additive GP.
 */
import { AtomgpError } from '../../errors.js';
import { compositionNames, parseComposition } from '../model/composition.js';
import type { Composition, KernelSpec, KernelType, PeriodicPrefactor } from '../model/model.js';
import { KERNEL_TYPES } from '../model/model.js';
import { compileLeaf, TERM_PERIODIC } from './kernel.js';

/** A kernel by name (one kernel over all features) or an explicit composition of leaves. */
export type KernelChoice =
  | KernelType
  | { kernels: Array<{ name: string; type: KernelType; activeDims: number[] }>; composition: string };
export interface KernelSetup {
  specs: KernelSpec[];
  composition: Composition;
  compositionText: string;
  problemTerms: { dim: Int32Array; kind: Uint8Array };
  prefactor: Float64Array;
  /** For each flat term: [kernel index, position in its theta]. */
  owner: Array<[number, number]>;
}

/** Compile a kernel choice into its leaves and the flat product of exponential terms (shared with additive.ts). */
export function setupKernel(choice: KernelChoice, nFeatures: number, pf: PeriodicPrefactor): KernelSetup {
  let leaves: Array<{ name: string; type: KernelType; activeDims: number[] }>;
  let compositionText: string;
  if (typeof choice === 'string') {
    if (!KERNEL_TYPES.includes(choice)) {
      throw new AtomgpError(`unknown kernel '${choice}' (expected ${KERNEL_TYPES.join(', ')} or a composition)`);
    }
    leaves = [{ name: 'k1', type: choice, activeDims: Array.from({ length: nFeatures }, (_, i) => i + 1) }];
    compositionText = 'k1';
  } else {
    leaves = choice.kernels;
    compositionText = choice.composition;
  }
  const composition = parseComposition(compositionText);
  if (/\+/.test(compositionText)) {
    throw new AtomgpError(`kernel composition '${compositionText}': the trainer supports products of kernels only (no '+')`);
  }
  const names = compositionNames(composition);
  const byName = new Map(leaves.map((l) => [l.name, l]));
  const specs: KernelSpec[] = [];
  const dims: number[] = [];
  const kinds: number[] = [];
  const pre: number[] = [];
  const owner: Array<[number, number]> = [];
  for (const name of names) {
    const leaf = byName.get(name);
    if (!leaf) throw new AtomgpError(`kernel composition names '${name}', which is not defined`);
    if (!KERNEL_TYPES.includes(leaf.type)) throw new AtomgpError(`kernel ${name}: unknown type '${leaf.type}' (expected ${KERNEL_TYPES.join(', ')})`);
    const spec: KernelSpec = { name, type: leaf.type, activeDims: [...leaf.activeDims], theta: leaf.activeDims.map(() => 1), extra: [] };
    const t = compileLeaf(spec, nFeatures, pf);
    for (let i = 0; i < t.dim.length; i++) {
      dims.push(t.dim[i]!);
      kinds.push(t.kind[i]!);
      pre.push(t.kind[i] === TERM_PERIODIC ? pf : 1);
      owner.push([specs.length, i]);
    }
    specs.push(spec);
  }
  // Count occurrences: a leaf used twice (k1*k1) would share θ; not supported.
  const countUses = (c: Composition): number => (c.op === 'kernel' ? 1 : countUses(c.left) + countUses(c.right));
  if (countUses(composition) !== names.length) {
    throw new AtomgpError(`kernel composition '${compositionText}': each kernel may appear only once`);
  }
  return {
    specs,
    composition,
    compositionText,
    problemTerms: { dim: Int32Array.from(dims), kind: Uint8Array.from(kinds) },
    prefactor: Float64Array.from(pre),
    owner,
  };
}

/** Units of ALF features: f1, f2 bohr; f3 radians; then (R bohr, θ radians, φ radians) per atom. */
export function alfFeatureUnits(nFeatures: number): string[] {
  const u: string[] = [];
  for (let i = 0; i < nFeatures; i++) u.push(i < 2 ? 'bohr' : i === 2 ? 'radians' : (i - 3) % 3 === 0 ? 'bohr' : 'radians');
  return u;
}

/** Kernels of ALF features by name: one type over all features, or `rbf-periodic` (alfKernel). */
export const ALF_KERNELS = ['rbf-cyclic', 'rbf-periodic', 'rbf', 'periodic'] as const;
export type AlfKernelName = (typeof ALF_KERNELS)[number];

/**
 * The kernel choice of a named ALF kernel over K features. `rbf-periodic`: `rbf` over the distances
 * and polar angles times `periodic` (exp(−4θ sin²(d/2)), period 2π) over the azimuthal angles φ
 * (features 6, 9, …, 1-based). The wrapped square of `rbf-cyclic` is not a positive definite
 * kernel on the circle: for a φ that turns all the way round (a rotating hydroxyl or methyl) and a
 * long lengthscale its matrix has negative eigenvalues, the factorisation needs jitter and the
 * weights become huge; `periodic` is positive definite for every θ and equals `rbf` to second
 * order in d. Both are FFLUX kernel types (formats.md).
 */
export function alfKernel(name: AlfKernelName, nFeatures: number): KernelChoice {
  if (!(ALF_KERNELS as readonly string[]).includes(name)) throw new AtomgpError(`unknown ALF kernel '${name}' (expected ${ALF_KERNELS.join(', ')})`);
  if (name !== 'rbf-periodic') return name;
  const all = Array.from({ length: nFeatures }, (_, i) => i + 1);
  const phi = all.filter((d) => d >= 6 && d % 3 === 0);
  if (phi.length === 0) return 'rbf';
  return {
    kernels: [
      { name: 'k1', type: 'rbf', activeDims: all.filter((d) => !phi.includes(d)) },
      { name: 'k2', type: 'periodic', activeDims: phi },
    ],
    composition: 'k1*k2',
  };
}
