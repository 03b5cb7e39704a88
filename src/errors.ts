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
