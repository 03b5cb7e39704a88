/**
 * The contents of one FFLUX `.model` file (FEREBUS / ichor / GPyTorch-trained), as plain data.
 * Features are in bohr and radians, targets in Ha (see ../shared/docs/formats.md). Arrays that
 * the hot path reads are Float64Array; everything else stays as written so a model written back
 * is the same model.
 */

export type KernelType = 'rbf' | 'rbf-cyclic' | 'periodic';
export const KERNEL_TYPES: readonly KernelType[] = ['rbf', 'rbf-cyclic', 'periodic'];

/**
 * Prefactor c of the periodic kernel exp(−c θ sin²(d/2)), period 2π.
 * 4: DL_FFLUX and ichor. 2: files written by GPyTorch-based training (e.g. the ichor ammonia
 * example set). Which one a file follows is decided on load by the self-consistency check.
 */
export type PeriodicPrefactor = 2 | 4;

export interface KernelSpec {
  /** Name used in the composition expression, e.g. `k1`. */
  name: string;
  type: KernelType;
  /** 1-based feature indices, as written in the file. */
  activeDims: number[];
  /** One θ per active dimension. rbf: exp(−Σ θ_d Δ_d²), no ½. */
  theta: number[];
  /** Other `key value` lines of the section, kept for a lossless round trip. */
  extra: Array<[string, string]>;
}

/** Parsed kernel composition expression: kernel names combined with `+`, `*` and parentheses. */
export type Composition =
  | { op: 'kernel'; name: string }
  | { op: '+' | '*'; left: Composition; right: Composition };

export type MeanSpec =
  | { type: 'zero' }
  | { type: 'constant'; value: number }
  /** m(x) = y_min + Σ β_k (x_k − x_min,k) */
  | { type: 'linear'; beta: Float64Array; xMin: Float64Array; yMin: number }
  /** m(x) = y_min + Σ β_k (x_k − x_min,k)² */
  | { type: 'quadratic'; beta: Float64Array; xMin: Float64Array; yMin: number };

export interface GpModel {
  /** `#` lines in file order, without the leading `#` and one space (e.g. `program ferebus`). */
  metadata: string[];
  systemName: string;
  /** Atom label, e.g. `N1`. */
  atom: string;
  /** Property, e.g. `iqa` or `q00`. */
  property: string;
  /** ALF atoms (central, x-axis, xy-plane), 1-based within the molecule; 2 entries for a diatomic. */
  alf: number[];
  nAtoms: number;
  nFeatures: number;
  nTrain: number;
  mean: MeanSpec;
  kernels: KernelSpec[];
  /** Composition expression without whitespace (ichor splits that line on spaces), e.g. `(k1*k2)`. */
  compositionText: string;
  composition: Composition;
  /** `[training_data]` keys: units.x (one per feature), units.y, scaling.x, scaling.y, and any other. */
  trainingDataInfo: Array<[string, string]>;
  /** Training inputs, row-major nTrain × nFeatures (bohr, radians). */
  trainX: Float64Array;
  /** Training targets (Ha for iqa). */
  trainY: Float64Array;
  /** w = (K + σ²I)⁻¹ (y − m(X)). */
  weights: Float64Array;
  /** Sections atomgp does not know, kept verbatim (name → raw lines). */
  extraSections: Array<{ name: string; lines: string[] }>;
  /** Where the model came from (file path), for messages. */
  source?: string;
}

/** Value of a `# key value` metadata line, if present (e.g. `noise`, `nugget`, `program`). */
export function metadataValue(model: Pick<GpModel, 'metadata'>, key: string): string | undefined {
  for (const line of model.metadata) {
    const m = /^\s*([^\s=]+)\s*(?:=\s*)?(.*)$/.exec(line);
    if (m && m[1] === key) return m[2]!.trim();
  }
  return undefined;
}

/** σ² a model states: `# noise`, else `# nugget`, else 1e-10 (FEREBUS's default nugget). */
export function statedNoise(model: Pick<GpModel, 'metadata'>): number {
  for (const key of ['noise', 'nugget']) {
    const v = metadataValue(model, key);
    if (v !== undefined) {
      const x = Number(v.split(/\s+/)[0]);
      if (Number.isFinite(x) && x >= 0) return x;
    }
  }
  return 1e-10;
}
