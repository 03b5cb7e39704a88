/**
 * `atomgp report DIR [--out FILE]`: one self-contained HTML report (inline SVG figures, no scripts,
 * no network) of an MD run, an ensemble, a robustness study or a demo run. See docs/cli.md.
 */
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import { writeReport } from '../report/report.js';

const HELP = `usage: atomgp report DIR [--out FILE]

Writes one self-contained HTML file (figures as inline SVG, no scripts, opens offline in any
browser) describing the atomgp output in DIR, found by its files:
  study.json                  robustness study: stability matrix (prior × temperature), S-curves,
                              restoring forces, temperature traces of the runs
  demo.json                   demo / pipeline run: summary, S-curves, MD runs, CV coverage
  log.csv, summary.json       one MD run (atomgp md): energy and temperature traces, summary
  T300_r00/ … subfolders      an ensemble (atomgp md --replicas): table, survival, overlaid traces
Files that are missing are listed at the top of the report.

options:
  --out FILE    where to write (default DIR/report.html)
  -h, --help    this help
`;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new AtomgpError(`expected one folder (atomgp report DIR), got ${positionals.length} arguments`);
  const { path, report } = writeReport(positionals[0]!, values.out);
  if (report.missing.length > 0) {
    process.stderr.write(`atomgp report: note: ${report.missing.length} expected file(s) not found (listed in the report)\n`);
  }
  process.stdout.write(`${path}\n`);
  return 0;
}

/** The entry point src/cli/main.ts calls. */
export const run = reportCommand;
