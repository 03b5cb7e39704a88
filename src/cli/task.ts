/**
 * `atomgp task FILE` (not listed in the help): run one task of a batch — what a Slurm job-array
 * element executes (exec/task.ts). Also usable by hand to rerun one task where it failed.
 */
import { AtomgpError } from '../errors.js';
import { runTaskFile } from '../exec/task.js';
import { TASK_KINDS } from '../workflows/tasks.js';

export async function run(argv: string[]): Promise<number> {
  if (argv.length !== 1 || argv[0]!.startsWith('-')) throw new AtomgpError('usage: atomgp task DIR/tasks/<i>.json (runs one task of a Slurm batch; see docs/slurm.md)');
  await runTaskFile(argv[0]!, TASK_KINDS);
  return 0;
}
