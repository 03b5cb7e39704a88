/**
 * atomgp command-line entry point. Thin: each command lives in its own module exporting
 * `run(argv): Promise<number>` (exit code); this file only dispatches and turns errors into
 * messages. Input errors (AtomgpError, bad flags, unusable paths) print as one line without a
 * stack trace and exit with code 2; see docs/reliability.md for every exit status.
 */
import { AtomgpError, INTERRUPTED_STATUS, InterruptedError } from '../errors.js';
import { VERSION } from '../version.js';

export interface Command {
  summary: string;
  /** Not listed in `atomgp --help` (machinery, e.g. the task a Slurm job runs). */
  hidden?: boolean;
  load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

/** Registered commands (keep alphabetical). Each module parses its own flags with node:util parseArgs. */
export const COMMANDS: Record<string, Command> = {
  collect: { summary: 'gather the finished runs of a detached Slurm ensemble (md --executor slurm --detach)', load: () => import('./collect.js') },
  demo: { summary: 'the whole pipeline on built-in defaults: sample, label, train (two prior means), validate, NVT at 1000 K, report', load: () => import('./demo.js') },
  fidelity: { summary: 'the reference re-evaluated along trajectories and compared with the model (energy and force errors, faithful or not)', load: () => import('./fidelity.js') },
  inspect: { summary: 'summarise a .model file or a model folder (ALF, kernel, mean, consistency check)', load: () => import('./inspect.js') },
  ipi: { summary: 'serve a GP model set to an i-PI driver (ASE SocketIOCalculator, i-PI) over a unix or TCP socket', load: () => import('./ipi.js') },
  md: { summary: 'molecular dynamics (NVE, Nosé–Hoover NVT, Langevin) with checkpoints, monitor, replica ensembles', load: () => import('./md.js') },
  opt: { summary: 'geometry optimisation (L-BFGS or FIRE) to a force threshold', load: () => import('./opt.js') },
  pipeline: { summary: 'molecule → WTMetaD sampling on a reference (built-in or xtb) → GP training → validation → MD check', load: () => import('./pipeline.js') },
  predict: { summary: 'energies, atomic energies and forces of XYZ frames from a GP model set', load: () => import('./predict.js') },
  report: { summary: 'self-contained HTML report (SVG figures) of an MD run, ensemble, robustness study or demo', load: () => import('./report.js') },
  robustness: { summary: 'prior-mean stability study: refit per prior, NVT from distorted starts, survival table + report', load: () => import('./robustness.js') },
  status: { summary: 'progress of the Slurm batches in an output folder (done, running, queued, failed with logs)', load: () => import('./status.js') },
  study: { summary: 'the paper\'s experiment on several molecules: pipeline per molecule, prior family × temperatures × replicas, fidelity against the reference', load: () => import('./study.js') },
  task: { summary: 'run one task file of a Slurm batch (what a job-array element executes)', hidden: true, load: () => import('./task.js') },
  train: { summary: 'fit atomic GP models from a ferebus.toml or an ichor CSV (prior mean, likelihood, L-BFGS-B)', load: () => import('./train.js') },
  validate: { summary: 'errors of a .model on a labelled CSV set (MAE, RMSE, max, S-curve)', load: () => import('./validate.js') },
};

export { VERSION } from '../version.js';

function usage(): string {
  const lines = ['usage: atomgp <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) if (!c.hidden) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', "Run 'atomgp <command> --help' for a command's options. Docs: docs/cli.md");
  return lines.join('\n');
}

/** Longest error message printed; longer ones (a whole input line echoed) are cut in the middle. */
export const MAX_MESSAGE_CHARS = 400;

/** One line, at most MAX_MESSAGE_CHARS: control characters become spaces, the middle of a long text is elided. */
export function oneLine(message: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const flat = message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (flat.length <= MAX_MESSAGE_CHARS) return flat;
  const keep = MAX_MESSAGE_CHARS / 2 - 20;
  return `${flat.slice(0, keep)} ... [${flat.length - 2 * keep} characters] ... ${flat.slice(-keep)}`;
}

// File-system errors a user causes (a path that is a file, a missing parent, no permission, a full
// disk): reported in one line with exit 2, like any other bad input.
const USER_FS_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EEXIST', 'EROFS', 'ENOSPC', 'EDQUOT', 'ENAMETOOLONG', 'ELOOP', 'EMFILE', 'ENFILE', 'EFBIG', 'EIO', 'EBUSY']);

/** The one-line message of an error the user caused (input, flags, paths), or undefined for a bug. */
export function userErrorMessage(err: unknown): string | undefined {
  if (err instanceof AtomgpError) return err.message;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e?.code;
  if (typeof code !== 'string') return undefined;
  // node:util parseArgs errors are input errors too; their text spans three lines.
  if (code.startsWith('ERR_PARSE_ARGS')) {
    const first = (e!.message ?? '').split('\n')[0]!;
    const m = /^Option '(-[-\w]+)[^']*' argument is ambiguous/.exec(first);
    if (m) return `${m[1]} needs a value; a value starting with '-' must be written ${m[1]}=VALUE (e.g. ${m[1]}=-5)`;
    return first;
  }
  if (USER_FS_ERRORS.has(code)) {
    const path = e!.path !== undefined ? ` ${e!.path}` : '';
    const what: Record<string, string> = {
      ENOENT: 'no such file or folder',
      ENOTDIR: 'a part of the path is a file, not a folder',
      EISDIR: 'is a folder, not a file',
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      EEXIST: 'already exists (as a file?)',
      EROFS: 'read-only file system',
      ENOSPC: 'no space left on the device',
      EDQUOT: 'disk quota exceeded',
    };
    return `cannot ${e!.syscall ?? 'access'}${path}: ${what[code] ?? code} (${code})`;
  }
  return undefined;
}

let stdoutClosed = false;
let stdoutWatched = false;

/**
 * A reader that stops early (`atomgp predict … | head -1`) closes stdout: the rest of the output
 * is dropped and the command ends quietly with status 0, as the reader asked for no more.
 */
function handleClosedStdout(): void {
  if (stdoutWatched) return;
  stdoutWatched = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
      if (!stdoutClosed) {
        stdoutClosed = true;
        process.exit(0);
      }
      return;
    }
    process.stderr.write(`atomgp: error: cannot write to standard output (${err.code ?? err.message})\n`);
    process.exit(2);
  });
}

export async function main(argv: string[]): Promise<number> {
  handleClosedStdout();
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
    process.stderr.write(`atomgp: unknown command '${oneLine(name).slice(0, 60)}' (commands: ${Object.keys(COMMANDS).join(', ')}; see atomgp --help)\n`);
    return 2;
  }
  try {
    const mod = await command.load();
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof InterruptedError) {
      process.stderr.write(`atomgp ${name}: ${oneLine(err.message)}\n`);
      return INTERRUPTED_STATUS[err.signal] ?? 130;
    }
    const message = userErrorMessage(err);
    if (message !== undefined) {
      process.stderr.write(`atomgp ${name}: error: ${oneLine(message)}\n`);
      return 2;
    }
    throw err;
  }
}
