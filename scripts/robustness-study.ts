/**
 * Reproduces the benchmark study of docs/robustness.md: `atomgp robustness` on the ammonia models
 * (../shared/data/ammonia/models) and on water models trained here from
 * ../shared/data/water/training, with the FEREBUS benchmark validation sets (one atom each).
 *
 *   node --import tsx scripts/robustness-study.ts [OUT_ROOT] [--time-ps T] [--replicas R] [--workers W] [--repulsion zbl]
 *
 * OUT_ROOT (default /tmp/atomgp-robustness) receives water-models/, ammonia/ and water/ (each a
 * study folder with study.json and report.html). Rerunning continues an interrupted study
 * (--resume). Data: $ATOMGP_DATA or ../shared/data.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { run as robustness } from '../src/cli/robustness.js';
import { run as train } from '../src/cli/train.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'time-ps': { type: 'string', default: '10' },
    replicas: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    priors: { type: 'string', default: 'min,mean,max,shift:0.05,shift:2sd,quadratic,zero' },
    'temperatures-K': { type: 'string', default: '300,500,700,1000,1500' },
    distort: { type: 'string', default: 'bonds:X-H*1.3' },
    only: { type: 'string' },
    repulsion: { type: 'string' },
  },
});
const root = resolve(positionals[0] ?? '/tmp/atomgp-robustness');
const data = resolve(process.env.ATOMGP_DATA ?? join(process.cwd(), '..', 'shared', 'data'));
mkdirSync(root, { recursive: true });

const WATER_TOML = `[system]
name = "WATER"
natoms = 3
atoms = [
  {name="O1", alf=[1, 2, 3]},
  {name="H2", alf=[2, 1, 3]},
  {name="H3", alf=[3, 1, 2]}
]
properties = ["iqa"]

[model]
mean = "constant"
kernel = "k1"
likelihood = "marginal"

[kernels.k1]
type = "rbf"
`;

async function step(what: string, f: () => Promise<number>): Promise<void> {
  process.stderr.write(`\n=== ${what}\n`);
  const t0 = performance.now();
  const code = await f();
  process.stderr.write(`=== ${what}: exit ${code}, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  if (code !== 0) process.exit(code);
}

const waterModels = join(root, 'water-models');
if (!existsSync(waterModels)) {
  const src = join(root, 'water-data');
  mkdirSync(src, { recursive: true });
  for (const a of ['O1', 'H2', 'H3']) copyFileSync(join(data, 'water', 'training', `WATER_${a}_TRAINING_SET.csv`), join(src, `WATER_${a}_TRAINING_SET.csv`));
  writeFileSync(join(src, 'ferebus.toml'), WATER_TOML);
  await step('train water models', () => train(['--config', join(src, 'ferebus.toml'), '--out', waterModels, '--jobs', values.workers!, '--quiet']));
}

const common = (out: string): string[] => [
  '--priors', values.priors!,
  '--temperatures-K', values['temperatures-K']!,
  '--replicas', values.replicas!,
  '--time-ps', values['time-ps']!,
  '--distort', values.distort!,
  ...(values.repulsion !== undefined ? ['--repulsion', values.repulsion] : []),
  '--seed', '1',
  '--workers', values.workers!,
  '--out', out,
  ...(existsSync(join(out, 'study-settings.json')) ? ['--resume'] : []),
];

const studies = [
  { name: 'ammonia', models: join(data, 'ammonia', 'models'), validation: join(data, 'ferebus-benchmark', 'ammonia', 'AMMONIA_N1_VALIDATION_SET.csv') },
  { name: 'water', models: waterModels, validation: join(data, 'ferebus-benchmark', 'water', 'WATER_O1_VALIDATION_SET.csv') },
];
for (const s of studies) {
  if (values.only && values.only !== s.name) continue;
  const out = join(root, s.name);
  await step(`robustness study: ${s.name}`, () => robustness(['--models', s.models, '--validation', s.validation, ...common(out)]));
}
