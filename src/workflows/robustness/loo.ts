/**
 * Leave-one-out residuals of a stored GP on its own training set (the study's errors when no
 * validation set is given). Kept in one file so that it can switch to gp/'s own LOO in one import.
 */
import { compileModelKernel } from '../../gp/kernel.js';
import { choleskySolve, choleskyWithJitter, inverseFromCholesky } from '../../gp/linalg.js';
import { evaluateMeanRows } from '../../gp/mean.js';
import type { GpModel, PeriodicPrefactor } from '../../gp/model.js';
import { statedNoise } from '../../gp/train.js';

/**
 * Leave-one-out residuals y_i − μ₋ᵢ(x_i) of a GP on its own training set: [K⁻¹(y − m)]_i / [K⁻¹]_ii
 * (Rasmussen & Williams eq. 5.12), with K = k(X, X) + σ²I as the model states it. Ha.
 */
export function leaveOneOutResiduals(model: GpModel, periodicPrefactor: PeriodicPrefactor): Float64Array {
  const n = model.nTrain;
  const K = model.nFeatures;
  const kernel = compileModelKernel(model, periodicPrefactor);
  const mat = new Float64Array(n * n);
  const noise = statedNoise(model);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = kernel.value(model.trainX, i * K, model.trainX, j * K);
      mat[i * n + j] = v;
      mat[j * n + i] = v;
    }
    mat[i * n + i] = mat[i * n + i]! + noise;
  }
  const factor = new Float64Array(n * n);
  choleskyWithJitter(mat, n, factor, { what: `kernel matrix of ${model.atom}` });
  const alpha = new Float64Array(n);
  const mean = evaluateMeanRows(model.mean, model.trainX, n, K);
  for (let i = 0; i < n; i++) alpha[i] = model.trainY[i]! - mean[i]!;
  choleskySolve(factor, n, alpha);
  inverseFromCholesky(factor, n, mat);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = alpha[i]! / mat[i * n + i]!;
  return out;
}
