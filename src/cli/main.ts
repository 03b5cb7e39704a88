/**
 * atomgp command-line entry point. Thin: each command lives in its own module exporting
 * `run(argv): Promise<number>` (exit code); this file only dispatches and turns errors into
 * messages. Input errors (AtomgpError) print without a stack trace and exit with code 2.
 */
import { AtomgpError } from '../errors.js';
import { VERSION } from '../version.js';

export interface Command {
  summary: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

/** Registered commands (keep alphabetical). Each module parses its own flags with node:util parseArgs. */
export const COMMANDS: Record<string, Command> = {
  demo: { summary: 'the whole pipeline on built-in defaults: sample, label, train (two prior means), validate, NVT at 1000 K, report', load: () => import('./demo.js') },
  inspect: { summary: 'summarise a .model file or a model folder (ALF, kernel, mean, consistency check)', load: () => import('./inspect.js') },
  md: { summary: 'molecular dynamics (NVE, Nosé–Hoover NVT, Langevin) with checkpoints, monitor, replica ensembles', load: () => import('./md.js') },
  opt: { summary: 'geometry optimisation (L-BFGS or FIRE) to a force threshold', load: () => import('./opt.js') },
  pipeline: { summary: 'molecule → WTMetaD sampling on a reference (built-in or xtb) → GP training → validation → MD check', load: () => import('./pipeline.js') },
  predict: { summary: 'energies, atomic energies and forces of XYZ frames from a GP model set', load: () => import('./predict.js') },
  report: { summary: 'self-contained HTML report (SVG figures) of an MD run, ensemble, robustness study or demo', load: () => import('./report.js') },
  robustness: { summary: 'prior-mean stability study: refit per prior, NVT from distorted starts, survival table + report', load: () => import('./robustness.js') },
  train: { summary: 'fit atomic GP models from a ferebus.toml or an ichor CSV (prior mean, likelihood, L-BFGS-B)', load: () => import('./train.js') },
  validate: { summary: 'errors of a .model on a labelled CSV set (MAE, RMSE, max, S-curve)', load: () => import('./validate.js') },
};

export { VERSION } from '../version.js';

function usage(): string {
  const lines = ['usage: atomgp <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', "Run 'atomgp <command> --help' for a command's options. Docs: docs/cli.md");
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`atomgp ${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`atomgp: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  try {
    const mod = await command.load();
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof AtomgpError) {
      process.stderr.write(`atomgp ${name}: error: ${err.message}\n`);
      return 2;
    }
    // node:util parseArgs errors are input errors too.
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`atomgp ${name}: error: ${(err as Error).message}\n`);
      return 2;
    }
    throw err;
  }
}
