/**
 * Trainer benchmark on the FEREBUS-v7 benchmark sets (../shared/data/ferebus-benchmark or
 * $ATOMGP_DATA): for each set and likelihood, our wall time and optimised likelihood, our objective
 * at FEREBUS's θ (from its .model), and the validation MAE of our model and of FEREBUS's.
 * Usage: node dist/bench/train.js [water,ammonia,methanol,glycine] [marginal,concentrated] [lbfgsb|pso]
 * Also prints the time of one likelihood evaluation with and without gradient at FEREBUS's θ.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LikelihoodEvaluator } from '../src/gp/likelihood.js';
import { type OptimiserKind, trainAtomModel } from '../src/gp/train.js';
import { validateModel } from '../src/gp/validate.js';
import { readPropertyCsv } from '../src/io/csv.js';
import { readModel } from '../src/io/model.js';

const root = process.env.ATOMGP_DATA ? resolve(process.env.ATOMGP_DATA) : resolve(process.cwd(), '..', 'shared', 'data');
const SETS: Array<[string, string, string]> = [
  ['water', 'WATER', 'O1'],
  ['ammonia', 'AMMONIA', 'N1'],
  ['methanol', 'METHANOL', 'C1'],
  ['glycine', 'GLYCINE', 'C1'],
];
const which = (process.argv[2] ?? 'water,ammonia,methanol').split(',');
const kinds = (process.argv[3] ?? 'marginal,concentrated').split(',') as Array<'marginal' | 'concentrated'>;
const optimiser = (process.argv[4] ?? 'lbfgsb') as OptimiserKind;
const KJ = 2625.4996394799;

console.log(`optimiser ${optimiser}`);
console.log('| set | likelihood | n × K | one evaluation: value / value+gradient (s) | our time (s) | evaluations (full-set equivalent) | our log L | our objective at FEREBUS θ | FEREBUS log L (file) | our MAE (kJ/mol) | FEREBUS MAE (kJ/mol) |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [dir, sys, atom] of SETS.filter((s) => which.includes(s[0]))) {
  const base = join(root, 'ferebus-benchmark', dir);
  if (!existsSync(base)) {
    console.log(`| ${dir} | missing data at ${base} |`);
    continue;
  }
  const ts = readPropertyCsv(join(base, `${sys}_${atom}_TRAINING_SET.csv`));
  const vs = readPropertyCsv(join(base, `${sys}_${atom}_VALIDATION_SET.csv`), { rejectDuplicates: false });
  for (const kind of kinds) {
    const modelPath = join(base, kind, `${sys}_iqa_${atom}.model`);
    const fm = readModel(modelPath);
    const recorded = /# likelihood (\S+)/.exec(readFileSync(modelPath, 'utf8'))?.[1] ?? '?';
    const K = ts.nFeatures;
    const fTheta = fm.kernels[0]!.theta;
    const meanValue = fm.mean.type === 'constant' ? fm.mean.value : 0;
    const evaluator = new LikelihoodEvaluator({
      x: ts.x, y: ts.y, n: ts.n, nFeatures: K,
      terms: { dim: Int32Array.from({ length: K }, (_, i) => i), kind: new Uint8Array(K) },
      prefactor: new Float64Array(K).fill(1), kind, meanValues: new Float64Array(ts.n).fill(meanValue),
      glsConstantMean: kind === 'concentrated', noise: 1e-10, optimiseNoise: false,
    });
    const phi = Float64Array.from(fTheta, Math.log);
    let t = performance.now();
    const atTheirs = evaluator.evaluate(phi).value;
    const valueS = (performance.now() - t) / 1000;
    t = performance.now();
    evaluator.evaluate(phi, new Float64Array(K));
    const gradS = (performance.now() - t) / 1000;
    const r = trainAtomModel({
      x: ts.x, y: ts.y, nFeatures: K, kernel: 'rbf', prior: 'mean', likelihood: kind,
      glsConstantMean: kind === 'concentrated', seed: 1, optimiser,
    });
    const opt = r.model.metadata.find((m) => m.startsWith('optimiser')) ?? '';
    const fullEq = /full_equivalent=(\S+)/.exec(opt)?.[1];
    const ours = validateModel(r.model, vs.x, vs.y);
    const theirs = validateModel(fm, vs.x, vs.y);
    console.log(
      `| ${dir} ${atom} | ${kind} | ${ts.n} × ${K} | ${valueS.toFixed(3)} / ${gradS.toFixed(3)} | ${r.wallTimeS.toFixed(2)} | ${r.evaluations}${fullEq ? ` (${fullEq})` : ''} | ${r.logLikelihood.toFixed(3)} | ${atTheirs.toFixed(3)} | ${Number(recorded).toFixed(3)} | ${(ours.mae_Ha * KJ).toFixed(4)} | ${(theirs.mae_Ha * KJ).toFixed(4)} |`,
    );
  }
}
