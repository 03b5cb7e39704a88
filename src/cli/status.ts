/**
 * `atomgp status OUT`: progress of every Slurm batch under an output folder, from its task results
 * and the scheduler's queue; tasks that ended without a result are listed with their last log.
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import { batchFolderStatus, findBatchFolders } from '../exec/slurm.js';
import { formatBatchStatus } from './executor-flags.js';

const HELP = `usage: atomgp status OUT

Progress of the Slurm batches (OUT/slurm/<name>/, written by --executor slurm) under OUT: tasks
done, running, queued, and those that ended without a result, with their last log. Reads the
results in OUT and the queue (squeue); without squeue it shows what the files say.
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new AtomgpError('usage: atomgp status OUT (one output folder)');
  const root = positionals[0]!;
  const dirs = findBatchFolders(root);
  if (dirs.length === 0) throw new AtomgpError(`${root}: no Slurm batch found (batch.json under ${root}/slurm/; run a command with --executor slurm first)`);
  for (const dir of dirs) {
    const s = batchFolderStatus(dir)!;
    const where = relative(root, dir) || '.';
    process.stdout.write(`${where} (${s.kind}): ${formatBatchStatus({ ...s, failed: s.unfinished.length })}\n`);
    if (s.queueError) process.stdout.write(`  queue not readable (${s.queueError}): counts from the result files only\n`);
    for (const u of s.unfinished) process.stdout.write(`  ${u.label}: ${u.message}${u.logPath ? `; log: ${u.logPath}` : ''}\n`);
  }
  return 0;
}
