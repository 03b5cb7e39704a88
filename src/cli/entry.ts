// The CLI run directly (from source under tsx, or compiled): what a scheduled task executes when
// atomgp itself is run from source. Installed, bin/atomgp.js is the entry.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
