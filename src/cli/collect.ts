/**
 * `atomgp collect OUT`: gather what a detached `md --executor slurm` ensemble has finished — the
 * run table and OUT/ensemble.json — without waiting and without submitting anything. (Rerunning
 * the original command does the same and also resubmits what is missing.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ensembleBatchDir, formatEnsembleTable, writeEnsembleJson } from '../dynamics/ensemble.js';
import type { MdSummary } from '../dynamics/run.js';
import { AtomgpError } from '../errors.js';
import { decodeJson } from '../exec/codec.js';
import { batchFolderStatus, batchPaths } from '../exec/slurm.js';

const HELP = `usage: atomgp collect OUT

Gathers the finished runs of an ensemble run with 'atomgp md --executor slurm --detach --out OUT':
prints the run table, writes OUT/ensemble.json (finished runs only) and lists the runs still
queued or running and those that failed (with their logs). Submits nothing; rerun the md command
to resubmit failed runs (finished ones are never rerun).
Exit status: 0 when every run finished and survived, 1 when a run failed or did not survive.
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new AtomgpError('usage: atomgp collect OUT (one output folder)');
  const out = positionals[0]!;
  const dir = ensembleBatchDir(out);
  if (!existsSync(batchPaths(dir).record)) throw new AtomgpError(`${out}: no Slurm ensemble to collect (${batchPaths(dir).record} does not exist; it is written by atomgp md --executor slurm)`);
  const status = batchFolderStatus(dir)!;
  const p = batchPaths(dir);
  const summaries: MdSummary[] = [];
  for (let i = 0; i < status.total; i++) if (existsSync(p.result(i))) summaries.push(decodeJson<MdSummary>(readFileSync(p.result(i), 'utf8')));
  writeEnsembleJson(out, summaries);
  process.stdout.write(formatEnsembleTable(summaries));
  const waiting = status.running + status.queued;
  if (waiting > 0) process.stdout.write(`${waiting} run(s) still queued or running (${status.running} running): collect again later, or see atomgp status ${out}\n`);
  if (status.queueError) process.stdout.write(`queue not readable (${status.queueError}): runs without a result may still be running\n`);
  for (const u of status.unfinished) process.stderr.write(`atomgp collect: run ${u.label}: ${u.message}${u.logPath ? `; log: ${u.logPath}` : ''}\n`);
  return status.unfinished.length > 0 || !summaries.every((s) => s.survived) ? 1 : 0;
}
