/**
 * The command a scheduled task runs: this Node binary and this atomgp, so a task computes with
 * exactly the code of the driver that submitted it. From source (tests, development under tsx)
 * that is the TypeScript entry with tsx's loader; installed, the package's bin/atomgp.js.
 */
import { fileURLToPath } from 'node:url';

export function defaultTaskCommand(): string[] {
  if (import.meta.url.endsWith('.ts')) {
    return [process.execPath, '--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../cli/entry.ts', import.meta.url))];
  }
  return [process.execPath, fileURLToPath(new URL('../../../bin/atomgp.js', import.meta.url))];
}
