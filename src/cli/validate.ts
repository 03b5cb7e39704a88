/**
 * `atomgp validate --model FILE --set CSV [--property iqa] [--json]`: errors of a model on a
 * labelled ichor/FEREBUS CSV set (n, MAE, RMSE, max error in Ha, kJ/mol, kcal/mol; S-curve).
 */
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import { formatReport, validateModel } from '../gp/assess/validate.js';
import { readPropertyCsv } from '../io/csv.js';
import { readCheckedModel } from '../io/modelset.js';
import { parsePeriodicConvention } from './common.js';

const HELP = `usage: atomgp validate --model FILE --set CSV [--property NAME] [--periodic-convention 2|4] [--no-check] [--json]
  Predicts every point of the CSV set with the model and prints n, MAE, RMSE, max |error|
  (Ha, kJ/mol, kcal/mol) and S-curve percentiles. --json prints one JSON object
  (keys n, mae_Ha, rmse_Ha, max_abs_Ha, ... , percentiles_Ha).
  The model first passes the same self-consistency check as in predict, md and opt (its weights
  must reproduce its training targets; the check also picks the periodic-kernel convention).
  --periodic-convention 2|4 forces the convention (--periodic-prefactor is an alias);
  --no-check skips the check (then convention 4 unless forced).`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      set: { type: 'string' },
      property: { type: 'string' },
      'periodic-prefactor': { type: 'string' },
      'periodic-convention': { type: 'string' },
      'no-check': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (!values.model || !values.set) throw new AtomgpError("--model and --set are required (see atomgp validate --help)");
  if (values['periodic-prefactor'] !== undefined && values['periodic-convention'] !== undefined) {
    throw new AtomgpError('give one of --periodic-convention and --periodic-prefactor (the same setting)');
  }
  const forced = parsePeriodicConvention(values['periodic-convention'] ?? values['periodic-prefactor']);
  const checked = readCheckedModel(values.model, { ...(forced !== undefined ? { periodicPrefactor: forced } : {}), check: !values['no-check'] });
  if (checked.warning) process.stderr.write(`atomgp validate: warning: ${checked.warning}\n`);
  const model = checked.model;
  const pf = checked.periodicPrefactor;
  const set = readPropertyCsv(values.set, { property: values.property ?? model.property, rejectDuplicates: false });
  if (set.nFeatures !== model.nFeatures) {
    throw new AtomgpError(`${values.set}: ${set.nFeatures} features, but ${values.model} expects ${model.nFeatures}`);
  }
  const report = validateModel(model, set.x, set.y, pf);
  if (!Number.isFinite(report.mae_Ha) || !Number.isFinite(report.max_abs_Ha)) {
    throw new AtomgpError(`${values.model}: the model gives non-finite predictions on ${values.set} (MAE ${report.mae_Ha})`);
  }
  if (values.json) process.stdout.write(JSON.stringify({ model: values.model, set: values.set, ...report }) + '\n');
  else process.stdout.write(`${values.model} on ${values.set}\n${formatReport(report)}\n`);
  return 0;
}
