/**
 * Errors a user can act on. Every failure caused by input (a file, a flag, a geometry) is an
 * `AtomgpError` whose message says where (file and line, or atom) and what was expected. The CLI
 * prints these without a stack trace; anything else is a bug and is printed with one.
 */
export class AtomgpError extends Error {
  override readonly name = 'AtomgpError';
}

/** Error located in a file, optionally at a 1-based line. */
export function fileError(file: string, line: number | undefined, message: string): AtomgpError {
  const where = line === undefined ? file : `${file}:${line}`;
  return new AtomgpError(`${where}: ${message}`);
}

/**
 * A run ended early by SIGINT or SIGTERM after keeping what it had (finished stages, checkpoints).
 * Not an input error: the CLI prints the message in one line and exits with 128 + the signal's
 * number (`INTERRUPTED_STATUS`), as shells report a process ended by that signal.
 */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor(
    readonly signal: string,
    message: string,
  ) {
    super(message);
  }
}

/** Exit status of a command ended by a signal: 128 + the signal number. */
export const INTERRUPTED_STATUS: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/** The error of a run a signal stopped `where` (e.g. 'during sampling at step 400'), with the line the CLI prints. */
export function interruptedRun(signal: string, where: string): InterruptedError {
  return new InterruptedError(signal, `interrupted by ${signal} ${where}; finished stages kept; rerun with --resume to continue`);
}
