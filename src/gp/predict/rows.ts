/**
 * The GP mean of a model at many points, E(x_i) = m(x_i) + Σ_j w_j k(x_i, x_j), through the one
 * compiled kernel (CompiledKernel.weightedSum): what validation, the additive totals and the
 * studies use. The per-atom predictor (predictor.ts) computes the same sum on its packed hot path
 * and is tested against this one.
 */
import { AtomgpError } from '../../errors.js';
import { CompiledKernel } from '../kernel/kernel.js';
import { evaluateMean } from '../model/mean.js';
import type { GpModel, PeriodicPrefactor } from '../model/model.js';

/** Predictions E(x_i) for the rows of x (n × nFeatures). */
export function predictRows(model: GpModel, x: Float64Array, n: number, periodicPrefactor: PeriodicPrefactor = 4): Float64Array {
  const K = model.nFeatures;
  if (x.length !== n * K) throw new AtomgpError(`validation: ${x.length} feature values for ${n} points × ${K} features`);
  const kernel = new CompiledKernel(model.kernels, model.composition, K, periodicPrefactor);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = kernel.weightedSum(x, i * K, model.trainX, model.weights, model.nTrain, evaluateMean(model.mean, x, i * K));
  return out;
}
