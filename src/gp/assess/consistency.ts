/**
 * Self-consistency check of a loaded model: do the stored weights reproduce the stored training
 * targets, (K + σ²I) w = y − m(X)? A model that passes predicts its own training data; one that
 * fails is corrupt or was written under another kernel convention. For periodic kernels the
 * convention is not in the file (DL_FFLUX/ichor: exp(−4θ sin²(d/2)); GPyTorch: exp(−2θ sin²(d/2)),
 * formats.md), so both are tried and the one the weights satisfy is chosen.
 *
 * Two residuals are computed, r = (K + σ²I) w − (y − m(X)) with σ² from the metadata (`# noise`,
 * else `# nugget`, else 0), and the same with the σ² ≥ 0 that the weights imply (least squares
 * over the one scalar). Prediction never uses σ², so a file whose stated noise is not the one its
 * weights were solved with (the GPyTorch set below) still predicts correctly; the verdict therefore
 * uses the fitted-noise residual. One scalar cannot make a wrong kernel or corrupt weights fit.
 *
 * Threshold 1e-3 on the relative residual ‖r‖/‖y − m‖: far above every consistent reference file,
 * far below the wrong periodic convention, tolerant of single-precision weights where they are
 * harmless and not where they are not. The residuals of the shared reference models and of
 * corrupted files behind this choice are in docs/benchmarks.md ("Model self-consistency").
 */
import { AtomgpError } from '../../errors.js';
import { CompiledKernel, hasPeriodicKernel } from '../kernel/kernel.js';
import { evaluateMean } from '../model/mean.js';
import { type GpModel, metadataValue, type PeriodicPrefactor } from '../model/model.js';
import { parseReal } from '../../util/numbers.js';

/** Relative residual above which a model is inconsistent (see the measurements above). */
export const CONSISTENCY_THRESHOLD = 1e-3;

export interface ConventionResidual {
  periodicPrefactor: PeriodicPrefactor;
  /** ‖(K + σ²I) w − (y − m)‖ / ‖y − m‖ with σ² from the file's metadata. */
  relativeResidual: number;
  /** max_i |r_i| with σ² from the metadata, in the property's unit (Ha for iqa). */
  maxAbsResidual: number;
  /** The σ² ≥ 0 that the weights imply (least squares of r over σ²). */
  fittedNoise: number;
  /** Relative residual with the fitted σ²; the verdict uses this one. */
  relativeResidualFittedNoise: number;
  maxAbsResidualFittedNoise: number;
}

export interface ConsistencyReport {
  source: string;
  /** Diagonal noise σ² from the metadata. */
  noise: number;
  /** Where σ² came from: the `# noise` line, the `# nugget` line, or nowhere (0). */
  noiseFrom: 'noise' | 'nugget' | 'none';
  hasPeriodic: boolean;
  /** One entry per convention tried: [4, 2] for periodic models, [4] otherwise (the prefactor is then irrelevant). */
  residuals: ConventionResidual[];
  /** The convention the model is used with: the consistent one, or the user's override. */
  periodicPrefactor: PeriodicPrefactor;
  /** True when the user forced the convention of a periodic model (`--periodic-convention`). */
  forced: boolean;
  /** Residuals of the convention used (copied from `residuals`). */
  relativeResidual: number;
  maxAbsResidual: number;
  fittedNoise: number;
  relativeResidualFittedNoise: number;
  threshold: number;
  verdict: 'consistent' | 'inconsistent';
  /**
   * Diagnosis of an inconsistent model: the weights fit a constant mean shifted by `shift` from the
   * stored one (K w = y − m − shift), leaving `relativeResidual`. Only set when that explains it.
   */
  meanShift?: { shift: number; relativeResidual: number };
  elapsedMs: number;
  /** One-line human summary. */
  summary: string;
}

function noiseOf(model: GpModel): { noise: number; noiseFrom: ConsistencyReport['noiseFrom'] } {
  for (const key of ['noise', 'nugget'] as const) {
    const text = metadataValue(model, key);
    if (text === undefined) continue;
    const x = parseReal(text.split(/\s+/)[0] ?? '');
    if (x === undefined || x < 0) {
      throw new AtomgpError(`${model.source ?? 'model'}: metadata '# ${key} ${text}' is not a number ≥ 0`);
    }
    return { noise: x, noiseFrom: key };
  }
  return { noise: 0, noiseFrom: 'none' };
}

