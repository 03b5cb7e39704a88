/**
 * `atomgp validate --model FILE --set CSV [--property iqa] [--json]`: errors of a model on a
 * labelled ichor/FEREBUS CSV set (n, MAE, RMSE, max error in Ha, kJ/mol, kcal/mol; S-curve).
 */
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import { formatReport, validateModel } from '../gp/validate.js';
import { readPropertyCsv } from '../io/csv.js';
import { readModel } from '../io/model.js';

const HELP = `usage: atomgp validate --model FILE --set CSV [--property NAME] [--periodic-prefactor 4|2] [--json]
  Predicts every point of the CSV set with the model and prints n, MAE, RMSE, max |error|
  (Ha, kJ/mol, kcal/mol) and S-curve percentiles. --json prints one JSON object
  (keys n, mae_Ha, rmse_Ha, max_abs_Ha, ... , percentiles_Ha).`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      set: { type: 'string' },
      property: { type: 'string' },
      'periodic-prefactor': { type: 'string', default: '4' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (!values.model || !values.set) throw new AtomgpError("--model and --set are required (see atomgp validate --help)");
  const pf = Number(values['periodic-prefactor']);
  if (pf !== 2 && pf !== 4) throw new AtomgpError(`--periodic-prefactor must be 2 or 4, got '${values['periodic-prefactor']}'`);
  const model = readModel(values.model);
  const set = readPropertyCsv(values.set, { property: values.property ?? model.property, rejectDuplicates: false });
  if (set.nFeatures !== model.nFeatures) {
    throw new AtomgpError(`${values.set}: ${set.nFeatures} features, but ${values.model} expects ${model.nFeatures}`);
  }
  const report = validateModel(model, set.x, set.y, pf);
  if (values.json) process.stdout.write(JSON.stringify({ model: values.model, set: values.set, ...report }) + '\n');
  else process.stdout.write(`${values.model} on ${values.set}\n${formatReport(report)}\n`);
  return 0;
}
