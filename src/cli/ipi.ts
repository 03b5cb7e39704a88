/**
 * `atomgp ipi`: serve a GP model set to an i-PI driver (i-PI, ASE's SocketIOCalculator, …) as a
 * force provider. Thin: parses flags, loads the models, calls potentials/ipi-client.ts. docs/ase.md.
 */
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import { checkPort, checkUnixName, type IpiAddress, ipiUnixPath } from '../io/ipi.js';
import { GpPotential } from '../potentials/gp.js';
import { type IpiDisconnectPolicy, runIpiClient } from '../potentials/ipi-client.js';
import { flagNumber, flagRepulsion, loadModelSet, parsePeriodicConvention } from './common.js';

const HELP = `usage: atomgp ipi --models DIR (--unix NAME | --host H --port P) [options]

atomgp as an i-PI force provider (client): connects to an i-PI-protocol server (i-PI, ASE's
SocketIOCalculator, …) and answers every force request with the GP model set: energy (Ha), forces
(Ha/bohr), the virial (zero for a molecule in vacuum, i.e. a zero cell; the molecular Σ r ⊗ F when
the server sends a cell) and an extra JSON string {"atomic_energies_Ha": [...]} with the IQA
atomic energies (and "atomic_std_Ha" with --variance). Runs until the server sends EXIT.

options:
  --models DIR                 GP model folder (one iqa .model per atom)
  --unix NAME                  connect to the unix socket /tmp/ipi_NAME
  --host H --port P            connect over TCP instead
  --on-disconnect exit|reconnect
                               when the server goes away without EXIT: end (default, exit 0) or
                               connect again (waiting up to --connect-timeout-s)
  --connect-timeout-s S        keep trying to connect for S seconds (default 60)
  --extra json|none            the extra string: JSON (default) or empty. ASE ≤ 3.22's
                               SocketIOCalculator cannot read an extra string longer than one
                               byte: use --extra none with it
  --variance                   also send the GP's predictive standard deviation per atom (Ha)
  --periodic-convention 2|4    force the periodic-kernel convention of the models
  --no-check                   skip the models' self-consistency check
  --repulsion none|zbl         add the ZBL repulsive prior term beyond the training data (as atomgp
                               md; docs/repulsion.md; default: DIR/potential.json, else none)
  --quiet                      no progress lines on stderr
  -h, --help                   this help
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      models: { type: 'string' },
      unix: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'on-disconnect': { type: 'string', default: 'exit' },
      'connect-timeout-s': { type: 'string' },
      extra: { type: 'string', default: 'json' },
      variance: { type: 'boolean', default: false },
      'periodic-convention': { type: 'string' },
      'no-check': { type: 'boolean', default: false },
      repulsion: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new AtomgpError(`unexpected argument '${positionals[0]}' (see atomgp ipi --help)`);
  if (!values.models) throw new AtomgpError('--models DIR is required (a folder of .model files)');
  let address: IpiAddress;
  if (values.unix !== undefined) {
    if (values.host !== undefined || values.port !== undefined) throw new AtomgpError('give either --unix NAME or --host H --port P, not both');
    const name = checkUnixName(values.unix, '--unix');
    address = { kind: 'unix', name, path: ipiUnixPath(name) };
  } else {
    if (values.host === undefined || values.port === undefined) throw new AtomgpError('give --unix NAME or both --host H and --port P');
    address = { kind: 'inet', host: values.host, port: checkPort(values.port, '--port') };
  }
  const onDisconnect = values['on-disconnect'] as IpiDisconnectPolicy;
  if (onDisconnect !== 'exit' && onDisconnect !== 'reconnect') throw new AtomgpError(`--on-disconnect must be exit or reconnect, got '${values['on-disconnect']}'`);
  const extra = values.extra as 'json' | 'none';
  if (extra !== 'json' && extra !== 'none') throw new AtomgpError(`--extra must be json or none, got '${values.extra}'`);
  if (extra === 'none' && values.variance) throw new AtomgpError('--variance needs --extra json (the standard deviations travel in the extra string)');
  const connectTimeoutS = flagNumber('connect-timeout-s', values['connect-timeout-s'], 60, { min: 0 });
  const log = values.quiet ? () => {} : (line: string) => process.stderr.write(`atomgp ipi: ${line}\n`);
  const repulsion = flagRepulsion(values.repulsion, values.models);
  const set = loadModelSet(values.models, {
    property: 'iqa',
    periodicPrefactor: parsePeriodicConvention(values['periodic-convention']),
    check: !values['no-check'],
    warn: (msg) => process.stderr.write(`atomgp ipi: warning: ${msg}\n`),
  });
  const noiseVariances = set.checks.length === set.models.length ? set.checks.map((c) => c.fittedNoise) : undefined;
  const potential = new GpPotential(
    { systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors },
    1,
    { repulsion, ...(noiseVariances ? { noiseVariances } : {}) },
  );
  log(`${set.symbols.length} atoms (${set.symbols.join(' ')}) from ${values.models}`);
  const summary = await runIpiClient(potential, {
    address,
    onDisconnect,
    connectTimeoutS,
    extra,
    ...(values.variance ? { atomicStdHa: (x: Float64Array, out: Float64Array) => potential.atomicStdHa(x, out) } : {}),
    log,
  });
  log(`done: ${summary.forceCalls} force calls over ${summary.connections} connection(s), ended by ${summary.endedBy === 'EXIT' ? 'EXIT' : 'the server closing the connection'}`);
  return 0;
}