/** d = K w − (y − m) without the noise (each kernel pair evaluated once, CompiledKernel.timesVector). */
function kernelTimesWeights(model: GpModel, prefactor: PeriodicPrefactor, target: Float64Array): Float64Array {
  const kernel = new CompiledKernel(model.kernels, model.composition, model.nFeatures, prefactor);
  const n = model.nTrain;
  const kw = kernel.timesVector(model.trainX, n, model.weights);
  for (let i = 0; i < n; i++) kw[i] = kw[i]! - target[i]!;
  return kw;
}

/** ‖d + s w + b‖ / ‖t‖ and max |d + s w + b| (‖t‖ = 0: absolute norm). */
function norms(d: Float64Array, w: Float64Array, s: number, b: number, tNorm: number): { rel: number; max: number } {
  let rr = 0;
  let max = 0;
  for (let i = 0; i < d.length; i++) {
    const r = d[i]! + s * w[i]! + b;
    rr += r * r;
    max = Math.max(max, Math.abs(r));
  }
  return { rel: tNorm > 0 ? Math.sqrt(rr) / tNorm : Math.sqrt(rr), max };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function residualFor(model: GpModel, prefactor: PeriodicPrefactor, noise: number, target: Float64Array, tNorm: number): { res: ConventionResidual; d: Float64Array } {
  const d = kernelTimesWeights(model, prefactor, target);
  const w = model.weights;
  const stated = norms(d, w, noise, 0, tNorm);
  const ww = dot(w, w);
  const fittedNoise = ww > 0 ? Math.max(0, -dot(d, w) / ww) : 0;
  const fitted = norms(d, w, fittedNoise, 0, tNorm);
  return {
    d,
    res: {
      periodicPrefactor: prefactor,
      relativeResidual: stated.rel,
      maxAbsResidual: stated.max,
      fittedNoise,
      relativeResidualFittedNoise: fitted.rel,
      maxAbsResidualFittedNoise: fitted.max,
    },
  };
}

/** Least squares of d + s w + b over (s, b): does a shifted constant mean explain the residual? */
function fitMeanShift(d: Float64Array, w: Float64Array, tNorm: number): { shift: number; relativeResidual: number } {
  const n = d.length;
  let sw = 0;
  let sd = 0;
  for (let i = 0; i < n; i++) {
    sw += w[i]!;
    sd += d[i]!;
  }
  const ww = dot(w, w);
  const dw = dot(d, w);
  // normal equations [ww sw; sw n] [s; b] = −[dw; sd]
  const det = ww * n - sw * sw;
  let s = det !== 0 ? (-dw * n + sd * sw) / det : 0;
  let b = det !== 0 ? (-sd * ww + dw * sw) / det : -sd / n;
  if (s < 0) {
    s = 0;
    b = -sd / n;
  }
  // d + b ≈ 0 means K w ≈ y − (m + b): the weights were solved for the mean m + b
  return { shift: b, relativeResidual: norms(d, w, s, b, tNorm).rel };
}

/**
 * Check that the stored weights reproduce the stored targets. For periodic kernels both
 * conventions are measured and the better one chosen, unless `periodicPrefactor` forces one.
 */
export function checkConsistency(model: GpModel, opts: { periodicPrefactor?: PeriodicPrefactor } = {}): ConsistencyReport {
  const t0 = performance.now();
  const source = model.source ?? `${model.systemName} ${model.atom} ${model.property} model`;
  const { noise, noiseFrom } = noiseOf(model);
  const n = model.nTrain;
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) target[i] = model.trainY[i]! - evaluateMean(model.mean, model.trainX, i * model.nFeatures);
  const tNorm = Math.sqrt(dot(target, target));
  const periodic = hasPeriodicKernel(model);
  const prefactors: PeriodicPrefactor[] = periodic ? [4, 2] : [4];
  const runs = prefactors.map((p) => residualFor(model, p, noise, target, tNorm));
  const residuals = runs.map((r) => r.res);
  // the override only matters (and only excuses a mismatch) when there is a periodic kernel
  const forced = opts.periodicPrefactor !== undefined && periodic;
  let chosenIndex = 0;
  for (let k = 1; k < residuals.length; k++) {
    const better = forced
      ? residuals[k]!.periodicPrefactor === opts.periodicPrefactor
      : residuals[k]!.relativeResidualFittedNoise < residuals[chosenIndex]!.relativeResidualFittedNoise;
    if (better) chosenIndex = k;
  }
  const chosen = residuals[chosenIndex]!;
  const periodicPrefactor = forced ? opts.periodicPrefactor! : chosen.periodicPrefactor;
  const verdict = chosen.relativeResidualFittedNoise <= CONSISTENCY_THRESHOLD ? 'consistent' : 'inconsistent';
  let meanShift: ConsistencyReport['meanShift'];
  if (verdict === 'inconsistent') {
    const fit = fitMeanShift(runs[chosenIndex]!.d, model.weights, tNorm);
    if (fit.relativeResidual <= CONSISTENCY_THRESHOLD) meanShift = fit;
  }
  const fmt = (x: number): string => x.toExponential(2);
  const parts = residuals.map(
    (r) =>
      `${periodic ? `${r.periodicPrefactor}θ: ` : ''}${fmt(r.relativeResidual)} (max ${fmt(r.maxAbsResidual)}; ` +
      `${fmt(r.relativeResidualFittedNoise)} with fitted noise ${fmt(r.fittedNoise)})`,
  );
  const convention = periodic
    ? `; periodic convention exp(−${periodicPrefactor}θ sin²(d/2)) (${periodicPrefactor === 4 ? 'DL_FFLUX/ichor' : 'GPyTorch'}${forced ? ', forced' : ''})`
    : '';
  const noiseText = noiseFrom === 'none' ? 'no noise in metadata (0)' : `noise ${noise} from '# ${noiseFrom}'`;
  const summary = `${source}: ${verdict}; relative residual ${parts.join(', ')}; ${noiseText}${convention}`;
  return {
    source,
    noise,
    noiseFrom,
    hasPeriodic: periodic,
    residuals,
    periodicPrefactor,
    forced,
    relativeResidual: chosen.relativeResidual,
    maxAbsResidual: chosen.maxAbsResidual,
    fittedNoise: chosen.fittedNoise,
    relativeResidualFittedNoise: chosen.relativeResidualFittedNoise,
    threshold: CONSISTENCY_THRESHOLD,
    verdict,
    ...(meanShift ? { meanShift } : {}),
    elapsedMs: performance.now() - t0,
    summary,
  };
}

