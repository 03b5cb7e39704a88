/** Prediction: the per-atom predictor (energy, feature gradient, variance) and the mean at many points. */
export { AtomGp, type AtomGpOptions, checkFeatureCount, defaultNoiseVariance, type PredictBackend } from './predictor.js';
export { predictRows } from './rows.js';
