// Runs the CLI from source (through the tsx loader), so CLI tests need no build.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