/**
 * Refuse an inconsistent model with a message the user can act on. With a forced convention the
 * model is accepted and the warning text is returned instead (undefined when all is well).
 */
export function assertConsistent(model: GpModel, report: ConsistencyReport): string | undefined {
  if (report.verdict === 'consistent') return undefined;
  const source = model.source ?? report.source;
  const fmt = (x: number): string => x.toExponential(2);
  const by = (p: PeriodicPrefactor): string =>
    fmt(report.residuals.find((r) => r.periodicPrefactor === p)!.relativeResidualFittedNoise);
  let shift = '';
  if (report.meanShift) {
    const { shift: b, relativeResidual } = report.meanShift;
    const fitted = model.mean.type === 'constant' ? `a constant mean of ${model.mean.value + b} (stored: ${model.mean.value})` : `the stored mean shifted by ${b}`;
    shift =
      `; the weights fit ${fitted}, a shift of ${b.toExponential(3)} (residual ${fmt(relativeResidual)} after it), ` +
      `so the stored [mean] does not belong to these weights`;
  }
  if (report.forced) {
    return (
      `${source}: warning: the weights do not reproduce the training targets under the forced periodic convention ` +
      `${report.periodicPrefactor}θ (relative residual ${fmt(report.relativeResidualFittedNoise)}; threshold ${report.threshold})${shift}; predictions may be wrong`
    );
  }
  if (report.hasPeriodic) {
    throw new AtomgpError(
      `${source}: weights do not reproduce the training targets under either periodic convention ` +
        `(relative residual 4θ: ${by(4)}, 2θ: ${by(2)}; threshold ${report.threshold})${shift}; the file may be corrupt ` +
        `or use another kernel convention; pass --periodic-convention 2|4 to force one`,
    );
  }
  throw new AtomgpError(
    `${source}: weights do not reproduce the training targets (relative residual ${fmt(report.relativeResidualFittedNoise)}, ` +
      `max ${fmt(report.maxAbsResidual)} with the stored noise; threshold ${report.threshold})${shift}; ` +
      `the file may be corrupt or use another kernel convention`,
  );
}
